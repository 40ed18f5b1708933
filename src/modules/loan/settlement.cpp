#include "settlement.h"

#include <stdexcept>

#include <fmt/format.h>

#include "contracts/loan_events.h"
#include "core/timestamp.h"
#include "repayment.h"

namespace cellfleet::loan {
namespace {

namespace loan_events = contracts::loan_events;

bool is_final(const std::string& state) {
  return state == "paid_off" || state == "cancelled" || state == "written_off";
}

// The access event a move between standings causes, if any.
std::optional<std::string_view> transition_event(const std::string& kind, const std::string& from,
                                                 const std::string& to, bool paid) {
  if (from == to) {
    return paid && to == "active" ? std::optional(loan_events::kCreditExtended) : std::nullopt;
  }
  if (to == "paid_off") return loan_events::kPaidOff;
  if (to == "defaulted") return loan_events::kDefaulted;
  if (to == "overdue") return kind == "payg" ? loan_events::kCreditExpired : loan_events::kOverdue;
  if (to == "active") {
    return from == "pending_deposit" ? loan_events::kActivated : loan_events::kCreditExtended;
  }
  // Back to waiting for the deposit or first payment (it was reversed): the battery stops.
  if (to == "pending_deposit") {
    return kind == "payg" ? loan_events::kCreditExpired : loan_events::kOverdue;
  }
  return std::nullopt;
}

}  // namespace

std::string keys::check_sk(std::int64_t epoch_s, const std::string& contract_id) {
  return fmt::format("{:011}#{}", epoch_s < 0 ? 0 : epoch_s, contract_id);
}

std::string keys::ledger_sk(std::int64_t seq) {
  return fmt::format("ledger#{:08}", seq);
}

nlohmann::json contract_snapshot(const storage::Item& c) {
  nlohmann::json s = {{"state", c.at("state")},
                      {"kind", c.at("kind")},
                      {"product_id", c.at("product_id")},
                      {"customer_id", c.at("customer_id")},
                      {"currency", c.at("currency")},
                      {"balance", c.value("balance", std::int64_t{0})}};
  if (c.at("kind") == "lease_to_own") {
    std::int64_t principal = 0;
    for (const auto& inst : c.at("installments")) {
      if (inst.value("n", 0) > 0) principal += inst.value("principal", std::int64_t{0});
    }
    s["financed_principal"] = principal;
    s["announced_through"] = c.value("announced_through", std::int64_t{-1});
    s["outstanding_principal"] = c.value("outstanding_principal", std::int64_t{0});
    s["days_past_due"] = c.value("days_past_due", std::int64_t{0});
    s["delinquency_bucket"] = c.value("delinquency_bucket", "current");
  } else if (c.contains("terms")) {
    // The rent a PAYG contract in force is expected to pay each day (insights' expected amount).
    s["price_per_day"] = c.at("terms").value("price_per_day", std::int64_t{0});
  }
  return s;
}

nlohmann::json contract_event_data(const storage::Item& c) {
  nlohmann::json data = {{"contract_id", c.at("id")},
                         {"customer_id", c.at("customer_id")},
                         {"device_id", c.at("device_id")},
                         {"kind", c.at("kind")},
                         {"state", c.at("state")},
                         {"reason", c.value("reason", "")}};
  if (c.at("kind") == "payg") {
    if (c.contains("credit_until")) data["credit_until"] = format_utc(c.at("credit_until"));
  } else {
    data["days_past_due"] = c.value("days_past_due", std::int64_t{0});
  }
  data["contract"] = contract_snapshot(c);
  return data;
}

ContractChange::ContractChange(storage::Item c) : contract(std::move(c)) {
  if (contract.contains("version")) read_version = contract.at("version").get<std::int64_t>();
  if (contract.contains("check_sk")) read_check_sk = contract.at("check_sk").get<std::string>();
  read_state = contract.value("state", "");
  read_bucket = contract.value("delinquency_bucket", "current");
  if (contract.contains("installments")) {
    for (const auto& inst : contract.at("installments")) {
      if (inst.contains("paid_at")) read_paid.insert(inst.at("n").get<std::int64_t>());
    }
  }
}

void ContractChange::apply_customer_credit(Context& ctx, const OrgCalendar& calendar,
                                           std::int64_t now, storage::WriteBatch& batch) {
  auto& c = contract;
  const auto today = calendar.local_date(now);
  // What is due up to today: the credit pays that, not installments still to come.
  std::int64_t due = 0;
  for (const auto& inst : c.at("installments")) {
    if (OrgCalendar::days_between(parse_date(inst.at("due")), today) < 0) break;
    due += installment_remaining(inst);
  }
  if (due == 0) return;
  const std::string org_id = c.at("org_id");
  const storage::Key key{keys::customer_credit(org_id, c.at("customer_id")), "credit"};
  auto credit = ctx.store.get(kTable, key);
  const std::int64_t available = credit ? credit->value("amount", std::int64_t{0}) : 0;
  if (available <= 0) return;
  const std::int64_t use = std::min(available, due);
  const auto paid = allocate(c.at("installments"), use, format_utc(now));
  const std::int64_t version = credit->value("version", std::int64_t{0});
  (*credit)["amount"] = available - paid.total();
  (*credit)["version"] = version + 1;
  (*credit)["updated_at"] = format_utc(now);
  batch.ops.push_back(storage::Put{kTable, *credit, storage::Condition::version_is(version)});
  lines.push_back({"credit_applied", -paid.total(), {{"allocation", paid.to_json()}}});
  ctx.events.publish(batch, org_id, "customer.credit_changed", c.at("customer_id"),
                     {{"amount", -paid.total()},
                      {"balance", (*credit)["amount"]},
                      {"detail", {{"contract_id", c.at("id")}, {"reason", "applied to dues"}}}});
  payment_applied = true;
}

void ContractChange::announce_installments(const OrgCalendar& calendar, std::int64_t now,
                                           std::optional<std::int64_t>& next_check) {
  auto& c = contract;
  const auto due = due_announcements(c, calendar, now);
  for (auto i : due.indexes) {
    const auto& inst = c.at("installments")[i];
    events.push_back({"contract.installment_due",
                      {{"customer_id", c.at("customer_id")},
                       {"n", inst.at("n")},
                       {"due", inst.at("due")},
                       {"principal", inst.at("principal")},
                       {"interest", inst.at("interest")},
                       {"fee", inst.at("fee")},
                       {"currency", c.at("currency")}}});
    c["announced_through"] = inst.at("n");
  }
  if (due.next_due_start && (!next_check || *due.next_due_start < *next_check)) {
    next_check = due.next_due_start;
  }
  for (const auto& inst : c.at("installments")) {
    const std::int64_t n = inst.at("n");
    if (inst.contains("paid_at") && !read_paid.contains(n)) {
      events.push_back({"contract.installment_paid",
                        {{"customer_id", c.at("customer_id")},
                         {"n", n},
                         {"due", inst.at("due")},
                         {"paid_at", inst.at("paid_at")},
                         {"principal", inst.at("principal")},
                         {"interest", inst.at("interest")},
                         {"fee", inst.at("fee")},
                         {"currency", c.at("currency")}}});
    }
  }
}

bool ContractChange::commit_into(Context& ctx, const OrgCalendar& calendar,
                                 storage::WriteBatch& batch) {
  const std::int64_t now = ctx.clock.epoch_seconds();
  const std::string org_id = contract.at("org_id");
  const std::string id = contract.at("id");
  const std::string kind = contract.at("kind");
  auto& c = contract;

  std::optional<std::int64_t> next_check;
  if (!is_final(c.value("state", ""))) {
    if (kind == "lease_to_own") {
      if (auto fee = charge_late_fees(c, calendar, now); fee > 0) {
        lines.push_back({"late_fee", fee, {{"reason", "installment past its grace period"}}});
      }
      if (use_customer_credit) apply_customer_credit(ctx, calendar, now, batch);
    }
    Standing s = kind == "payg" ? payg_standing(c, now) : lease_standing(c, calendar, now);
    c["state"] = s.state;
    c["reason"] = s.reason;
    if (kind == "lease_to_own") {
      c["days_past_due"] = s.days_past_due;
      c["delinquency_bucket"] = s.bucket;
    }
    next_check = s.next_check;
    if (kind == "lease_to_own") announce_installments(calendar, now, next_check);
  }
  const std::string state = c.at("state");
  const auto access_event = transition_event(kind, read_state, state, payment_applied);
  const bool bucket_moved = kind == "lease_to_own" && c.value("delinquency_bucket", "current") !=
                                                          read_bucket;
  std::optional<std::string> check_sk;
  if (next_check) check_sk = keys::check_sk(*next_check, id);
  const bool changed = !read_version || state != read_state || bucket_moved || !lines.empty() ||
                       !events.empty() || payment_applied || check_sk != read_check_sk;
  if (!changed) return false;

  // Ledger: numbered without gaps, each entry with the balance after it.
  std::int64_t seq = c.value("ledger_seq", std::int64_t{0});
  std::int64_t balance = c.value("balance", std::int64_t{0});
  for (auto& line : lines) {
    balance += line.amount;
    ++seq;
    storage::Item entry = {{"pk", c.at("pk")},
                           {"sk", keys::ledger_sk(seq)},
                           {"seq", seq},
                           {"kind", line.kind},
                           {"amount", line.amount},
                           {"balance_after", balance},
                           {"currency", c.at("currency")},
                           {"at", format_utc(now)},
                           {"detail", line.detail}};
    batch.ops.push_back(storage::Put{kTable, entry, storage::Condition::must_not_exist()});
  }
  c["ledger_seq"] = seq;
  c["balance"] = balance;
  if (kind == "lease_to_own") {
    c["outstanding_principal"] = outstanding_principal(c.at("installments"));
  }

  if (read_check_sk && read_check_sk != check_sk) {
    batch.ops.push_back(storage::Delete{kTable, {keys::checks(org_id), *read_check_sk}, {}});
  }
  if (check_sk) {
    c["check_sk"] = *check_sk;
    c["next_check_at"] = format_utc(*next_check);
    if (check_sk != read_check_sk) {
      batch.ops.push_back(storage::Put{
          kTable,
          {{"pk", keys::checks(org_id)}, {"sk", *check_sk}, {"contract_id", id}},
          {}});
    }
  } else {
    c.erase("check_sk");
    c.erase("next_check_at");
  }
  if (state != read_state) {
    c["state_changed_at"] = format_utc(now);
    if (state == "paid_off") c["closed_at"] = format_utc(now);
  }
  c["updated_at"] = format_utc(now);
  c["version"] = read_version.value_or(0) + 1;
  batch.ops.push_back(storage::Put{kTable, c,
                                   read_version ? storage::Condition::version_is(*read_version)
                                                : storage::Condition::must_not_exist()});

  // Every event of the change carries the contract as it now stands, so a reader (insights) can
  // keep its own copy from the events alone.
  const auto snapshot = contract_snapshot(c);
  for (auto& [type, data] : events) {
    data["contract"] = snapshot;
    ctx.events.publish(batch, org_id, type, id, std::move(data));
  }
  if (bucket_moved) {
    ctx.events.publish(batch, org_id, "contract.delinquency_changed", id,
                       {{"from", read_bucket},
                        {"to", c.at("delinquency_bucket")},
                        {"days_past_due", c.at("days_past_due")},
                        {"contract", snapshot}});
  }
  if (access_event) {
    ctx.events.publish(batch, org_id, std::string(*access_event), id, contract_event_data(c));
  }
  return true;
}

void Settlement::subscribe(events::Dispatcher& dispatcher) {
  dispatcher.register_subscriber(
      "loan.payments", {"payment.received", "payment.reversed"},
      [this](const events::Event& e, storage::WriteBatch& effects) {
        if (e.type == "payment.reversed") {
          reverse_payment(e, effects);
        } else {
          apply_payment(e, effects);
        }
      });
}

std::optional<storage::Item> Settlement::target_contract(const std::string& org_id,
                                                         const nlohmann::json& payment) {
  if (payment.contains("contract_id")) {
    auto c = ctx_.find_contract(org_id, payment.at("contract_id"));
    if (c && !is_final(c->at("state"))) return c;
    return std::nullopt;
  }
  // A payment for the customer alone settles the open contract that is most behind: the oldest
  // unpaid due date first, then the oldest contract.
  storage::Query q;
  q.table = kTable;
  q.index = "gsi2";
  q.partition = keys::customer_contracts(org_id, payment.at("customer_id"));
  q.limit = 1000;
  std::optional<storage::Item> best;
  std::string best_due;
  for (const auto& item : ctx_.store.query(q).items) {
    auto c = ctx_.find_contract(org_id, item.at("id"));  // the index copy may lag on DynamoDB
    if (!c || is_final(c->at("state"))) continue;
    std::string due = "9999-12-31";
    if (c->contains("installments")) {
      for (const auto& inst : c->at("installments")) {
        if (installment_remaining(inst) > 0) {
          due = inst.at("due");
          break;
        }
      }
    } else if (c->contains("credit_until")) {
      due = format_utc(c->at("credit_until")).substr(0, 10);
    } else {
      due = "0000-00-00";  // a PAYG contract never paid is the most behind
    }
    if (!best || due < best_due) {
      best = std::move(c);
      best_due = due;
    }
  }
  return best;
}

void Settlement::credit_customer(const std::string& org_id, const std::string& customer_id,
                                 std::int64_t amount, const nlohmann::json& detail,
                                 storage::WriteBatch& effects) {
  const storage::Key key{keys::customer_credit(org_id, customer_id), "credit"};
  auto current = ctx_.store.get(kTable, key);
  const std::int64_t version = current ? current->value("version", std::int64_t{0}) : 0;
  storage::Item item = current ? *current
                               : storage::Item{{"pk", key.pk},
                                               {"sk", key.sk},
                                               {"customer_id", customer_id},
                                               {"amount", 0}};
  item["amount"] = item.value("amount", std::int64_t{0}) + amount;
  item["version"] = version + 1;
  item["updated_at"] = format_utc(ctx_.clock.epoch_seconds());
  effects.ops.push_back(storage::Put{kTable, item,
                                     current ? storage::Condition::version_is(version)
                                             : storage::Condition::must_not_exist()});
  ctx_.events.publish(effects, org_id, "customer.credit_changed", customer_id,
                      {{"amount", amount}, {"balance", item["amount"]}, {"detail", detail}});
}

void Settlement::apply_payment(const events::Event& event, storage::WriteBatch& effects) {
  const auto& p = event.data;
  const std::string org_id = event.org_id;
  const std::int64_t amount = p.at("amount");
  const std::string payment_id = p.at("payment_id");
  storage::Item applied = {{"pk", keys::payment_applied(org_id, payment_id)},
                           {"sk", "applied"},
                           {"payment_id", payment_id},
                           {"customer_id", p.at("customer_id")},
                           {"amount", amount}};
  auto contract = target_contract(org_id, p);
  if (!contract) {
    // No open contract takes it: the money is the customer's credit, never lost.
    credit_customer(org_id, p.at("customer_id"), amount,
                    {{"payment_id", payment_id}, {"reason", "no open contract"}}, effects);
    applied["credit"] = amount;
    effects.ops.push_back(storage::Put{kTable, applied, storage::Condition::must_not_exist()});
    return;
  }
  const auto org = ctx_.organization(org_id);
  const OrgCalendar calendar(org.time_zone);
  const std::int64_t now = ctx_.clock.epoch_seconds();
  ContractChange change(*contract);
  auto& c = change.contract;
  const std::string paid_at = format_utc(now);
  nlohmann::json detail = {{"payment_id", payment_id}, {"method", p.value("method", "")}};
  std::int64_t leftover = 0;
  applied["contract_id"] = c.at("id");
  if (c.at("kind") == "payg") {
    detail["credit_seconds"] = buy_credit(c, amount, now);
    change.lines.push_back({"payment", -amount, detail});
  } else {
    const auto today = calendar.local_date(now);
    auto& installments = c.at("installments");
    const auto quote = payoff_quote(installments, today);
    Allocation paid;
    if (amount >= quote.due.total()) {
      paid = settle_payoff(installments, today, paid_at);
      if (quote.waived_interest + quote.waived_fees > 0) {
        change.lines.push_back({"interest_waived",
                                -(quote.waived_interest + quote.waived_fees),
                                {{"interest", quote.waived_interest},
                                 {"fees", quote.waived_fees},
                                 {"reason", "early payoff"}}});
      }
    } else {
      paid = allocate(installments, amount, paid_at);
    }
    leftover = amount - paid.total();
    detail["allocation"] = paid.to_json();
    applied["installments"] = paid.per_installment;
    change.lines.push_back({"payment", -paid.total(), detail});
  }
  change.payment_applied = true;
  const std::int64_t balance_after =
      c.value("balance", std::int64_t{0}) + [&] {
        std::int64_t sum = 0;
        for (const auto& l : change.lines) sum += l.amount;
        return sum;
      }();
  change.events.push_back({"contract.payment_applied",
                           {{"payment_id", payment_id},
                            {"customer_id", c.at("customer_id")},
                            {"kind", c.at("kind")},
                            {"amount", amount - leftover},
                            {"currency", c.at("currency")},
                            {"method", p.value("method", "")},
                            {"received_at", p.value("received_at", "")},
                            {"allocation", detail.value("allocation", nlohmann::json::object())},
                            {"balance", balance_after}}});
  change.commit_into(ctx_, calendar, effects);
  applied["applied"] = amount - leftover;
  applied["credit"] = leftover;
  effects.ops.push_back(storage::Put{kTable, applied, storage::Condition::must_not_exist()});
  if (leftover > 0) {
    credit_customer(org_id, c.at("customer_id"), leftover,
                    {{"payment_id", payment_id}, {"contract_id", c.at("id")},
                     {"reason", "paid beyond the contract"}},
                    effects);
  }
}

void Settlement::reverse_payment(const events::Event& event, storage::WriteBatch& effects) {
  const std::string org_id = event.org_id;
  const std::string payment_id = event.data.at("payment_id");
  const storage::Key key{keys::payment_applied(org_id, payment_id), "applied"};
  auto applied = ctx_.store.get(kTable, key);
  // Billing reverses only applied payments; one not found is applied by a pass still to come.
  if (!applied) throw std::runtime_error("payment " + payment_id + " is not applied yet");
  if (applied->value("reversed", false)) return;
  const std::string reason = event.data.value("reason", "");
  nlohmann::json detail = {{"payment_id", payment_id}, {"reason", reason}};
  const std::int64_t credit = applied->value("credit", std::int64_t{0});
  if (credit > 0) credit_customer(org_id, applied->at("customer_id"), -credit, detail, effects);
  (*applied)["reversed"] = true;
  effects.ops.push_back(storage::Put{kTable, *applied, storage::Condition::must_exist()});
  if (!applied->contains("contract_id")) return;

  auto contract = ctx_.find_contract(org_id, applied->at("contract_id"));
  if (!contract) return;
  const std::int64_t amount = applied->value("applied", std::int64_t{0});
  if (is_final(contract->at("state"))) {
    // Closed since billing checked: the contract's books are closed, so the customer owes it.
    credit_customer(org_id, applied->at("customer_id"), -amount,
                    {{"payment_id", payment_id}, {"contract_id", contract->at("id")},
                     {"reason", "reversed after the contract closed"}},
                    effects);
    return;
  }
  const auto org = ctx_.organization(org_id);
  const OrgCalendar calendar(org.time_zone);
  ContractChange change(*contract);
  auto& c = change.contract;
  if (c.at("kind") == "payg") {
    take_back_credit(c, amount);
  } else {
    unallocate(c.at("installments"), applied->value("installments", nlohmann::json::array()));
  }
  change.lines.push_back({"reversal", amount, detail});
  change.events.push_back({"contract.payment_reversed",
                           {{"payment_id", payment_id},
                            {"customer_id", c.at("customer_id")},
                            {"amount", amount},
                            {"currency", c.at("currency")},
                            {"reason", reason},
                            {"reversed_at", format_utc(event.occurred_at / 1000)}}});
  change.commit_into(ctx_, calendar, effects);
}

bool Settlement::recheck(const std::string& org_id, const OrgCalendar& calendar,
                         const std::string& contract_id) {
  for (int attempt = 0; attempt < 3; ++attempt) {
    auto contract = ctx_.find_contract(org_id, contract_id);
    if (!contract) return false;
    ContractChange change(*contract);
    change.use_customer_credit = true;
    storage::WriteBatch batch;
    if (!change.commit_into(ctx_, calendar, batch)) return false;
    try {
      ctx_.events.commit(batch);
      return true;
    } catch (const storage::ConditionFailed&) {
      // A payment or an operator changed it meanwhile: read it again.
    }
  }
  return false;
}

std::size_t Settlement::check_due_contracts() {
  std::size_t changed = 0;
  const std::int64_t now = ctx_.clock.epoch_seconds();
  for (const auto& org : ctx_.organizations.organizations()) {
    std::optional<OrgCalendar> calendar;
    storage::Query q;
    q.table = kTable;
    q.partition = keys::checks(org.id);
    q.sort = storage::SortCondition{storage::SortCondition::Op::le, keys::check_sk(now, "~"), ""};
    q.limit = 500;
    do {
      auto page = ctx_.store.query(q);
      for (const auto& item : page.items) {
        if (!calendar) calendar.emplace(org.time_zone);
        try {
          if (recheck(org.id, *calendar, item.at("contract_id"))) ++changed;
        } catch (const std::exception& e) {
          ctx_.log.error("contract check failed", {{"org_id", org.id},
                                                   {"contract_id", item.at("contract_id")},
                                                   {"error", e.what()}});
        }
      }
      q.cursor = page.next_cursor;
    } while (!q.cursor.empty());
  }
  return changed;
}

}  // namespace cellfleet::loan
