// Customers: create, read, update and list, and the directory other modules ask.
#include "customers.h"

#include <fmt/format.h>

#include "core/http/etag.h"
#include "core/http/paging.h"
#include "core/json_input.h"
#include "core/timestamp.h"
#include "customer_fields.h"
#include "customer_list.h"
#include "name_key.h"

namespace cellfleet::billing {

namespace {

// Claims phone for customer_id within the organization (must_not_exist).
storage::Put phone_claim(const std::string& org_id, const std::string& phone,
                         const std::string& customer_id) {
  return storage::Put{
      kTable,
      {{"pk", keys::phone(org_id, phone)}, {"sk", keys::kPhoneSk}, {"customer_id", customer_id}},
      storage::Condition::must_not_exist()};
}

storage::Item new_customer_item(const Context& ctx, const std::string& org_id,
                                const std::string& customer_id, nlohmann::json fields) {
  const std::string now = format_utc(ctx.clock.epoch_seconds());
  storage::Item item = std::move(fields);
  item["pk"] = keys::customer(org_id, customer_id);
  item["sk"] = keys::kCustomerSk;
  item["id"] = customer_id;
  item["org_id"] = org_id;
  if (!item.contains("status")) item["status"] = "active";
  item["created_at"] = now;
  item["updated_at"] = now;
  item["version"] = 1;
  item["gsi1pk"] = keys::customers(org_id);
  item["gsi1sk"] = customer_id;
  item["gsi2pk"] = keys::customers_by_name(org_id);
  item["gsi2sk"] =
      keys::customer_name_sort(name_key(item.at("name").get<std::string>()), customer_id);
  return item;
}

}  // namespace

Error Customers::phone_taken(const std::string& org_id, const std::string& phone) const {
  // Read after the failed write: the holder is named so the operator can open that customer
  // rather than create a duplicate. It may have let go of the phone meanwhile; then say less.
  if (auto holder = ctx_.phone_holder(org_id, phone)) {
    return Error(ErrorKind::conflict,
                 fmt::format("phone {} already belongs to customer {}", phone, *holder),
                 {{"phone", "belongs to customer " + *holder}});
  }
  return Error(ErrorKind::conflict,
               fmt::format("phone {} was just taken by another customer; try again", phone),
               {{"phone", "belongs to another customer"}});
}

http::Response Customers::create(http::Request& req) {
  const auto& caller = req.caller();
  auto body = parse_json_object(req);
  JsonFields in(body);
  auto fields = read_customer_fields(body, in, true);
  in.finish();

  const std::string id = ctx_.ids.next("cus");
  auto item = new_customer_item(ctx_, caller.org_id, id, std::move(fields.set));
  const std::string phone = item.at("phone");
  storage::WriteBatch batch;
  batch.ops.push_back(phone_claim(caller.org_id, phone, id));
  batch.ops.push_back(storage::Put{kTable, item, storage::Condition::must_not_exist()});
  ctx_.events.publish(batch, caller.org_id, "customer.created", id,
                      {{"name", item.at("name")},
                       {"phone", phone},
                       {"status", item.at("status")},
                       {"actor", caller.actor()}});
  try {
    ctx_.events.commit(batch);
  } catch (const storage::ConditionFailed& e) {
    if (e.op_index == 0) throw phone_taken(caller.org_id, phone);
    throw;
  }
  auto res = http::Response::json(201, customer_view(item));
  res.headers.emplace_back("Location", "/v1/customers/" + id);
  return http::with_etag(std::move(res), item);
}

http::Response Customers::get(http::Request& req) {
  auto customer = ctx_.customer_of(req);
  return http::with_etag(http::Response::json(200, customer_view(customer)), customer);
}

http::Response Customers::update(http::Request& req) {
  const auto& caller = req.caller();
  auto customer = ctx_.customer_of(req);  // an unknown customer is a 404 whatever the body
  auto body = parse_json_object(req);
  JsonFields in(body);
  auto fields = read_customer_fields(body, in, false);
  in.finish();
  if (fields.empty()) throw bad_request("the request changes nothing: send at least one field");
  http::check_if_match(req, customer);

  const std::string id = customer.at("id");
  const std::int64_t version = customer.at("version").get<std::int64_t>();
  nlohmann::json set = {{"version", version + 1},
                        {"updated_at", format_utc(ctx_.clock.epoch_seconds())}};
  std::vector<std::string> remove;
  auto changed = nlohmann::json::array();
  auto values = nlohmann::json::object();
  for (auto& [name, value] : fields.set.items()) {
    if (customer.value(name, nlohmann::json()) == value) continue;
    set[name] = value;
    changed.push_back(name);
    values[name] = value;
  }
  for (const auto& name : fields.removed) {
    if (!customer.contains(name)) continue;
    remove.push_back(name);
    changed.push_back(name);
    values[name] = nullptr;
  }
  if (changed.empty()) {
    return http::with_etag(http::Response::json(200, customer_view(customer)), customer);
  }
  if (set.contains("name")) {
    set["gsi2sk"] = keys::customer_name_sort(name_key(set.at("name").get<std::string>()), id);
  }

  storage::WriteBatch batch;
  const bool new_phone = set.contains("phone");
  if (new_phone) {
    // The swap is one atomic write with the customer's versioned update: the new phone is
    // claimed and the old one freed together, or neither.
    batch.ops.push_back(phone_claim(caller.org_id, set.at("phone"), id));
    batch.ops.push_back(storage::Delete{
        kTable, {keys::phone(caller.org_id, customer.at("phone")), keys::kPhoneSk}, {}});
  }
  batch.ops.push_back(storage::Update{kTable,
                                      {customer.at("pk"), keys::kCustomerSk},
                                      set,
                                      remove,
                                      storage::Condition::version_is(version)});
  ctx_.events.publish(batch, caller.org_id, "customer.updated", id,
                      {{"changed", changed}, {"values", values}, {"actor", caller.actor()}});
  try {
    ctx_.events.commit(batch);
  } catch (const storage::ConditionFailed& e) {
    if (new_phone && e.op_index == 0) throw phone_taken(caller.org_id, set.at("phone"));
    throw Error(ErrorKind::conflict, "the customer changed meanwhile; read it again and retry");
  }
  for (auto& [name, value] : set.items()) customer[name] = value;
  for (const auto& name : remove) customer.erase(name);
  return http::with_etag(http::Response::json(200, customer_view(customer)), customer);
}

http::Response Customers::list(http::Request& req) {
  auto filter = read_customer_filter(req);
  auto page = http::page_request(req);
  auto found = list_customers(ctx_, req.caller().org_id, filter, page);
  auto items = nlohmann::json::array();
  for (const auto& customer : found.customers) items.push_back(customer_view(customer));
  return http::page_response(std::move(items), found.next_cursor);
}

std::optional<contracts::CustomerInfo> Customers::find_customer(const std::string& org_id,
                                                                const std::string& customer_id) {
  auto customer = ctx_.find_customer(org_id, customer_id);
  if (!customer) return std::nullopt;
  return contracts::CustomerInfo{
      customer->at("id").get<std::string>(), customer->at("status").get<std::string>(),
      customer->at("name").get<std::string>(), customer->at("phone").get<std::string>()};
}

void Customers::register_routes(http::Router& r) {
  auto bind = [this](auto method) { return http::member_handler(this, method); };
  // Finance keeps customers' details (who pays) as operators do (who rents); viewers only read.
  const Access writers =
      Access::members({Role::owner, Role::admin, Role::operator_, Role::finance});
  const Access members = Access::any_member();
  r.add("POST", "/v1/customers", writers, bind(&Customers::create));
  r.add("GET", "/v1/customers", members, bind(&Customers::list));
  r.add("GET", "/v1/customers/{customer_id}", members, bind(&Customers::get));
  r.add("PATCH", "/v1/customers/{customer_id}", writers, bind(&Customers::update));
}

}  // namespace cellfleet::billing
