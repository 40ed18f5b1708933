#include "money_aggregates.h"

#include <fmt/format.h>

#include "core/events/outbox.h"
#include "core/timestamp.h"

namespace cellfleet::insights {

namespace {

using nlohmann::json;

std::string org_prefix(const std::string& org_id) {
  return "org#" + org_id + "#insights#";
}

bool in_force(const std::string& state) {
  return state == "active" || state == "overdue" || state == "defaulted";
}

}  // namespace

void bump(json& object, const std::string& field, std::int64_t by) {
  if (!object.is_object()) object = json::object();
  object[field] = object.value(field, std::int64_t{0}) + by;
}

void add_snapshot(json& shard, const json& snapshot, std::int64_t sign) {
  if (!snapshot.is_object()) return;
  const std::string state = snapshot.value("state", "");
  bump(shard["by_state"], state, sign);
  if (snapshot.value("kind", "") == "lease_to_own" && in_force(state)) {
    const std::int64_t principal = snapshot.value("outstanding_principal", std::int64_t{0});
    bump(shard, "outstanding", sign * principal);
    bump(shard["by_bucket"], snapshot.value("delinquency_bucket", "current"), sign * principal);
  }
  if (snapshot.value("kind", "") == "payg" && in_force(state)) {
    bump(shard, "payg_rent", sign * snapshot.value("price_per_day", std::int64_t{0}));
  }
}

std::string local_date(const OrgCalendar& calendar, std::int64_t epoch_s) {
  return format_date(calendar.local_date(epoch_s));
}

namespace {

void apply_contract_event(const events::Event& event, const MoneyKeys& keys,
                          const CalendarOf& calendar_of, AggregateItems& items) {
  const std::size_t shard_no = events::outbox_shard(event.org_id, event.subject);
  auto& shard = items.at(keys.shard(shard_no));
  const json& data = event.data;
  if (data.contains("contract") && data.at("contract").is_object()) {
    auto& copy = items.at(keys.contract(event.subject));
    const json previous = copy.value("snapshot", json());
    const json& next = data.at("contract");
    const std::int64_t rent_before = shard.value("payg_rent", std::int64_t{0});
    add_snapshot(shard, previous, -1);
    add_snapshot(shard, next, 1);
    copy["snapshot"] = next;
    const std::int64_t rent_after = shard.value("payg_rent", std::int64_t{0});
    if (rent_after != rent_before) {
      // The shard's PAYG rent as the local day of the change ends: what the next day expects.
      auto& day = items.at(keys.rent(
          shard_no, local_date(calendar_of(event.org_id), event.occurred_at / 1000)));
      day["payg"] = rent_after;
    }
  }
  const json snapshot = items.at(keys.contract(event.subject)).value("snapshot", json::object());
  const std::string product = snapshot.value("product_id", "unknown");
  const std::string kind = data.value("kind", snapshot.value("kind", "unknown"));
  if (event.type == "contract.payment_applied") {
    const std::int64_t amount = data.value("amount", std::int64_t{0});
    bump(shard["revenue_by_product"], product, amount);
    // By kind, on the local day the money was received, as the payment itself is counted.
    const auto received = parse_utc(data.value("received_at", ""));
    auto& day = items.at(keys.daily(
        local_date(calendar_of(event.org_id), received.value_or(event.occurred_at / 1000)),
        shard_no));
    bump(day["by_kind"][kind], "applied", amount);
  } else if (event.type == "contract.payment_reversed") {
    const std::int64_t amount = data.value("amount", std::int64_t{0});
    bump(shard["revenue_by_product"], product, -amount);
    // On the local day of the reversal (payment.reversed), as the payment's reversal is counted,
    // however late the loan module took it back.
    const auto reversed = parse_utc(data.value("reversed_at", ""));
    auto& day = items.at(keys.daily(
        local_date(calendar_of(event.org_id), reversed.value_or(event.occurred_at / 1000)),
        shard_no));
    bump(day["by_kind"][kind], "reversed", amount);
  } else if (event.type == "contract.installment_due") {
    auto& day = items.at(keys.daily(data.at("due").get<std::string>(), shard_no));
    bump(day, "expected",
         data.value("principal", std::int64_t{0}) + data.value("interest", std::int64_t{0}) +
             data.value("fee", std::int64_t{0}));
  }
}

void apply_payment_event(const events::Event& event, const MoneyKeys& keys,
                         const OrgCalendar& calendar, AggregateItems& items) {
  const std::size_t shard_no = events::outbox_shard(event.org_id, event.subject);
  const json& data = event.data;
  const std::int64_t amount = data.value("amount", std::int64_t{0});
  auto& payment = items.at(keys.payment(event.subject));
  if (event.type == "payment.received") {
    // Counted on the local day the money was received, which a provider may report late.
    const auto received = parse_utc(data.value("received_at", ""));
    const std::string method = data.value("method", "unknown");
    auto& day = items.at(
        keys.daily(local_date(calendar, received.value_or(event.occurred_at / 1000)), shard_no));
    bump(day, "received", amount);
    bump(day, "received_count", 1);
    bump(day["by_method"][method], "received", amount);
    bump(day["by_method"][method], "received_count", 1);
    payment["method"] = method;
    payment["amount"] = amount;
  } else {
    // A reversal counts on the local day it happened: a day's collections, once the day is
    // over, change only by what happens later on that day.
    const std::string method = payment.value("method", "unknown");
    auto& day = items.at(keys.daily(local_date(calendar, event.occurred_at / 1000), shard_no));
    bump(day, "reversed", amount);
    bump(day, "reversed_count", 1);
    bump(day["by_method"][method], "reversed", amount);
    bump(day["by_method"][method], "reversed_count", 1);
    payment["reversed"] = true;
  }
}

void apply_device_event(const events::Event& event, const MoneyKeys& keys,
                        const OrgCalendar& calendar, AggregateItems& items) {
  std::string from;
  std::string to;
  if (event.type == "device.registered") {
    to = event.data.value("state", "");
  } else if (event.type == "device.registration_reverted") {
    from = event.data.value("state", "");
  } else {
    from = event.data.value("from", "");
    to = event.data.value("to", "");
  }
  auto counted = [](const std::string& s) { return s == "deployed" || s == "in_stock"; };
  if (!counted(from) && !counted(to)) return;
  const std::size_t shard_no = events::outbox_shard(event.org_id, event.subject);
  auto& fleet = items.at(keys.shard(shard_no))["fleet"];
  if (counted(from)) bump(fleet, from, -1);
  if (counted(to)) bump(fleet, to, 1);
  auto& day = items.at(keys.utilisation(shard_no, local_date(calendar, event.occurred_at / 1000)));
  day["deployed"] = fleet.value("deployed", std::int64_t{0});
  day["in_stock"] = fleet.value("in_stock", std::int64_t{0});
}

}  // namespace

const std::vector<std::string>& money_event_types() {
  static const std::vector<std::string> types = {
      "payment.received",          "payment.reversed",
      "contract.signed",           "contract.payment_applied",
      "contract.payment_reversed", "contract.installment_due",
      "contract.installment_paid", "contract.delinquency_changed",
      "contract.activated",        "contract.credit_extended",
      "contract.overdue",          "contract.defaulted",
      "contract.credit_expired",   "contract.paid_off",
      "contract.cancelled",        "contract.written_off",
      "contract.rescheduled",      "device.registered",
      "device.state_changed",      "device.registration_reverted"};
  return types;
}

std::string format_date(std::chrono::year_month_day d) {
  return fmt::format("{:04}-{:02}-{:02}", static_cast<int>(d.year()),
                     static_cast<unsigned>(d.month()), static_cast<unsigned>(d.day()));
}

storage::Key generation_key(const std::string& org_id) {
  return {org_prefix(org_id) + "generation", ""};
}

std::int64_t read_generation(storage::Store& store, const std::string& org_id) {
  auto item = store.get(kMoneyTable, generation_key(org_id));
  return item ? item->value("generation", std::int64_t{0}) : 0;
}

std::string MoneyKeys::gen_prefix() const {
  return fmt::format("g{}#", generation);
}
std::string MoneyKeys::money_partition() const {
  return org_prefix(org_id) + "money";
}
std::string MoneyKeys::daily_partition() const {
  return org_prefix(org_id) + "daily";
}
std::string MoneyKeys::utilisation_partition() const {
  return org_prefix(org_id) + "utilisation";
}
std::string MoneyKeys::rent_partition() const {
  return org_prefix(org_id) + "rent";
}
storage::Key MoneyKeys::contract(const std::string& contract_id) const {
  return {org_prefix(org_id) + "contract#" + contract_id, fmt::format("g{}", generation)};
}
storage::Key MoneyKeys::payment(const std::string& payment_id) const {
  return {org_prefix(org_id) + "payment#" + payment_id, fmt::format("g{}", generation)};
}
storage::Key MoneyKeys::shard(std::size_t shard) const {
  return {money_partition(), fmt::format("{}shard#{:02}", gen_prefix(), shard)};
}
storage::Key MoneyKeys::daily(const std::string& date, std::size_t shard) const {
  return {daily_partition(), fmt::format("{}{}#shard#{:02}", gen_prefix(), date, shard)};
}
storage::Key MoneyKeys::utilisation(std::size_t shard, const std::string& date) const {
  return {utilisation_partition(), fmt::format("{}shard#{:02}#{}", gen_prefix(), shard, date)};
}
storage::Key MoneyKeys::rent(std::size_t shard, const std::string& date) const {
  return {rent_partition(), fmt::format("{}shard#{:02}#{}", gen_prefix(), shard, date)};
}

void apply_money_event(const events::Event& event, const MoneyKeys& keys,
                       const CalendarOf& calendar_of, AggregateItems& items) {
  if (event.type.rfind("contract.", 0) == 0) {
    apply_contract_event(event, keys, calendar_of, items);
  } else if (event.type == "payment.received" || event.type == "payment.reversed") {
    apply_payment_event(event, keys, calendar_of(event.org_id), items);
  } else if (event.type.rfind("device.", 0) == 0) {
    apply_device_event(event, keys, calendar_of(event.org_id), items);
  }
}

void count_money_event(storage::Store& store, const events::Event& event,
                       const CalendarOf& calendar_of, storage::WriteBatch& effects) {
  const auto generation_item = store.get(kMoneyTable, generation_key(event.org_id));
  const MoneyKeys keys{event.org_id,
                       generation_item ? generation_item->value("generation", std::int64_t{0}) : 0};
  AggregateItems items([&store](const storage::Key& key) { return store.get(kMoneyTable, key); });
  apply_money_event(event, keys, calendar_of, items);
  items.put_into(effects, kMoneyTable);
  // A rebuild switching generations meanwhile fails this batch; the retry lands in the new one.
  effects.ops.push_back(storage::Check{
      kMoneyTable, generation_key(event.org_id),
      generation_item ? storage::Condition::version_is(generation_item->value("version", 0))
                      : storage::Condition::must_not_exist()});
}

}  // namespace cellfleet::insights
