#include "buckets.h"

#include <algorithm>
#include <charconv>

namespace cellfleet::device {

std::optional<std::int64_t> parse_bucket_width(std::string_view text) {
  if (text.size() < 2) return std::nullopt;
  std::int64_t n = 0;
  const char* end = text.data() + text.size() - 1;
  auto [p, ec] = std::from_chars(text.data(), end, n);
  if (ec != std::errc() || p != end || text[0] == '0' || text[0] == '+') return std::nullopt;
  constexpr std::int64_t kMinute = 60'000;
  switch (text.back()) {
    case 'm':
      if (n >= 1 && n <= 1440) return n * kMinute;
      break;
    case 'h':
      if (n >= 1 && n <= 744) return n * 60 * kMinute;
      break;
    case 'd':
      if (n >= 1 && n <= 31) return n * 1440 * kMinute;
      break;
    default:
      break;
  }
  return std::nullopt;
}

BucketAggregator::BucketAggregator(std::int64_t from_ms, std::int64_t to_ms, std::int64_t width_ms)
    : from_ms_(from_ms),
      to_ms_(to_ms),
      width_ms_(width_ms),
      buckets_(static_cast<std::size_t>((to_ms - from_ms + width_ms - 1) / width_ms)) {}

std::size_t BucketAggregator::bucket_of(std::int64_t at_ms) const {
  return static_cast<std::size_t>((at_ms - from_ms_) / width_ms_);
}

std::int64_t BucketAggregator::bucket_start(std::size_t bucket) const {
  return from_ms_ + static_cast<std::int64_t>(bucket) * width_ms_;
}

void BucketAggregator::Stat::add(std::int64_t v) {
  min = n == 0 ? v : std::min(min, v);
  max = n == 0 ? v : std::max(max, v);
  sum += static_cast<long double>(v);
  ++n;
}

nlohmann::json BucketAggregator::Stat::to_json(std::int64_t per_unit) const {
  const long double mean = sum / static_cast<long double>(n) / static_cast<long double>(per_unit);
  return {{"min", api_number(min, per_unit)},
          {"avg", static_cast<double>(mean)},
          {"max", api_number(max, per_unit)}};
}

void BucketAggregator::add(const Reading& reading) {
  if (reading.at_ms < from_ms_ || reading.at_ms >= to_ms_) return;
  Bucket& b = buckets_[bucket_of(reading.at_ms)];
  ++b.count;
  const auto& fields = reading_fields();
  for (std::size_t i = 0; i < fields.size(); ++i) {
    if (const auto& v = reading.*fields[i].member) b.fields[i].add(*v);
  }
  for (const auto& [name, value] : reading.extra.items()) {
    if (value.is_number_integer()) b.extra[name].add(value.get<std::int64_t>());
  }
}

nlohmann::json BucketAggregator::to_json(std::size_t n) const {
  auto out = nlohmann::json::array();
  const auto& fields = reading_fields();
  for (std::size_t k = 0; k < n && k < buckets_.size(); ++k) {
    const Bucket& b = buckets_[k];
    nlohmann::json bucket = {{"start", format_utc_ms(bucket_start(k))}, {"count", b.count}};
    for (std::size_t i = 0; i < fields.size(); ++i) {
      if (b.fields[i].n > 0) bucket[fields[i].api_name] = b.fields[i].to_json(fields[i].per_unit);
    }
    if (!b.extra.empty()) {
      auto& extra = bucket["extra"] = nlohmann::json::object();
      for (const auto& [name, stat] : b.extra) extra[name] = stat.to_json(kExtraPerUnit);
    }
    out.push_back(std::move(bucket));
  }
  return out;
}

}  // namespace cellfleet::device
