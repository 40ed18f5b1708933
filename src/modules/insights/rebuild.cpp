#include "rebuild.h"

#include <algorithm>
#include <set>

#include "core/events/outbox.h"

namespace cellfleet::insights {

RebuildReport rebuild_money(storage::Store& store, const std::string& org_id,
                            const CalendarOf& calendar_of) {
  const auto current = store.get(kMoneyTable, generation_key(org_id));
  const MoneyKeys old_keys{org_id, current ? current->value("generation", std::int64_t{0}) : 0};
  const MoneyKeys keys{org_id, old_keys.generation + 1};

  // The new generation starts empty: nothing is loaded, everything is kept in memory.
  AggregateItems items([](const storage::Key&) { return std::optional<storage::Item>(); });
  const auto& types = money_event_types();
  std::set<std::string> subjects;
  RebuildReport report;
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
      subjects.insert(event.subject);
      ++report.events;
    }
    q.cursor = page.next_cursor;
  } while (!q.cursor.empty());

  std::vector<storage::Item> fresh;
  for (const auto& [key, t] : items.touched()) {
    storage::Item item = t.item;
    item["version"] = 1;
    fresh.push_back(std::move(item));
  }
  store.put_many(kMoneyTable, fresh);
  report.items = fresh.size();

  switch_generation(store, kMoneyTable, generation_key(org_id), current, keys.generation);
  report.generation = keys.generation;

  // The old generation: its aggregate items by prefix, its per-contract and per-payment copies
  // by the subjects the log names (copies of subjects gone from the log stay, unread).
  std::vector<storage::Key> old;
  for (const auto& partition :
       {old_keys.money_partition(), old_keys.daily_partition(), old_keys.utilisation_partition(),
        old_keys.rent_partition()}) {
    auto found = keys_with_prefix(store, kMoneyTable, partition, old_keys.gen_prefix());
    old.insert(old.end(), found.begin(), found.end());
  }
  for (const auto& subject : subjects) {
    const auto key =
        subject.rfind("con_", 0) == 0 ? old_keys.contract(subject) : old_keys.payment(subject);
    if (subject.rfind("dev_", 0) != 0 && store.get(kMoneyTable, key)) old.push_back(key);
  }
  report.removed = delete_keys(store, kMoneyTable, old);
  return report;
}

}  // namespace cellfleet::insights
