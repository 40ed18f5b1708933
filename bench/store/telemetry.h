#pragma once
// The benchmark's data: battery telemetry readings as a fleet sends them. Each reading goes to one
// of 10,000 devices chosen at random, with a sort key that grows over the whole run, so writes land
// all over the primary key's B-tree (or DynamoDB's partitions) rather than appending.

#include <array>
#include <atomic>
#include <cstdint>
#include <random>
#include <string>
#include <string_view>

#include "storage/store.h"

namespace cellfleet::bench {

inline constexpr int kDevices = 10'000;
inline constexpr std::size_t kReadingValues = 10;
inline constexpr std::array<std::string_view, kReadingValues> kReadingAttributes = {
    "ts",      "voltage_mv", "current_ma", "soc_pct",   "soh_pct",
    "temp_dc", "cycles",     "power_w",    "energy_wh", "rssi_dbm"};

struct Reading {
  std::string pk;  // "org_bench#dev_00042"
  std::string sk;  // "r#000000001234"
  std::array<std::int64_t, kReadingValues> values{};
};

// Thread-safe: sort keys come from one shared counter, so no two readings share a key.
class TelemetrySource {
 public:
  // A reading of a random device.
  Reading next(std::mt19937_64& rng);
  // A reading of the given partition.
  Reading next_in(std::string pk, std::mt19937_64& rng);

 private:
  std::atomic<std::uint64_t> sequence_{0};
};

std::string device_partition(int device);

// The reading as a Store item: pk, sk and ten integer attributes.
storage::Item to_item(const Reading& reading);

}  // namespace cellfleet::bench
