// Rescheduling a lease, and a customer's balance across contracts.
#include <fmt/format.h>

#include "contracts.h"
#include "core/calendar.h"
#include "core/error.h"
#include "core/http/etag.h"
#include "core/json_input.h"
#include "core/timestamp.h"
#include "repayment.h"
#include "settlement.h"

namespace cellfleet::loan {
http::Response Contracts::reschedule(http::Request& req) {
  const auto& caller = req.caller();
  ctx_.require_contract(caller.org_id, req.param("contract_id"));  // a 404 whatever the body
  auto body = parse_json_object(req);
  JsonFields in(body);
  const int count = static_cast<int>(in.required_int("installments", 1, kMaxInstallments));
  auto first_due_text = in.optional_string("first_due", 10, 10);
  auto reason = in.required_string("reason", 1, 500);
  std::optional<std::chrono::year_month_day> first_due;
  if (first_due_text) {
    first_due = try_parse_date(*first_due_text);
    if (!first_due) in.error("first_due", "must be a date YYYY-MM-DD");
  }
  in.finish();

  for (int attempt = 1;; ++attempt) {
    auto c = ctx_.require_contract(caller.org_id, req.param("contract_id"));
    const std::string state = c.at("state");
    const bool open = state == "active" || state == "overdue" || state == "defaulted";
    if (c.at("kind") != "lease_to_own" || !open) {
      throw Error(ErrorKind::conflict,
                  fmt::format("only an active, overdue or defaulted lease-to-own contract can be "
                              "rescheduled; this one is a {} contract, {}",
                              c.at("kind").get<std::string>(), state));
    }
    const OrgCalendar calendar(c.at("time_zone").get<std::string>());
    const auto today = calendar.local_date(ctx_.clock.epoch_seconds());
    const auto frequency = frequency_of(c.at("terms").at("frequency"));
    const auto first = first_due.value_or(due_dates(today, frequency, 2).at(1));
    if (OrgCalendar::days_between(today, first) < 1) {
      throw Error(ErrorKind::unprocessable, "first_due must be after today",
                  {{"first_due", "must be after " + format_date(today)}});
    }

    ContractChange change(c);
    auto& installments = change.contract.at("installments");
    const std::int64_t owed_before = outstanding(installments);
    std::int64_t principal = 0;
    std::int64_t carried = 0;  // unpaid fees and penalties of the installments closed
    int last_n = 0;
    auto kept = nlohmann::json::array();
    auto closed = nlohmann::json::array();  // numbers of the installments replaced
    // What contract.installment_due announced of the installments closed here, which the
    // schedule no longer holds: the insights rebuild counts it as expected on its due date, as
    // the subscriber did when it was announced.
    auto closed_announcements =
        change.contract.value("closed_announcements", nlohmann::json::array());
    const std::int64_t announced = change.contract.value("announced_through", std::int64_t{-1});
    for (auto inst : installments) {
      last_n = std::max(last_n, inst.at("n").get<int>());
      if (installment_remaining(inst) == 0) {
        kept.push_back(inst);
        continue;
      }
      closed.push_back(inst.at("n"));
      if (int_field(inst, "n") <= announced) {
        closed_announcements.push_back(
            {{"n", inst.at("n")},
             {"due", inst.at("due")},
             {"amount", int_field(inst, "principal") + int_field(inst, "interest") +
                            int_field(inst, "fee")}});
      }
      principal += int_field(inst, "principal") - int_field(inst, "paid_principal");
      carried += int_field(inst, "fee") - int_field(inst, "paid_fee") + int_field(inst, "penalty") -
                 int_field(inst, "paid_penalty");
      if (int_field(inst, "paid_principal") + int_field(inst, "paid_interest") + int_field(inst, "paid_fee") +
              int_field(inst, "paid_penalty") ==
          0) {
        continue;  // nothing was paid of it: it goes
      }
      for (const char* part : {"principal", "interest", "fee", "penalty"}) {
        inst[part] = int_field(inst, (std::string("paid_") + part).c_str());
      }
      inst["rescheduled"] = true;
      kept.push_back(inst);
    }
    if (principal <= 0) {
      throw Error(ErrorKind::conflict, "no principal is outstanding: pay the dues instead");
    }
    const int room = kMaxInstallments - static_cast<int>(kept.size());
    if (count > room) {
      throw Error(ErrorKind::unprocessable,
                  fmt::format("a contract holds at most {} installments; {} are kept",
                              kMaxInstallments, kept.size()),
                  {{"installments", fmt::format("must be at most {}", room)}});
    }
    const auto schedule =
        build_schedule(loan_terms(c.at("terms"), principal, count), first);
    for (const auto& inst : schedule) {
      auto item = installment_item(inst, last_n + inst.number);
      if (inst.number == 1) item["fee"] = inst.fee + carried;
      kept.push_back(item);
    }
    installments = kept;
    if (!closed_announcements.empty()) {
      change.contract["closed_announcements"] = closed_announcements;
    }
    const std::int64_t owed_after = outstanding(installments);
    change.lines.push_back({"reschedule",
                            owed_after - owed_before,
                            {{"reason", reason},
                             {"installments", count},
                             {"first_due", format_date(first)},
                             {"actor", caller.actor()}}});
    change.events.push_back({"contract.rescheduled",
                             {{"customer_id", c.at("customer_id")},
                              {"installments", count},
                              {"first_due", format_date(first)},
                              {"owed_before", owed_before},
                              {"owed_after", owed_after},
                              {"closed_installments", closed},
                              {"reason", reason},
                              {"actor", caller.actor()}}});
    change.payment_applied = true;  // like a payment, it may end an overdue: say so
    storage::WriteBatch batch;
    change.commit_into(ctx_, calendar, batch);
    try {
      ctx_.events.commit(batch);
    } catch (const storage::ConditionFailed&) {
      if (attempt < 3) continue;
      throw Error(ErrorKind::conflict, "the contract changed meanwhile; retry");
    }
    auto view = public_view(change.contract);
    view.erase("check_sk");
    return http::with_etag(http::Response::json(200, view), change.contract);
  }
}

http::Response Contracts::customer_balance(http::Request& req) {
  const auto& org_id = req.caller().org_id;
  const std::string customer_id = req.param("customer_id");
  if (!ctx_.customers.find_customer(org_id, customer_id)) {
    throw Error(ErrorKind::not_found, "no customer " + customer_id);
  }
  const auto org = ctx_.organization(org_id);
  storage::Query q;
  q.table = kTable;
  q.index = "gsi2";
  q.partition = keys::customer_contracts(org_id, customer_id);
  q.limit = 1000;
  std::int64_t owed = 0;
  auto contracts = nlohmann::json::array();
  for (const auto& item : ctx_.store.query(q).items) {
    auto c = ctx_.find_contract(org_id, item.at("id"));  // the index copy may lag on DynamoDB
    if (!c) continue;
    const std::int64_t balance = c->value("balance", std::int64_t{0});
    nlohmann::json entry = {{"contract_id", c->at("id")},
                            {"kind", c->at("kind")},
                            {"state", c->at("state")},
                            {"balance", balance}};
    if (c->contains("days_past_due")) entry["days_past_due"] = c->at("days_past_due");
    if (c->contains("credit_until")) entry["credit_until"] = format_utc(c->at("credit_until"));
    if (balance > 0) owed += balance;
    contracts.push_back(std::move(entry));
  }
  auto credit = ctx_.store.get(kTable, {keys::customer_credit(org_id, customer_id), "credit"});
  return http::Response::json(200, {{"customer_id", customer_id},
                                    {"currency", org.currency},
                                    {"owed", owed},
                                    {"credit", credit ? credit->value("amount", 0) : 0},
                                    {"contracts", contracts},
                                    {"as_of", format_utc(ctx_.clock.epoch_seconds())}});
}

}  // namespace cellfleet::loan
