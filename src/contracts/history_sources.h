#pragma once
// What the owning modules hand the warehouse export, read-only and a page at a time: their
// records as stored (the API's item view, integers in stored units), so the warehouse module
// never reads another module's keys. Implemented by device, billing and loan, wired in main.cpp.
// Payments, reversals and contract closures reach the warehouse through the event log instead.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "storage/store.h"

namespace cellfleet::contracts {

struct RecordPage {
  std::vector<nlohmann::json> records;
  std::string next_cursor;  // "" after the last page; else pass it back for the next one
};

// One page (up to limit items) of a list kept in an index partition of gsi1, such as a module's
// "every X of the organization in id order", as the index holds them (its copies may lag the
// items on DynamoDB). For the read-only sources of this folder.
inline storage::Page gsi1_page(storage::Store& store, const std::string& table,
                               std::string partition, const std::string& cursor,
                               std::size_t limit) {
  storage::Query q;
  q.table = table;
  q.index = "gsi1";
  q.partition = std::move(partition);
  q.limit = limit;
  q.cursor = cursor;
  return store.query(q);
}

// One page (up to 1,000) of such a list, each item shown through view (item -> json).
template <typename View>
RecordPage index_list_page(storage::Store& store, const std::string& table, std::string partition,
                           const std::string& cursor, View view) {
  auto page = gsi1_page(store, table, std::move(partition), cursor, 1000);
  RecordPage out;
  out.next_cursor = std::move(page.next_cursor);
  out.records.reserve(page.items.size());
  for (const auto& item : page.items) out.records.push_back(view(item));
  return out;
}

class DeviceHistory {
 public:
  virtual ~DeviceHistory() = default;
  // The organization's packs in id order: {"id","serial","model","chemistry","capacity_wh",
  // "nominal_voltage_mv","state","created_at",...} as the API shows them.
  virtual RecordPage devices(const std::string& org_id, const std::string& cursor) = 0;
  // One pack's readings with after_ms < at <= until_ms, oldest first, at most limit (1..1000):
  // the stored attributes {"at": ms, "soc": permille, "mv", "ma", "dc", "cyc", "soh", "lat",
  // "lon", "x": {extra}} (docs/decisions.md, "Measurements are stored as integers").
  virtual RecordPage readings(const std::string& org_id, const std::string& device_id,
                              std::int64_t after_ms, std::int64_t until_ms, std::size_t limit,
                              const std::string& cursor) = 0;
};

class CustomerHistory {
 public:
  virtual ~CustomerHistory() = default;
  // The organization's customers in id order, as the API shows them.
  virtual RecordPage customers(const std::string& org_id, const std::string& cursor) = 0;
};

class LoanHistory {
 public:
  virtual ~LoanHistory() = default;
  // The organization's products in id order, as the API shows them.
  virtual RecordPage products(const std::string& org_id, const std::string& cursor) = 0;
  // The contract as stored (state, start_date, closed_at, currency, "installments" with what was
  // paid of each and "paid_at"), or nullopt when the organization has none with this id.
  virtual std::optional<nlohmann::json> contract(const std::string& org_id,
                                                 const std::string& contract_id) = 0;
};

}  // namespace cellfleet::contracts
