#include "products.h"

#include "core/error.h"
#include "core/http/etag.h"
#include "core/http/paging.h"
#include "core/timestamp.h"

namespace cellfleet::loan {
namespace {

constexpr std::int64_t kMaxAmount = 1'000'000'000'000;  // minor units; far above any battery

bool one_of(const std::string& value, std::initializer_list<const char*> allowed) {
  for (const char* a : allowed) {
    if (value == a) return true;
  }
  return false;
}

const Access kWriters = Access::members({Role::owner, Role::admin, Role::finance});

}  // namespace

nlohmann::json read_terms(JsonFields& outer, const std::string& kind) {
  const auto* object = outer.optional_object("terms");
  if (!object) {
    if (outer.ok()) outer.error("terms", "is required");
    return nlohmann::json::object();
  }
  JsonFields in(*object, "terms/");
  nlohmann::json t = nlohmann::json::object();
  if (kind == "payg") {
    t["price_per_day"] = in.required_int("price_per_day", 1, kMaxAmount);
    t["minimum_top_up"] = in.optional_int("minimum_top_up", 0, kMaxAmount).value_or(0);
    t["maximum_credit_days"] = in.optional_int("maximum_credit_days", 1, 3650).value_or(365);
  } else if (kind == "lease_to_own") {
    const auto cash = in.required_int("cash_price", 1, kMaxAmount);
    const auto deposit = in.optional_int("deposit", 0, kMaxAmount).value_or(0);
    if (deposit >= cash) in.error("deposit", "must be less than cash_price: something is financed");
    t["cash_price"] = cash;
    t["deposit"] = deposit;
    t["installments"] = in.required_int("installments", 1, 1000);
    const auto frequency = in.required_string("frequency", 1, 10);
    if (!frequency.empty() && !one_of(frequency, {"daily", "weekly", "monthly"})) {
      in.error("frequency", "must be one of daily, weekly, monthly");
    }
    t["frequency"] = frequency;
    const auto method = in.optional_string("interest_method", 1, 20).value_or("declining_balance");
    if (!one_of(method, {"flat", "declining_balance"})) {
      in.error("interest_method", "must be one of flat, declining_balance");
    }
    t["interest_method"] = method;
    t["annual_rate_bp"] = in.required_int("annual_rate_bp", 0, 10000);
    t["fee_per_installment"] = in.optional_int("fee_per_installment", 0, kMaxAmount).value_or(0);
    t["upfront_fee"] = in.optional_int("upfront_fee", 0, kMaxAmount).value_or(0);
    t["late_fee"] = in.optional_int("late_fee", 0, kMaxAmount).value_or(0);
    t["grace_period_days"] = in.optional_int("grace_period_days", 0, 365).value_or(0);
  }
  // The nested errors belong to the outer request's error list.
  for (const auto& e : in.errors()) outer.error(e.field, e.message);
  try {
    in.finish();
  } catch (const Error& e) {
    for (const auto& f : e.fields()) {
      if (f.message == "unknown field") outer.error(f.field, f.message);
    }
  }
  return t;
}

storage::Item Products::require(const std::string& org_id, const std::string& product_id) const {
  std::optional<storage::Item> item;
  if (is_id(product_id, "prd")) {
    item = ctx_.store.get(kTable, {keys::product(org_id, product_id), "product"});
  }
  if (!item) throw Error(ErrorKind::not_found, "no product " + product_id);
  return *item;
}

http::Response Products::create(http::Request& req) {
  const auto& caller = req.caller();
  auto body = parse_json_object(req);
  JsonFields in(body);
  auto name = in.required_string("name", 1, 200);
  auto kind = in.required_string("kind", 1, 20);
  if (!kind.empty() && !one_of(kind, {"payg", "lease_to_own"})) {
    in.error("kind", "must be one of payg, lease_to_own");
  }
  auto terms = read_terms(in, kind);
  auto description = in.optional_string("description", 0, 2000);
  in.finish();

  const auto org = ctx_.organization(caller.org_id);
  const std::string id = ctx_.ids.next("prd");
  const std::string now = format_utc(ctx_.clock.epoch_seconds());
  storage::Item item = {{"pk", keys::product(caller.org_id, id)},
                        {"sk", "product"},
                        {"id", id},
                        {"name", name},
                        {"kind", kind},
                        {"currency", org.currency},
                        {"terms", terms},
                        {"status", "active"},
                        {"created_at", now},
                        {"updated_at", now},
                        {"version", 1},
                        {"gsi1pk", keys::products(caller.org_id)},
                        {"gsi1sk", id}};
  if (description) item["description"] = *description;
  storage::WriteBatch batch;
  batch.ops.push_back(storage::Put{kTable, item, storage::Condition::must_not_exist()});
  ctx_.events.publish(batch, caller.org_id, "product.created", id,
                      {{"name", name}, {"kind", kind}, {"actor", caller.actor()}});
  ctx_.events.commit(batch);
  auto res = http::with_etag(http::Response::json(201, public_view(item)), item);
  res.headers.emplace_back("Location", "/v1/products/" + id);
  return res;
}

http::Response Products::get(http::Request& req) {
  auto item = require(req.caller().org_id, req.param("product_id"));
  return http::with_etag(http::Response::json(200, public_view(item)), item);
}

http::Response Products::update(http::Request& req) {
  const auto& caller = req.caller();
  auto item = require(caller.org_id, req.param("product_id"));
  auto body = parse_json_object(req);
  JsonFields in(body);
  auto name = in.optional_string("name", 1, 200);
  auto status = in.optional_string("status", 1, 20);
  if (status && !one_of(*status, {"active", "retired"})) {
    in.error("status", "must be one of active, retired");
  }
  auto description = in.optional_string("description", 0, 2000);
  std::optional<nlohmann::json> terms;
  if (body.contains("terms")) terms = read_terms(in, item.at("kind"));
  in.finish();
  http::check_if_match(req, item);

  const std::int64_t version = item.at("version");
  nlohmann::json set = {{"version", version + 1},
                        {"updated_at", format_utc(ctx_.clock.epoch_seconds())}};
  nlohmann::json changed = nlohmann::json::object();
  if (name) set["name"] = changed["name"] = *name;
  if (status) set["status"] = changed["status"] = *status;
  if (description) set["description"] = changed["description"] = *description;
  if (terms) set["terms"] = changed["terms"] = *terms;
  storage::WriteBatch batch;
  batch.ops.push_back(storage::Update{kTable,
                                      {item.at("pk"), "product"},
                                      set,
                                      {},
                                      storage::Condition::version_is(version)});
  ctx_.events.publish(batch, caller.org_id, "product.updated", item.at("id"),
                      {{"changed", changed}, {"actor", caller.actor()}});
  try {
    ctx_.events.commit(batch);
  } catch (const storage::ConditionFailed&) {
    throw Error(ErrorKind::precondition_failed,
                "the product changed meanwhile; read it again and retry");
  }
  for (auto& [k, v] : set.items()) item[k] = v;
  return http::with_etag(http::Response::json(200, public_view(item)), item);
}

http::Response Products::list(http::Request& req) {
  auto page_req = http::page_request(req);
  storage::Query q;
  q.table = kTable;
  q.index = "gsi1";
  q.partition = keys::products(req.caller().org_id);
  auto page = http::query_page(ctx_.store, q, page_req);
  auto items = nlohmann::json::array();
  for (const auto& item : page.items) items.push_back(public_view(item));
  return http::page_response(std::move(items), page.next_cursor);
}

void Products::register_routes(http::Router& router) {
  auto bind = [this](auto m) { return http::member_handler(this, m); };
  router.add("POST", "/v1/products", kWriters, bind(&Products::create));
  router.add("GET", "/v1/products", Access::any_member(), bind(&Products::list));
  router.add("GET", "/v1/products/{product_id}", Access::any_member(), bind(&Products::get));
  router.add("PATCH", "/v1/products/{product_id}", kWriters, bind(&Products::update));
}

}  // namespace cellfleet::loan
