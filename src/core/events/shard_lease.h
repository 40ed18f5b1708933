#pragma once
// Which outbox shards this instance may deliver. Each shard has one lease item in "entities":
//   pk "lease#outbox#<shard>", sk "lease": {owner, expires_at_ms, version}
// taken with must_not_exist, renewed and taken over with version_is, so of several instances
// racing for a shard exactly one write wins. A lease is taken over only once it has expired: a
// crashed holder's shards move to another instance after at most one lease duration.
//
// The holder renews once half the duration has passed and delivers only while at least half is
// left, so it has stopped well before anyone may take over (given clocks that agree to within
// that half). Should an instance still be mid-delivery at a takeover, the inbox marker and the
// outbox item's version keep the event from being applied twice.
//
// Not thread-safe: used by the dispatcher's pass, which runs one at a time.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "core/clock.h"
#include "storage/store.h"

namespace cellfleet::events {

class ShardLeases {
 public:
  // name tells apart the jobs sharing this helper: the dispatcher's outbox shards ("outbox"),
  // the warehouse export ("warehouse", one shard).
  ShardLeases(storage::Store& store, const Clock& clock, std::string owner,
              std::chrono::milliseconds duration, std::string name = "outbox");

  // True when this instance holds shard's lease for at least half its duration more,
  // taking or renewing it as needed (one get and one conditional write, at most every half
  // duration). False when another instance holds it. Store errors propagate.
  bool hold(std::size_t shard);

  // Gives up every lease held (deletes it if still ours), so another instance need not wait for
  // expiry. Errors are swallowed: an unreleased lease simply expires.
  void release_all();

  std::size_t held_count() const { return held_.size(); }

 private:
  struct Held {
    std::int64_t version = 0;
    std::int64_t expires_at_ms = 0;
  };
  bool acquire(std::size_t shard, std::int64_t now_ms);

  storage::Store& store_;
  const Clock& clock_;
  std::string owner_;
  std::string name_;
  std::int64_t duration_ms_;
  std::map<std::size_t, Held> held_;
};

// "lease#<name>#<shard>"
std::string lease_partition(std::size_t shard, std::string_view name = "outbox");

}  // namespace cellfleet::events
