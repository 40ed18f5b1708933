#pragma once
// Timestamps in the API and in stored items: RFC 3339 UTC with seconds, "2026-11-26T08:30:00Z".
// Stored as text they sort chronologically.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace cellfleet {

std::string format_utc(std::int64_t epoch_seconds);
// Accepts "YYYY-MM-DDTHH:MM:SS" with "Z" or a "+HH:MM"/"-HH:MM" offset, optional fractional
// seconds (dropped). nullopt when malformed or out of range.
std::optional<std::int64_t> parse_utc(std::string_view text);

}  // namespace cellfleet
