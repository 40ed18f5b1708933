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
  return out;
}

}  // namespace cellfleet
