#pragma once
// Authorization, declared in the route table: every route says who may call it, and the
// Dispatcher enforces it before the handler runs — 401 without valid credentials, 403 for a
// caller the route does not admit.

#include <initializer_list>
#include <string>
#include <vector>

#include "core/http/message.h"
#include "core/principal.h"

namespace cellfleet {

struct Access {
  enum class Kind { anyone, platform_admin, members };
  Kind kind = Kind::anyone;
  std::vector<Role> roles;  // for members: the roles admitted
  bool devices = false;     // for members: a device credential is admitted too

  static Access anyone() { return {Kind::anyone, {}, false}; }
  static Access platform_admin() { return {Kind::platform_admin, {}, false}; }
  static Access members(std::initializer_list<Role> roles) { return {Kind::members, roles, false}; }
  static Access any_member() {
    return {Kind::members, std::vector<Role>(kAllRoles.begin(), kAllRoles.end()), false};
  }
  // Only a device credential (a battery's IoT gateway speaking for itself).
  static Access device() { return {Kind::members, {}, true}; }
  // These members, and devices.
  Access and_devices() const { return {kind, roles, true}; }

  bool admits(const Principal& p) const;
  // "anyone", "platform_admin", or the admitted roles and "device": "owner,admin,device".
  std::string describe() const;
};

// Resolves a request's credential. The tenant module implements it.
class Authenticator {
 public:
  virtual ~Authenticator() = default;
  // Throws Error(unauthorized) when the credential is missing, unknown, expired or revoked, and
  // Error(forbidden) when it belongs to a suspended organization.
  virtual Principal authenticate(const http::Request& req) = 0;
};

// Sends each request to the authenticator that owns its credential's prefix ("cfd_" -> the device
// module), and every other credential to the fallback (the tenant module).
class CredentialRouter : public Authenticator {
 public:
  explicit CredentialRouter(Authenticator& fallback) : fallback_(fallback) {}
  void add(std::string token_prefix, Authenticator& owner);
  Principal authenticate(const http::Request& req) override;

 private:
  Authenticator& fallback_;
  std::vector<std::pair<std::string, Authenticator*>> owners_;
};

// Told about every state-changing request made with credentials, after its handler ran. The
// tenant module implements it as the audit log.
class RequestAuditor {
 public:
  virtual ~RequestAuditor() = default;
  virtual void record(const http::Request& req, const http::Response& res) noexcept = 0;
};

}  // namespace cellfleet
