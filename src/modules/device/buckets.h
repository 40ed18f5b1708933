#pragma once
// Downsampled history: the readings of [from, to) grouped into buckets of one width, the first
// starting at from (so a client chooses the alignment: local midnight, the hour, ...) and the
// last ending at to. Each bucket tells how many readings it holds and, for every numeric field
// present in them, its minimum, mean and maximum, in the API's units.

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "reading.h"

namespace cellfleet::device {

// "<N>m" (1..1440), "<N>h" (1..744) or "<N>d" (1..31) in milliseconds; nullopt otherwise.
std::optional<std::int64_t> parse_bucket_width(std::string_view text);

class BucketAggregator {
 public:
  BucketAggregator(std::int64_t from_ms, std::int64_t to_ms, std::int64_t width_ms);

  std::size_t bucket_count() const { return buckets_.size(); }
  // The bucket a time of [from, to) falls in.
  std::size_t bucket_of(std::int64_t at_ms) const;
  std::int64_t bucket_start(std::size_t bucket) const;

  // Adds a reading of [from, to); readings outside are ignored.
  void add(const Reading& reading);
  // The first n buckets, empty ones included (count 0, no statistics):
  // [{"start": "...", "count": 12, "soc": {"min": .., "avg": .., "max": ..}, ...,
  //   "extra": {"<name>": {...}}}, ...]
  nlohmann::json to_json(std::size_t n) const;

 private:
  struct Stat {
    std::int64_t min = 0;
    std::int64_t max = 0;
    // Cannot overflow where an int64 sum of large extras could; exact while under 2^64 (x86).
    long double sum = 0;
    std::int64_t n = 0;
    void add(std::int64_t v);
    nlohmann::json to_json(std::int64_t per_unit) const;
  };
  struct Bucket {
    std::int64_t count = 0;
    std::array<Stat, 8> fields;  // in the order of reading_fields()
    std::map<std::string, Stat> extra;
  };

  std::int64_t from_ms_;
  std::int64_t to_ms_;
  std::int64_t width_ms_;
  std::vector<Bucket> buckets_;
};

}  // namespace cellfleet::device
