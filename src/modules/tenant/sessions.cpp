// Login sessions: email and password in, an opaque token out (stored only as its hash), renewed
// while used, ended by logout, by disabling the user, or after the maximum lifetime.
#include <fmt/format.h>

#include "core/error.h"
#include "core/json_input.h"
#include "core/timestamp.h"
#include "secrets.h"
#include "tenant_impl.h"

namespace cellfleet::tenant {

namespace {
constexpr std::size_t kSessionTokenChars = 52;  // 260 bits

Error login_failed() {
  // The same answer whether the account is missing, disabled or the password is wrong, so a
  // login never tells whether an email has an account.
  return Error(ErrorKind::unauthorized, "the email or the password is not correct");
}
}  // namespace

http::Response TenantModule::Impl::login(http::Request& req) {
  auto body = parse_json_object(req);
  JsonFields in(body);
  auto email_text = in.required_string("email", 1, 254);
  auto password = in.required_string("password", 1, 1024);
  in.finish();
  const std::string email = normalise_email(email_text);
  const std::string address = req.remote_address;

  if (auto wait = throttle.retry_after(email, address, now()); wait > 0) {
    Error e(ErrorKind::too_many_requests,
            fmt::format("too many failed logins; try again in {} seconds", wait));
    e.with_header("Retry-After", std::to_string(wait));
    throw e;
  }
  auto claim = email.empty() ? std::nullopt : store.get("entities", {keys::email(email), "email"});
  std::optional<storage::Item> user;
  if (claim) user = find_user(claim->at("org_id"), claim->at("user_id"));
  bool ok = false;
  if (user && user->contains("password_hash")) {
    ok = verify_password(user->at("password_hash"), password);
  } else {
    spend_password_check(password);
  }
  std::optional<storage::Item> org;
  if (ok) org = store.get("entities", {keys::org(claim->at("org_id")), "org"});
  if (!ok || user->at("status") != "active" || !org || org->value("status", "") == "deleted") {
    throttle.record_failure(email, address, now());
    if (user) {
      write_audit(claim->at("org_id"), user->at("id"), "POST /v1/auth/login", user->at("id"), 401,
                  req.request_id);
    }
    throw login_failed();
  }
  if (org->value("status", "") == "suspended") {
    throw Error(ErrorKind::forbidden, "this organization is suspended");
  }
  throttle.record_success(email);

  const std::string org_id = claim->at("org_id");
  const std::string user_id = user->at("id");
  std::string token = "cfs_" + random_token(kSessionTokenChars);
  std::int64_t t = now();
  std::int64_t max_expiry = t + options.auth.session_max_seconds;
  std::int64_t expires = std::min(t + options.auth.session_idle_seconds, max_expiry);
  std::string session_id = ids.next("ses");
  write({{storage::Put{"entities",
                       {{"pk", keys::session(hash_secret(token))},
                        {"sk", "session"},
                        {"id", session_id},
                        {"org_id", org_id},
                        {"user_id", user_id},
                        {"created_at", t},
                        {"renewed_at", t},
                        {"max_expires_at", max_expiry},
                        {"expires_at", expires},
                        {"gsi1pk", keys::user_sessions(org_id, user_id)},
                        {"gsi1sk", session_id}},
                       storage::Condition::must_not_exist()}}});
  write_audit(org_id, user_id, "POST /v1/auth/login", user_id, 200, req.request_id);
  return http::Response::json(200, {{"token", token},
                                    {"expires_at", format_utc(expires)},
                                    {"user", user_view(*user)},
                                    {"organization", org_view(*org)}});
}

http::Response TenantModule::Impl::logout(http::Request& req) {
  const auto& caller = req.caller();
  if (caller.session_id.empty()) {
    throw bad_request(
        "logout ends a login session; this request used an API key (revoke it instead)");
  }
  auto header = req.header("Authorization").value_or("");
  std::string token(header.substr(header.find(' ') + 1));
  write({{storage::Delete{"entities", {keys::session(hash_secret(token)), "session"}, {}}}});
  return http::Response::empty(204);
}

http::Response TenantModule::Impl::me(http::Request& req) {
  const auto& caller = req.caller();
  nlohmann::json body = {{"organization", org_view(require_org(caller.org_id))},
                         {"role", role_name(caller.role)}};
  if (caller.kind == Principal::Kind::user) {
    auto user = find_user(caller.org_id, caller.actor_id);
    if (user) body["user"] = user_view(*user);
    body["credential"] = "session";
  } else {
    body["credential"] = "api_key";
    body["api_key_id"] = caller.actor_id;
  }
  return http::Response::json(200, body);
}

}  // namespace cellfleet::tenant
