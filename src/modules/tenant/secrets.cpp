#include "secrets.h"

#include <sodium.h>

#include <array>
#include <stdexcept>

namespace cellfleet::tenant {

std::string hash_password(std::string_view password) {
  ensure_sodium();
  std::array<char, crypto_pwhash_STRBYTES> out{};
  if (crypto_pwhash_str(out.data(), password.data(), password.size(),
                        crypto_pwhash_OPSLIMIT_INTERACTIVE,
                        crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
    throw std::runtime_error("password hashing ran out of memory");
  }
  return std::string(out.data());
}

bool verify_password(const std::string& stored, std::string_view password) {
  ensure_sodium();
  return crypto_pwhash_str_verify(stored.c_str(), password.data(), password.size()) == 0;
}

void spend_password_check(std::string_view password) {
  static const std::string decoy = hash_password("a password nobody has, for timing only");
  verify_password(decoy, password);
}

}  // namespace cellfleet::tenant
