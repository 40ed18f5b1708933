// Resolves "Authorization: Bearer <credential>" to a Principal. Three kinds of credential:
//   the platform administrator's token (from config; compared in constant time),
//   an API key  cf_<prefix>_<secret>,
//   a session   cfs_<token>.
// Every failure is the same 401, so a probe learns nothing about which part was wrong.
#include "core/error.h"
#include "secrets.h"
#include "tenant_impl.h"

namespace cellfleet::tenant {

namespace {
// How stale last_used_at / a session's renewal may get before a request writes it again: one
// write a minute per credential instead of one per request (sooner for very short sessions).
constexpr std::int64_t kTouchEverySeconds = 60;

Error unauthorized(std::string detail) {
  Error e(ErrorKind::unauthorized, std::move(detail));
  e.with_header("WWW-Authenticate", "Bearer");
  return e;
}

Error invalid_credentials() {
  return unauthorized("the credentials are not valid");
}
}  // namespace

Principal TenantModule::Impl::authenticate(const http::Request& req) {
  auto header = req.header("Authorization");
  if (!header) throw unauthorized("credentials are required: send Authorization: Bearer <key>");
  if (header->size() < 8 || !http::iequals(header->substr(0, 7), "Bearer ")) {
    throw unauthorized("the Authorization header must be: Bearer <key>");
  }
  std::string_view token = header->substr(7);
  const std::int64_t t = now();
  // One hash serves the platform-token comparison and the session lookup.
  const std::string token_hash = hash_secret(token);

  if (!platform_token_hash.empty() && secrets_equal(token_hash, platform_token_hash)) {
    return Principal{Principal::Kind::platform_admin, "", "platform", Role::owner, ""};
  }

  if (token.rfind("cf_", 0) == 0) return authenticate_api_key(token, token_hash, t);

  if (token.rfind("cfs_", 0) != 0) throw invalid_credentials();
  auto session = store.get("entities", {keys::session(token_hash), "session"});
  if (!session) throw invalid_credentials();  // expired ones are hidden by the store's TTL
  auto user = find_user(session->at("org_id"), session->at("user_id"));
  if (!user || user->at("status") != "active") throw invalid_credentials();
  Principal p{Principal::Kind::user, session->at("org_id"), user->at("id"),
              parse_role(user->at("role").get<std::string>()).value_or(Role::viewer),
              session->at("id")};
  // Sliding renewal: each use pushes the idle expiry out, never past the maximum lifetime.
  std::int64_t renew_every = std::min(
      kTouchEverySeconds, std::max<std::int64_t>(1, options.auth.session_idle_seconds / 2));
  if (t - session->at("renewed_at").get<std::int64_t>() >= renew_every) {
    std::int64_t expires = std::min(t + options.auth.session_idle_seconds,
                                    session->at("max_expires_at").get<std::int64_t>());
    store.write({{storage::Update{"entities",
                                  {session->at("pk"), "session"},
                                  {{"renewed_at", t}, {"expires_at", expires}},
                                  {},
                                  storage::Condition::must_exist()}}});
  }
  check_org(p.org_id);
  return p;
}

void TenantModule::Impl::check_org(const std::string& org_id) {
  auto org = store.get("entities", {keys::org(org_id), "org"});
  if (!org || org->value("status", "") == "deleted") throw invalid_credentials();
  if (org->value("status", "") == "suspended") {
    throw Error(ErrorKind::forbidden, "this organization is suspended");
  }
}

// An API key cf_<prefix>_<secret>: the key item and its organization, or the cache's copy of
// both (key_cache.h) while it is fresh and the key has not expired by the injected clock.
Principal TenantModule::Impl::authenticate_api_key(std::string_view token,
                                                   const std::string& token_hash, std::int64_t t) {
  const auto steady_now = std::chrono::steady_clock::now();
  auto touch = [&](const std::string& key_pk, std::int64_t last_used) {
    if (t - last_used < kTouchEverySeconds) return;
    store.write({{storage::Update{"entities", {key_pk, "apikey"}, {{"last_used", t}}, {}, {}}}});
    key_cache.set_last_used(token_hash, t);
  };
  if (auto hit = key_cache.find(token_hash, steady_now)) {
    if (hit->expires && *hit->expires <= t) throw invalid_credentials();
    touch(hit->key_pk, hit->last_used);
    return hit->principal;
  }

  const std::uint64_t generation = key_cache.generation();
  auto sep = token.find('_', 3);
  if (sep == std::string_view::npos) throw invalid_credentials();
  std::string prefix(token.substr(3, sep - 3));
  auto key =
      prefix.empty() ? std::nullopt : store.get("entities", {keys::api_key(prefix), "apikey"});
  if (!key ||
      !secrets_equal(hash_secret(token.substr(sep + 1)),
                     key->at("secret_hash").get<std::string>()) ||
      key->contains("revoked") ||
      (key->contains("expires") && key->at("expires").get<std::int64_t>() <= t)) {
    throw invalid_credentials();
  }
  Principal p{Principal::Kind::api_key, key->at("org_id"), key->at("id"),
              parse_role(key->at("role").get<std::string>()).value_or(Role::viewer), ""};
  check_org(p.org_id);  // a suspended or deleted organization is not cached: it throws here
  const std::int64_t last_used = key->value("last_used", std::int64_t{0});
  const std::string key_pk = key->at("pk");
  KeyCache::Entry entry{p, std::nullopt, last_used, key_pk, steady_now + key_cache.ttl()};
  if (key->contains("expires")) entry.expires = key->at("expires").get<std::int64_t>();
  key_cache.insert(token_hash, std::move(entry), generation);
  touch(key_pk, last_used);
  return p;
}

}  // namespace cellfleet::tenant
