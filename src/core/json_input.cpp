#include "core/json_input.h"

#include <fmt/format.h>

namespace cellfleet {

namespace {
bool is_json_media_type(std::string_view content_type) {
  auto semi = content_type.find(';');
  std::string_view type = content_type.substr(0, semi);
  while (!type.empty() && type.back() == ' ') type.remove_suffix(1);
  if (http::iequals(type, "application/json")) return true;
  return type.size() > 5 && http::iequals(type.substr(type.size() - 5), "+json") &&
         http::iequals(type.substr(0, 12), "application/");
}

std::string_view type_name(const nlohmann::json& v) {
  if (v.is_string()) return "a string";
  if (v.is_number_integer()) return "an integer";
  if (v.is_number()) return "a number";
  if (v.is_boolean()) return "a boolean";
  if (v.is_null()) return "null";
  if (v.is_array()) return "an array";
  return "an object";
}

// Length in Unicode code points, for limits a person would count ("200 characters").
std::size_t utf8_length(std::string_view s) {
  std::size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}
}  // namespace

nlohmann::json parse_json_value(std::string_view body) {
  if (body.empty()) throw bad_request("the request body is empty; a JSON document is required");
  try {
    return nlohmann::json::parse(body);
  } catch (const nlohmann::json::parse_error& e) {
    // e.byte is where the parser stopped; the library's message text is not shown to clients.
    throw bad_request(fmt::format("the request body is not valid JSON (error at byte {})", e.byte),
                      {{"body", fmt::format("malformed JSON at byte {}", e.byte)}});
  }
}

nlohmann::json parse_json_object(const http::Request& req) {
  auto content_type = req.header("Content-Type");
  if (!content_type || !is_json_media_type(*content_type)) {
    throw Error(ErrorKind::bad_request,
                "the request body must be JSON: send Content-Type: application/json",
                {{"header.content-type", "must be application/json"}});
  }
  auto value = parse_json_value(req.body);
  if (!value.is_object()) {
    throw bad_request(
        fmt::format("the request body must be a JSON object, not {}", type_name(value)),
        {{"body", "must be a JSON object"}});
  }
  return value;
}

bool contains_fraction(const nlohmann::json& value) {
  if (value.is_number_float()) return true;
  if (value.is_structured()) {
    for (const auto& v : value) {
      if (contains_fraction(v)) return true;
    }
  }
  return false;
}

JsonFields::JsonFields(const nlohmann::json& object, std::string prefix)
    : object_(object), prefix_(std::move(prefix)) {}

void JsonFields::error(std::string_view name, std::string message) {
  errors_.push_back({prefix_ + std::string(name), std::move(message)});
}

const nlohmann::json* JsonFields::member(std::string_view name, bool required) {
  seen_.emplace(name);
  auto it = object_.find(name);
  if (it == object_.end() || (it->is_null() && !required)) {
    if (required) error(name, "is required");
    return nullptr;
  }
  return &*it;
}

std::optional<std::string> JsonFields::optional_string(std::string_view name, std::size_t min_len,
                                                       std::size_t max_len) {
  const auto* v = member(name, false);
  if (!v) return std::nullopt;
  if (!v->is_string()) {
    error(name, fmt::format("must be a string, not {}", type_name(*v)));
    return std::nullopt;
  }
  const auto& s = v->get_ref<const std::string&>();
  auto len = utf8_length(s);
  if (len < min_len || len > max_len) {
    error(name, min_len == max_len
                    ? fmt::format("must be {} characters long", min_len)
                    : fmt::format("must be {} to {} characters long", min_len, max_len));
    return std::nullopt;
  }
  return s;
}

std::string JsonFields::required_string(std::string_view name, std::size_t min_len,
                                        std::size_t max_len) {
  if (!object_.contains(name) || object_.at(name).is_null()) {
    member(name, true);
    return {};
  }
  return optional_string(name, min_len, max_len).value_or("");
}

std::optional<std::int64_t> JsonFields::optional_int(std::string_view name, std::int64_t min,
                                                     std::int64_t max) {
  const auto* v = member(name, false);
  if (!v) return std::nullopt;
  if (!v->is_number_integer()) {
    error(name, fmt::format("must be an integer, not {}", type_name(*v)));
    return std::nullopt;
  }
  // Unsigned values above int64 are out of every range we accept.
  if (v->is_number_unsigned() && v->get<std::uint64_t>() > static_cast<std::uint64_t>(max)) {
    error(name, fmt::format("must be between {} and {}", min, max));
    return std::nullopt;
  }
  auto n = v->get<std::int64_t>();
  if (n < min || n > max) {
    error(name, fmt::format("must be between {} and {}", min, max));
    return std::nullopt;
  }
  return n;
}

std::int64_t JsonFields::required_int(std::string_view name, std::int64_t min, std::int64_t max) {
  if (!object_.contains(name) || object_.at(name).is_null()) {
    member(name, true);
    return 0;
  }
  return optional_int(name, min, max).value_or(0);
}

std::optional<bool> JsonFields::optional_bool(std::string_view name) {
  const auto* v = member(name, false);
  if (!v) return std::nullopt;
  if (!v->is_boolean()) {
    error(name, fmt::format("must be a boolean, not {}", type_name(*v)));
    return std::nullopt;
  }
  return v->get<bool>();
}

const nlohmann::json* JsonFields::optional_object(std::string_view name) {
  const auto* v = member(name, false);
  if (v && !v->is_object()) {
    error(name, fmt::format("must be an object, not {}", type_name(*v)));
    return nullptr;
  }
  return v;
}

const nlohmann::json* JsonFields::optional_array(std::string_view name) {
  const auto* v = member(name, false);
  if (v && !v->is_array()) {
    error(name, fmt::format("must be an array, not {}", type_name(*v)));
    return nullptr;
  }
  return v;
}

void JsonFields::finish() {
  for (const auto& [key, value] : object_.items()) {
    if (!seen_.contains(key)) error(key, "is not a known field");
  }
  if (!errors_.empty()) throw validation_error(errors_);
}

Error validation_error(std::vector<FieldError> errors) {
  std::string detail = errors.size() == 1
                           ? fmt::format("field {}: {}", errors[0].field, errors[0].message)
                           : fmt::format("{} fields are invalid", errors.size());
  return bad_request(std::move(detail), std::move(errors));
}

}  // namespace cellfleet
