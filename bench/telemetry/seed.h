#pragma once
// Seeds a cellfleet data directory with telemetry history, written straight into its SQLite store
// in the device module's own layout (device_impl.h: table "telemetry", pk org#<org>#device#<dev>,
// sk the reading's time as 13 digits of milliseconds, the attributes of Reading::to_attributes()
// and expires_at), so that the server started on it afterwards serves the readings as its own.
// Loading millions of readings through POST /v1/telemetry would take longer than the benchmark.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace cellfleet::bench {

struct SeedPlan {
  std::string database;                 // <storage.data_dir>/cellfleet.db; the server is stopped
  std::string org_id;                   // the organization the packs belong to
  std::vector<std::string> device_ids;  // packs registered through the API beforehand
  std::size_t readings = 10'000'000;    // in all, rounded up to a whole number per pack
  std::int64_t interval_ms = 60'000;    // between two readings of one pack
  std::int64_t end_ms = 0;              // no reading is newer than this
  std::int64_t retention_days = 90;     // devices.telemetry_retention_days of the server
  // Seeding stops after this long even when short of readings: the benchmark stays bounded.
  std::chrono::duration<double> budget{180.0};
  // A bulk load, not the ingest path being measured: "off" unless asked otherwise.
  std::string synchronous = "off";
  std::size_t items_per_call = 5000;  // readings per Store::put_many
};

struct SeedResult {
  std::size_t readings = 0;  // written
  double seconds = 0;        // wall time of the writing, opening the store excluded
  double readings_per_second() const { return seconds > 0 ? readings / seconds : 0; }
  bool complete = false;  // all of plan.readings, within the budget
  // Every pack has one reading per interval over [from_ms, to_ms): the range history queries can
  // rely on, also when the budget cut the seeding short.
  std::int64_t from_ms = 0;
  std::int64_t to_ms = 0;
};

// Writes the plan's readings, one reading per interval and pack up to plan.end_ms, printing
// progress to stderr every few seconds.
SeedResult seed_history(const SeedPlan& plan);

}  // namespace cellfleet::bench
