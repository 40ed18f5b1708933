#include "core/events/event_routes.h"

#include "core/error.h"
#include "core/events/outbox.h"
#include "core/http/paging.h"
#include "core/ids.h"
#include "core/timestamp.h"

namespace cellfleet::events {

nlohmann::json event_view(const Event& e) {
  return {{"id", e.id},
          {"type", e.type},
          {"subject", e.subject},
          {"occurred_at", format_utc(e.occurred_at / 1000)},
          {"data", e.data}};
}

namespace {

http::Response list_events(storage::Store& store, http::Request& req) {
  const auto& org_id = req.caller().org_id;
  auto page = http::page_request(req);
  auto type = req.query("type");
  auto after = req.query("after");
  if (type && (type->empty() || type->size() > 100)) {
    throw bad_request("type must name an event type",
                      {{"query.type", "must be 1 to 100 characters"}});
  }
  if (after && !is_id(*after, "evt")) {
    throw bad_request("after must be an event id", {{"query.after", "must be an evt_ id"}});
  }
  storage::Query q;
  q.table = std::string(kEventsTable);
  if (type) {
    q.index = "gsi1";
    q.partition = event_type_partition(org_id, *type);
  } else {
    q.partition = event_log_partition(org_id);
  }
  if (after) q.sort = storage::SortCondition{storage::SortCondition::Op::gt, *after, ""};
  auto result = http::query_page(store, q, page);
  auto items = nlohmann::json::array();
  for (const auto& item : result.items) items.push_back(event_view(item.at("event").get<Event>()));
  return http::page_response(std::move(items), result.next_cursor);
}

http::Response list_dead_letters(Dispatcher& dispatcher, http::Request& req) {
  auto page = http::page_request(req);
  auto subscriber = req.query("subscriber");
  DeadLetterPage letters;
  try {
    letters = dispatcher.dead_letters(subscriber, page.limit, page.cursor);
  } catch (const storage::InvalidRequest&) {
    if (page.cursor.empty()) throw;  // not the client's doing
    throw http::foreign_cursor();
  }
  auto items = nlohmann::json::array();
  for (const auto& d : letters.items) {
    nlohmann::json event = event_view(d.event);
    event["org_id"] = d.event.org_id;
    items.push_back({{"subscriber", d.subscriber},
                     {"event", event},
                     {"error", d.error},
                     {"attempts", d.attempts},
                     {"failed_at", format_utc(d.failed_at / 1000)}});
  }
  return http::page_response(std::move(items), letters.next_cursor);
}
}  // namespace

void add_event_routes(http::Router& router, storage::Store& store, Dispatcher& dispatcher) {
  router.add("GET", "/v1/events", Access::any_member(),
             [&store](http::Request& req) { return list_events(store, req); });
  router.add("GET", "/v1/admin/dead-letters", Access::platform_admin(),
             [&dispatcher](http::Request& req) { return list_dead_letters(dispatcher, req); });
  router.add("POST", "/v1/admin/dead-letters/{subscriber}/{event_id}/retry",
             Access::platform_admin(), [&dispatcher](http::Request& req) {
               dispatcher.retry_dead_letter(req.param("subscriber"), req.param("event_id"));
               return http::Response::json(202, {{"status", "requeued"}});
             });
}

}  // namespace cellfleet::events
