#include "core/toml_lite.h"

#include <cctype>
#include <charconv>
#include <set>
#include <sstream>

#include "core/utf8.h"

namespace cellfleet::toml_lite {

namespace {
bool is_bare_key_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-';
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

void append_escaped(std::string& out, std::uint32_t cp, int line) {
  if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) throw ParseError(line, "invalid \\u escape");
  append_utf8(out, static_cast<char32_t>(cp));
}

// Parses a basic string starting at s[0] == '"'; returns it and sets rest to what follows.
std::string parse_string(std::string_view s, std::string_view& rest, int line) {
  std::string out;
  for (std::size_t i = 1; i < s.size(); ++i) {
    char c = s[i];
    if (c == '"') {
      rest = s.substr(i + 1);
      return out;
    }
    if (c != '\\') {
      out.push_back(c);
      continue;
    }
    if (++i >= s.size()) break;
    switch (s[i]) {
      case '"':
        out.push_back('"');
        break;
      case '\\':
        out.push_back('\\');
        break;
      case 'n':
        out.push_back('\n');
        break;
      case 't':
        out.push_back('\t');
        break;
      case 'r':
        out.push_back('\r');
        break;
      case 'u': {
        if (i + 4 >= s.size()) throw ParseError(line, "truncated \\u escape");
        std::uint32_t cp = 0;
        auto [p, ec] = std::from_chars(s.data() + i + 1, s.data() + i + 5, cp, 16);
        if (ec != std::errc() || p != s.data() + i + 5)
          throw ParseError(line, "invalid \\u escape");
        append_escaped(out, cp, line);
        i += 4;
        break;
      }
      default:
        throw ParseError(line, std::string("unsupported escape \\") + s[i]);
    }
  }
  throw ParseError(line, "unterminated string");
}

Value parse_value(std::string_view text, int line) {
  if (text.empty()) throw ParseError(line, "missing value");
  std::string_view rest;
  Value value;
  if (text.front() == '"') {
    value = parse_string(text, rest, line);
  } else {
    auto end = text.find_first_of(" \t#");
    std::string_view word = text.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view{} : text.substr(end);
    if (word == "true" || word == "false") {
      value = word == "true";
    } else {
      std::string digits;
      for (std::size_t i = 0; i < word.size(); ++i) {
        // Underscores only between digits, as TOML requires.
        if (word[i] == '_' && i > 0 && i + 1 < word.size() &&
            std::isdigit(static_cast<unsigned char>(word[i - 1])) &&
            std::isdigit(static_cast<unsigned char>(word[i + 1]))) {
          continue;
        }
        digits.push_back(word[i]);
      }
      std::int64_t n = 0;
      const char* first = digits.data() + (digits.size() > 1 && digits[0] == '+' ? 1 : 0);
      auto [p, ec] = std::from_chars(first, digits.data() + digits.size(), n);
      if (digits.empty() || ec != std::errc() || p != digits.data() + digits.size()) {
        throw ParseError(line, "value must be a \"string\", an integer, true or false");
      }
      value = n;
    }
  }
  rest = trim(rest);
  if (!rest.empty() && rest.front() != '#')
    throw ParseError(line, "unexpected text after the value");
  return value;
}
}  // namespace

std::vector<Entry> parse(const std::string& text) {
  std::vector<Entry> entries;
  std::set<std::pair<std::string, std::string>> seen;
  std::set<std::string> tables;
  std::string section;
  std::istringstream in(text);
  std::string raw;
  int line = 0;
  while (std::getline(in, raw)) {
    ++line;
    std::string_view s = trim(raw);
    if (s.empty() || s.front() == '#') continue;
    if (s.front() == '[') {
      auto close = s.find(']');
      if (close == std::string_view::npos) throw ParseError(line, "unterminated table header");
      std::string_view name = trim(s.substr(1, close - 1));
      if (name.empty()) throw ParseError(line, "empty table name");
      for (char c : name) {
        if (!is_bare_key_char(c)) throw ParseError(line, "table names must be bare words");
      }
      auto after = trim(s.substr(close + 1));
      if (!after.empty() && after.front() != '#') throw ParseError(line, "unexpected text after ]");
      section = std::string(name);
      if (!tables.insert(section).second)
        throw ParseError(line, "table [" + section + "] defined twice");
      continue;
    }
    auto eq = s.find('=');
    if (eq == std::string_view::npos) throw ParseError(line, "expected key = value");
    std::string_view key = trim(s.substr(0, eq));
    if (key.empty()) throw ParseError(line, "missing key");
    for (char c : key) {
      if (!is_bare_key_char(c)) throw ParseError(line, "keys must be bare words (a-z, 0-9, _, -)");
    }
    Value value = parse_value(trim(s.substr(eq + 1)), line);
    if (!seen.emplace(section, std::string(key)).second) {
      throw ParseError(line, "key " + std::string(key) + " defined twice");
    }
    entries.push_back(Entry{section, std::string(key), std::move(value), line});
  }
  return entries;
}

std::string quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"')
      out += "\\\"";
    else if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else if (c == '\t')
      out += "\\t";
    else
      out.push_back(c);
  }
  return out + "\"";
}

}  // namespace cellfleet::toml_lite
