#pragma once
// The fields of a customer, read from a client's JSON object (create and update) with every
// problem reported as a field error.
//
//   name         1..200 characters, required; trimmed
//   phone        E.164, required: "+", then 8 to 15 digits, the first not 0. Spaces, dashes, dots
//                and parentheses are dropped first, so "+254 712-345 678" is "+254712345678".
//                Unique within the organization.
//   email        optional, up to 254 characters: local@domain, the domain with a dot
//   national_id  optional, 1..64 characters; trimmed
//   address      optional, 1..500 characters of free text (lines allowed): addresses where
//                operators work are landmarks as often as streets, so a structure would be a lie
//   notes        optional, up to 2000 characters
//   status       "active" (the default) or "blocked": a blocked customer may not sign contracts
// On update, email, national_id, address and notes may be sent as null to remove them.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/json_input.h"

namespace cellfleet::billing {

struct CustomerFields {
  nlohmann::json set = nlohmann::json::object();  // the fields given, as item attributes
  std::vector<std::string> removed;               // the optional fields sent as null (update)
  bool empty() const { return set.empty() && removed.empty(); }
};

// Reads the customer fields of body (through in, which wraps it). When creating, name and phone
// are required. Field errors are added to in; the caller calls in.finish().
CustomerFields read_customer_fields(const nlohmann::json& body, JsonFields& in, bool creating);

// phone without the separators people type, when the rest is E.164 ("+" and 8..15 digits);
// nullopt otherwise.
std::optional<std::string> normalized_phone(std::string_view phone);

bool is_customer_status(std::string_view status);

inline constexpr const char* kPhoneRule =
    "must be an E.164 number: + and 8 to 15 digits, e.g. +254712345678";

}  // namespace cellfleet::billing
