#pragma once
// Passwords, chosen by people, get Argon2id. Random credentials (API keys, session tokens) are
// made and hashed by core/secrets.h, re-exported here.

#include <string>
#include <string_view>

#include "core/secrets.h"

namespace cellfleet::tenant {

using cellfleet::hash_secret;
using cellfleet::random_token;
using cellfleet::secrets_equal;

// Argon2id (libsodium crypto_pwhash_str, interactive limits): a self-describing string.
std::string hash_password(std::string_view password);
bool verify_password(const std::string& stored, std::string_view password);
// Spends the time of one password check without a stored hash, so a login for an account that
// does not exist takes as long as one with a wrong password.
void spend_password_check(std::string_view password);

}  // namespace cellfleet::tenant
