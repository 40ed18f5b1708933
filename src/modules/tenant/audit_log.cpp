// The audit log: who changed what, when, and with what outcome. The Dispatcher hands every
// state-changing request made with credentials to record(); login writes its own entries.
#include "core/error.h"
#include "core/http/paging.h"
#include "core/timestamp.h"
#include "tenant_impl.h"

namespace cellfleet::tenant {

void TenantModule::Impl::write_audit(const std::string& org_id, const std::string& actor,
                                     const std::string& action, const std::string& subject,
                                     int status, const std::string& request_id) noexcept {
  try {
    std::string id = ids.next("aud");
    // The platform administrator's actions are kept apart from any organization's log.
    std::string partition = org_id.empty() ? "platform#audit" : keys::audit(org_id);
    storage::Item entry = {{"pk", partition},
                           {"sk", id},
                           {"id", id},
                           {"at", format_utc(now())},
                           {"actor", actor},
                           {"action", action},
                           {"subject", subject},
                           {"status", status},
                           {"outcome", status < 400 ? "succeeded" : "failed"},
                           {"request_id", request_id},
                           {"gsi1pk", partition + "#actor#" + actor},
                           {"gsi1sk", id}};
    if (!subject.empty()) {
      entry["gsi2pk"] = partition + "#subject#" + subject;
      entry["gsi2sk"] = id;
    }
    if (options.auth.audit_retention_days > 0) {
      entry["expires_at"] = now() + options.auth.audit_retention_days * 86400;
    }
    store.write({{storage::Put{"entities", entry, storage::Condition::must_not_exist()}}});
  } catch (const std::exception& e) {
    log.error("audit entry not written", {{"error", e.what()}, {"action", action}});
  }
}

void TenantModule::Impl::record(const http::Request& req, const http::Response& res) noexcept {
  try {
    const auto& caller = req.caller();
    // The subject is the resource the route names, or the one a create returned.
    std::string subject;
    if (!req.path_params.empty()) {
      subject = req.path_params.back().second;
    } else if (res.status < 300 && res.content_type == "application/json") {
      auto body = nlohmann::json::parse(res.body, nullptr, false);
      if (body.is_object() && body.contains("id") && body["id"].is_string()) subject = body["id"];
      if (body.is_object() && body.contains("organization"))
        subject = body["organization"].value("id", "");
    }
    write_audit(caller.org_id, caller.actor(), req.method + " " + req.route, subject, res.status,
                req.request_id);
  } catch (const std::exception& e) {
    log.error("audit entry not written", {{"error", e.what()}});
  }
}

http::Response TenantModule::Impl::list_audit(http::Request& req) {
  const auto& org_id = req.caller().org_id;
  auto page = http::page_request(req);
  auto actor = req.query("actor");
  auto subject = req.query("subject");
  if (actor && subject) {
    throw bad_request("filter by actor or by subject, not both",
                      {{"query.subject", "cannot be combined with actor"}});
  }
  storage::Query q;
  q.table = "entities";
  q.forward = false;  // newest first
  if (actor) {
    q.index = "gsi1";
    q.partition = keys::audit(org_id) + "#actor#" + *actor;
  } else if (subject) {
    q.index = "gsi2";
    q.partition = keys::audit(org_id) + "#subject#" + *subject;
  } else {
    q.partition = keys::audit(org_id);
  }
  auto result = http::query_page(store, q, page);
  auto items = nlohmann::json::array();
  for (const auto& e : result.items) {
    items.push_back({{"id", e.at("id")},
                     {"at", e.at("at")},
                     {"actor", e.at("actor")},
                     {"action", e.at("action")},
                     {"subject", e.at("subject")},
                     {"status", e.at("status")},
                     {"outcome", e.at("outcome")},
                     {"request_id", e.at("request_id")}});
  }
  return http::page_response(std::move(items), result.next_cursor);
}

}  // namespace cellfleet::tenant
