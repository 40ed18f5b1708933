#pragma once
// Device credentials: the secret a pack's IoT gateway sends as "Authorization: Bearer
// cfd_<prefix>_<secret>". Issuing a new one replaces (revokes) the old at once; the secret is
// shown once and stored only as a hash. A device principal may post its own telemetry and read
// and acknowledge its own commands, nothing else (Access::device() on those routes), and is
// refused like any credential when its organization is suspended. Retiring a pack deletes its
// credential.

#include "core/auth.h"
#include "core/http/router.h"
#include "device_impl.h"

namespace cellfleet::device {

class Credentials : public Authenticator {
 public:
  explicit Credentials(Context& context) : ctx_(context) {}
  void register_routes(http::Router& router);
  Principal authenticate(const http::Request& req) override;

 private:
  http::Response issue(http::Request& req);
  http::Response revoke(http::Request& req);

  Context& ctx_;
};

}  // namespace cellfleet::device
