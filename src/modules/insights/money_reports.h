#pragma once
// The money and utilisation dashboards, read from the items money_aggregates.h keeps. Each reads
// a bounded number of items: the kOutboxShards shard items (portfolio), shards x days daily items
// and shards x (days + 1) rent items (collections), shards x (days + 2) utilisation items
// (utilisation) — never the contracts.
//
// Ratios are integers in basis points (1 % = 100 bp), rounded down, with the numerator and
// denominator they come from beside them; null when the denominator is 0.

#include <chrono>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "storage/store.h"

namespace cellfleet::insights {

// Inclusive local dates; at most kMaxReportDays days.
struct DateRange {
  std::chrono::year_month_day from;
  std::chrono::year_month_day to;
};
inline constexpr int kMaxReportDays = 366;

// Parses ?from=&to= (YYYY-MM-DD); throws Error bad_request with field errors when a date is
// missing or malformed, to precedes from, or the range is longer than kMaxReportDays.
DateRange parse_date_range(const std::optional<std::string>& from,
                           const std::optional<std::string>& to);

// {"outstanding_principal", "outstanding_by_bucket", "par1"/"par30"/"par90": {"principal",
//  "bp"}, "contracts_by_state", "revenue_by_product"}
nlohmann::json read_portfolio(storage::Store& store, const std::string& org_id);

// {"from", "to", "days": [...], "totals": {...}, "collection_rate": {"collected", "expected",
//  "bp", "by_kind": {"lease_to_own"|"payg": {"collected", "expected", "bp"}}}}
// Expected: lease-to-own installments falling due that day, plus the PAYG rent: price_per_day
// of every PAYG contract in force (active or overdue) as the local day begins. Collected by kind:
// what payments put on contracts of that kind, less reversals; "unapplied" is the rest of the
// day's collected (customer credit).
nlohmann::json read_collections(storage::Store& store, const std::string& org_id,
                                const DateRange& range);

// {"from", "to", "days": [{"date", "deployed", "in_stock", "bp"}]}
nlohmann::json read_utilisation(storage::Store& store, const std::string& org_id,
                                const DateRange& range);

}  // namespace cellfleet::insights
