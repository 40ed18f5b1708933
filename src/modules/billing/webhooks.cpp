#include "webhooks.h"

#include <sodium.h>

#include <fmt/format.h>

#include "core/error.h"
#include "core/json_input.h"
#include "core/secrets.h"
#include "core/timestamp.h"

namespace cellfleet::billing {
namespace {

constexpr std::int64_t kToleranceSeconds = 300;
constexpr std::int64_t kRotationGraceSeconds = 24 * 3600;
constexpr std::int64_t kMaxAmount = 1'000'000'000'000;

std::string provider_pk(const std::string& org_id, const std::string& provider) {
  return "org#" + org_id + "#provider#" + provider;
}

bool is_provider_name(const std::string& p) {
  if (p.empty() || p.size() > 32) return false;
  for (char c : p) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-')) return false;
  }
  return true;
}

Error unauthenticated() {
  return Error(ErrorKind::unauthorized,
               "the webhook is not signed by this organization's secret for this provider");
}

// "t=...,v1=..." -> (t, v1)
std::optional<std::pair<std::int64_t, std::string>> parse_signature(std::string_view header) {
  std::optional<std::int64_t> t;
  std::string v1;
  while (!header.empty()) {
    auto comma = header.find(',');
    auto part = header.substr(0, comma);
    header = comma == std::string_view::npos ? std::string_view() : header.substr(comma + 1);
    if (part.rfind("t=", 0) == 0) {
      std::int64_t value = 0;
      auto digits = part.substr(2);
      if (digits.empty() || digits.size() > 12) return std::nullopt;
      for (char c : digits) {
        if (c < '0' || c > '9') return std::nullopt;
        value = value * 10 + (c - '0');
      }
      t = value;
    } else if (part.rfind("v1=", 0) == 0) {
      v1 = std::string(part.substr(3));
    }
  }
  if (!t || v1.empty()) return std::nullopt;
  return std::make_pair(*t, v1);
}

}  // namespace

std::string webhook_signature(const std::string& secret, std::int64_t t, const std::string& body) {
  ensure_sodium();
  const std::string message = std::to_string(t) + "." + body;
  unsigned char mac[crypto_auth_hmacsha256_BYTES];
  crypto_auth_hmacsha256_state state;
  crypto_auth_hmacsha256_init(&state, reinterpret_cast<const unsigned char*>(secret.data()),
                              secret.size());
  crypto_auth_hmacsha256_update(&state, reinterpret_cast<const unsigned char*>(message.data()),
                                message.size());
  crypto_auth_hmacsha256_final(&state, mac);
  char hex[crypto_auth_hmacsha256_BYTES * 2 + 1];
  sodium_bin2hex(hex, sizeof hex, mac, sizeof mac);
  return hex;
}

http::Response Webhooks::rotate_secret(http::Request& req) {
  const auto& caller = req.caller();
  auto body = parse_json_object(req);
  JsonFields in(body);
  const std::string provider = in.required_string("provider", 1, 32);
  if (!provider.empty() && !is_provider_name(provider)) {
    in.error("provider", "must be 1..32 of a-z, 0-9, _ and -");
  }
  in.finish();
  const std::int64_t now = ctx_.clock.epoch_seconds();
  const storage::Key key{provider_pk(caller.org_id, provider), "webhook"};
  auto current = ctx_.store.get(kTable, key);
  const std::string secret = "whsec_" + random_token(40);
  storage::Item item = {{"pk", key.pk},         {"sk", key.sk},
                        {"provider", provider}, {"secret", secret},
                        {"rotated_at", format_utc(now)}};
  const std::int64_t version = current ? current->value("version", std::int64_t{0}) : 0;
  item["version"] = version + 1;
  if (current) {
    item["previous_secret"] = current->at("secret");
    item["previous_valid_until"] = now + kRotationGraceSeconds;
  }
  storage::WriteBatch batch;
  batch.ops.push_back(storage::Put{kTable, item,
                                   current ? storage::Condition::version_is(version)
                                           : storage::Condition::must_not_exist()});
  ctx_.events.publish(batch, caller.org_id, "payment_provider.secret_rotated", provider,
                      {{"provider", provider}, {"actor", caller.actor()}});
  try {
    ctx_.events.commit(batch);
  } catch (const storage::ConditionFailed&) {
    throw Error(ErrorKind::conflict, "the secret was rotated meanwhile; retry");
  }
  return http::Response::json(
      201, {{"provider", provider},
            {"secret", secret},
            {"webhook_path",
             fmt::format("/v1/webhooks/payments/{}?org={}", provider, caller.org_id)},
            {"signature_header", "X-Cellfleet-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 "
                                 "of \"<t>.<raw body>\" with the secret>"},
            {"previous_secret_valid_until",
             current ? nlohmann::json(format_utc(now + kRotationGraceSeconds)) : nlohmann::json()}});
}

http::Response Webhooks::receive(http::Request& req) {
  const std::string provider = req.param("provider");
  const auto org_id = req.query("org");
  const auto header = req.header("X-Cellfleet-Signature");
  if (!org_id || !is_id(*org_id, "org") || !is_provider_name(provider) || !header) {
    throw unauthenticated();
  }
  auto config = ctx_.store.get(kTable, {provider_pk(*org_id, provider), "webhook"});
  auto signature = parse_signature(*header);
  const std::int64_t now = ctx_.clock.epoch_seconds();
  if (!config || !signature || std::abs(now - signature->first) > kToleranceSeconds) {
    throw unauthenticated();
  }
  bool valid = secrets_equal(webhook_signature(config->at("secret"), signature->first, req.body),
                             signature->second);
  if (!valid && config->contains("previous_secret") &&
      config->value("previous_valid_until", std::int64_t{0}) > now) {
    valid = secrets_equal(
        webhook_signature(config->at("previous_secret"), signature->first, req.body),
        signature->second);
  }
  if (!valid) throw unauthenticated();

  auto body = parse_json_object(req);
  JsonFields in(body);
  NewPayment p;
  const auto txn = in.required_string("transaction_id", 1, 100);
  p.amount = in.required_int("amount", 1, kMaxAmount);
  p.currency = in.required_string("currency", 3, 3);
  const auto account = in.required_string("account", 1, 64);
  auto occurred = in.optional_string("occurred_at", 1, 40);
  if (txn.find('#') != std::string::npos) in.error("transaction_id", "must not contain '#'");
  if (occurred) {
    p.received_at = parse_utc(*occurred);
    if (!p.received_at) in.error("occurred_at", "must be an RFC 3339 UTC time");
  }
  in.finish();
  p.method = "mobile_money";
  p.provider = provider;
  p.within_limits = false;
  p.reference = provider + ":" + txn;

  auto duplicate = [&]() -> std::optional<http::Response> {
    if (auto first = payments_.by_reference(*org_id, p.method, *p.reference)) {
      return http::Response::json(200, {{"payment_id", first->at("id")}, {"duplicate", true}});
    }
    return std::nullopt;
  };
  if (auto earlier = duplicate()) return *earlier;
  if (account.rfind("con_", 0) == 0) {
    p.contract_id = account;
  } else if (auto holder = ctx_.phone_holder(*org_id, account)) {
    p.customer_id = *holder;
  } else {
    throw Error(ErrorKind::unprocessable,
                "account " + account + " is neither a contract nor a customer's phone",
                {{"account", "no contract or customer phone " + account}});
  }
  storage::WriteBatch batch;
  auto item = payments_.append(batch, *org_id, p, "provider:" + provider);
  try {
    ctx_.events.commit(batch);
  } catch (const storage::ConditionFailed&) {
    // The same transaction delivered twice at once: the other delivery recorded it.
    if (auto earlier = duplicate()) return *earlier;
    throw;
  }
  return http::Response::json(201, {{"payment_id", item.at("id")}, {"duplicate", false}});
}

void Webhooks::register_routes(http::Router& router) {
  auto bind = [this](auto m) { return http::member_handler(this, m); };
  router.add("POST", "/v1/webhook-secrets",
             Access::members({Role::owner, Role::admin}), bind(&Webhooks::rotate_secret));
  router.add("POST", "/v1/webhooks/payments/{provider}", Access::anyone(),
             bind(&Webhooks::receive));
}

}  // namespace cellfleet::billing
