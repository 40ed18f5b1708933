#pragma once
// The device module's inside, shared by its files. Context is what every part needs (the store,
// the clock, the publisher, device lookup); each part of the module is a class of its own file:
//   registry.cpp     packs: create, read, update, list, bulk import       (Registry)
//   lifecycle.cpp    the state machine and its transitions              (Registry)
//   credentials.cpp  device credentials: issue, rotate, revoke, authenticate
//   telemetry*.cpp   ingest, latest state, history, buckets              (Telemetry)
//   alerts.cpp       thresholds, alert episodes, the no-report check     (Alerts)
//   commands.cpp     lock/unlock queue, device fetch and acknowledgement (Commands)
//
// Item layout. Everything sits under partition keys that start with "org#<org id>", except the
// credential lookup a device's request must resolve before its organization is known.
//   entities  org#<org>#device#<dev>   sk device        the pack
//                                         gsi1 org#<org>#devices / <dev>          (list, by id)
//                                         gsi2 org#<org>#devices#state#<state> / <dev>
//   entities  org#<org>#device#<dev>   sk latest        newest reading, last_seen
//                                         gsi1 org#<org>#devices#seen / <ms:13>#<dev>
//   entities  org#<org>#serial#<serial> sk serial       claims a serial within the organization
//   entities  devcred#<prefix>          sk devcred      a device credential (hash of its secret)
//   telemetry org#<org>#device#<dev>   sk <ms:13>       one reading (expires after the retention)
// Alerts and commands document their own keys in alerts.h and commands.h.

#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "contracts/organization_directory.h"
#include "core/clock.h"
#include "core/error.h"
#include "core/events/publisher.h"
#include "core/http/message.h"
#include "core/ids.h"
#include "core/log.h"
#include "device_module.h"
#include "pack_cache.h"
#include "storage/store.h"

namespace cellfleet::device {

namespace keys {
inline std::string device(const std::string& org_id, const std::string& device_id) {
  return "org#" + org_id + "#device#" + device_id;
}
inline constexpr const char* kDeviceSk = "device";
inline constexpr const char* kLatestSk = "latest";
inline std::string devices(const std::string& org_id) {
  return "org#" + org_id + "#devices";
}
inline std::string devices_in_state(const std::string& org_id, const std::string& state) {
  return "org#" + org_id + "#devices#state#" + state;
}
inline std::string devices_by_last_seen(const std::string& org_id) {
  return "org#" + org_id + "#devices#seen";
}
inline std::string serial(const std::string& org_id, const std::string& serial) {
  return "org#" + org_id + "#serial#" + serial;
}
inline std::string credential(const std::string& prefix) {
  return "devcred#" + prefix;
}
// Milliseconds as 13 digits, so sort keys order by time (good until the year 2286).
std::string time_key(std::int64_t epoch_ms);
}  // namespace keys

inline constexpr const char* kTable = "entities";
inline constexpr const char* kTelemetryTable = "telemetry";

struct Context {
  Context(storage::Store& store, const Clock& clock, DeviceOptions options, Logger& log,
          events::Publisher& events, contracts::OrganizationDirectory& organizations)
      : store(store),
        clock(clock),
        options(options),
        log(log),
        events(events),
        organizations(organizations),
        ids(clock),
        packs(std::chrono::milliseconds(options.pack_cache_ms)) {}

  storage::Store& store;
  const Clock& clock;
  DeviceOptions options;
  Logger& log;
  events::Publisher& events;
  contracts::OrganizationDirectory& organizations;
  IdGenerator ids;
  // What ingest needs of each pack; forget a pack around every change of its serial, nominal
  // voltage or retirement, and of its removal.
  PackCache packs;

  std::optional<storage::Item> find_device(const std::string& org_id,
                                           const std::string& device_id) const;
  // The pack, or pack_not_found(device_id). A malformed id is a 404 too: there is no such pack.
  storage::Item require_device(const std::string& org_id, const std::string& device_id) const;
  // The device a request is about: the {device_id} path parameter, in the caller's organization.
  storage::Item device_of(const http::Request& req) const;
};

// The 404 for a pack id the caller's organization does not have (or a malformed one).
Error pack_not_found(const std::string& device_id);

// The API's view of a pack.
nlohmann::json device_view(const storage::Item& device);

}  // namespace cellfleet::device
