#pragma once
// ISO 4217 currencies in circulation, with the number of digits of their minor unit (USD 2,
// UGX 0, KWD 3). Money amounts are integers in minor units, so this is what turns 1050 into 10.50.

#include <optional>
#include <string_view>

namespace cellfleet {

// nullopt for a code that is not an active ISO 4217 currency (funds and metals are excluded).
std::optional<int> currency_minor_digits(std::string_view code);
inline bool is_currency(std::string_view code) {
  return currency_minor_digits(code).has_value();
}

}  // namespace cellfleet
