#pragma once
// One telemetry reading as the module stores and reasons about it. Physical quantities are kept
// as integers in small units (the store takes no floating point, and integers compare exactly):
// the API shows them as decimals in the usual units (%, V, A, °C, degrees).

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace cellfleet::device {

struct Reading {
  std::int64_t at_ms = 0;                      // when the pack measured it, epoch milliseconds
  std::optional<std::int64_t> soc_permille;    // state of charge, 0..1000 (‰)
  std::optional<std::int64_t> voltage_mv;      // pack voltage, millivolts
  std::optional<std::int64_t> current_ma;      // milliamps, negative while discharging
  std::optional<std::int64_t> temperature_dc;  // tenths of a degree Celsius
  std::optional<std::int64_t> cycles;          // charge cycle count
  std::optional<std::int64_t> soh_permille;    // state of health, 0..1000 (‰)
  std::optional<std::int64_t> lat_e7;          // latitude, degrees x 10^7
  std::optional<std::int64_t> lon_e7;          // longitude, degrees x 10^7
  // Other numeric fields the pack reports, by name, each in millionths of the client's number
  // (kExtraPerUnit per unit): {"cell_min_v": 3241500} is 3.2415.
  nlohmann::json extra = nlohmann::json::object();

  // The stored attributes (no pk/sk): {"at": ms, "soc": ‰, "mv": ..., ...}; absent fields absent.
  nlohmann::json to_attributes() const;
  static Reading from_attributes(const nlohmann::json& attributes);

  // The API's view: {"at": "2026-11-26T08:30:00.250Z", "soc": 87.5, "voltage": 52.1,
  // "current": -3.2, "temperature": 31.5, "cycles": 412, "soh": 96.0, "lat": -1.2921,
  // "lon": 36.8219, "extra": {...}}; absent fields absent.
  nlohmann::json to_api() const;
};

// How many stored units make one unit of an extra field's number.
inline constexpr std::int64_t kExtraPerUnit = 1'000'000;

// The numeric fields of a reading, for code that treats them alike (ingest, buckets, views).
struct ReadingField {
  const char* api_name;   // in the API: "soc"
  const char* attribute;  // stored: "soc"
  std::optional<std::int64_t> Reading::*member;
  std::int64_t per_unit;  // stored units per API unit: 10 for a % kept in ‰, 1 for a count
  double min;             // the physical range accepted at ingest, in API units
  double max;
};
const std::array<ReadingField, 8>& reading_fields();

// A stored integer in API units (cycles stay whole numbers).
nlohmann::json api_number(std::int64_t stored, std::int64_t per_unit);

// RFC 3339 UTC with milliseconds: "2026-11-26T08:30:00.250Z".
std::string format_utc_ms(std::int64_t epoch_ms);
// RFC 3339 with "Z" or an offset and optional fractional seconds, to epoch milliseconds (digits
// beyond the millisecond are dropped). nullopt when malformed.
std::optional<std::int64_t> parse_utc_ms(std::string_view text);

}  // namespace cellfleet::device
