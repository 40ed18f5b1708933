#include "device_fields.h"

#include <algorithm>
#include <array>
#include <string_view>

#include "core/currency.h"
#include "core/timestamp.h"

namespace cellfleet::device {

namespace {

constexpr std::array<std::string_view, 9> kChemistries = {"LFP", "NMC",  "NCA",       "LTO",  "LMO",
                                                          "LCO", "NiMH", "lead_acid", "other"};

// Serials are printed on labels and typed by people and scanners: letters, digits and a few
// separators, so they are safe in keys, URLs and CSV alike.
bool valid_serial(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.' || c == '/' || c == ':';
  });
}

bool valid_tag(std::string_view s) {
  return !s.empty() && s.size() <= 40 && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == ':';
  });
}

}  // namespace

nlohmann::json read_device_fields(JsonFields& in, bool creating) {
  nlohmann::json out = nlohmann::json::object();
  auto text = [&](const char* name, std::size_t min, std::size_t max, bool required) {
    auto v = required ? std::optional(in.required_string(name, min, max))
                      : in.optional_string(name, min, max);
    if (v) out[name] = *v;
    return v;
  };
  auto integer = [&](const char* name, std::int64_t min, std::int64_t max, bool required) {
    auto v =
        required ? std::optional(in.required_int(name, min, max)) : in.optional_int(name, min, max);
    if (v) out[name] = *v;
  };

  if (auto serial = text("serial", 1, 64, creating); serial && !valid_serial(*serial)) {
    in.error("serial", "may hold only letters, digits and - _ . / :");
  }
  text("model", 1, 100, creating);
  if (auto chemistry = text("chemistry", 1, 20, creating);
      chemistry &&
      std::find(kChemistries.begin(), kChemistries.end(), *chemistry) == kChemistries.end()) {
    in.error("chemistry", "must be one of LFP, NMC, NCA, LTO, LMO, LCO, NiMH, lead_acid, other");
  }
  integer("capacity_wh", 1, 10'000'000, creating);
  integer("nominal_voltage_mv", 1'000, 1'500'000, creating);
  text("firmware_version", 0, 64, false);
  if (auto date = text("manufactured_on", 10, 10, false);
      date && !parse_utc(*date + "T00:00:00Z")) {
    in.error("manufactured_on", "must be a date, YYYY-MM-DD");
  }
  text("depot", 0, 100, false);
  text("notes", 0, 2000, false);

  if (const auto* cost = in.optional_object("purchase_cost")) {
    JsonFields money(*cost, "purchase_cost/");
    auto amount = money.required_int("amount", 0, 1'000'000'000'000);
    auto currency = money.required_string("currency", 3, 3);
    if (!currency.empty() && !is_currency(currency)) {
      money.error("currency", "must be an ISO 4217 currency code");
    }
    try {
      money.finish();
      out["purchase_cost"] = {{"amount", amount}, {"currency", currency}};
    } catch (const Error& e) {
      for (const auto& f : e.fields()) in.error(f.field, f.message);
    }
  }
  if (const auto* tags = in.optional_array("tags")) {
    auto list = nlohmann::json::array();
    if (tags->size() > 20) in.error("tags", "at most 20 tags");
    for (std::size_t i = 0; i < tags->size() && i < 20; ++i) {
      const auto& tag = (*tags)[i];
      if (!tag.is_string() || !valid_tag(tag.get_ref<const std::string&>())) {
        in.error("tags/" + std::to_string(i), "must be 1 to 40 characters of a-z, 0-9 and - _ :");
      } else if (std::find(list.begin(), list.end(), tag) == list.end()) {
        list.push_back(tag);
      }
    }
    out["tags"] = list;
  }
  if (creating) {
    if (auto state = in.optional_string("state", 1, 20)) {
      if (*state != "registered" && *state != "in_stock") {
        in.error("state", "a new pack starts as registered or in_stock");
      }
      out["state"] = *state;
    }
  }
  return out;
}

}  // namespace cellfleet::device
