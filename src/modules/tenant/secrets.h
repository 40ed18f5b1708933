#pragma once
// Credentials: how they are made, stored and checked. Secrets are stored only as hashes; API keys
// and session tokens carry 160+ random bits, so a fast hash (BLAKE2b) suffices, while passwords,
// chosen by people, get Argon2id. Every comparison of secret material is constant-time.

#include <string>
#include <string_view>

namespace cellfleet::tenant {

// Random lowercase base32 text (5 bits a character), from libsodium's CSPRNG.
std::string random_token(std::size_t chars);

// Hex BLAKE2b-256 of a high-entropy secret.
std::string hash_secret(std::string_view secret);

// Constant-time equality (the time depends only on the lengths).
bool secrets_equal(std::string_view a, std::string_view b);

// Argon2id (libsodium crypto_pwhash_str, interactive limits): a self-describing string.
std::string hash_password(std::string_view password);
bool verify_password(const std::string& stored, std::string_view password);
// Spends the time of one password check without a stored hash, so a login for an account that
// does not exist takes as long as one with a wrong password.
void spend_password_check(std::string_view password);

}  // namespace cellfleet::tenant
