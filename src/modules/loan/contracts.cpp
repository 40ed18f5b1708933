#include "contracts.h"

#include <fmt/format.h>

#include "amortization.h"
#include "contracts/loan_events.h"
#include "core/calendar.h"
#include "core/error.h"
#include "core/http/etag.h"
#include "core/http/idempotency.h"
#include "core/http/paging.h"
#include "core/json_input.h"
#include "core/timestamp.h"
#include "repayment.h"
#include "settlement.h"

namespace cellfleet::loan {
namespace {

const Access kWriters = Access::members({Role::owner, Role::admin, Role::operator_, Role::finance});
const Access kFinance = Access::members({Role::owner, Role::admin, Role::finance});

}  // namespace

Frequency frequency_of(const std::string& name) {
  if (name == "daily") return Frequency::daily;
  if (name == "weekly") return Frequency::weekly;
  return Frequency::monthly;
}

LoanTerms loan_terms(const nlohmann::json& terms, std::int64_t principal, int installments) {
  LoanTerms t;
  t.principal = principal;
  t.annual_rate_bp = terms.at("annual_rate_bp");
  t.installments = installments;
  t.frequency = frequency_of(terms.at("frequency"));
  t.method = terms.at("interest_method") == "flat" ? InterestMethod::flat
                                                    : InterestMethod::declining_balance;
  t.fee_per_installment = terms.at("fee_per_installment");
  return t;
}

nlohmann::json installment_item(int n, std::chrono::year_month_day due) {
  return nlohmann::json{{"n", n},         {"due", format_date(due)}, {"principal", 0},
                        {"interest", 0},  {"fee", 0},                {"penalty", 0},
                        {"paid_principal", 0}, {"paid_interest", 0}, {"paid_fee", 0},
                        {"paid_penalty", 0}};
}

nlohmann::json installment_item(const Installment& inst, int n) {
  auto item = installment_item(n, inst.due);
  item["principal"] = inst.principal;
  item["interest"] = inst.interest;
  item["fee"] = inst.fee;
  return item;
}

namespace {

// The lease schedule: installment 0 (deposit + upfront fee) when anything is due at signing,
// then the amortized installments.
nlohmann::json lease_installments(const nlohmann::json& terms, std::chrono::year_month_day start) {
  auto installments = nlohmann::json::array();
  const std::int64_t deposit = terms.at("deposit");
  const std::int64_t upfront = terms.at("upfront_fee");
  if (deposit + upfront > 0) {
    auto first = installment_item(0, start);
    first["principal"] = deposit;
    first["fee"] = upfront;
    installments.push_back(first);
  }
  const auto t = loan_terms(terms, terms.at("cash_price").get<std::int64_t>() - deposit,
                            terms.at("installments").get<int>());
  const auto first_due = due_dates(start, t.frequency, 2).at(1);
  for (const auto& inst : build_schedule(t, first_due)) {
    installments.push_back(installment_item(inst, inst.number));
  }
  return installments;
}

}  // namespace

std::optional<contracts::ContractInfo> Contracts::find_contract(const std::string& org_id,
                                                                const std::string& contract_id) {
  auto c = ctx_.find_contract(org_id, contract_id);
  if (!c) return std::nullopt;
  const std::string state = c->at("state");
  contracts::ContractInfo info;
  info.id = c->at("id");
  info.customer_id = c->at("customer_id");
  info.state = state;
  info.currency = c->at("currency");
  info.open = state != "paid_off" && state != "cancelled" && state != "written_off";
  if (c->at("kind") == "payg") {
    const auto& terms = c->at("terms");
    const std::int64_t price = terms.at("price_per_day");
    const std::int64_t now = ctx_.clock.epoch_seconds();
    const std::int64_t ahead = std::max<std::int64_t>(0, c->value("credit_until", now) - now);
    const std::int64_t room = terms.value("maximum_credit_days", std::int64_t{365}) * 86400 - ahead;
    info.minimum_payment = std::max<std::int64_t>(1, terms.value("minimum_top_up", std::int64_t{0}));
    // room seconds x price / 86,400, without overflow for any price below 10^12.
    info.maximum_payment = room <= 0 ? 0 : room / 86400 * price + room % 86400 * price / 86400;
  }
  return info;
}

std::optional<std::string> Contracts::reversal_blocker(const std::string& org_id,
                                                      const std::string& payment_id) {
  auto applied = ctx_.store.get(kTable, {keys::payment_applied(org_id, payment_id), "applied"});
  if (!applied) return "the payment is not applied yet; retry in a moment";
  if (!applied->contains("contract_id")) return std::nullopt;  // it is the customer's credit
  auto c = ctx_.find_contract(org_id, applied->at("contract_id"));
  if (!c) return std::nullopt;
  const std::string state = c->at("state");
  if (state == "paid_off" || state == "cancelled" || state == "written_off") {
    return fmt::format("contract {} is {}: its payments stand", c->at("id").get<std::string>(),
                       state);
  }
  return std::nullopt;
}

http::Response Contracts::sign(http::Request& req) {
  const auto& caller = req.caller();
  http::Idempotency idempotency(ctx_.store, req, caller.org_id);
  if (auto earlier = idempotency.replay()) return *earlier;

  auto body = parse_json_object(req);
  JsonFields in(body);
  auto customer_id = in.required_string("customer_id", 1, 64);
  auto device_id = in.required_string("device_id", 1, 64);
  auto product_id = in.required_string("product_id", 1, 64);
  auto start_text = in.optional_string("start_date", 10, 10);
  auto notes = in.optional_string("notes", 0, 2000);
  std::optional<std::chrono::year_month_day> start_date;
  if (start_text) {
    start_date = try_parse_date(*start_text);
    if (!start_date) in.error("start_date", "must be a date YYYY-MM-DD");
  }
  in.finish();

  const auto org = ctx_.organization(caller.org_id);
  const OrgCalendar calendar(org.time_zone);
  const std::int64_t now = ctx_.clock.epoch_seconds();
  const auto today = calendar.local_date(now);
  if (start_date && std::abs(OrgCalendar::days_between(today, *start_date)) > 31) {
    throw unprocessable("start_date", "must be within 31 days of today (" + format_date(today) +
                                          " in " + org.time_zone + ")");
  }
  auto customer = ctx_.customers.find_customer(caller.org_id, customer_id);
  if (!customer) throw unprocessable("customer_id", "no customer " + customer_id);
  if (customer->status != "active") {
    throw Error(ErrorKind::conflict, "customer " + customer_id + " is " + customer->status +
                                         " and may not sign contracts");
  }
  storage::Item product;
  try {
    product = products_.require(caller.org_id, product_id);
  } catch (const Error&) {
    throw unprocessable("product_id", "no product " + product_id);
  }
  if (product.at("status") != "active") {
    throw Error(ErrorKind::conflict, "product " + product_id + " is retired");
  }

  const std::string id = ctx_.ids.next("con");
  const auto start = start_date.value_or(today);
  const std::string kind = product.at("kind");
  storage::Item c = {{"pk", keys::contract(caller.org_id, id)},
                     {"sk", "contract"},
                     {"id", id},
                     {"org_id", caller.org_id},
                     {"customer_id", customer_id},
                     {"device_id", device_id},
                     {"product_id", product_id},
                     {"product_name", product.at("name")},
                     {"kind", kind},
                     {"terms", product.at("terms")},
                     {"currency", product.at("currency")},
                     {"start_date", format_date(start)},
                     {"time_zone", org.time_zone},
                     {"signed_at", format_utc(now)},
                     {"signed_by", caller.actor()},
                     {"state", "pending_deposit"},
                     {"gsi1pk", keys::contracts(caller.org_id)},
                     {"gsi1sk", id},
                     {"gsi2pk", keys::customer_contracts(caller.org_id, customer_id)},
                     {"gsi2sk", id}};
  if (notes) c["notes"] = *notes;
  ContractChange change(c);
  change.read_state = "pending_deposit";
  change.use_customer_credit = true;  // a customer's credit pays the deposit
  if (kind == "lease_to_own") {
    change.contract["installments"] = lease_installments(product.at("terms"), start);
    const std::int64_t total = outstanding(change.contract["installments"]);
    change.lines.push_back({"schedule", total, {{"reason", "contract signed"}}});
  }
  storage::WriteBatch batch;
  try {
    ctx_.devices.deploy_for_contract(batch, caller.org_id, device_id, id, caller.actor());
  } catch (const Error& e) {
    if (e.kind() == ErrorKind::not_found) throw unprocessable("device_id", e.detail());
    throw;
  }
  change.events.push_back({"contract.signed",
                           {{"customer_id", customer_id},
                            {"device_id", device_id},
                            {"product_id", product_id},
                            {"kind", kind},
                            {"actor", caller.actor()}}});
  change.commit_into(ctx_, calendar, batch);
  auto res = http::Response::json(201, public_view(change.contract));
  res.headers.emplace_back("Location", "/v1/contracts/" + id);
  res = http::with_etag(std::move(res), change.contract);
  batch.ops.push_back(idempotency.record(res, now));
  try {
    ctx_.events.commit(batch);
  } catch (const storage::ConditionFailed& e) {
    if (auto winner = idempotency.after_conflict(e)) return *winner;
    throw Error(ErrorKind::conflict,
                "battery pack " + device_id + " changed meanwhile (another contract?); retry");
  }
  return res;
}

http::Response Contracts::get(http::Request& req) {
  auto c = ctx_.require_contract(req.caller().org_id, req.param("contract_id"));
  auto view = public_view(c);
  view.erase("check_sk");
  return http::with_etag(http::Response::json(200, view), c);
}

http::Response Contracts::list(http::Request& req) {
  const auto& org_id = req.caller().org_id;
  auto page_req = http::page_request(req);
  storage::Query q;
  q.table = kTable;
  if (auto customer = req.query("customer_id")) {
    q.index = "gsi2";
    q.partition = keys::customer_contracts(org_id, *customer);
  } else {
    q.index = "gsi1";
    q.partition = keys::contracts(org_id);
  }
  auto page = http::query_page(ctx_.store, q, page_req);
  auto items = nlohmann::json::array();
  for (const auto& item : page.items) {
    auto view = public_view(item);
    view.erase("installments");  // the list is a summary; GET one contract for its schedule
    view.erase("check_sk");
    items.push_back(std::move(view));
  }
  return http::page_response(std::move(items), page.next_cursor);
}

http::Response Contracts::ledger(http::Request& req) {
  auto c = ctx_.require_contract(req.caller().org_id, req.param("contract_id"));
  auto page_req = http::page_request(req);
  storage::Query q;
  q.table = kTable;
  q.partition = c.at("pk");
  q.sort = storage::SortCondition{storage::SortCondition::Op::begins_with, "ledger#", ""};
  auto page = http::query_page(ctx_.store, q, page_req);
  auto items = nlohmann::json::array();
  for (const auto& item : page.items) items.push_back(public_view(item));
  auto res = http::page_response(std::move(items), page.next_cursor);
  return res;
}

http::Response Contracts::payoff(http::Request& req) {
  auto c = ctx_.require_contract(req.caller().org_id, req.param("contract_id"));
  if (c.at("kind") != "lease_to_own") {
    throw Error(ErrorKind::conflict, "a PAYG contract has nothing to pay off: it buys credit");
  }
  const OrgCalendar calendar(c.at("time_zone").get<std::string>());
  const auto today = calendar.local_date(ctx_.clock.epoch_seconds());
  const auto q = payoff_quote(c.at("installments"), today);
  return http::Response::json(200, {{"contract_id", c.at("id")},
                                    {"as_of", format_date(today)},
                                    {"currency", c.at("currency")},
                                    {"state", c.at("state")},
                                    {"total", q.due.total()},
                                    {"due", q.due.to_json()},
                                    {"waived_interest", q.waived_interest},
                                    {"waived_fees", q.waived_fees}});
}

http::Response Contracts::close(http::Request& req, const std::string& to) {
  const auto& caller = req.caller();
  ctx_.require_contract(caller.org_id, req.param("contract_id"));  // a 404 whatever the body
  auto body = parse_json_object(req);
  JsonFields in(body);
  auto reason = in.required_string("reason", 1, 500);
  in.finish();
  for (int attempt = 1;; ++attempt) {
    auto c = ctx_.require_contract(caller.org_id, req.param("contract_id"));
    const std::string from = c.at("state");
    const bool allowed = to == "cancelled"
                             ? (from == "pending_deposit" || from == "active" ||
                                from == "overdue" || from == "defaulted")
                             : (from == "overdue" || from == "defaulted");
    if (!allowed) {
      throw Error(ErrorKind::conflict,
                  fmt::format("a {} contract cannot be {}; {}", from, to,
                              to == "cancelled" ? "only an open contract can be cancelled"
                                                : "only an overdue or defaulted contract can be "
                                                  "written off"));
    }
    const OrgCalendar calendar(c.at("time_zone").get<std::string>());
    ContractChange change(c);
    auto& next = change.contract;
    next["state"] = to;
    next["reason"] = reason;
    next["closed_at"] = format_utc(ctx_.clock.epoch_seconds());
    const std::int64_t balance = c.value("balance", std::int64_t{0});
    if (balance != 0) {
      change.lines.push_back({to == "cancelled" ? "cancellation" : "write_off", -balance,
                              {{"reason", reason}, {"actor", caller.actor()}}});
    }
    storage::WriteBatch batch;
    if (to == "cancelled") {
      ctx_.devices.return_from_contract(batch, caller.org_id, c.at("device_id"), c.at("id"),
                                        caller.actor());
    }
    change.commit_into(ctx_, calendar, batch);
    ctx_.events.publish(batch, caller.org_id,
                        std::string(to == "cancelled" ? contracts::loan_events::kCancelled
                                                      : contracts::loan_events::kWrittenOff),
                        c.at("id"), contract_event_data(next));
    try {
      ctx_.events.commit(batch);
    } catch (const storage::ConditionFailed&) {
      if (attempt < 3) continue;
      throw Error(ErrorKind::conflict, "the contract changed meanwhile; retry");
    }
    auto view = public_view(next);
    view.erase("check_sk");
    return http::with_etag(http::Response::json(200, view), next);
  }
}

http::Response Contracts::cancel(http::Request& req) {
  return close(req, "cancelled");
}

http::Response Contracts::write_off(http::Request& req) {
  return close(req, "written_off");
}

void Contracts::register_routes(http::Router& router) {
  auto bind = [this](auto m) { return http::member_handler(this, m); };
  router.add("POST", "/v1/contracts", kWriters, bind(&Contracts::sign));
  router.add("GET", "/v1/contracts", Access::any_member(), bind(&Contracts::list));
  router.add("GET", "/v1/contracts/{contract_id}", Access::any_member(), bind(&Contracts::get));
  router.add("GET", "/v1/contracts/{contract_id}/ledger", Access::any_member(),
             bind(&Contracts::ledger));
  router.add("GET", "/v1/contracts/{contract_id}/payoff", Access::any_member(),
             bind(&Contracts::payoff));
  router.add("POST", "/v1/contracts/{contract_id}/cancel", kWriters, bind(&Contracts::cancel));
  router.add("POST", "/v1/contracts/{contract_id}/write-off", kFinance,
             bind(&Contracts::write_off));
  router.add("POST", "/v1/contracts/{contract_id}/reschedule", kFinance,
             bind(&Contracts::reschedule));
  router.add("GET", "/v1/customers/{customer_id}/balance", Access::any_member(),
             bind(&Contracts::customer_balance));
}

}  // namespace cellfleet::loan
