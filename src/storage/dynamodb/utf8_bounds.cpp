#include "storage/dynamodb/utf8_bounds.h"

#include <cstdint>

namespace cellfleet::storage::dynamodb {
namespace {

using Op = SortCondition::Op;

// How many continuation bytes a lead byte takes (0 for ASCII), or -1 for a byte no valid
// sequence starts with (a continuation byte, an overlong lead C0/C1, or F5..FF).
int continuation_count(std::uint8_t lead) {
  if (lead < 0x80) return 0;
  if (lead >= 0xC2 && lead <= 0xDF) return 1;
  if (lead >= 0xE0 && lead <= 0xEF) return 2;
  if (lead >= 0xF0 && lead <= 0xF4) return 3;
  return -1;
}

// The allowed range of the first continuation byte after lead (RFC 3629 §4: no overlong forms,
// no surrogates, nothing above U+10FFFF); later continuation bytes are always 80..BF.
std::pair<std::uint8_t, std::uint8_t> first_continuation_range(std::uint8_t lead) {
  switch (lead) {
    case 0xE0:
      return {0xA0, 0xBF};
    case 0xED:
      return {0x80, 0x9F};
    case 0xF0:
      return {0x90, 0xBF};
    case 0xF4:
      return {0x80, 0x8F};
    default:
      return {0x80, 0xBF};
  }
}

std::uint8_t byte_at(const std::string& s, std::size_t i) {
  return static_cast<std::uint8_t>(s[i]);
}

// The next string in byte order among those not extending s: drop trailing FF bytes, increment the
// last one. False when s is all FF (nothing follows).
bool increment(std::string& s) {
  while (!s.empty() && byte_at(s, s.size() - 1) == 0xFF) s.pop_back();
  if (s.empty()) return false;
  s.back() = static_cast<char>(byte_at(s, s.size() - 1) + 1);
  return true;
}

}  // namespace

bool is_valid_utf8(std::string_view s) {
  const std::string copy(s);
  const auto ceiling = utf8_ceiling(copy);
  return ceiling && *ceiling == copy;
}

std::optional<std::string> utf8_ceiling(std::string_view input) {
  // Walks the string; at the first byte that breaks validity, either raises it to the smallest
  // allowed value (dropping what follows, which no longer matters for the order) or, when it is
  // above every allowed value, carries into the byte before. Completes a truncated final character
  // with the smallest continuation bytes.
  std::string s(input);
  std::size_t i = 0;
  while (i < s.size()) {
    const std::uint8_t lead = byte_at(s, i);
    const int count = continuation_count(lead);
    if (count < 0) {
      if (lead < 0xC2) {  // a continuation byte or C0/C1: C2 is the next valid lead
        s.resize(i);
        s += '\xC2';
        continue;
      }
      s.resize(i);  // F5..FF: no valid byte at this position; carry
      if (!increment(s)) return std::nullopt;
      i = 0;
      continue;
    }
    bool restart = false;
    for (int j = 1; j <= count && !restart; ++j) {
      const auto [low, high] = j == 1 ? first_continuation_range(lead)
                                      : std::pair<std::uint8_t, std::uint8_t>{0x80, 0xBF};
      if (i + j >= s.size()) {
        s += static_cast<char>(low);
      } else if (byte_at(s, i + j) < low) {
        s.resize(i + j);
        s += static_cast<char>(low);
      } else if (byte_at(s, i + j) > high) {
        s.resize(i + j);
        if (!increment(s)) return std::nullopt;
        i = 0;
        restart = true;
      }
    }
    if (!restart) i += static_cast<std::size_t>(count) + 1;
  }
  return s;
}

std::optional<SortCondition> valid_utf8_condition(const SortCondition& c) {
  if (is_valid_utf8(c.value) && (c.op != Op::between || is_valid_utf8(c.upper))) return c;
  const auto low = utf8_ceiling(c.value);
  switch (c.op) {
    case Op::eq:
      return std::nullopt;  // no stored key equals an invalid string
    case Op::lt:
    case Op::le:
      // Below an invalid v means below the next valid string; if none exists, every key is.
      return low ? SortCondition{Op::lt, *low, ""} : SortCondition{Op::ge, "", ""};
    case Op::gt:
    case Op::ge:
      if (!low) return std::nullopt;
      return SortCondition{Op::ge, *low, ""};
    case Op::begins_with: {
      if (!low) return std::nullopt;
      std::string next = c.value;
      if (!increment(next)) return SortCondition{Op::ge, *low, ""};
      const auto high = utf8_ceiling(next);
      return high ? SortCondition{Op::between, *low, *high} : SortCondition{Op::ge, *low, ""};
    }
    case Op::between: {
      if (!low) return std::nullopt;
      const auto high = utf8_ceiling(c.upper);
      return high ? SortCondition{Op::between, *low, *high} : SortCondition{Op::ge, *low, ""};
    }
  }
  return std::nullopt;
}

bool matches(const SortCondition& c, std::string_view sk) {
  // std::string_view compares as unsigned bytes (char_traits<char> is memcmp-like).
  switch (c.op) {
    case Op::eq:
      return sk == c.value;
    case Op::begins_with:
      return sk.starts_with(c.value);
    case Op::between:
      return sk >= std::string_view(c.value) && sk <= std::string_view(c.upper);
    case Op::lt:
      return sk < std::string_view(c.value);
    case Op::le:
      return sk <= std::string_view(c.value);
    case Op::gt:
      return sk > std::string_view(c.value);
    case Op::ge:
      return sk >= std::string_view(c.value);
  }
  return false;
}

}  // namespace cellfleet::storage::dynamodb
