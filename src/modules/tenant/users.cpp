// Users of an organization: created by owners and admins with a role, disabled (which ends all
// their sessions at once), given passwords.
#include <fmt/format.h>

#include "core/error.h"
#include "core/http/paging.h"
#include "core/json_input.h"
#include "core/timestamp.h"
#include "secrets.h"
#include "tenant_impl.h"

namespace cellfleet::tenant {

namespace {
// Only an owner may make or change an owner: an admin cannot promote itself or lock owners out.
void check_may_grant(const Principal& caller, Role role) {
  if (role == Role::owner && caller.role != Role::owner) {
    throw Error(ErrorKind::forbidden, "only an owner may grant the owner role");
  }
}

Role role_field(JsonFields& in, const std::optional<std::string>& text) {
  if (!text) return Role::viewer;
  auto role = parse_role(*text);
  if (!role) in.error("role", "must be one of owner, admin, operator, finance, viewer");
  return role.value_or(Role::viewer);
}
}  // namespace

std::string normalise_email(const std::string& email) {
  auto at = email.find('@');
  if (email.size() > 254 || at == std::string::npos || at == 0 || at != email.rfind('@')) return "";
  auto dot = email.find('.', at);
  if (dot == std::string::npos || dot == at + 1 || email.back() == '.') return "";
  std::string out;
  for (char c : email) {
    if (c <= ' ' || c == 0x7f) return "";
    out.push_back((c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c);
  }
  return out;
}

nlohmann::json user_view(const storage::Item& user) {
  return {{"id", user.at("id")},
          {"email", user.at("email")},
          {"name", user.value("name", "")},
          {"role", user.at("role")},
          {"status", user.at("status")},
          {"has_password", user.contains("password_hash")},
          {"created_at", user.at("created_at")},
          {"version", user.at("version")}};
}

std::optional<storage::Item> TenantModule::Impl::find_user(const std::string& org_id,
                                                           const std::string& user_id) {
  return store.get("entities", {keys::org(org_id), keys::user_sk(user_id)});
}

http::Response TenantModule::Impl::create_user(http::Request& req) {
  const auto& caller = req.caller();
  auto body = parse_json_object(req);
  JsonFields in(body);
  auto email = in.required_string("email", 3, 254);
  auto name = in.optional_string("name", 0, 200).value_or("");
  auto role = role_field(in, in.required_string("role", 1, 20));
  auto password = in.optional_string("password", 0, 1024);
  if (!email.empty() && normalise_email(email).empty())
    in.error("email", "must be an email address");
  if (password && static_cast<std::int64_t>(password->size()) < options.auth.password_min_length) {
    in.error("password",
             fmt::format("must be at least {} characters", options.auth.password_min_length));
  }
  in.finish();
  check_may_grant(caller, role);

  const std::string user_id = ids.next("usr");
  const std::string address = normalise_email(email);
  storage::Item user = {{"pk", keys::org(caller.org_id)},
                        {"sk", keys::user_sk(user_id)},
                        {"id", user_id},
                        {"org_id", caller.org_id},
                        {"email", address},
                        {"name", name},
                        {"role", role_name(role)},
                        {"status", "active"},
                        {"created_at", format_utc(now())},
                        {"version", 1}};
  if (password) user["password_hash"] = hash_password(*password);
  storage::WriteBatch batch;
  batch.ops.push_back(storage::Put{"entities", user, storage::Condition::must_not_exist()});
  batch.ops.push_back(storage::Put{"entities",
                                   {{"pk", keys::email(address)},
                                    {"sk", "email"},
                                    {"org_id", caller.org_id},
                                    {"user_id", user_id}},
                                   storage::Condition::must_not_exist()});
  publish(batch, caller.org_id, "user.created", user_id,
          {{"email", address}, {"role", role_name(role)}, {"created_by", caller.actor()}});
  try {
    commit(batch);
  } catch (const storage::ConditionFailed& e) {
    if (e.key.pk == keys::email(address)) {
      throw Error(ErrorKind::conflict, "the email " + address + " belongs to an account already",
                  {{"email", "is taken"}});
    }
    throw;
  }
  return with_etag(http::Response::json(201, user_view(user)), user);
}

http::Response TenantModule::Impl::list_users(http::Request& req) {
  auto page = http::page_request(req);
  storage::Query q;
  q.table = "entities";
  q.partition = keys::org(req.caller().org_id);
  q.sort = storage::SortCondition{storage::SortCondition::Op::begins_with, "user#", ""};
  auto result = http::query_page(store, q, page);
  auto items = nlohmann::json::array();
  for (const auto& user : result.items) items.push_back(user_view(user));
  return http::page_response(std::move(items), result.next_cursor);
}

http::Response TenantModule::Impl::get_user(http::Request& req) {
  auto user = find_user(req.caller().org_id, req.param("user_id"));
  if (!user) throw not_found("no user " + req.param("user_id"));
  return with_etag(http::Response::json(200, user_view(*user)), *user);
}

http::Response TenantModule::Impl::update_user(http::Request& req) {
  const auto& caller = req.caller();
  auto user = find_user(caller.org_id, req.param("user_id"));
  if (!user) throw not_found("no user " + req.param("user_id"));
  check_if_match(req, *user);
  auto body = parse_json_object(req);
  JsonFields in(body);
  auto name = in.optional_string("name", 0, 200);
  auto role_text = in.optional_string("role", 1, 20);
  auto status = in.optional_string("status", 1, 20);
  auto password = in.optional_string("password", 0, 1024);
  std::optional<Role> role;
  if (role_text) role = role_field(in, role_text);
  if (status && *status != "active" && *status != "disabled") {
    in.error("status", "must be active or disabled");
  }
  if (password && static_cast<std::int64_t>(password->size()) < options.auth.password_min_length) {
    in.error("password",
             fmt::format("must be at least {} characters", options.auth.password_min_length));
  }
  in.finish();

  bool target_is_owner = user->at("role") == "owner";
  if ((target_is_owner || (role && *role == Role::owner)) && caller.role != Role::owner) {
    throw Error(ErrorKind::forbidden, "only an owner may change an owner");
  }
  bool self = caller.kind == Principal::Kind::user && caller.actor_id == user->at("id");
  if (self &&
      ((role && *role != Role::owner && target_is_owner) || (status && *status == "disabled"))) {
    throw Error(ErrorKind::conflict, "you cannot demote or disable yourself; ask another owner");
  }

  std::int64_t version = user->at("version").get<std::int64_t>();
  storage::Item set = {{"version", version + 1}};
  if (name) set["name"] = *name;
  if (role) set["role"] = role_name(*role);
  if (status) set["status"] = *status;
  if (password) set["password_hash"] = hash_password(*password);
  storage::WriteBatch batch;
  batch.ops.push_back(storage::Update{"entities",
                                      {user->at("pk"), user->at("sk")},
                                      set,
                                      {},
                                      storage::Condition::version_is(version)});
  // The event says what changed, never the password or its hash.
  nlohmann::json changes = {{"password_changed", password.has_value()}};
  if (role) changes["role"] = role_name(*role);
  if (status) changes["status"] = *status;
  if (name) changes["name"] = *name;
  publish(batch, caller.org_id, "user.updated", user->at("id"), changes);
  commit(batch);
  // A disabled user, or one whose password was reset, is signed out everywhere.
  if ((status && *status == "disabled") || password) {
    revoke_sessions(caller.org_id, user->at("id"));
  }
  for (const auto& [k, v] : set.items()) (*user)[k] = v;
  return with_etag(http::Response::json(200, user_view(*user)), *user);
}

void TenantModule::Impl::revoke_sessions(const std::string& org_id, const std::string& user_id) {
  storage::Query q;
  q.table = "entities";
  q.index = "gsi1";
  q.partition = keys::user_sessions(org_id, user_id);
  q.limit = 100;
  // Delete page by page, each before the next is read. The bound keeps a lagging index (DynamoDB's
  // are eventually consistent) from looping: 100 pages of 100 is far beyond real session counts.
  for (int round = 0; round < 100; ++round) {
    auto page = store.query(q);
    if (page.items.empty()) break;
    storage::WriteBatch batch;
    for (const auto& s : page.items) {
      batch.ops.push_back(storage::Delete{"entities", {s.at("pk"), s.at("sk")}, {}});
    }
    write(batch);
    if (page.next_cursor.empty()) break;
  }
}

}  // namespace cellfleet::tenant
