#include "csv.h"

#include <fmt/format.h>

#include "core/error.h"

namespace cellfleet::device {

std::vector<std::vector<std::string>> parse_csv(std::string_view text) {
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
  std::vector<std::vector<std::string>> records;
  std::vector<std::string> record;
  std::string field;
  bool quoted = false;      // inside a quoted field
  bool was_quoted = false;  // the current field was quoted (so it is a value even if empty)
  std::size_t line = 1;
  std::size_t quote_line = 0;

  auto end_field = [&] {
    record.push_back(std::move(field));
    field.clear();
    was_quoted = false;
  };
  auto end_record = [&] {
    end_field();
    const bool blank = record.size() == 1 && record[0].empty();
    if (!blank) records.push_back(std::move(record));
    record.clear();
  };

  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"') {
        if (i + 1 < text.size() && text[i + 1] == '"') {
          field.push_back('"');
          ++i;
        } else {
          quoted = false;
        }
      } else {
        if (c == '\n') ++line;
        field.push_back(c);
      }
      continue;
    }
    if (c == '"') {
      if (!field.empty() || was_quoted) {
        throw bad_request(
            fmt::format("CSV line {}: a quote inside an unquoted field", line),
            {{"body", fmt::format("line {}: quote fields that contain quotes", line)}});
      }
      quoted = true;
      was_quoted = true;
      quote_line = line;
    } else if (c == ',') {
      end_field();
    } else if (c == '\n' || c == '\r') {
      if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      end_record();
      ++line;
    } else {
      if (was_quoted) {
        throw bad_request(fmt::format("CSV line {}: text after a closing quote", line),
                          {{"body", fmt::format("line {}: text after a closing quote", line)}});
      }
      field.push_back(c);
    }
  }
  if (quoted) {
    throw bad_request(fmt::format("CSV line {}: a quoted field is never closed", quote_line),
                      {{"body", fmt::format("line {}: unterminated quote", quote_line)}});
  }
  if (!field.empty() || was_quoted || !record.empty()) end_record();
  return records;
}

}  // namespace cellfleet::device
