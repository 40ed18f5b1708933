// The pack lifecycle: which state may follow which, and the transition route.
#include <algorithm>
#include <map>

#include <fmt/format.h>

#include "core/error.h"
#include "core/http/etag.h"
#include "core/ids.h"
#include "core/json_input.h"
#include "core/timestamp.h"
#include "registry.h"

namespace cellfleet::device {

namespace {
const std::map<std::string, std::vector<std::string>, std::less<>>& transitions() {
  static const std::map<std::string, std::vector<std::string>, std::less<>> table = {
      {"registered", {"in_stock", "retired"}},
      {"in_stock", {"deployed", "maintenance", "retired"}},
      {"deployed", {"returned"}},
      {"returned", {"in_stock", "maintenance", "retired"}},
      {"maintenance", {"in_stock", "retired"}},
      {"retired", {}},
  };
  return table;
}

std::string join(const std::vector<std::string>& states) {
  std::string out;
  for (const auto& s : states) out += (out.empty() ? "" : ", ") + s;
  return out;
}
}  // namespace

const std::vector<std::string>& allowed_next_states(std::string_view from) {
  static const std::vector<std::string> none;
  auto it = transitions().find(from);
  return it == transitions().end() ? none : it->second;
}

bool is_state(std::string_view state) {
  return transitions().find(state) != transitions().end();
}

void append_state_change(const Context& ctx, storage::WriteBatch& batch,
                         const std::string& org_id, storage::Item& device, const std::string& to,
                         const std::string& reason, const std::string& actor,
                         const std::optional<std::string>& contract_id) {
  const std::int64_t version = device.at("version").get<std::int64_t>();
  const std::string from = device.at("state");
  const std::string now = format_utc(ctx.clock.epoch_seconds());
  nlohmann::json set = {{"state", to},
                        {"state_changed_at", now},
                        {"updated_at", now},
                        {"version", version + 1},
                        {"gsi2pk", keys::devices_in_state(org_id, to)}};
  std::vector<std::string> remove;
  const bool drop_credential = to == "retired" && device.contains("credential");
  if (drop_credential) remove.push_back("credential");
  if (contract_id) {
    set["contract_id"] = *contract_id;
  } else if (device.contains("contract_id")) {
    remove.push_back("contract_id");
  }
  const std::string id = device.at("id");
  batch.ops.push_back(storage::Update{kTable,
                                      {device.at("pk"), keys::kDeviceSk},
                                      set,
                                      remove,
                                      storage::Condition::version_is(version)});
  // A retired pack never speaks again: its credential goes with the transition.
  if (drop_credential) {
    batch.ops.push_back(
        storage::Delete{kTable, {keys::credential(device["credential"]["prefix"]), "devcred"}, {}});
  }
  nlohmann::json data = {{"from", from}, {"to", to}, {"reason", reason}, {"actor", actor}};
  if (contract_id) data["contract_id"] = *contract_id;
  if (!contract_id && device.contains("contract_id")) data["contract_id"] = device["contract_id"];
  ctx.events.publish(batch, org_id, "device.state_changed", id, std::move(data));
  for (auto& [name, value] : set.items()) device[name] = value;
  for (const auto& name : remove) device.erase(name);
}

http::Response Registry::transition(http::Request& req) {
  const auto& caller = req.caller();
  auto device = ctx_.device_of(req);  // an unknown pack is a 404 whatever the body
  auto body = parse_json_object(req);
  JsonFields in(body);
  auto to = in.required_string("to", 1, 20);
  auto reason = in.required_string("reason", 1, 500);
  auto contract_id = in.optional_string("contract_id", 1, 64);
  if (!to.empty() && !is_state(to)) {
    in.error("to", "must be one of registered, in_stock, deployed, returned, maintenance, retired");
  }
  if (to == "deployed" && !contract_id) {
    in.error("contract_id", "a pack is deployed under a contract: name it");
  }
  if (contract_id && !is_id(*contract_id, "con")) in.error("contract_id", "must be a contract id");
  if (contract_id && to != "deployed") {
    in.error("contract_id", "only a transition to deployed binds a contract");
  }
  in.finish();
  http::check_if_match(req, device);
  const std::string from = device.at("state");
  const auto& allowed = allowed_next_states(from);
  if (std::find(allowed.begin(), allowed.end(), to) == allowed.end()) {
    Error e(ErrorKind::conflict,
            allowed.empty() ? fmt::format("a {} pack cannot change state: {} is final", from, from)
                            : fmt::format("a {} pack cannot become {}; it may become: {}", from, to,
                                          join(allowed)),
            {{"to", "allowed: " + (allowed.empty() ? std::string("none") : join(allowed))}});
    throw e;
  }

  storage::WriteBatch batch;
  append_state_change(ctx_, batch, caller.org_id, device, to, reason, caller.actor(), contract_id);
  const std::string id = device.at("id");
  ctx_.packs.forget(caller.org_id, id);  // and again once committed: see pack_cache.h
  try {
    ctx_.events.commit(batch);
  } catch (const storage::ConditionFailed&) {
    throw Error(ErrorKind::conflict, "the pack changed meanwhile; read it again and retry");
  }
  ctx_.packs.forget(caller.org_id, id);
  return http::with_etag(http::Response::json(200, device_view(device)), device);
}

}  // namespace cellfleet::device
