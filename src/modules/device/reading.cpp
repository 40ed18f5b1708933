#include "reading.h"

#include <fmt/format.h>

#include "core/timestamp.h"

namespace cellfleet::device {

namespace {
// Short attribute names: a reading is stored millions of times.
struct Field {
  const char* name;
  std::optional<std::int64_t> Reading::*member;
};
constexpr Field kFields[] = {
    {"soc", &Reading::soc_permille},    {"mv", &Reading::voltage_mv},
    {"ma", &Reading::current_ma},       {"dc", &Reading::temperature_dc},
    {"cyc", &Reading::cycles},          {"soh", &Reading::soh_permille},
    {"lat", &Reading::lat_e7},          {"lon", &Reading::lon_e7},
};
}  // namespace

nlohmann::json Reading::to_attributes() const {
  nlohmann::json out = {{"at", at_ms}};
  for (const auto& f : kFields) {
    if (this->*f.member) out[f.name] = *(this->*f.member);
  }
  if (!extra.empty()) out["x"] = extra;
  return out;
}

Reading Reading::from_attributes(const nlohmann::json& attributes) {
  Reading r;
  r.at_ms = attributes.at("at").get<std::int64_t>();
  for (const auto& f : kFields) {
    if (auto it = attributes.find(f.name); it != attributes.end() && it->is_number_integer()) {
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

nlohmann::json Reading::to_api() const {
  // Decimal views of the integer units; JSON numbers here are measurements, never money.
  auto scaled = [](const std::optional<std::int64_t>& v, double unit) {
    return static_cast<double>(*v) / unit;
  };
  nlohmann::json out = {{"at", format_utc_ms(at_ms)}};
  if (soc_permille) out["soc"] = scaled(soc_permille, 10);
  if (voltage_mv) out["voltage"] = scaled(voltage_mv, 1000);
  if (current_ma) out["current"] = scaled(current_ma, 1000);
  if (temperature_dc) out["temperature"] = scaled(temperature_dc, 10);
  if (cycles) out["cycles"] = *cycles;
  if (soh_permille) out["soh"] = scaled(soh_permille, 10);
  if (lat_e7) out["lat"] = scaled(lat_e7, 1e7);
  if (lon_e7) out["lon"] = scaled(lon_e7, 1e7);
  if (!extra.empty()) out["extra"] = extra;
  return out;
}

}  // namespace cellfleet::device
