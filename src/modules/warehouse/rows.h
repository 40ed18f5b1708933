#pragma once
// The warehouse's star schema, and the rows one record of the operational store becomes. The
// column lists here are the single source of both sinks: the SQLite sink creates its tables from
// them, the files sink writes each row as one JSON object with exactly these names.
//
// Units: money in integer minor units with a currency column (amount_minor, currency);
// measurements as the operational store keeps them, the unit in the column's name (soc_permille,
// voltage_mv, current_ma, temperature_decidegc = tenths of a degree Celsius, lat_e7/lon_e7 =
// degrees x 10^7). Dates are UTC calendar dates, "YYYY-MM-DD" (date_key, joins dim_date).

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace cellfleet::warehouse {

struct Column {
  std::string name;
  std::string type;  // SQLite type: INTEGER or TEXT
};

struct TableDef {
  std::string name;
  std::vector<Column> columns;
  std::vector<std::string> primary_key;
  bool dimension = false;  // upserted every run (type 1); facts are only ever inserted
};

// Every table of the warehouse, facts first.
const std::vector<TableDef>& table_defs();
const TableDef& table_def(const std::string& name);

// One row of one table. values holds the table's columns by name (absent = NULL); org_id and
// date_key double as the files sink's partition.
struct Row {
  std::string table;
  std::string org_id;
  std::string date_key;  // "YYYY-MM-DD"; for dimensions the day of the export
  nlohmann::json values = nlohmann::json::object();
};

// "YYYY-MM-DD" of an instant, in UTC.
std::string utc_date_of_ms(std::int64_t epoch_ms);

// A stored reading (Reading::to_attributes) of a pack.
Row telemetry_row(const std::string& org_id, const std::string& device_id,
                  const nlohmann::json& reading);

// payment.received -> a payment row; payment.reversed -> its own reversal row (negative amount).
// nullopt for other events.
std::optional<Row> payment_row(const nlohmann::json& event);

// Every event, as it was published (the event log).
Row event_row(const nlohmann::json& event);

// The installments of a closed contract (lease-to-own; PAYG contracts have none).
std::vector<Row> installment_rows(const std::string& org_id, const nlohmann::json& contract);

// Dimensions, from the owning modules' records (contracts/history_sources.h).
Row device_row(const std::string& org_id, const nlohmann::json& device, const std::string& today);
Row customer_row(const std::string& org_id, const nlohmann::json& customer,
                 const std::string& today);
Row product_row(const std::string& org_id, const nlohmann::json& product, const std::string& today);

}  // namespace cellfleet::warehouse
