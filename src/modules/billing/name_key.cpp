#include "name_key.h"

#include <cstdint>

#include "core/utf8.h"

namespace cellfleet::billing {

namespace {

// Decodes the code point at s[i] and advances i. The input comes from nlohmann::json strings,
// which are valid UTF-8; a stray byte is passed through as itself rather than guessed at.
char32_t next_code_point(std::string_view s, std::size_t& i) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  auto cont = [&](std::size_t k) { return static_cast<unsigned char>(s[i + k]) & 0x3F; };
  if (b0 < 0x80) {
    i += 1;
    return b0;
  }
  if ((b0 & 0xE0) == 0xC0 && i + 1 < s.size()) {
    char32_t cp = ((b0 & 0x1F) << 6) | cont(1);
    i += 2;
    return cp;
  }
  if ((b0 & 0xF0) == 0xE0 && i + 2 < s.size()) {
    char32_t cp = ((b0 & 0x0F) << 12) | (cont(1) << 6) | cont(2);
    i += 3;
    return cp;
  }
  if ((b0 & 0xF8) == 0xF0 && i + 3 < s.size()) {
    char32_t cp = ((b0 & 0x07) << 18) | (cont(1) << 12) | (cont(2) << 6) | cont(3);
    i += 4;
    return cp;
  }
  i += 1;
  return b0;
}

char32_t fold(char32_t c) {
  if (c >= 'A' && c <= 'Z') return c + 0x20;
  if (c < 0xC0) return c;
  if (c <= 0xDE) return c == 0xD7 ? c : c + 0x20;  // À..Þ, but not ×
  if (c == 0x130) return 'i';                      // İ
  if (c == 0x178) return 0xFF;                     // Ÿ
  // Latin Extended-A alternates upper, lower; the pairs start on even code points except in
  // Ĺ..ň and Ź..ž.
  if ((c >= 0x100 && c <= 0x137) || (c >= 0x14A && c <= 0x177)) return c % 2 == 0 ? c + 1 : c;
  if ((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17E)) return c % 2 == 1 ? c + 1 : c;
  if (c >= 0x391 && c <= 0x3A9 && c != 0x3A2) return c + 0x20;  // Α..Ω
  if (c >= 0x410 && c <= 0x42F) return c + 0x20;                // А..Я
  if (c >= 0x400 && c <= 0x40F) return c + 0x50;                // Ѐ..Џ
  return c;
}

bool is_space(char32_t c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == 0xA0;
}

std::string fold_name(std::string_view name, bool keep_trailing_space) {
  std::string out;
  out.reserve(name.size());
  bool pending_space = false;
  for (std::size_t i = 0; i < name.size();) {
    const char32_t c = next_code_point(name, i);
    if (is_space(c)) {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) out.push_back(' ');
    pending_space = false;
    append_utf8(out, fold(c));
  }
  if (pending_space && keep_trailing_space) out.push_back(' ');
  return out;
}

}  // namespace

std::string name_key(std::string_view name) {
  return fold_name(name, false);
}

std::string name_prefix_key(std::string_view prefix) {
  return fold_name(prefix, true);
}

}  // namespace cellfleet::billing
