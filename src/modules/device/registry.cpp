// Battery packs: create, read, update and list.
#include "registry.h"

#include <fmt/format.h>

#include "command_items.h"
#include "commands.h"
#include "core/error.h"
#include "core/http/etag.h"
#include "core/http/paging.h"
#include "core/json_input.h"
#include "core/timestamp.h"
#include "device_fields.h"
#include "device_list.h"
#include "telemetry.h"

namespace cellfleet::device {

namespace {
// Attributes of the pack a client may not set directly.
bool is_editable(const std::string& name) {
  return name != "state";
}
}  // namespace

storage::Item new_device_item(const Context& ctx, const std::string& org_id,
                              const std::string& device_id, nlohmann::json fields) {
  const std::string state = fields.value("state", "registered");
  const std::string now = format_utc(ctx.clock.epoch_seconds());
  storage::Item item = std::move(fields);
  item["pk"] = keys::device(org_id, device_id);
  item["sk"] = keys::kDeviceSk;
  item["id"] = device_id;
  item["org_id"] = org_id;
  item["state"] = state;
  item["state_changed_at"] = now;
  item["created_at"] = now;
  item["updated_at"] = now;
  item["version"] = 1;
  item["gsi1pk"] = keys::devices(org_id);
  item["gsi1sk"] = device_id;
  item["gsi2pk"] = keys::devices_in_state(org_id, state);
  item["gsi2sk"] = device_id;
  return item;
}

storage::Put serial_claim(const std::string& org_id, const std::string& serial,
                          const std::string& device_id) {
  return storage::Put{
      kTable,
      {{"pk", keys::serial(org_id, serial)}, {"sk", "serial"}, {"device_id", device_id}},
      storage::Condition::must_not_exist()};
}

Error serial_taken(const std::string& serial) {
  return Error(ErrorKind::conflict,
               fmt::format("serial {} is already registered in this organization", serial),
               {{"serial", "is already registered"}});
}

http::Response Registry::create(http::Request& req) {
  const auto& caller = req.caller();
  auto body = parse_json_object(req);
  JsonFields in(body);
  auto fields = read_device_fields(in, true);
  in.finish();

  const std::string id = ctx_.ids.next("dev");
  auto item = new_device_item(ctx_, caller.org_id, id, std::move(fields));
  storage::WriteBatch batch;
  batch.ops.push_back(serial_claim(caller.org_id, item.at("serial"), id));
  batch.ops.push_back(storage::Put{kTable, item, storage::Condition::must_not_exist()});
  ctx_.events.publish(batch, caller.org_id, "device.registered", id,
                      {{"serial", item.at("serial")},
                       {"model", item.at("model")},
                       {"state", item.at("state")},
                       {"depot", item.value("depot", "")},
                       {"actor", caller.actor()}});
  try {
    ctx_.events.commit(batch);
  } catch (const storage::ConditionFailed& e) {
    if (e.op_index == 0) throw serial_taken(item.at("serial"));
    throw;
  }
  auto res = http::Response::json(201, device_view(item));
  res.headers.emplace_back("Location", "/v1/devices/" + id);
  return http::with_etag(std::move(res), item);
}

http::Response Registry::get(http::Request& req) {
  // The pack's newest reading and its reported lock state live in items of their own, so
  // telemetry and acknowledgements never bump the version an operator's If-Match names. The
  // three share the pack's partition and sort next to each other ("device" < "latest" < "lock";
  // its alert state and commands sort outside the range), so one query reads them all.
  const std::string& org_id = req.caller().org_id;
  const std::string& device_id = req.param("device_id");
  if (!is_id(device_id, "dev")) throw pack_not_found(device_id);
  storage::Query q;
  q.table = kTable;
  q.partition = keys::device(org_id, device_id);
  q.sort = storage::SortCondition{storage::SortCondition::Op::between, keys::kDeviceSk,
                                  command_items::kLockSk};
  q.limit = 3;
  auto page = ctx_.store.query(q);
  const storage::Item* device = nullptr;
  const storage::Item* latest = nullptr;
  const storage::Item* lock = nullptr;
  for (const auto& item : page.items) {
    const auto& sk = item.at("sk").get_ref<const std::string&>();
    if (sk == keys::kDeviceSk) device = &item;
    if (sk == keys::kLatestSk) latest = &item;
    if (sk == command_items::kLockSk) lock = &item;
  }
  if (!device) throw pack_not_found(device_id);
  auto view = device_view(*device);
  if (latest) view["latest"] = latest_view(*latest);
  if (lock) {
    if (auto lock_state = lock_view(ctx_, *lock)) view["lock"] = *lock_state;
  }
  return http::with_etag(http::Response::json(200, view), *device);
}

http::Response Registry::update(http::Request& req) {
  const auto& caller = req.caller();
  auto device = ctx_.device_of(req);  // an unknown pack is a 404 whatever the body
  auto body = parse_json_object(req);
  JsonFields in(body);
  auto fields = read_device_fields(in, false);
  in.finish();
  if (fields.empty()) throw bad_request("the request changes nothing: send at least one field");
  http::check_if_match(req, device);
  const std::int64_t version = device.at("version").get<std::int64_t>();
  nlohmann::json set = {{"version", version + 1},
                        {"updated_at", format_utc(ctx_.clock.epoch_seconds())}};
  auto changed = nlohmann::json::array();
  for (auto& [name, value] : fields.items()) {
    if (!is_editable(name) || device.value(name, nlohmann::json()) == value) continue;
    set[name] = value;
    changed.push_back(name);
  }
  if (changed.empty())
    return http::with_etag(http::Response::json(200, device_view(device)), device);

  const std::string id = device.at("id");
  storage::WriteBatch batch;
  const bool new_serial = set.contains("serial");
  if (new_serial) {
    batch.ops.push_back(serial_claim(caller.org_id, set.at("serial"), id));
    batch.ops.push_back(
        storage::Delete{kTable, {keys::serial(caller.org_id, device.at("serial")), "serial"}, {}});
  }
  batch.ops.push_back(storage::Update{kTable,
                                      {device.at("pk"), keys::kDeviceSk},
                                      set,
                                      {},
                                      storage::Condition::version_is(version)});
  // The new depot and model ride along: subscribers that count packs by them (insights) need
  // the value, not only the name of the field.
  nlohmann::json data = {{"changed", changed}, {"actor", caller.actor()}};
  for (const char* carried : {"depot", "model"}) {
    if (set.contains(carried)) data[carried] = set[carried];
  }
  ctx_.events.publish(batch, caller.org_id, "device.updated", id, std::move(data));
  ctx_.packs.forget(caller.org_id, id);  // and again once committed: see pack_cache.h
  try {
    ctx_.events.commit(batch);
  } catch (const storage::ConditionFailed& e) {
    if (new_serial && e.op_index == 0) throw serial_taken(set.at("serial"));
    throw Error(ErrorKind::conflict, "the pack changed meanwhile; read it again and retry");
  }
  ctx_.packs.forget(caller.org_id, id);
  for (auto& [name, value] : set.items()) device[name] = value;
  return http::with_etag(http::Response::json(200, device_view(device)), device);
}

http::Response Registry::list(http::Request& req) {
  auto filter = read_device_filter(req);
  auto page = http::page_request(req);
  auto found = list_devices(ctx_, req.caller().org_id, filter, page);
  auto items = nlohmann::json::array();
  for (const auto& device : found.devices) items.push_back(device_view(device));
  return http::page_response(std::move(items), found.next_cursor);
}

void Registry::register_routes(http::Router& r) {
  auto bind = [this](auto method) { return http::member_handler(this, method); };
  const Access operators = Access::members({Role::owner, Role::admin, Role::operator_});
  const Access members = Access::any_member();
  r.add("POST", "/v1/devices", operators, bind(&Registry::create));
  r.add("GET", "/v1/devices", members, bind(&Registry::list));
  r.add("POST", "/v1/devices:import", operators, bind(&Registry::import));
  r.add("GET", "/v1/devices/{device_id}", members, bind(&Registry::get));
  r.add("PATCH", "/v1/devices/{device_id}", operators, bind(&Registry::update));
  r.add("POST", "/v1/devices/{device_id}/transitions", operators, bind(&Registry::transition));
}

}  // namespace cellfleet::device
