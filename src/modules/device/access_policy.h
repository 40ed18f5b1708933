#pragma once
// Payment-gated access, the device side: the loan module's contract events (contracts/
// loan_events.h) become lock / unlock / permanent_unlock commands, and every decision is kept so
// GET /v1/devices/{id}/access can say why a battery is on or off. The module also deploys and
// returns packs for contracts inside the loan module's write (contracts/device_binding.h).
//
// A command is queued only when the decision changes (a payment that extends credit of a running
// battery queues nothing). A permanent unlock is final: no later event locks the pack again.
// An event about a contract the pack is no longer bound to is recorded nowhere and changes nothing
// (it is history), except a cancellation, which arrives after the pack was returned and locks it.
//
// Item (table entities, partition keys::device(org, dev)):
//   sk access   state "unlocked" | "locked" | "permanently_unlocked", contract_id, reason,
//               credit_until | days_past_due (as the last event said), decided_by {event_id,
//               event_type, at} (the event that set this state), last_event {same, the newest
//               event seen}, command_id (the command the decision queued), version.

#include "commands.h"
#include "contracts/device_binding.h"
#include "core/events/dispatcher.h"
#include "core/http/router.h"
#include "device_impl.h"

namespace cellfleet::device {

class AccessPolicy final : public contracts::DeviceBinding {
 public:
  AccessPolicy(Context& context, Commands& commands) : ctx_(context), commands_(commands) {}
  void register_routes(http::Router& router);
  // Subscribes "device.access" to the contract events that decide access.
  void subscribe(events::Dispatcher& dispatcher);

  void deploy_for_contract(storage::WriteBatch& batch, const std::string& org_id,
                           const std::string& device_id, const std::string& contract_id,
                           const std::string& actor) override;
  void return_from_contract(storage::WriteBatch& batch, const std::string& org_id,
                            const std::string& device_id, const std::string& contract_id,
                            const std::string& actor) override;

 private:
  void apply(const events::Event& event, storage::WriteBatch& effects);
  http::Response explain(http::Request& req);

  Context& ctx_;
  Commands& commands_;
};

}  // namespace cellfleet::device
