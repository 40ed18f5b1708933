#pragma once
// Who is calling: resolved from the request's credential by the Authenticator, before the
// handler runs. The organization a handler works in always comes from here, never from the URL
// or the body.

#include <array>
#include <optional>
#include <string>
#include <string_view>

namespace cellfleet {

enum class Role { owner, admin, operator_, finance, viewer };

inline constexpr std::array<Role, 5> kAllRoles = {Role::owner, Role::admin, Role::operator_,
                                                  Role::finance, Role::viewer};

std::string_view role_name(Role role);
std::optional<Role> parse_role(std::string_view name);

struct Principal {
  enum class Kind { user, api_key, platform_admin, device };
  Kind kind = Kind::user;
  std::string org_id;    // empty for the platform admin
  std::string actor_id;  // user id, API key id, device id (a device credential), or "platform"
  Role role = Role::viewer;
  std::string session_id;  // for users logged in with a session token

  // "usr_...", "key_...", "dev_..." or "platform": how the audit log names the actor.
  const std::string& actor() const { return actor_id; }
};

}  // namespace cellfleet
