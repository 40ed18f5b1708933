#pragma once
// What telemetry ingest needs of each pack (its serial, whether it is retired, its nominal
// voltage for the alerts), which pack each serial names, and which alerts of each pack are open,
// kept for a while, so a batch of readings over a fleet does not read every pack's item and
// alert state: those reads were a fifth of an ingest request's time.
//
// Only a retirement, of the pack's state changes, forgets the pack: the state kept may be an
// older one otherwise, and ingest asks it only whether the pack is retired. The alerts forget a
// pack's open alerts around every change of them (Alerts::apply).
//
// Within this process every change of those facts (a serial or nominal voltage edited, a pack
// retired, a pack removed by a failed import) forgets the pack before its write and again once
// it is committed, so ingest sees the change on its next request. A lookup that raced such a
// change (read before it, stored after it) is not kept: store() names the generation its read
// started in. Another instance (DynamoDB behind a load balancer) sees a change within `ttl`:
// until then it may still take readings of a pack retired there, or resolve an edited serial to
// its old pack. Only packs found are kept; an unknown id or serial is read again every time.
#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "storage/store.h"

namespace cellfleet::device {

class PackCache {
 public:
  using SteadyTime = std::chrono::steady_clock::time_point;

  // ttl zero turns the cache off. At most max_packs packs are kept; past that it starts over.
  explicit PackCache(std::chrono::milliseconds ttl, std::size_t max_packs = 250'000)
      : ttl_(ttl), max_packs_(max_packs) {}

  bool enabled() const { return ttl_.count() > 0; }
  // The generation a lookup starts in; pass it to store().
  std::uint64_t generation() const;

  // The pack as {"id", "serial", "state", "nominal_voltage_mv"} (the last only when it has one).
  std::optional<storage::Item> find(const std::string& org_id, const std::string& device_id,
                                    SteadyTime now) const;
  // The pack's id for a serial of the organization.
  std::optional<std::string> find_serial(const std::string& org_id, const std::string& serial,
                                         SteadyTime now) const;
  // Keeps what ingest needs of a device item (and its serial's claim).
  void store(const std::string& org_id, const storage::Item& device, std::uint64_t generation,
             SteadyTime now);
  // Drops the pack and the serial it had; call before a change of its item and after the commit.
  void forget(const std::string& org_id, const std::string& device_id);

  // The kinds of the pack's open alerts, as its alert state item had them.
  std::optional<std::vector<std::string>> find_open_alerts(const std::string& org_id,
                                                           const std::string& device_id,
                                                           SteadyTime now) const;
  void store_open_alerts(const std::string& org_id, const std::string& device_id,
                         std::vector<std::string> kinds, std::uint64_t generation, SteadyTime now);
  // Call before a change of the pack's alert state and after the commit.
  void forget_open_alerts(const std::string& org_id, const std::string& device_id);

 private:
  struct Pack {
    std::string serial;
    std::string state;
    std::optional<std::int64_t> nominal_voltage_mv;
    SteadyTime until;
  };
  const std::chrono::milliseconds ttl_;
  const std::size_t max_packs_;
  mutable std::mutex mutex_;
  std::uint64_t generation_ = 0;
  std::unordered_map<std::string, Pack> packs_;  // by org_id + "#" + device_id
  std::unordered_map<std::string, std::pair<std::string, SteadyTime>> serials_;  // org#serial
  std::unordered_map<std::string, std::pair<std::vector<std::string>, SteadyTime>> alerts_;
};

}  // namespace cellfleet::device
