#pragma once
// Reading client JSON at the edge. Every problem becomes a field error in one 400 response, never
// a json::exception text: a client learns all that is wrong with a request at once.
//
//   auto body = parse_json_object(req);
//   JsonFields in(body);
//   auto name = in.required_string("name", 1, 200);
//   auto days = in.optional_int("credit_days", 0, 3650);
//   in.finish();  // throws Error(400) listing every field error, including unknown fields

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/http/message.h"

namespace cellfleet {

// The request body as a JSON object. 400 when the Content-Type is not application/json (or a
// +json type), the body is empty, is not valid JSON (the detail names the byte offset), or its top
// level is not an object.
nlohmann::json parse_json_object(const http::Request& req);
nlohmann::json parse_json_value(std::string_view body);  // 400 on malformed JSON

// The 400 for a list of field errors: its detail names the one field, or counts them.
Error validation_error(std::vector<FieldError> errors);

// True when value holds a number with a fraction or exponent anywhere inside it. Stored items
// take integers only (money is in minor units), so free-form JSON is checked with this first.
bool contains_fraction(const nlohmann::json& value);

class JsonFields {
 public:
  // prefix is prepended to field names in errors ("items/3/").
  explicit JsonFields(const nlohmann::json& object, std::string prefix = "");

  std::string required_string(std::string_view name, std::size_t min_len, std::size_t max_len);
  std::optional<std::string> optional_string(std::string_view name, std::size_t min_len,
                                             std::size_t max_len);
  std::int64_t required_int(std::string_view name, std::int64_t min, std::int64_t max);
  std::optional<std::int64_t> optional_int(std::string_view name, std::int64_t min,
                                           std::int64_t max);
  std::optional<bool> optional_bool(std::string_view name);
  // The member if present and of the given type; a field error (and nullptr) if of another type.
  const nlohmann::json* optional_object(std::string_view name);
  const nlohmann::json* optional_array(std::string_view name);

  void error(std::string_view name, std::string message);
  bool ok() const { return errors_.empty(); }
  const std::vector<FieldError>& errors() const { return errors_; }
  // Throws a 400 Error carrying every field error so far, plus one per member that no accessor
  // asked for ("unknown field"), so a misspelt optional field is not silently ignored.
  void finish();

 private:
  const nlohmann::json* member(std::string_view name, bool required);

  const nlohmann::json& object_;
  std::string prefix_;
  std::set<std::string, std::less<>> seen_;
  std::vector<FieldError> errors_;
};

}  // namespace cellfleet
