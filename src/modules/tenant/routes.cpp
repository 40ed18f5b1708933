// The tenant module's routes, each with the callers it admits.
#include "core/error.h"
#include "tenant_impl.h"

namespace cellfleet::tenant {

void TenantModule::Impl::register_routes(http::Router& r) {
  auto bind = [this](auto method) { return http::member_handler(this, method); };
  using http::Request;
  const Access platform = Access::platform_admin();
  const Access managers = Access::members({Role::owner, Role::admin});
  const Access members = Access::any_member();

  r.add("POST", "/v1/platform/organizations", platform, bind(&Impl::platform_create_org));
  r.add("GET", "/v1/platform/organizations", platform, bind(&Impl::platform_list_orgs));
  r.add("GET", "/v1/platform/organizations/{org_id}", platform, bind(&Impl::platform_get_org));
  r.add("PATCH", "/v1/platform/organizations/{org_id}", platform, bind(&Impl::platform_update_org));
  r.add("DELETE", "/v1/platform/organizations/{org_id}", platform,
        bind(&Impl::platform_delete_org));

  r.add("GET", "/v1/organization", members, bind(&Impl::get_own_org));
  r.add("PATCH", "/v1/organization", managers, bind(&Impl::update_own_org));

  r.add("POST", "/v1/users", managers, bind(&Impl::create_user));
  r.add("GET", "/v1/users", managers, bind(&Impl::list_users));
  r.add("GET", "/v1/users/{user_id}", managers, bind(&Impl::get_user));
  r.add("PATCH", "/v1/users/{user_id}", managers, bind(&Impl::update_user));

  r.add("POST", "/v1/auth/login", Access::anyone(), bind(&Impl::login));
  r.add("POST", "/v1/auth/logout", members, bind(&Impl::logout));
  r.add("GET", "/v1/auth/me", members, bind(&Impl::me));

  r.add("POST", "/v1/api-keys", managers, bind(&Impl::create_api_key));
  r.add("GET", "/v1/api-keys", managers, bind(&Impl::list_api_keys));
  r.add("DELETE", "/v1/api-keys/{key_id}", managers, bind(&Impl::revoke_api_key));

  r.add("GET", "/v1/audit", managers, bind(&Impl::list_audit));
}

}  // namespace cellfleet::tenant
