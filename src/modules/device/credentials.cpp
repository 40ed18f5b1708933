#include "credentials.h"

#include "core/error.h"
#include "core/secrets.h"
#include "core/timestamp.h"

namespace cellfleet::device {

namespace {
constexpr std::string_view kScheme = "cfd_";

Error invalid_credentials() {
  Error e(ErrorKind::unauthorized, "the credentials are not valid");
  e.with_header("WWW-Authenticate", "Bearer");
  return e;
}
}  // namespace

http::Response Credentials::issue(http::Request& req) {
  const auto& caller = req.caller();
  auto device = ctx_.device_of(req);
  if (device.at("state") == "retired") {
    throw Error(ErrorKind::conflict, "a retired pack gets no credential");
  }
  const std::string prefix = random_token(12);
  const std::string secret = random_token(40);  // 200 bits
  const std::string id = device.at("id");
  const std::int64_t version = device.at("version").get<std::int64_t>();
  const std::string now = format_utc(ctx_.clock.epoch_seconds());

  storage::WriteBatch batch;
  batch.ops.push_back(storage::Put{kTable,
                                   {{"pk", keys::credential(prefix)},
                                    {"sk", "devcred"},
                                    {"org_id", caller.org_id},
                                    {"device_id", id},
                                    {"secret_hash", hash_secret(secret)},
                                    {"issued_at", now}},
                                   storage::Condition::must_not_exist()});
  const bool rotating = device.contains("credential");
  if (rotating) {
    batch.ops.push_back(
        storage::Delete{kTable, {keys::credential(device["credential"]["prefix"]), "devcred"}, {}});
  }
  nlohmann::json credential = {{"prefix", prefix}, {"issued_at", now}};
  batch.ops.push_back(storage::Update{kTable,
                                      {device.at("pk"), keys::kDeviceSk},
                                      {{"credential", credential}, {"version", version + 1}},
                                      {},
                                      storage::Condition::version_is(version)});
  ctx_.events.publish(batch, caller.org_id, "device.credential_issued", id,
                      {{"prefix", prefix}, {"replaced", rotating}, {"actor", caller.actor()}});
  try {
    ctx_.events.commit(batch);
  } catch (const storage::ConditionFailed&) {
    throw Error(ErrorKind::conflict, "the pack changed meanwhile; retry");
  }
  return http::Response::json(201, {{"device_id", id},
                                    {"prefix", prefix},
                                    {"issued_at", now},
                                    {"credential", std::string(kScheme) + prefix + "_" + secret}});
}

http::Response Credentials::revoke(http::Request& req) {
  const auto& caller = req.caller();
  auto device = ctx_.device_of(req);
  if (!device.contains("credential")) {
    throw Error(ErrorKind::not_found, "this pack has no credential");
  }
  const std::int64_t version = device.at("version").get<std::int64_t>();
  storage::WriteBatch batch;
  batch.ops.push_back(
      storage::Delete{kTable, {keys::credential(device["credential"]["prefix"]), "devcred"}, {}});
  batch.ops.push_back(storage::Update{kTable,
                                      {device.at("pk"), keys::kDeviceSk},
                                      {{"version", version + 1}},
                                      {"credential"},
                                      storage::Condition::version_is(version)});
  ctx_.events.publish(batch, caller.org_id, "device.credential_revoked", device.at("id"),
                      {{"prefix", device["credential"]["prefix"]}, {"actor", caller.actor()}});
  try {
    ctx_.events.commit(batch);
  } catch (const storage::ConditionFailed&) {
    throw Error(ErrorKind::conflict, "the pack changed meanwhile; retry");
  }
  return http::Response::empty(204);
}

Principal Credentials::authenticate(const http::Request& req) {
  auto header = req.header("Authorization");
  if (!header || header->size() < 7 + kScheme.size()) throw invalid_credentials();
  std::string_view token = header->substr(7 + kScheme.size());
  auto sep = token.find('_');
  if (sep == std::string_view::npos || sep == 0) throw invalid_credentials();
  auto credential =
      ctx_.store.get(kTable, {keys::credential(std::string(token.substr(0, sep))), "devcred"});
  if (!credential || !secrets_equal(hash_secret(token.substr(sep + 1)),
                                    credential->at("secret_hash").get<std::string>())) {
    throw invalid_credentials();
  }
  const std::string org_id = credential->at("org_id");
  auto org = ctx_.organizations.find_organization(org_id);
  if (!org) throw invalid_credentials();
  if (org->status == "suspended")
    throw Error(ErrorKind::forbidden, "this organization is suspended");
  Principal p;
  p.kind = Principal::Kind::device;
  p.org_id = org_id;
  p.actor_id = credential->at("device_id");
  p.role = Role::viewer;
  return p;
}

void Credentials::register_routes(http::Router& r) {
  const Access operators = Access::members({Role::owner, Role::admin, Role::operator_});
  r.add("POST", "/v1/devices/{device_id}/credential", operators,
        [this](http::Request& req) { return issue(req); });
  r.add("DELETE", "/v1/devices/{device_id}/credential", operators,
        [this](http::Request& req) { return revoke(req); });
}

}  // namespace cellfleet::device
