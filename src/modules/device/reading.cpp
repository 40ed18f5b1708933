#include "reading.h"

#include <fmt/format.h>

#include "core/timestamp.h"

namespace cellfleet::device {

const std::array<ReadingField, 8>& reading_fields() {
  // Short attribute names: a reading is stored millions of times. The ranges are physical
  // limits generous enough for any pack in a rental fleet, from an e-bike to a home battery.
  static const std::array<ReadingField, 8> fields = {{
      {"soc", "soc", &Reading::soc_permille, 10, 0, 100},
      {"voltage", "mv", &Reading::voltage_mv, 1000, 0, 1500},
      {"current", "ma", &Reading::current_ma, 1000, -2000, 2000},
      {"temperature", "dc", &Reading::temperature_dc, 10, -40, 125},
      {"cycles", "cyc", &Reading::cycles, 1, 0, 1'000'000},
      {"soh", "soh", &Reading::soh_permille, 10, 0, 100},
      {"lat", "lat", &Reading::lat_e7, 10'000'000, -90, 90},
      {"lon", "lon", &Reading::lon_e7, 10'000'000, -180, 180},
  }};
  return fields;
}

nlohmann::json api_number(std::int64_t stored, std::int64_t per_unit) {
  // Decimal views of the integer units; JSON numbers here are measurements, never money.
  if (per_unit == 1) return stored;
  return static_cast<double>(stored) / static_cast<double>(per_unit);
}

nlohmann::json Reading::to_attributes() const {
  nlohmann::json out = {{"at", at_ms}};
  for (const auto& f : reading_fields()) {
    if (this->*f.member) out[f.attribute] = *(this->*f.member);
  }
  if (!extra.empty()) out["x"] = extra;
  return out;
}

Reading Reading::from_attributes(const nlohmann::json& attributes) {
  Reading r;
  r.at_ms = attributes.at("at").get<std::int64_t>();
  for (const auto& f : reading_fields()) {
    if (auto it = attributes.find(f.attribute); it != attributes.end() && it->is_number_integer()) {
      r.*f.member = it->get<std::int64_t>();
    }
  }
  if (auto it = attributes.find("x"); it != attributes.end()) r.extra = *it;
  return r;
}

std::string format_utc_ms(std::int64_t epoch_ms) {
  const std::int64_t seconds = epoch_ms >= 0 ? epoch_ms / 1000 : (epoch_ms - 999) / 1000;
  std::string text = format_utc(seconds);  // "...:SSZ"
  text.insert(text.size() - 1, fmt::format(".{:03}", epoch_ms - seconds * 1000));
  return text;
}

std::optional<std::int64_t> parse_utc_ms(std::string_view text) {
  auto seconds = parse_utc(text);  // validates the whole text, offsets included
  if (!seconds) return std::nullopt;
  std::int64_t millis = 0;
  if (text.size() > 19 && text[19] == '.') {
    std::int64_t scale = 100;
    for (std::size_t i = 20; i < text.size() && text[i] >= '0' && text[i] <= '9' && scale > 0;
         ++i, scale /= 10) {
      millis += (text[i] - '0') * scale;
    }
  }
  return *seconds * 1000 + millis;
}

nlohmann::json Reading::to_api() const {
  nlohmann::json out = {{"at", format_utc_ms(at_ms)}};
  for (const auto& f : reading_fields()) {
    if (this->*f.member) out[f.api_name] = api_number(*(this->*f.member), f.per_unit);
  }
  if (!extra.empty()) {
    nlohmann::json view = nlohmann::json::object();
    for (const auto& [name, value] : extra.items()) {
      if (value.is_number_integer())
        view[name] = api_number(value.get<std::int64_t>(), kExtraPerUnit);
    }
    out["extra"] = std::move(view);
  }
  return out;
}

}  // namespace cellfleet::device
