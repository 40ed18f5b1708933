#pragma once
// The tenant module's inside, shared by its files: the keys its items live under, and the Impl
// whose methods each file implements (organizations.cpp, users.cpp, api_keys.cpp, sessions.cpp,
// audit_log.cpp, authenticator.cpp, routes.cpp).
//
// Item layout in the "entities" table. Everything an organization owns sits under partition keys
// that start with "org#<org id>"; the only other partitions are the global lookups a credential
// or a login must resolve before any organization is known (slug, email, API key prefix, session
// token hash) — each holds the org id it belongs to and is checked against it.
//   org#<org>                 sk org            the organization      gsi1 orgs / <org id>
//   org#<org>                 sk user#<user>    a user
//   org#<org>#audit           sk <entry id>     audit entry           gsi1 actor, gsi2 subject
//   slug#<slug>               sk slug           claims a slug
//   email#<email>             sk email          claims an email (one account per email)
//   apikey#<prefix>           sk apikey         an API key            gsi1 org#<org>#apikeys
//   session#<token hash>      sk session        a login session       gsi1
//   org#<org>#sessions#<user>

#include <optional>
#include <string>

#include "contracts/organization_directory.h"
#include "core/events/publisher.h"
#include "core/http/etag.h"
#include "core/http/message.h"
#include "key_cache.h"
#include "login_throttle.h"
#include "tenant_module.h"

namespace cellfleet::tenant {

namespace keys {
inline std::string org(const std::string& org_id) {
  return "org#" + org_id;
}
inline std::string user_sk(const std::string& user_id) {
  return "user#" + user_id;
}
inline std::string audit(const std::string& org_id) {
  return "org#" + org_id + "#audit";
}
inline std::string slug(const std::string& slug) {
  return "slug#" + slug;
}
inline std::string email(const std::string& email) {
  return "email#" + email;
}
inline std::string api_key(const std::string& prefix) {
  return "apikey#" + prefix;
}
inline std::string org_api_keys(const std::string& org_id) {
  return "org#" + org_id + "#apikeys";
}
inline std::string session(const std::string& token_hash) {
  return "session#" + token_hash;
}
inline std::string user_sessions(const std::string& org_id, const std::string& user_id) {
  return "org#" + org_id + "#sessions#" + user_id;
}
inline constexpr const char* kAllOrgs = "orgs";
}  // namespace keys

struct TenantModule::Impl : Authenticator, RequestAuditor, contracts::OrganizationDirectory {
  Impl(storage::Store& store, const Clock& clock, TenantOptions options, Logger& log,
       events::Publisher& events);

  storage::Store& store;
  const Clock& clock;
  IdGenerator ids;
  TenantOptions options;
  Logger& log;
  LoginThrottle throttle;
  std::string platform_token_hash;  // empty when no platform token is configured
  events::Publisher& events;
  KeyCache key_cache;  // verified API keys; cleared around every tenant write (key_cache.h)

  // Adds an event of this module to batch (the outbox: it commits with the change or not at all).
  void publish(storage::WriteBatch& batch, const std::string& org_id, const std::string& type,
               const std::string& subject, nlohmann::json data);
  // Commits batch and wakes the event dispatcher. Every tenant write that may change what a
  // credential resolves to goes through commit() or write(), which clear the key cache before
  // and after it; only the audit entries and the last-used touch are written otherwise.
  void commit(const storage::WriteBatch& batch);
  void write(const storage::WriteBatch& batch);

  std::int64_t now() const { return clock.epoch_seconds(); }

  // organizations.cpp
  CreatedOrganization create_organization(const NewOrganization& request);
  storage::Item require_org(const std::string& org_id);  // 404 when missing or deleted
  http::Response platform_create_org(http::Request& req);
  http::Response platform_list_orgs(http::Request& req);
  http::Response platform_get_org(http::Request& req);
  http::Response platform_update_org(http::Request& req);
  http::Response platform_delete_org(http::Request& req);
  http::Response get_own_org(http::Request& req);
  http::Response update_own_org(http::Request& req);

  // users.cpp
  std::optional<storage::Item> find_user(const std::string& org_id, const std::string& user_id);
  http::Response create_user(http::Request& req);
  http::Response list_users(http::Request& req);
  http::Response get_user(http::Request& req);
  http::Response update_user(http::Request& req);
  void revoke_sessions(const std::string& org_id, const std::string& user_id);

  // api_keys.cpp
  // Writes a new key for org_id into batch; returns the full key text (cf_<prefix>_<secret>).
  std::string add_api_key(storage::WriteBatch& batch, const std::string& org_id,
                          const std::string& name, Role role, std::optional<std::int64_t> expires,
                          const std::string& created_by, nlohmann::json* view);
  http::Response create_api_key(http::Request& req);
  http::Response list_api_keys(http::Request& req);
  http::Response revoke_api_key(http::Request& req);

  // sessions.cpp
  http::Response login(http::Request& req);
  http::Response logout(http::Request& req);
  http::Response me(http::Request& req);

  // authenticator.cpp
  Principal authenticate(const http::Request& req) override;
  Principal authenticate_api_key(std::string_view token, const std::string& token_hash,
                                 std::int64_t t);
  void check_org(const std::string& org_id);  // 401 when missing or deleted, 403 when suspended

  // audit_log.cpp
  void record(const http::Request& req, const http::Response& res) noexcept override;
  void write_audit(const std::string& org_id, const std::string& actor, const std::string& action,
                   const std::string& subject, int status, const std::string& request_id) noexcept;
  http::Response list_audit(http::Request& req);

  // directory.cpp
  std::optional<contracts::OrganizationInfo> find_organization(const std::string& org_id) override;
  std::vector<contracts::OrganizationInfo> organizations() override;

  // routes.cpp
  void register_routes(http::Router& router);
};

// Shared helpers of the module's handlers.
nlohmann::json org_view(const storage::Item& org);
nlohmann::json user_view(const storage::Item& user);
using http::check_if_match;
using http::with_etag;
std::string normalise_email(const std::string& email);  // lower case; "" when not an address

}  // namespace cellfleet::tenant
