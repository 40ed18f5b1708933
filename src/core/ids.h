#pragma once
// Sortable unique ids with a type prefix: "dev_01JD3K6W7M8N9P0Q1R2S3T4V5W". The part after the
// prefix is a ULID (48-bit millisecond timestamp + 80 random bits, Crockford base32), so ids sort
// by creation time as plain strings (in DynamoDB sort keys and SQLite alike) and a log line tells
// what an id names.

#include <cstdint>
#include <string>
#include <string_view>

#include "core/clock.h"

namespace cellfleet {

class IdGenerator {
 public:
  explicit IdGenerator(const Clock& clock);
  // Ids made by one generator are strictly increasing, even within one millisecond.
  std::string next(std::string_view prefix);

 private:
  const Clock& clock_;
};

// The greatest id of prefix a generator can make at epoch_ms: every id made at or before that
// millisecond sorts at or below it, every later one above. A bound for range reads by time.
std::string last_id_at(std::string_view prefix, std::int64_t epoch_ms);

// The millisecond an id was made at (its ULID's time). The id must satisfy is_id.
std::int64_t id_millis(std::string_view id);

// True when text is prefix + "_" + 26 Crockford base32 characters.
bool is_id(std::string_view text, std::string_view prefix);

}  // namespace cellfleet
