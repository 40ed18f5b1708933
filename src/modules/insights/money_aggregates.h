#pragma once
// Money and utilisation figures per organization, kept by the subscriber "insights.money" from
// the loan, billing and device events alone (never from those modules' items).
//
// Items (table "entities"), all under a generation <g> so `cellfleet insights rebuild` can build
// a fresh set beside the live one and switch to it in one write:
//   org#<org>#insights#generation           sk ""      {"generation": g}  (absent: g = 0)
//   org#<org>#insights#contract#<con>       sk g<g>    {"snapshot": the last data.contract}
//   org#<org>#insights#payment#<pay>        sk g<g>    {"method", "amount"}: what a reversal
//                                                      needs to know of its payment
//   org#<org>#insights#money                sk g<g>#shard#<nn>
//       {"by_state": {state: n}, "outstanding": principal, "by_bucket": {bucket: principal},
//        "revenue_by_product": {product: applied - reversed}, "fleet": {"deployed", "in_stock"},
//        "payg_rent": the sum of price_per_day over the PAYG contracts in force}
//   org#<org>#insights#daily                sk g<g>#<local date>#shard#<nn>
//       {"received", "received_count", "reversed", "reversed_count",
//        "expected": lease-to-own installments falling due that day,
//        "by_method": {method: {"received", "received_count", "reversed", "reversed_count"}},
//        "by_kind": {contract kind: {"applied", "reversed"}}: what contract.payment_applied put
//        on contracts of that kind (by the payment's received_at day) and
//        contract.payment_reversed took back (by its reversed_at day)}
//   org#<org>#insights#utilisation          sk g<g>#shard#<nn>#<local date>
//       {"deployed", "in_stock"} at the end of that day (written whenever they change)
//   org#<org>#insights#rent                 sk g<g>#shard#<nn>#<local date>
//       {"payg": the shard's payg_rent} at the end of that day (written whenever it changes):
//       the PAYG rent expected on each following day until the next change
// <nn> is the outbox shard of the event's subject (events::outbox_shard), as in fleet_counts.h:
// one shard's events are applied by one dispatcher at a time, in id order, so shard items never
// contend, and a dashboard reads at most kOutboxShards items per day whatever the fleet size.
//
// A contract event moves the organization's figures by the difference between the contract's
// previous snapshot and the new one, so the figures always equal the sum over contracts of
// their latest snapshot, whatever events were missed in between.
//
// Outstanding principal counts lease-to-own contracts in force (active, overdue, defaulted);
// pending_deposit (nothing financed yet), paid_off, cancelled and written_off contracts count 0.
// The PAYG rent counts PAYG contracts in force (active, or overdue: the credit ran out but the
// contract is open) at their price_per_day; pending_deposit, cancelled and written_off count 0.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "aggregate_items.h"
#include "core/calendar.h"
#include "core/events/event.h"
#include "storage/store.h"

namespace cellfleet::insights {

inline constexpr const char* kMoneyTable = "entities";

// Every event type the subscriber "insights.money" takes.
const std::vector<std::string>& money_event_types();

// The organization's current generation (0 when never rebuilt) and the item that holds it.
storage::Key generation_key(const std::string& org_id);
std::int64_t read_generation(storage::Store& store, const std::string& org_id);

struct MoneyKeys {
  std::string org_id;
  std::int64_t generation = 0;

  storage::Key contract(const std::string& contract_id) const;
  storage::Key payment(const std::string& payment_id) const;
  storage::Key shard(std::size_t shard) const;
  storage::Key daily(const std::string& date, std::size_t shard) const;
  storage::Key utilisation(std::size_t shard, const std::string& date) const;
  storage::Key rent(std::size_t shard, const std::string& date) const;

  std::string money_partition() const;
  std::string daily_partition() const;
  std::string utilisation_partition() const;
  std::string rent_partition() const;
  std::string gen_prefix() const;  // "g<g>#"
};

// "YYYY-MM-DD"
std::string format_date(std::chrono::year_month_day d);

// Adds by to object[field] (an integer; object becomes an object if it is not one).
void bump(nlohmann::json& object, const std::string& field, std::int64_t by);
// Adds (sign 1) or takes back (sign -1) one contract snapshot's share of its shard's figures
// (by_state, outstanding, by_bucket, payg_rent).
void add_snapshot(nlohmann::json& shard, const nlohmann::json& snapshot, std::int64_t sign);
// The local date ("YYYY-MM-DD") of an instant.
std::string local_date(const OrgCalendar& calendar, std::int64_t epoch_s);

// Applies event's effect on the figures of keys' generation to items. calendar_of gives the
// organization's calendar (the local day of a payment or a device change).
using CalendarOf = std::function<OrgCalendar(const std::string& org_id)>;
void apply_money_event(const events::Event& event, const MoneyKeys& keys,
                       const CalendarOf& calendar_of, AggregateItems& items);

// The subscriber's handler: reads the generation and the touched items from store, appends
// their new values and a check of the generation to effects.
void count_money_event(storage::Store& store, const events::Event& event,
                       const CalendarOf& calendar_of, storage::WriteBatch& effects);

}  // namespace cellfleet::insights
