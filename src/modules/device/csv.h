#pragma once
// RFC 4180 CSV: fields separated by commas, records by CRLF or LF, fields optionally in double
// quotes (which may hold commas, line breaks and "" for a quote). A UTF-8 byte order mark at the
// start is skipped, blank lines are ignored, surrounding spaces are kept.

#include <string>
#include <string_view>
#include <vector>

namespace cellfleet::device {

// The records of text. Throws a 400 Error naming the line of an unterminated quote or of a quote
// in the middle of an unquoted field.
std::vector<std::vector<std::string>> parse_csv(std::string_view text);

}  // namespace cellfleet::device
