#include "core/auth.h"

#include <algorithm>

namespace cellfleet {

std::string_view role_name(Role role) {
  switch (role) {
    case Role::owner:
      return "owner";
    case Role::admin:
      return "admin";
    case Role::operator_:
      return "operator";
    case Role::finance:
      return "finance";
    case Role::viewer:
      return "viewer";
  }
  return "viewer";
}

std::optional<Role> parse_role(std::string_view name) {
  for (Role r : kAllRoles) {
    if (role_name(r) == name) return r;
  }
  return std::nullopt;
}

bool Access::admits(const Principal& p) const {
  switch (kind) {
    case Kind::anyone:
      return true;
    case Kind::platform_admin:
      return p.kind == Principal::Kind::platform_admin;
    case Kind::members:
      if (p.kind == Principal::Kind::device) return devices;
      return p.kind != Principal::Kind::platform_admin &&
             std::find(roles.begin(), roles.end(), p.role) != roles.end();
  }
  return false;
}

std::string Access::describe() const {
  if (kind == Kind::anyone) return "anyone";
  if (kind == Kind::platform_admin) return "platform_admin";
  std::string out;
  for (Role r : roles) {
    if (!out.empty()) out += ',';
    out += role_name(r);
  }
  if (devices) out += out.empty() ? "device" : ",device";
  return out;
}

void CredentialRouter::add(std::string token_prefix, Authenticator& owner) {
  owners_.emplace_back(std::move(token_prefix), &owner);
}

Principal CredentialRouter::authenticate(const http::Request& req) {
  if (auto header = req.header("Authorization");
      header && header->size() > 7 && http::iequals(header->substr(0, 7), "Bearer ")) {
    const auto token = header->substr(7);
    for (const auto& [prefix, owner] : owners_) {
      if (token.substr(0, prefix.size()) == prefix) return owner->authenticate(req);
    }
  }
  return fallback_.authenticate(req);
}

}  // namespace cellfleet
