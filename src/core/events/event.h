#pragma once
// A domain event: a past-tense fact about one entity of one organization, e.g.
// {"id":"evt_01J...","type":"payment.received","org_id":"org_01J...","subject":"pay_01J...",
//  "occurred_at":1764151200123,"data":{...}}. Events are published only through the outbox
// (outbox.h), in the same atomic write as the state change they report.

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace cellfleet::events {

struct Event {
  std::string id;       // "evt_" + ULID from IdGenerator: sorts by creation time
  std::string type;     // past tense, "<entity>.<what happened>": "organization.created"
  std::string org_id;   // the organization the event belongs to
  std::string subject;  // id of the entity the event is about; events of one subject stay ordered
  std::int64_t occurred_at = 0;                    // epoch milliseconds
  nlohmann::json data = nlohmann::json::object();  // the type's payload (no floating point)

  friend bool operator==(const Event&, const Event&) = default;
};

void to_json(nlohmann::json& out, const Event& event);
// Throws nlohmann::json::exception when a field is missing or has the wrong type.
void from_json(const nlohmann::json& in, Event& event);

}  // namespace cellfleet::events
