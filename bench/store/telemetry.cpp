#include "telemetry.h"

#include <fmt/format.h>

namespace cellfleet::bench {
namespace {

// A plausible reading: values in the ranges a 48 V battery pack reports, so integers have the
// digit counts (and encoded sizes) of real ones.
std::array<std::int64_t, kReadingValues> reading_values(std::uint64_t sequence,
                                                        std::mt19937_64& rng) {
  const auto in = [&rng](std::int64_t low, std::int64_t high) {
    return std::uniform_int_distribution<std::int64_t>(low, high)(rng);
  };
  return {1'764'000'000 + static_cast<std::int64_t>(sequence),  // ts, epoch seconds
          in(44'000, 54'600),                                   // voltage_mv
          in(-30'000, 30'000),                                  // current_ma
          in(0, 100),                                           // soc_pct
          in(70, 100),                                          // soh_pct
          in(-100, 550),                                        // temp_dc, tenths of a degree
          in(0, 3'000),                                         // cycles
          in(-1'500, 1'500),                                    // power_w
          in(0, 5'000),                                         // energy_wh
          in(-120, -40)};                                       // rssi_dbm
}

}  // namespace

std::string device_partition(int device) {
  return fmt::format("org_bench#dev_{:05}", device);
}

Reading TelemetrySource::next(std::mt19937_64& rng) {
  const int device = std::uniform_int_distribution<int>(0, kDevices - 1)(rng);
  return next_in(device_partition(device), rng);
}

Reading TelemetrySource::next_in(std::string pk, std::mt19937_64& rng) {
  const std::uint64_t sequence = sequence_++;
  return {std::move(pk), fmt::format("r#{:012}", sequence), reading_values(sequence, rng)};
}

storage::Item to_item(const Reading& reading) {
  storage::Item item = {{"pk", reading.pk}, {"sk", reading.sk}};
  for (std::size_t i = 0; i < kReadingValues; ++i) {
    item[std::string(kReadingAttributes[i])] = reading.values[i];
  }
  return item;
}

}  // namespace cellfleet::bench
