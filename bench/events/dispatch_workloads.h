#pragma once
// The event bus's figures on one backend, each a row of the report:
//   ceiling  the write the dispatcher must make per event (inbox marker + effect + outbox item
//            deleted), made directly with Store::write: delivery cannot go faster than this;
//   pass     Dispatcher::run_once over the empty outbox: 16 shard queries (leases held);
//   publish  Publisher::commit of a state item and its event, one event per batch;
//   drain    Dispatcher::run_once until the outbox those commits filled is empty: events/s
//            through one subscriber;
//   lag      commit to applied, with the dispatcher's thread running and events published
//            (with notify) at a steady, moderate rate;
//   ceiling again, at the end: how far the ceiling drifted during the run.

#include <chrono>
#include <cstddef>
#include <string>

#include "report.h"
#include "storage/store.h"

namespace cellfleet::bench {

struct DispatchOptions {
  std::chrono::duration<double> seconds{10.0};  // of the lag phase; a ceiling run takes a quarter
  std::size_t events = 2000;                    // published, then drained
  double rate = 50;                             // events per second in the lag phase
  // Untimed ceiling writes before anything is measured (then 300 events published and drained).
  std::chrono::duration<double> warmup{2.5};
};

inline constexpr const char* kCeilingOperation = "ceiling: write(3 ops)";
inline constexpr const char* kEmptyPassOperation = "pass over empty outbox";
inline constexpr const char* kPublishOperation = "publish(state + event)";
inline constexpr const char* kDrainOperation = "drain: run_once";
inline constexpr const char* kLagOperation = "lag: commit -> applied";
inline constexpr const char* kCeilingAgainOperation = "ceiling again";

// Runs the phases on store (empty, migrated) and adds their rows and ratios to report.
void run_dispatch_workloads(const std::string& backend, storage::Store& store,
                            const DispatchOptions& options, Report& report);

}  // namespace cellfleet::bench
