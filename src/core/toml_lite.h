#pragma once
// The subset of TOML that cellfleet's config file uses: [section] tables, key = value pairs whose
// values are basic strings ("..." with escapes), integers (with optional _ separators) and
// booleans, and # comments. Anything else is an error naming the line, never ignored.

#include <cstdint>
#include <stdexcept>
#include <string>
#include <variant>
#include <vector>

namespace cellfleet::toml_lite {

using Value = std::variant<std::string, std::int64_t, bool>;

struct Entry {
  std::string section;  // "" before the first table header
  std::string key;
  Value value;
  int line;
};

class ParseError : public std::runtime_error {
 public:
  ParseError(int line, const std::string& message)
      : std::runtime_error("line " + std::to_string(line) + ": " + message), line(line) {}
  int line;
};

// Throws ParseError for a syntax error or a key defined twice in one table.
std::vector<Entry> parse(const std::string& text);

// A string as a TOML basic string literal, quotes included.
std::string quote(const std::string& s);

}  // namespace cellfleet::toml_lite
