#pragma once
// The tenant module: organizations, users and their roles, API keys, login sessions and the
// audit log; and the Authenticator every route's access check relies on.

#include <cstdint>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "contracts/organization_directory.h"
#include "core/auth.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/events/publisher.h"
#include "core/http/router.h"
#include "core/ids.h"
#include "core/log.h"
#include "storage/store.h"

namespace cellfleet::tenant {

struct TenantOptions {
  std::string platform_admin_token;  // empty: the platform routes admit nobody
  Config::Auth auth;                 // sessions, passwords, login throttling, audit retention
};

struct NewOrganization {
  std::string name;
  std::string slug;
  std::string currency;
  std::string time_zone;
  std::string owner_email;
  std::string owner_name;
};

struct CreatedOrganization {
  nlohmann::json organization;  // as the API shows it
  std::string owner_user_id;
  std::string owner_api_key;  // cf_<prefix>_<secret>: shown once, stored only as a hash
};

class TenantModule {
 public:
  // events publishes the module's events (and wakes the dispatcher, if it has one).
  TenantModule(storage::Store& store, const Clock& clock, TenantOptions options, Logger& log,
               events::Publisher& events);
  ~TenantModule();
  TenantModule(const TenantModule&) = delete;
  TenantModule& operator=(const TenantModule&) = delete;

  void register_routes(http::Router& router);
  Authenticator& authenticator();
  contracts::OrganizationDirectory& directory();
  RequestAuditor& auditor();

  // Creates an organization with its first owner (who has no password yet) and an owner API key.
  // Used by POST /v1/platform/organizations and `cellfleet create-org`. Throws a 400 Error for
  // invalid fields and a 409 Error when the slug or the owner's email is taken.
  CreatedOrganization create_organization(const NewOrganization& request);

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace cellfleet::tenant
