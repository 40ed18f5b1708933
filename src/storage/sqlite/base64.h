#pragma once
// URL-safe base64 without padding (RFC 4648 §5), so a cursor can travel in a query string as is.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace cellfleet::storage::sqlite {

std::string base64url_encode(std::span<const std::uint8_t> bytes);

// nullopt when text is not unpadded URL-safe base64.
std::optional<std::vector<std::uint8_t>> base64url_decode(std::string_view text);

}  // namespace cellfleet::storage::sqlite
