#pragma once
// One telemetry reading as the module stores and reasons about it. Physical quantities are kept
// as integers in small units (the store takes no floating point, and integers compare exactly):
// the API shows them as decimals in the usual units (%, V, A, °C, degrees).

#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace cellfleet::device {

struct Reading {
  std::int64_t at_ms = 0;                     // when the pack measured it, epoch milliseconds
  std::optional<std::int64_t> soc_permille;   // state of charge, 0..1000 (‰)
  std::optional<std::int64_t> voltage_mv;     // pack voltage, millivolts
  std::optional<std::int64_t> current_ma;     // milliamps, negative while discharging
  std::optional<std::int64_t> temperature_dc; // tenths of a degree Celsius
  std::optional<std::int64_t> cycles;         // charge cycle count
  std::optional<std::int64_t> soh_permille;   // state of health, 0..1000 (‰)
  std::optional<std::int64_t> lat_e7;         // latitude, degrees x 10^7
  std::optional<std::int64_t> lon_e7;         // longitude, degrees x 10^7
  nlohmann::json extra = nlohmann::json::object();  // other numeric fields, as stored

  // The stored attributes (no pk/sk): {"at": ms, "soc": ‰, "mv": ..., ...}; absent fields absent.
  nlohmann::json to_attributes() const;
  static Reading from_attributes(const nlohmann::json& attributes);

  // The API's view: {"at": "2026-11-26T08:30:00.250Z", "soc": 87.5, "voltage": 52.1,
  // "current": -3.2, "temperature": 31.5, "cycles": 412, "soh": 96.0, "lat": -1.2921,
  // "lon": 36.8219, "extra": {...}}; absent fields absent.
  nlohmann::json to_api() const;
};

// RFC 3339 UTC with milliseconds: "2026-11-26T08:30:00.250Z".
std::string format_utc_ms(std::int64_t epoch_ms);

}  // namespace cellfleet::device
