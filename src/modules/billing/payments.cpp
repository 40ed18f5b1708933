#include "payments.h"

#include <fmt/format.h>

#include "core/error.h"
#include "core/http/idempotency.h"
#include "core/http/paging.h"
#include "core/ids.h"
#include "core/item_view.h"
#include "core/json_input.h"
#include "core/timestamp.h"

namespace cellfleet::billing {
namespace {

constexpr std::int64_t kMaxAmount = 1'000'000'000'000;  // minor units
constexpr std::int64_t kFutureSkewSeconds = 300;

std::string reference_pk(const std::string& org_id, const std::string& method,
                         const std::string& reference) {
  return "org#" + org_id + "#payref#" + method + "#" + reference;
}
std::string customer_payments(const std::string& org_id, const std::string& customer_id) {
  return "org#" + org_id + "#customer#" + customer_id + "#payments";
}

const Access kCollectors =
    Access::members({Role::owner, Role::admin, Role::operator_, Role::finance});

}  // namespace

bool is_payment_method(const std::string& method) {
  return method == "cash" || method == "mobile_money" || method == "card" || method == "bank";
}

nlohmann::json payment_view(const storage::Item& payment) {
  return item_view(payment);
}

std::optional<storage::Item> Payments::by_reference(const std::string& org_id,
                                                    const std::string& method,
                                                    const std::string& reference) const {
  auto claim = ctx_.store.get(kTable, {reference_pk(org_id, method, reference), "payref"});
  if (!claim) return std::nullopt;
  return ctx_.store.get(kTable,
                        {keys::payment(org_id, claim->at("payment_id")), keys::kPaymentSk});
}

storage::Item Payments::append(storage::WriteBatch& batch, const std::string& org_id,
                               const NewPayment& p, const std::string& actor) {
  auto org = ctx_.organizations.find_organization(org_id);
  if (!org) throw Error(ErrorKind::not_found, "no organization " + org_id);
  if (p.currency != org->currency) {
    throw unprocessable("currency", fmt::format("this organization takes payments in {}, not {}",
                                                org->currency, p.currency));
  }
  std::string customer_id = p.customer_id.value_or("");
  if (p.contract_id) {
    auto contract = ctx_.contracts().find_contract(org_id, *p.contract_id);
    if (!contract) throw unprocessable("contract_id", "no contract " + *p.contract_id);
    if (!contract->open) {
      throw Error(ErrorKind::conflict,
                  fmt::format("contract {} is {} and takes no more payments", *p.contract_id,
                              contract->state),
                  {{"contract_id", "the contract is " + contract->state}});
    }
    if (p.customer_id && *p.customer_id != contract->customer_id) {
      throw unprocessable("customer_id", fmt::format("contract {} belongs to another customer",
                                                     *p.contract_id));
    }
    if (p.within_limits && p.amount < contract->minimum_payment) {
      throw unprocessable("amount", fmt::format("the contract's minimum top-up is {}",
                                                contract->minimum_payment));
    }
    if (p.within_limits && contract->maximum_payment && p.amount > *contract->maximum_payment) {
      throw unprocessable(
          "amount", fmt::format("at most {} buys credit up to the product's maximum credit days",
                                *contract->maximum_payment));
    }
    customer_id = contract->customer_id;
  } else if (!ctx_.find_customer(org_id, customer_id)) {
    throw unprocessable("customer_id", "no customer " + customer_id);
  }

  const std::int64_t now = ctx_.clock.epoch_seconds();
  const std::string id = ctx_.ids.next("pay");
  storage::Item item = {{"pk", keys::payment(org_id, id)},
                        {"sk", keys::kPaymentSk},
                        {"id", id},
                        {"org_id", org_id},
                        {"amount", p.amount},
                        {"currency", p.currency},
                        {"customer_id", customer_id},
                        {"method", p.method},
                        {"status", "received"},
                        {"version", 1},
                        {"received_at", format_utc(p.received_at.value_or(now))},
                        {"recorded_at", format_utc(now)},
                        {"recorded_by", actor},
                        {"gsi1pk", keys::payments(org_id)},
                        {"gsi1sk", id},
                        {"gsi2pk", customer_payments(org_id, customer_id)},
                        {"gsi2sk", id}};
  if (p.contract_id) item["contract_id"] = *p.contract_id;
  if (p.reference) item["reference"] = *p.reference;
  if (p.provider) item["provider"] = *p.provider;
  if (p.notes) item["notes"] = *p.notes;
  if (p.reference) {
    batch.ops.push_back(storage::Put{
        kTable,
        {{"pk", reference_pk(org_id, p.method, *p.reference)}, {"sk", "payref"}, {"payment_id", id}},
        storage::Condition::must_not_exist()});
  }
  batch.ops.push_back(storage::Put{kTable, item, storage::Condition::must_not_exist()});
  nlohmann::json data = {{"payment_id", id},
                         {"customer_id", customer_id},
                         {"amount", p.amount},
                         {"currency", p.currency},
                         {"method", p.method},
                         {"received_at", item.at("received_at")}};
  if (p.contract_id) data["contract_id"] = *p.contract_id;
  if (p.reference) data["reference"] = *p.reference;
  ctx_.events.publish(batch, org_id, "payment.received", id, std::move(data));
  return item;
}

http::Response Payments::create(http::Request& req) {
  const auto& caller = req.caller();
  http::Idempotency idempotency(ctx_.store, req, caller.org_id);
  if (auto earlier = idempotency.replay()) return *earlier;

  auto body = parse_json_object(req);
  JsonFields in(body);
  NewPayment p;
  p.amount = in.required_int("amount", 1, kMaxAmount);
  p.currency = in.required_string("currency", 3, 3);
  p.customer_id = in.optional_string("customer_id", 1, 64);
  p.contract_id = in.optional_string("contract_id", 1, 64);
  p.method = in.required_string("method", 1, 20);
  p.reference = in.optional_string("reference", 1, 128);
  p.notes = in.optional_string("notes", 0, 2000);
  auto received = in.optional_string("received_at", 1, 40);
  if (!p.method.empty() && !is_payment_method(p.method)) {
    in.error("method", "must be one of cash, mobile_money, card, bank");
  }
  if (!p.customer_id && !p.contract_id) {
    in.error("contract_id", "name the contract paid for, or at least the customer (customer_id)");
  }
  if (p.reference && p.reference->find('#') != std::string::npos) {
    in.error("reference", "must not contain '#'");
  }
  const std::int64_t now = ctx_.clock.epoch_seconds();
  if (received) {
    p.received_at = parse_utc(*received);
    if (!p.received_at) {
      in.error("received_at", "must be an RFC 3339 UTC time, e.g. 2026-03-01T09:30:00Z");
    } else if (*p.received_at > now + kFutureSkewSeconds) {
      in.error("received_at", "is in the future");
    }
  }
  in.finish();

  storage::WriteBatch batch;
  auto item = append(batch, caller.org_id, p, caller.actor());
  auto res = http::Response::json(201, payment_view(item));
  res.headers.emplace_back("Location", "/v1/payments/" + item.at("id").get<std::string>());
  batch.ops.push_back(idempotency.record(res, now));
  try {
    ctx_.events.commit(batch);
  } catch (const storage::ConditionFailed& e) {
    if (auto winner = idempotency.after_conflict(e)) return *winner;
    if (p.reference) {
      if (auto first = by_reference(caller.org_id, p.method, *p.reference)) {
        throw Error(ErrorKind::conflict,
                    fmt::format("{} reference {} was already recorded as payment {}", p.method,
                                *p.reference, first->at("id").get<std::string>()),
                    {{"reference", "already recorded"}});
      }
    }
    throw;
  }
  return res;
}

storage::Item Payments::payment_of(const http::Request& req) const {
  const std::string id = req.param("payment_id");
  std::optional<storage::Item> item;
  if (is_id(id, "pay")) {
    item = ctx_.store.get(kTable, {keys::payment(req.caller().org_id, id), keys::kPaymentSk});
  }
  if (!item) throw Error(ErrorKind::not_found, "no payment " + id);
  return *item;
}

http::Response Payments::get(http::Request& req) {
  return http::Response::json(200, payment_view(payment_of(req)));
}

http::Response Payments::reverse(http::Request& req) {
  const auto& caller = req.caller();
  auto payment = payment_of(req);  // a 404 whatever the body
  auto body = parse_json_object(req);
  JsonFields in(body);
  auto reason = in.required_string("reason", 1, 500);
  in.finish();
  const std::string id = payment.at("id");
  if (payment.at("status") != "received") {
    throw Error(ErrorKind::conflict, "payment " + id + " is already " +
                                         payment.at("status").get<std::string>());
  }
  if (auto blocker = ctx_.contracts().reversal_blocker(caller.org_id, id)) {
    throw Error(ErrorKind::conflict, "payment " + id + " cannot be reversed: " + *blocker);
  }
  const std::int64_t version = payment.value("version", std::int64_t{1});
  const std::string now = format_utc(ctx_.clock.epoch_seconds());
  nlohmann::json set = {{"status", "reversed"},
                        {"reversed_at", now},
                        {"reversed_by", caller.actor()},
                        {"reversal_reason", reason},
                        {"version", version + 1}};
  storage::WriteBatch batch;
  batch.ops.push_back(storage::Update{kTable, {payment.at("pk"), keys::kPaymentSk}, set, {},
                                      payment.contains("version")
                                          ? storage::Condition::version_is(version)
                                          : storage::Condition::must_exist()});
  nlohmann::json data = {{"payment_id", id},
                         {"customer_id", payment.at("customer_id")},
                         {"amount", payment.at("amount")},
                         {"currency", payment.at("currency")},
                         {"reason", reason},
                         {"actor", caller.actor()}};
  if (payment.contains("contract_id")) data["contract_id"] = payment.at("contract_id");
  ctx_.events.publish(batch, caller.org_id, "payment.reversed", id, std::move(data));
  try {
    ctx_.events.commit(batch);
  } catch (const storage::ConditionFailed&) {
    throw Error(ErrorKind::conflict, "payment " + id + " changed meanwhile; read it again");
  }
  for (auto& [k, v] : set.items()) payment[k] = v;
  return http::Response::json(200, payment_view(payment));
}

http::Response Payments::list(http::Request& req) {
  const std::string& org_id = req.caller().org_id;
  auto page_req = http::page_request(req);
  storage::Query q;
  q.table = kTable;
  if (auto customer = req.query("customer_id")) {
    q.index = "gsi2";
    q.partition = customer_payments(org_id, *customer);
  } else {
    q.index = "gsi1";
    q.partition = keys::payments(org_id);
  }
  auto page = http::query_page(ctx_.store, q, page_req);
  auto items = nlohmann::json::array();
  for (const auto& item : page.items) items.push_back(payment_view(item));
  return http::page_response(std::move(items), page.next_cursor);
}

void Payments::register_routes(http::Router& router) {
  auto bind = [this](auto m) { return http::member_handler(this, m); };
  router.add("POST", "/v1/payments", kCollectors, bind(&Payments::create));
  router.add("GET", "/v1/payments", Access::any_member(), bind(&Payments::list));
  router.add("GET", "/v1/payments/{payment_id}", Access::any_member(), bind(&Payments::get));
  router.add("POST", "/v1/payments/{payment_id}/reverse",
             Access::members({Role::owner, Role::admin, Role::finance}),
             bind(&Payments::reverse));
}

}  // namespace cellfleet::billing
