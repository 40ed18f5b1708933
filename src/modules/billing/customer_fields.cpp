#include "customer_fields.h"

#include <algorithm>
#include <array>
#include <optional>

namespace cellfleet::billing {

namespace {

constexpr std::array<const char*, 4> kRemovable = {"email", "national_id", "address", "notes"};

std::string trimmed(std::string_view s) {
  const auto first = s.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return "";
  const auto last = s.find_last_not_of(" \t\r\n");
  return std::string(s.substr(first, last - first + 1));
}

// C0 and C1 control characters (tab and line breaks only where allowed) would corrupt receipts,
// SMS and CSV exports downstream.
bool has_control_characters(std::string_view s, bool lines_allowed) {
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c == '\n' || c == '\r' || c == '\t') {
      if (!lines_allowed) return true;
    } else if (c < 0x20 || c == 0x7F) {
      return true;
    } else if (c == 0xC2 && i + 1 < s.size() && static_cast<unsigned char>(s[i + 1]) >= 0x80 &&
               static_cast<unsigned char>(s[i + 1]) <= 0x9F) {
      return true;  // U+0080..U+009F
    }
  }
  return false;
}

// Deliberately basic: one "@", something before it, a dotted domain after it, no spaces. Whether
// the mailbox exists is for a confirmation mail to find out, not a pattern.
bool valid_email(std::string_view email) {
  const auto at = email.find('@');
  if (at == std::string_view::npos || at == 0 || at > 64 ||
      email.find('@', at + 1) != std::string_view::npos) {
    return false;
  }
  const auto domain = email.substr(at + 1);
  const auto dot = domain.find('.');
  if (domain.empty() || dot == std::string_view::npos || domain.front() == '.' ||
      domain.back() == '.' || domain.front() == '-' ||
      domain.find("..") != std::string_view::npos) {
    return false;
  }
  return std::none_of(email.begin(), email.end(), [](char c) {
    return c == ' ' || c == ',' || c == ';' || c == '<' || c == '>' || c == '"' ||
           static_cast<unsigned char>(c) < 0x20;
  });
}

}  // namespace

std::optional<std::string> normalized_phone(std::string_view phone) {
  std::string out;
  for (char c : phone) {
    if (c == ' ' || c == '-' || c == '.' || c == '(' || c == ')') continue;
    out.push_back(c);
  }
  if (out.size() < 9 || out.size() > 16 || out[0] != '+' || out[1] == '0') return std::nullopt;
  if (!std::all_of(out.begin() + 1, out.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  return out;
}

bool is_customer_status(std::string_view status) {
  return status == "active" || status == "blocked";
}

CustomerFields read_customer_fields(const nlohmann::json& body, JsonFields& in, bool creating) {
  CustomerFields out;
  auto is_null = [&](const char* name) { return body.contains(name) && body.at(name).is_null(); };
  if (!creating) {
    for (const char* name : {"name", "phone", "status"}) {
      if (is_null(name)) in.error(name, "cannot be removed");
    }
    for (const char* name : kRemovable) {
      if (is_null(name)) out.removed.emplace_back(name);
    }
  }
  auto text = [&](const char* name, std::size_t min, std::size_t max, bool required) {
    return required ? std::optional(in.required_string(name, min, max))
                    : in.optional_string(name, min, max);
  };

  if (auto name = text("name", 1, 200, creating); name && !name->empty()) {
    auto clean = trimmed(*name);
    if (clean.empty()) {
      in.error("name", "must not be blank");
    } else if (has_control_characters(clean, false)) {
      in.error("name", "must not contain control characters or line breaks");
    } else {
      out.set["name"] = clean;
    }
  }
  // Room for the separators a person types around 15 digits.
  if (auto phone = text("phone", 1, 32, creating); phone && !phone->empty()) {
    if (auto e164 = normalized_phone(*phone)) {
      out.set["phone"] = *e164;
    } else {
      in.error("phone", kPhoneRule);
    }
  }
  if (auto email = text("email", 1, 254, false)) {
    auto clean = trimmed(*email);
    if (!valid_email(clean)) {
      in.error("email", "must be an email address, name@example.com");
    } else {
      out.set["email"] = clean;
    }
  }
  if (auto id = text("national_id", 1, 64, false)) {
    auto clean = trimmed(*id);
    if (clean.empty()) {
      in.error("national_id", "must not be blank");
    } else if (has_control_characters(clean, false)) {
      in.error("national_id", "must not contain control characters or line breaks");
    } else {
      out.set["national_id"] = clean;
    }
  }
  if (auto address = text("address", 1, 500, false)) {
    if (trimmed(*address).empty()) {
      in.error("address", "must not be blank");
    } else if (has_control_characters(*address, true)) {
      in.error("address", "must not contain control characters");
    } else {
      out.set["address"] = *address;
    }
  }
  if (auto notes = text("notes", 0, 2000, false)) {
    if (has_control_characters(*notes, true)) {
      in.error("notes", "must not contain control characters");
    } else {
      out.set["notes"] = *notes;
    }
  }
  if (auto status = text("status", 1, 20, false)) {
    if (!is_customer_status(*status)) {
      in.error("status", "must be active or blocked");
    } else {
      out.set["status"] = *status;
    }
  }
  return out;
}

}  // namespace cellfleet::billing
