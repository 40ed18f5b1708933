// Organizations: created, listed, suspended and deleted by the platform administrator; read and
// renamed by their own owners and admins.

#include "core/currency.h"
#include "core/error.h"
#include "core/http/paging.h"
#include "core/json_input.h"
#include "core/time_zone.h"
#include "core/timestamp.h"
#include "tenant_impl.h"

namespace cellfleet::tenant {

namespace {
bool valid_slug(const std::string& s) {
  if (s.size() < 3 || s.size() > 63 || s.front() == '-' || s.back() == '-') return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
    if (!ok || (c == '-' && s[i - 1] == '-')) return false;
  }
  return true;
}

// Field errors of a new organization's request, in request field names.
std::vector<FieldError> validate(const NewOrganization& r) {
  std::vector<FieldError> errors;
  if (r.name.empty() || r.name.size() > 200)
    errors.push_back({"name", "must be 1 to 200 characters"});
  if (!valid_slug(r.slug)) {
    errors.push_back({"slug", "must be 3 to 63 characters of a-z, 0-9 and single hyphens inside"});
  }
  if (!is_currency(r.currency))
    errors.push_back({"currency", "must be an ISO 4217 code, e.g. KES"});
  if (!is_time_zone(r.time_zone)) {
    errors.push_back({"time_zone", "must be an IANA time zone name, e.g. Africa/Nairobi"});
  }
  if (normalise_email(r.owner_email).empty()) {
    errors.push_back({"owner_email", "must be an email address"});
  }
  if (r.owner_name.size() > 200) errors.push_back({"owner_name", "must be at most 200 characters"});
  return errors;
}

std::string status_of(const storage::Item& org) {
  return org.value("status", "active");
}
}  // namespace

nlohmann::json org_view(const storage::Item& org) {
  return {{"id", org.at("id")},
          {"name", org.at("name")},
          {"slug", org.at("slug")},
          {"currency", org.at("currency")},
          {"time_zone", org.at("time_zone")},
          {"status", status_of(org)},
          {"settings", org.value("settings", nlohmann::json::object())},
          {"created_at", org.at("created_at")},
          {"version", org.at("version")}};
}

CreatedOrganization TenantModule::Impl::create_organization(const NewOrganization& r) {
  if (auto errors = validate(r); !errors.empty()) throw validation_error(std::move(errors));
  const std::string org_id = ids.next("org");
  const std::string user_id = ids.next("usr");
  const std::string email = normalise_email(r.owner_email);
  const std::string created = format_utc(now());
  storage::Item org = {
      {"pk", keys::org(org_id)},  {"sk", "org"},        {"id", org_id},
      {"name", r.name},           {"slug", r.slug},     {"currency", r.currency},
      {"time_zone", r.time_zone}, {"status", "active"}, {"settings", nlohmann::json::object()},
      {"created_at", created},    {"version", 1},       {"gsi1pk", keys::kAllOrgs},
      {"gsi1sk", org_id}};
  storage::Item owner = {{"pk", keys::org(org_id)}, {"sk", keys::user_sk(user_id)},
                         {"id", user_id},           {"org_id", org_id},
                         {"email", email},          {"name", r.owner_name},
                         {"role", "owner"},         {"status", "active"},
                         {"created_at", created},   {"version", 1}};
  using storage::Condition;
  storage::WriteBatch batch;
  batch.ops.push_back(storage::Put{"entities", org, Condition::must_not_exist()});
  batch.ops.push_back(storage::Put{"entities",
                                   {{"pk", keys::slug(r.slug)}, {"sk", "slug"}, {"org_id", org_id}},
                                   Condition::must_not_exist()});
  batch.ops.push_back(storage::Put{"entities", owner, Condition::must_not_exist()});
  batch.ops.push_back(storage::Put{
      "entities",
      {{"pk", keys::email(email)}, {"sk", "email"}, {"org_id", org_id}, {"user_id", user_id}},
      Condition::must_not_exist()});
  publish(
      batch, org_id, "organization.created", org_id,
      {{"name", r.name}, {"slug", r.slug}, {"currency", r.currency}, {"time_zone", r.time_zone}});
  publish(batch, org_id, "user.created", user_id, {{"email", email}, {"role", "owner"}});
  CreatedOrganization created_org;
  created_org.owner_api_key =
      add_api_key(batch, org_id, "first owner key", Role::owner, std::nullopt, "platform", nullptr);
  try {
    commit(batch);
  } catch (const storage::ConditionFailed& e) {
    if (e.key.pk == keys::slug(r.slug)) {
      throw Error(ErrorKind::conflict, "an organization with slug " + r.slug + " exists already",
                  {{"slug", "is taken"}});
    }
    if (e.key.pk == keys::email(email)) {
      throw Error(ErrorKind::conflict, "the email " + email + " belongs to an account already",
                  {{"owner_email", "is taken"}});
    }
    throw;
  }
  created_org.organization = org_view(org);
  created_org.owner_user_id = user_id;
  return created_org;
}

storage::Item TenantModule::Impl::require_org(const std::string& org_id) {
  auto org = store.get("entities", {keys::org(org_id), "org"});
  if (!org || status_of(*org) == "deleted") throw not_found("no organization " + org_id);
  return *org;
}

http::Response TenantModule::Impl::platform_create_org(http::Request& req) {
  auto body = parse_json_object(req);
  JsonFields in(body);
  NewOrganization r;
  r.name = in.required_string("name", 1, 200);
  r.slug = in.required_string("slug", 3, 63);
  r.currency = in.required_string("currency", 3, 3);
  r.time_zone = in.required_string("time_zone", 1, 64);
  r.owner_email = in.required_string("owner_email", 3, 254);
  r.owner_name = in.optional_string("owner_name", 0, 200).value_or("");
  in.finish();
  auto created = create_organization(r);
  return http::Response::json(
      201, {{"organization", created.organization},
            {"owner", {{"id", created.owner_user_id}, {"email", normalise_email(r.owner_email)}}},
            {"api_key", created.owner_api_key}});
}

http::Response TenantModule::Impl::platform_list_orgs(http::Request& req) {
  auto page = http::page_request(req);
  storage::Query q;
  q.table = "entities";
  q.index = "gsi1";
  q.partition = keys::kAllOrgs;
  auto result = http::query_page(store, q, page);
  auto items = nlohmann::json::array();
  for (const auto& org : result.items) items.push_back(org_view(org));
  return http::page_response(std::move(items), result.next_cursor);
}

http::Response TenantModule::Impl::platform_get_org(http::Request& req) {
  auto org = require_org(req.param("org_id"));
  return with_etag(http::Response::json(200, org_view(org)), org);
}

http::Response TenantModule::Impl::platform_update_org(http::Request& req) {
  auto org = require_org(req.param("org_id"));
  check_if_match(req, org);
  auto body = parse_json_object(req);
  JsonFields in(body);
  auto status = in.required_string("status", 1, 20);
  in.finish();
  if (status != "active" && status != "suspended") {
    throw bad_request("status must be active or suspended",
                      {{"status", "must be active or suspended"}});
  }
  std::int64_t version = org.at("version").get<std::int64_t>();
  storage::WriteBatch batch;
  batch.ops.push_back(storage::Update{"entities",
                                      {org.at("pk"), "org"},
                                      {{"status", status}, {"version", version + 1}},
                                      {},
                                      storage::Condition::version_is(version)});
  publish(batch, org.at("id"), "organization.status_changed", org.at("id"),
          {{"status", status}, {"previous", status_of(org)}});
  commit(batch);
  org["status"] = status;
  org["version"] = version + 1;
  return with_etag(http::Response::json(200, org_view(org)), org);
}

http::Response TenantModule::Impl::platform_delete_org(http::Request& req) {
  // The organization stops existing for every credential at once; its data stays until the
  // retention purge (a later piece of work) removes it, so an accidental delete can be undone
  // by an operator with store access.
  auto org = require_org(req.param("org_id"));
  std::int64_t version = org.at("version").get<std::int64_t>();
  storage::WriteBatch batch;
  batch.ops.push_back(storage::Update{"entities",
                                      {org.at("pk"), "org"},
                                      {{"status", "deleted"}, {"version", version + 1}},
                                      {"gsi1pk", "gsi1sk"},
                                      storage::Condition::version_is(version)});
  publish(batch, org.at("id"), "organization.deleted", org.at("id"), nlohmann::json::object());
  commit(batch);
  return http::Response::empty(204);
}

http::Response TenantModule::Impl::get_own_org(http::Request& req) {
  auto org = require_org(req.caller().org_id);
  return with_etag(http::Response::json(200, org_view(org)), org);
}

http::Response TenantModule::Impl::update_own_org(http::Request& req) {
  auto org = require_org(req.caller().org_id);
  check_if_match(req, org);
  auto body = parse_json_object(req);
  JsonFields in(body);
  auto name = in.optional_string("name", 1, 200);
  auto time_zone = in.optional_string("time_zone", 1, 64);
  const auto* settings = in.optional_object("settings");
  if (time_zone && !is_time_zone(*time_zone)) {
    in.error("time_zone", "must be an IANA time zone name, e.g. Africa/Nairobi");
  }
  if (settings && settings->dump().size() > 16 * 1024) in.error("settings", "must be under 16 KiB");
  if (settings && contains_fraction(*settings)) {
    in.error("settings", "numbers must be whole: store amounts in minor units");
  }
  in.finish();
  std::int64_t version = org.at("version").get<std::int64_t>();
  storage::Item set = {{"version", version + 1}};
  if (name) set["name"] = *name;
  if (time_zone) set["time_zone"] = *time_zone;
  if (settings) set["settings"] = *settings;
  storage::WriteBatch batch;
  batch.ops.push_back(storage::Update{
      "entities", {org.at("pk"), "org"}, set, {}, storage::Condition::version_is(version)});
  auto changed = nlohmann::json::array();
  for (const auto& [k, v] : set.items()) {
    if (k != "version") changed.push_back(k);
  }
  publish(batch, org.at("id"), "organization.updated", org.at("id"), {{"changed", changed}});
  commit(batch);
  for (const auto& [k, v] : set.items()) org[k] = v;
  return with_etag(http::Response::json(200, org_view(org)), org);
}

}  // namespace cellfleet::tenant
