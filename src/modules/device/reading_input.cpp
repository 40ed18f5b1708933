#include "reading_input.h"

#include <algorithm>
#include <cmath>
#include <string_view>

#include <fmt/format.h>

namespace cellfleet::device {

namespace {

// Range limits as a person writes them: "1000000", not "1e+06".
std::string limit_text(double x) {
  if (x == std::floor(x) && std::fabs(x) < 1e15) {
    return std::to_string(static_cast<std::int64_t>(x));
  }
  return fmt::format("{}", x);
}

// Rows are read in one pass over their members (the ingest hot path), so unknown members are
// found without a second walk.
class RowReader {
 public:
  RowReader(std::size_t index, std::vector<FieldError>& errors)
      : prefix_(fmt::format("readings/{}/", index)), errors_(errors), before_(errors.size()) {}

  void error(std::string_view field, std::string message) {
    errors_.push_back({prefix_ + std::string(field), std::move(message)});
  }
  bool failed() const { return errors_.size() > before_; }

  // The number behind value, or nullopt (with an error) when it is not a number in [min, max].
  std::optional<double> number(std::string_view field, const nlohmann::json& value, double min,
                               double max) {
    if (!value.is_number()) {
      error(field, "must be a number");
      return std::nullopt;
    }
    const double x = value.get<double>();
    if (!(x >= min && x <= max)) {  // also false for an infinity from an overlong literal
      error(field, fmt::format("must be between {} and {}", limit_text(min), limit_text(max)));
      return std::nullopt;
    }
    return x;
  }

  std::optional<std::string> text(std::string_view field, const nlohmann::json& value,
                                  std::size_t max_len) {
    if (!value.is_string() || value.get_ref<const std::string&>().empty() ||
        value.get_ref<const std::string&>().size() > max_len) {
      error(field, fmt::format("must be a string of 1 to {} characters", max_len));
      return std::nullopt;
    }
    return value.get<std::string>();
  }

 private:
  std::string prefix_;
  std::vector<FieldError>& errors_;
  std::size_t before_;
};

bool valid_extra_name(std::string_view name) {
  return !name.empty() && name.size() <= 40 && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

void read_at(RowReader& in, const nlohmann::json& value, const TimeWindow& window, Reading& out) {
  auto at = value.is_string() ? parse_utc_ms(value.get_ref<const std::string&>()) : std::nullopt;
  if (!at) {
    in.error("at", "must be an RFC 3339 time, e.g. 2026-11-26T08:30:00.250Z");
    return;
  }
  if (*at > window.now_ms + window.max_ahead_ms) {
    in.error("at", fmt::format("is more than {} minutes in the future; check the pack's clock",
                               window.max_ahead_ms / 60'000));
    return;
  }
  if (*at < 0 || *at <= window.now_ms - window.retention_days * 86'400'000) {
    in.error("at",
             fmt::format("is older than the {}-day telemetry retention", window.retention_days));
    return;
  }
  out.at_ms = *at;
}

void read_extra(RowReader& in, const nlohmann::json& value, Reading& out) {
  if (!value.is_object()) {
    in.error("extra", "must be an object of numbers");
    return;
  }
  if (value.size() > kMaxExtraFields) {
    in.error("extra", fmt::format("may hold at most {} fields", kMaxExtraFields));
    return;
  }
  for (const auto& [name, number] : value.items()) {
    if (!valid_extra_name(name)) {
      in.error("extra", "field names are 1 to 40 characters of a-z, 0-9 and _");
      continue;
    }
    if (auto x = in.number("extra/" + name, number, -kMaxExtraMagnitude, kMaxExtraMagnitude)) {
      out.extra[name] = std::llround(*x * static_cast<double>(kExtraPerUnit));
    }
  }
}

const ReadingField* measurement(std::string_view name) {
  for (const auto& f : reading_fields()) {
    if (name == f.api_name) return &f;
  }
  return nullptr;
}

}  // namespace

std::optional<ReadingRow> read_reading_row(const nlohmann::json& row, std::size_t index,
                                           const TimeWindow& window,
                                           std::vector<FieldError>& errors) {
  RowReader in(index, errors);
  if (!row.is_object()) {
    errors.push_back({fmt::format("readings/{}", index), "must be an object"});
    return std::nullopt;
  }
  ReadingRow out;
  bool has_at = false;
  for (const auto& [name, value] : row.items()) {
    if (value.is_null()) continue;  // an absent measurement, as JSON encoders often write it
    if (const ReadingField* f = measurement(name)) {
      if (auto x = in.number(name, value, f->min, f->max)) {
        if (f->per_unit == 1 && *x != std::floor(*x)) {
          in.error(name, "must be a whole number");
        } else {
          out.reading.*f->member = std::llround(*x * static_cast<double>(f->per_unit));
        }
      }
    } else if (name == "at") {
      has_at = true;
      read_at(in, value, window, out.reading);
    } else if (name == "extra") {
      read_extra(in, value, out.reading);
    } else if (name == "device_id") {
      out.device_id = in.text(name, value, 64);
    } else if (name == "serial") {
      out.serial = in.text(name, value, 64);
    } else {
      in.error(name, "is not a field of a reading");
    }
  }
  if (!has_at) in.error("at", "is required");
  if (in.failed()) return std::nullopt;
  return out;
}

}  // namespace cellfleet::device
