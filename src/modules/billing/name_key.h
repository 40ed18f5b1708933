#pragma once
// The form of a customer's name that the name search compares: case-insensitive, and blind to
// how many spaces someone typed. "  Amina   WANJIRU " and "amina wanjiru" have the same key.
//
// Folding covers the letters operators' customers' names are written in: ASCII, Latin-1,
// Latin Extended-A (ā, ł, ş, ...), Greek and Cyrillic, each upper-case letter mapped to its
// lower-case one (İ to i). Other scripts are kept as they are, which is right for scripts
// without case. Full Unicode case folding would need ICU for a gain no operator has asked for.

#include <string>
#include <string_view>

namespace cellfleet::billing {

// The key of a stored name: trimmed, each run of whitespace one space, letters folded.
std::string name_key(std::string_view name);

// The key a search prefix is compared with: as name_key, except that one trailing space is kept,
// so "jo " finds "Jo Mwangi" and not "Joseph". Empty when the prefix is only whitespace.
std::string name_prefix_key(std::string_view prefix);

}  // namespace cellfleet::billing
