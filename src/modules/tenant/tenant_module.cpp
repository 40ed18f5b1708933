#include "tenant_module.h"

#include "core/error.h"
#include "secrets.h"
#include "tenant_impl.h"

namespace cellfleet::tenant {

TenantModule::Impl::Impl(storage::Store& s, const Clock& c, TenantOptions o, Logger& l,
                         events::Publisher& e)
    : store(s),
      clock(c),
      ids(c),
      options(std::move(o)),
      log(l),
      throttle(options.auth.login_window_seconds, options.auth.login_max_failures_per_account,
               options.auth.login_max_failures_per_address),
      events(e),
      key_cache(std::chrono::milliseconds(options.auth.key_cache_ms)) {
  if (!options.platform_admin_token.empty()) {
    platform_token_hash = hash_secret(options.platform_admin_token);
  }
}

TenantModule::TenantModule(storage::Store& store, const Clock& clock, TenantOptions options,
                           Logger& log, events::Publisher& events)
    : impl_(std::make_unique<Impl>(store, clock, std::move(options), log, events)) {}

void TenantModule::Impl::publish(storage::WriteBatch& batch, const std::string& org_id,
                                 const std::string& type, const std::string& subject,
                                 nlohmann::json data) {
  events.publish(batch, org_id, type, subject, std::move(data));
}

void TenantModule::Impl::commit(const storage::WriteBatch& batch) {
  // Before: no request verifies a key from the old items meanwhile and keeps it. After: one that
  // read the old items while the write was in flight does not keep them either (key_cache.h).
  key_cache.clear();
  events.commit(batch);
  key_cache.clear();
}

void TenantModule::Impl::write(const storage::WriteBatch& batch) {
  key_cache.clear();
  store.write(batch);
  key_cache.clear();
}

TenantModule::~TenantModule() = default;

void TenantModule::register_routes(http::Router& router) {
  impl_->register_routes(router);
}
Authenticator& TenantModule::authenticator() {
  return *impl_;
}
contracts::OrganizationDirectory& TenantModule::directory() {
  return *impl_;
}
RequestAuditor& TenantModule::auditor() {
  return *impl_;
}

CreatedOrganization TenantModule::create_organization(const NewOrganization& request) {
  return impl_->create_organization(request);
}

}  // namespace cellfleet::tenant
