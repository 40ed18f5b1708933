#pragma once
// High-entropy credentials (API keys, session tokens, device credentials): how they are made,
// stored and checked. They carry 160+ random bits, so a fast hash (BLAKE2b) suffices for storing
// them; every comparison of secret material is constant-time.

#include <string>
#include <string_view>

namespace cellfleet {

// Random lowercase base32 text (5 bits a character), from libsodium's CSPRNG.
std::string random_token(std::size_t chars);

// Hex BLAKE2b-256 of a high-entropy secret.
std::string hash_secret(std::string_view secret);

// Constant-time equality (the time depends only on the lengths).
bool secrets_equal(std::string_view a, std::string_view b);

// Initialises libsodium once; every function here calls it.
void ensure_sodium();

}  // namespace cellfleet
