#include "access_policy.h"

#include <fmt/format.h>

#include "contracts/loan_events.h"
#include "core/error.h"
#include "core/timestamp.h"
#include "registry.h"

namespace cellfleet::device {
namespace {

constexpr const char* kAccessSk = "access";
namespace loan_events = contracts::loan_events;

CommandKind command_for(loan_events::Access a) {
  switch (a) {
    case loan_events::Access::unlocked:
      return CommandKind::unlock;
    case loan_events::Access::locked:
      return CommandKind::lock;
    case loan_events::Access::permanently_unlocked:
      return CommandKind::permanent_unlock;
  }
  return CommandKind::lock;
}

nlohmann::json event_ref(const events::Event& e) {
  return {{"event_id", e.id}, {"event_type", e.type}, {"at", format_utc(e.occurred_at / 1000)}};
}

}  // namespace

void AccessPolicy::subscribe(events::Dispatcher& dispatcher) {
  std::vector<std::string> types;
  for (auto t : {loan_events::kActivated, loan_events::kCreditExtended, loan_events::kOverdue,
                 loan_events::kDefaulted,
                 loan_events::kCreditExpired, loan_events::kPaidOff, loan_events::kCancelled,
                 loan_events::kWrittenOff}) {
    types.emplace_back(t);
  }
  dispatcher.register_subscriber(
      "device.access", std::move(types),
      [this](const events::Event& e, storage::WriteBatch& effects) { apply(e, effects); },
      // A command queued for the pack: its parked fetch answers now, not at its next re-check.
      [this](const events::Event& e) {
        commands_.notify_queued(e.org_id, e.data.value("device_id", ""));
      });
}

void AccessPolicy::apply(const events::Event& event, storage::WriteBatch& effects) {
  const auto desired = loan_events::access_after(event.type);
  if (!desired) return;
  const std::string device_id = event.data.value("device_id", "");
  const std::string contract_id = event.data.value("contract_id", "");
  auto device = ctx_.find_device(event.org_id, device_id);
  if (!device) {
    ctx_.log.warn("a contract event names no pack of its organization",
                  {{"org_id", event.org_id}, {"event_id", event.id}, {"device_id", device_id}});
    return;
  }
  const bool bound = device->value("contract_id", "") == contract_id;
  if (!bound && event.type != loan_events::kCancelled) return;

  const std::string pk = keys::device(event.org_id, device_id);
  const auto current = ctx_.store.get(kTable, {pk, kAccessSk});
  const std::string state(loan_events::access_name(*desired));
  if (current && current->value("state", "") == "permanently_unlocked") return;

  storage::Item access = current ? *current : storage::Item{{"pk", pk}, {"sk", kAccessSk}};
  access["contract_id"] = contract_id;
  access["reason"] = event.data.value("reason", "");
  access.erase("credit_until");
  access.erase("days_past_due");
  if (event.data.contains("credit_until")) access["credit_until"] = event.data["credit_until"];
  if (event.data.contains("days_past_due")) access["days_past_due"] = event.data["days_past_due"];
  access["last_event"] = event_ref(event);
  const bool changes = !current || current->value("state", "") != state;
  if (changes) {
    access["state"] = state;
    access["decided_by"] = event_ref(event);
    try {
      auto queued = commands_.append_command(effects, event.org_id, *device, command_for(*desired),
                                             access["reason"], CommandSource::access_policy(
                                                                   contract_id));
      access["command_id"] = queued.command.at("id");
    } catch (const Error& e) {
      // A retired pack takes no commands: the decision is still recorded.
      if (e.kind() != ErrorKind::conflict) throw;
      access["command_error"] = e.detail();
    }
  }
  const std::int64_t version = current ? current->value("version", std::int64_t{0}) : 0;
  access["version"] = version + 1;
  effects.ops.push_back(storage::Put{kTable, access,
                                     current ? storage::Condition::version_is(version)
                                             : storage::Condition::must_not_exist()});
}

void AccessPolicy::deploy_for_contract(storage::WriteBatch& batch, const std::string& org_id,
                                       const std::string& device_id,
                                       const std::string& contract_id, const std::string& actor) {
  auto device = ctx_.require_device(org_id, device_id);
  const std::string state = device.at("state");
  if (state != "in_stock") {
    throw Error(ErrorKind::conflict,
                fmt::format("battery pack {} is {}; a contract needs a pack that is in_stock",
                            device_id, state),
                {{"device_id", "the pack is " + state}});
  }
  append_state_change(ctx_, batch, org_id, device, "deployed", "contract " + contract_id + " signed",
                      actor, contract_id);
}

void AccessPolicy::return_from_contract(storage::WriteBatch& batch, const std::string& org_id,
                                        const std::string& device_id,
                                        const std::string& contract_id, const std::string& actor) {
  auto device = ctx_.find_device(org_id, device_id);
  if (!device || device->value("state", "") != "deployed" ||
      device->value("contract_id", "") != contract_id) {
    return;
  }
  append_state_change(ctx_, batch, org_id, *device, "returned",
                      "contract " + contract_id + " ended", actor, std::nullopt);
}

http::Response AccessPolicy::explain(http::Request& req) {
  const auto& caller = req.caller();
  auto device = ctx_.device_of(req);
  const std::string device_id = device.at("id");
  nlohmann::json view = {{"device_id", device_id}, {"device_state", device.at("state")}};
  auto access = ctx_.store.get(kTable, {keys::device(caller.org_id, device_id), kAccessSk});
  if (!access) {
    view["state"] = "not_gated";
    view["reason"] = "no contract has decided this pack's access yet";
  } else {
    for (const char* name : {"state", "contract_id", "reason", "credit_until", "days_past_due",
                             "decided_by", "last_event", "command_id", "command_error"}) {
      if (access->contains(name)) view[name] = access->at(name);
    }
  }
  if (device.contains("contract_id")) view["bound_contract_id"] = device.at("contract_id");
  if (auto lock = lock_view(ctx_, caller.org_id, device_id)) view["lock"] = *lock;
  return http::Response::json(200, view);
}

void AccessPolicy::register_routes(http::Router& router) {
  router.add("GET", "/v1/devices/{device_id}/access", Access::any_member(),
             [this](http::Request& req) { return explain(req); });
}

}  // namespace cellfleet::device
