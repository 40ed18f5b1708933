// API keys: for integrations and gateways. Shown once as cf_<prefix>_<secret>; the store keeps
// the prefix (to find the key) and a hash of the secret (to check it).
#include <fmt/format.h>

#include "core/error.h"
#include "core/http/paging.h"
#include "core/json_input.h"
#include "core/timestamp.h"
#include "secrets.h"
#include "tenant_impl.h"

namespace cellfleet::tenant {

namespace {
constexpr std::size_t kPrefixChars = 12;  // 60 bits: collisions are negligible, and checked
constexpr std::size_t kSecretChars = 40;  // 200 bits

nlohmann::json key_view(const storage::Item& key, std::int64_t now) {
  nlohmann::json view = {{"id", key.at("id")},
                         {"prefix", key.at("prefix")},
                         {"name", key.at("name")},
                         {"role", key.at("role")},
                         {"created_at", format_utc(key.at("created_at").get<std::int64_t>())},
                         {"created_by", key.at("created_by")},
                         {"expires_at", nullptr},
                         {"last_used_at", nullptr},
                         {"revoked_at", nullptr}};
  std::string status = "active";
  if (key.contains("expires")) {
    view["expires_at"] = format_utc(key.at("expires").get<std::int64_t>());
    if (key.at("expires").get<std::int64_t>() <= now) status = "expired";
  }
  if (key.contains("last_used"))
    view["last_used_at"] = format_utc(key.at("last_used").get<std::int64_t>());
  if (key.contains("revoked")) {
    view["revoked_at"] = format_utc(key.at("revoked").get<std::int64_t>());
    status = "revoked";
  }
  view["status"] = status;
  return view;
}
}  // namespace

std::string TenantModule::Impl::add_api_key(storage::WriteBatch& batch, const std::string& org_id,
                                            const std::string& name, Role role,
                                            std::optional<std::int64_t> expires,
                                            const std::string& created_by, nlohmann::json* view) {
  std::string prefix = random_token(kPrefixChars);
  std::string secret = random_token(kSecretChars);
  storage::Item key = {{"pk", keys::api_key(prefix)},
                       {"sk", "apikey"},
                       {"id", "key_" + prefix},
                       {"prefix", prefix},
                       {"org_id", org_id},
                       {"name", name},
                       {"role", role_name(role)},
                       {"secret_hash", hash_secret(secret)},
                       {"created_at", now()},
                       {"created_by", created_by},
                       {"version", 1},
                       {"gsi1pk", keys::org_api_keys(org_id)},
                       {"gsi1sk", ids.next("key")}};
  if (expires) key["expires"] = *expires;
  batch.ops.push_back(storage::Put{"entities", key, storage::Condition::must_not_exist()});
  publish(batch, org_id, "api_key.created", key.at("id"),
          {{"name", name}, {"role", role_name(role)}, {"created_by", created_by}});
  if (view) *view = key_view(key, now());
  return "cf_" + prefix + "_" + secret;
}

http::Response TenantModule::Impl::create_api_key(http::Request& req) {
  const auto& caller = req.caller();
  auto body = parse_json_object(req);
  JsonFields in(body);
  auto name = in.required_string("name", 1, 200);
  auto role_text = in.required_string("role", 1, 20);
  auto expires_text = in.optional_string("expires_at", 1, 64);
  auto role = parse_role(role_text);
  if (!role_text.empty() && !role)
    in.error("role", "must be one of owner, admin, operator, finance, viewer");
  std::optional<std::int64_t> expires;
  if (expires_text) {
    expires = parse_utc(*expires_text);
    if (!expires)
      in.error("expires_at", "must be an RFC 3339 time, e.g. 2027-01-31T00:00:00Z");
    else if (*expires <= now())
      in.error("expires_at", "must be in the future");
  }
  in.finish();
  if (*role == Role::owner && caller.role != Role::owner) {
    throw Error(ErrorKind::forbidden, "only an owner may create an owner key");
  }
  storage::WriteBatch batch;
  nlohmann::json view;
  auto text = add_api_key(batch, caller.org_id, name, *role, expires, caller.actor(), &view);
  commit(batch);
  view["key"] = text;
  return http::Response::json(201, view);
}

http::Response TenantModule::Impl::list_api_keys(http::Request& req) {
  auto page = http::page_request(req);
  storage::Query q;
  q.table = "entities";
  q.index = "gsi1";
  q.partition = keys::org_api_keys(req.caller().org_id);
  auto result = http::query_page(store, q, page);
  auto items = nlohmann::json::array();
  for (const auto& key : result.items) items.push_back(key_view(key, now()));
  return http::page_response(std::move(items), result.next_cursor);
}

http::Response TenantModule::Impl::revoke_api_key(http::Request& req) {
  const auto& caller = req.caller();
  const auto& id = req.param("key_id");
  if (id.rfind("key_", 0) != 0) throw not_found("no API key " + id);
  auto key = store.get("entities", {keys::api_key(id.substr(4)), "apikey"});
  // Another organization's key is "not found", exactly like a key that does not exist.
  if (!key || key->at("org_id") != caller.org_id) throw not_found("no API key " + id);
  if (key->at("role") == "owner" && caller.role != Role::owner) {
    throw Error(ErrorKind::forbidden, "only an owner may revoke an owner key");
  }
  if (!key->contains("revoked")) {
    std::int64_t version = key->at("version").get<std::int64_t>();
    storage::WriteBatch batch;
    batch.ops.push_back(storage::Update{"entities",
                                        {key->at("pk"), "apikey"},
                                        {{"revoked", now()}, {"version", version + 1}},
                                        {},
                                        storage::Condition::version_is(version)});
    publish(batch, caller.org_id, "api_key.revoked", id, {{"revoked_by", caller.actor()}});
    commit(batch);
  }
  return http::Response::empty(204);
}

}  // namespace cellfleet::tenant
