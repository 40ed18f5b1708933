#pragma once
// Sort-key conditions whose values are not valid UTF-8. store.h compares sort keys as byte
// strings, so a caller may ask for begins_with("\xe4") (every key whose first character is
// U+4000..U+4FFF). DynamoDB only accepts valid UTF-8 in a request, so such a value is replaced by
// the nearest valid string in byte order, which selects exactly the same stored keys (all of them
// valid UTF-8), give or take one bound that the caller then filters out by matches().

#include <optional>
#include <string>
#include <string_view>

#include "storage/store.h"

namespace cellfleet::storage::dynamodb {

bool is_valid_utf8(std::string_view s);

// The smallest valid UTF-8 string that is >= s in byte order; nullopt when there is none.
std::optional<std::string> utf8_ceiling(std::string_view s);

// A condition DynamoDB accepts that selects every valid key the original selects, and possibly a
// few more (check them with matches()); nullopt when no valid key can match.
std::optional<SortCondition> valid_utf8_condition(const SortCondition& condition);

// Whether sort key sk satisfies condition, comparing bytes as store.h defines.
bool matches(const SortCondition& condition, std::string_view sk);

}  // namespace cellfleet::storage::dynamodb
