#pragma once
// One row of POST /v1/telemetry, read from the client's JSON with every problem reported as a
// field error "readings/<index>/<field>". Measurements arrive as JSON numbers in the usual units
// (%, V, A, °C, degrees) and are rounded half away from zero to the Reading's integer units.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "reading.h"

namespace cellfleet::device {

// At most this many extra fields per reading, and this magnitude for each (so that its
// millionths fit an int64 with room to spare and survive a double exactly enough).
inline constexpr std::size_t kMaxExtraFields = 20;
inline constexpr double kMaxExtraMagnitude = 1e12;

struct ReadingRow {
  Reading reading;
  // How the row names its pack; a device credential's rows may name neither.
  std::optional<std::string> device_id;
  std::optional<std::string> serial;
};

// Which times a reading may carry: not older than the retention (it would be stored already
// expired), not further ahead of the server's clock than a pack's clock may drift.
struct TimeWindow {
  std::int64_t now_ms;
  std::int64_t retention_days;
  std::int64_t max_ahead_ms = 5 * 60 * 1000;
};

// Reads row number index. Appends its field errors to errors and returns nullopt when it has any.
std::optional<ReadingRow> read_reading_row(const nlohmann::json& row, std::size_t index,
                                           const TimeWindow& window,
                                           std::vector<FieldError>& errors);

}  // namespace cellfleet::device
