#include "rebuild.h"

#include <algorithm>
#include <map>
#include <set>

#include "core/events/outbox.h"
#include "core/timestamp.h"

namespace cellfleet::insights {

namespace {

using nlohmann::json;

// The local date of an RFC 3339 UTC time; fallback's when text is not one.
std::string local_day(const OrgCalendar& calendar, const std::string& text,
                      const std::string& fallback) {
  if (auto t = parse_utc(text)) return local_date(calendar, *t);
  if (auto t = parse_utc(fallback)) return local_date(calendar, *t);
  return local_date(calendar, 0);
}

// The utilisation and rent series, replayed from the retained log into items (the other
// partitions the replay touches are dropped by the caller). Returns the events replayed.
std::size_t replay_series(storage::Store& store, const std::string& org_id, const MoneyKeys& keys,
                          const CalendarOf& calendar_of, AggregateItems& items) {
  const auto& types = money_event_types();
  std::size_t replayed = 0;
  storage::Query q;
  q.table = std::string(events::kEventsTable);
  q.partition = events::event_log_partition(org_id);
  q.limit = 1000;
  do {
    auto page = store.query(q);
    for (const auto& logged : page.items) {
      const auto event = logged.at("event").get<events::Event>();
      if (std::find(types.begin(), types.end(), event.type) == types.end()) continue;
      apply_money_event(event, keys, calendar_of, items);
      ++replayed;
    }
    q.cursor = page.next_cursor;
  } while (!q.cursor.empty());
  return replayed;
}

}  // namespace

RebuildReport rebuild_money(storage::Store& store, const std::string& org_id,
                            const CalendarOf& calendar_of, const MoneySources& sources) {
  const auto current = store.get(kMoneyTable, generation_key(org_id));
  const MoneyKeys old_keys{org_id, current ? current->value("generation", std::int64_t{0}) : 0};
  const MoneyKeys keys{org_id, old_keys.generation + 1};
  const OrgCalendar calendar = calendar_of(org_id);
  RebuildReport report;

  // The new generation starts empty: nothing is loaded, everything is kept in memory.
  AggregateItems items([](const storage::Key&) { return std::optional<storage::Item>(); });
  std::vector<storage::Key> old;  // the previous generation's copies, by the ids read

  // Payments: their copies and the daily received / reversed figures, on their own shard.
  struct PaymentDays {
    std::string received;
    std::optional<std::string> reversed;
  };
  std::map<std::string, PaymentDays> payment_days;
  std::string cursor;
  do {
    auto page = sources.payments.payments(org_id, cursor);
    for (const auto& p : page.payments) {
      const std::size_t shard_no = events::outbox_shard(org_id, p.id);
      PaymentDays days{local_day(calendar, p.received_at, ""), std::nullopt};
      auto& received = items.at(keys.daily(days.received, shard_no));
      bump(received, "received", p.amount);
      bump(received, "received_count", 1);
      bump(received["by_method"][p.method], "received", p.amount);
      bump(received["by_method"][p.method], "received_count", 1);
      auto& copy = items.at(keys.payment(p.id));
      copy["method"] = p.method;
      copy["amount"] = p.amount;
      if (p.reversed_at) {
        days.reversed = local_day(calendar, *p.reversed_at, p.received_at);
        auto& reversed = items.at(keys.daily(*days.reversed, shard_no));
        bump(reversed, "reversed", p.amount);
        bump(reversed, "reversed_count", 1);
        bump(reversed["by_method"][p.method], "reversed", p.amount);
        bump(reversed["by_method"][p.method], "reversed_count", 1);
        copy["reversed"] = true;
      }
      payment_days[p.id] = std::move(days);
      old.push_back(old_keys.payment(p.id));
      ++report.payments;
    }
    cursor = std::move(page.next_cursor);
  } while (!cursor.empty());

  // Contracts: their copies and shares of the shard figures, what their ledgers applied and
  // took back, what their schedules announced, on the contract's shard.
  do {
    auto page = sources.contracts.contracts(org_id, cursor);
    for (const auto& c : page.contracts) {
      const std::size_t shard_no = events::outbox_shard(org_id, c.id);
      auto& shard = items.at(keys.shard(shard_no));
      add_snapshot(shard, c.snapshot, 1);
      items.at(keys.contract(c.id))["snapshot"] = c.snapshot;
      const std::string product = c.snapshot.value("product_id", "unknown");
      const std::string kind = c.snapshot.value("kind", "unknown");
      // A payment applied (sign 1) or taken back (-1): on the day billing says it was received
      // or reversed (the ledger entry's own day only if billing has no such payment).
      auto count = [&](const contracts::ContractMoneyFacts::Movement& m, std::int64_t sign) {
        bump(items.at(keys.shard(shard_no))["revenue_by_product"], product, sign * m.amount);
        const auto found = payment_days.find(m.payment_id);
        std::optional<std::string> day;
        if (found != payment_days.end()) {
          day = sign > 0 ? found->second.received : found->second.reversed;
        }
        bump(items.at(keys.daily(day.value_or(local_day(calendar, m.at, "")), shard_no))
                 ["by_kind"][kind],
             sign > 0 ? "applied" : "reversed", m.amount);
      };
      for (const auto& m : c.applied) count(m, 1);
      for (const auto& m : c.reversed) count(m, -1);
      for (const auto& due : c.announced) {
        bump(items.at(keys.daily(due.due, shard_no)), "expected", due.amount);
      }
      old.push_back(old_keys.contract(c.id));
      ++report.contracts;
    }
    cursor = std::move(page.next_cursor);
  } while (!cursor.empty());

  // Packs: deployed and in stock now.
  do {
    auto page = sources.fleet.packs(org_id, cursor);
    for (const auto& pack : page.packs) {
      if (pack.state == "deployed" || pack.state == "in_stock") {
        bump(items.at(keys.shard(events::outbox_shard(org_id, pack.id)))["fleet"], pack.state, 1);
      }
      ++report.packs;
    }
    cursor = std::move(page.next_cursor);
  } while (!cursor.empty());

  // The utilisation and rent series from the log: only those two partitions are kept.
  AggregateItems replayed([](const storage::Key&) { return std::optional<storage::Item>(); });
  report.events = replay_series(store, org_id, keys, calendar_of, replayed);

  std::vector<storage::Item> fresh;
  for (const auto* set : {&items, &replayed}) {
    for (const auto& [key, t] : set->touched()) {
      const bool series =
          key.first == keys.utilisation_partition() || key.first == keys.rent_partition();
      if (series != (set == &replayed)) continue;
      storage::Item item = t.item;
      item["version"] = 1;
      fresh.push_back(std::move(item));
    }
  }
  store.put_many(kMoneyTable, fresh);
  report.items = fresh.size();

  switch_generation(store, kMoneyTable, generation_key(org_id), current, keys.generation);
  report.generation = keys.generation;

  // The old generation: its aggregate items by prefix, its per-contract and per-payment copies
  // by the ids the sources listed.
  for (const auto& partition :
       {old_keys.money_partition(), old_keys.daily_partition(), old_keys.utilisation_partition(),
        old_keys.rent_partition()}) {
    auto found = keys_with_prefix(store, kMoneyTable, partition, old_keys.gen_prefix());
    old.insert(old.end(), found.begin(), found.end());
  }
  std::vector<storage::Key> existing;
  for (const auto& key : old) {
    if (store.get(kMoneyTable, key)) existing.push_back(key);
  }
  report.removed = delete_keys(store, kMoneyTable, existing);
  return report;
}

}  // namespace cellfleet::insights
