#include "core/events/event.h"

namespace cellfleet::events {

void to_json(nlohmann::json& out, const Event& event) {
  out = nlohmann::json{{"id", event.id},
                       {"type", event.type},
                       {"org_id", event.org_id},
                       {"subject", event.subject},
                       {"occurred_at", event.occurred_at},
                       {"data", event.data}};
}

void from_json(const nlohmann::json& in, Event& event) {
  in.at("id").get_to(event.id);
  in.at("type").get_to(event.type);
  in.at("org_id").get_to(event.org_id);
  in.at("subject").get_to(event.subject);
  in.at("occurred_at").get_to(event.occurred_at);
  event.data = in.at("data");
}

}  // namespace cellfleet::events
