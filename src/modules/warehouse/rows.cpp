#include "rows.h"

#include <algorithm>
#include <chrono>
#include <initializer_list>
#include <stdexcept>
#include <utility>

#include "core/timestamp.h"

namespace cellfleet::warehouse {

namespace {

Column integer(std::string name) {
  return {std::move(name), "INTEGER"};
}
Column text(std::string name) {
  return {std::move(name), "TEXT"};
}

// "YYYY-MM-DD..." to days since the epoch; nullopt when it does not start with a valid date.
std::optional<std::int64_t> epoch_days(const std::string& text) {
  if (text.size() < 10 || text[4] != '-' || text[7] != '-') return std::nullopt;
  try {
    const std::chrono::year_month_day d{std::chrono::year(std::stoi(text.substr(0, 4))),
                                        std::chrono::month(std::stoul(text.substr(5, 2))),
                                        std::chrono::day(std::stoul(text.substr(8, 2)))};
    if (!d.ok()) return std::nullopt;
    return std::chrono::sys_days(d).time_since_epoch().count();
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

// Copies the listed attributes of a record that are present into row values, renamed.
void copy(nlohmann::json& to, const nlohmann::json& from,
          std::initializer_list<std::pair<const char*, const char*>> names) {
  for (const auto& [source, column] : names) {
    if (auto it = from.find(source); it != from.end() && !it->is_null()) to[column] = *it;
  }
}

std::int64_t int_of(const nlohmann::json& record, const char* name) {
  auto it = record.find(name);
  return it != record.end() && it->is_number_integer() ? it->get<std::int64_t>() : 0;
}

}  // namespace

const std::vector<TableDef>& table_defs() {
  static const std::vector<TableDef> defs = {
      {"fact_telemetry",
       {text("org_id"), text("device_id"), integer("at_ms"), text("date_key"),
        integer("soc_permille"), integer("voltage_mv"), integer("current_ma"),
        integer("temperature_decidegc"), integer("cycles"), integer("soh_permille"),
        integer("lat_e7"), integer("lon_e7"), text("extra_json")},
       {"org_id", "device_id", "at_ms"}},
      {"fact_payment",
       {text("org_id"), text("payment_id"), text("kind"), text("event_id"), integer("amount_minor"),
        text("currency"), text("customer_id"), text("contract_id"), text("method"),
        text("occurred_at"), text("date_key")},
       {"org_id", "payment_id", "kind"}},
      {"fact_installment",
       {text("org_id"),
        text("contract_id"),
        integer("installment_n"),
        text("customer_id"),
        text("product_id"),
        text("device_id"),
        text("currency"),
        text("contract_start_date"),
        text("contract_state"),
        text("closed_at"),
        text("due_date"),
        text("date_key"),
        integer("principal_due_minor"),
        integer("interest_due_minor"),
        integer("fee_due_minor"),
        integer("penalty_due_minor"),
        integer("principal_paid_minor"),
        integer("interest_paid_minor"),
        integer("fee_paid_minor"),
        integer("penalty_paid_minor"),
        text("paid_at"),
        integer("days_late"),
        text("state")},
       {"org_id", "contract_id", "installment_n"}},
      {"fact_event",
       {text("org_id"), text("event_id"), text("type"), text("subject"), integer("occurred_at_ms"),
        text("date_key"), text("data_json")},
       {"org_id", "event_id"}},
      {"dim_device",
       {text("org_id"), text("device_id"), text("serial"), text("model"), text("chemistry"),
        integer("capacity_wh"), integer("nominal_voltage_mv"), text("firmware_version"),
        text("manufactured_on"), text("depot"), text("state"), text("created_at")},
       {"org_id", "device_id"},
       true},
      {"dim_customer",
       {text("org_id"), text("customer_id"), text("status"), text("created_at")},
       {"org_id", "customer_id"},
       true},
      {"dim_product",
       {text("org_id"), text("product_id"), text("name"), text("kind"), text("currency"),
        text("status"), text("created_at"), text("terms_json")},
       {"org_id", "product_id"},
       true},
      {"dim_date",
       {text("date_key"), integer("year"), integer("month"), integer("day"), text("year_month"),
        integer("iso_weekday")},
       {"date_key"},
       true},
  };
  return defs;
}

const TableDef& table_def(const std::string& name) {
  for (const auto& t : table_defs()) {
    if (t.name == name) return t;
  }
  throw std::logic_error("warehouse: no table " + name);
}

std::string utc_date_of_ms(std::int64_t epoch_ms) {
  const std::int64_t s = epoch_ms >= 0 ? epoch_ms / 1000 : (epoch_ms - 999) / 1000;
  return format_utc(s).substr(0, 10);
}

Row telemetry_row(const std::string& org_id, const std::string& device_id,
                  const nlohmann::json& reading) {
  Row row{"fact_telemetry", org_id, utc_date_of_ms(reading.at("at").get<std::int64_t>()), {}};
  auto& v = row.values;
  v["org_id"] = org_id;
  v["device_id"] = device_id;
  v["at_ms"] = reading.at("at");
  v["date_key"] = row.date_key;
  copy(v, reading,
       {{"soc", "soc_permille"},
        {"mv", "voltage_mv"},
        {"ma", "current_ma"},
        {"dc", "temperature_decidegc"},
        {"cyc", "cycles"},
        {"soh", "soh_permille"},
        {"lat", "lat_e7"},
        {"lon", "lon_e7"}});
  if (auto it = reading.find("x"); it != reading.end() && !it->empty())
    v["extra_json"] = it->dump();
  return row;
}

std::optional<Row> payment_row(const nlohmann::json& event) {
  const std::string type = event.at("type");
  if (type != "payment.received" && type != "payment.reversed") return std::nullopt;
  const auto& data = event.at("data");
  const bool reversal = type == "payment.reversed";
  const std::string org_id = event.at("org_id");
  // A payment counts on the day it was received; its reversal on the day it was reversed.
  const std::string occurred = reversal || !data.contains("received_at")
                                   ? format_utc(event.at("occurred_at").get<std::int64_t>() / 1000)
                                   : data.at("received_at").get<std::string>();
  Row row{"fact_payment", org_id, occurred.substr(0, 10), {}};
  auto& v = row.values;
  v["org_id"] = org_id;
  v["payment_id"] = data.at("payment_id");
  v["kind"] = reversal ? "reversal" : "payment";
  v["event_id"] = event.at("id");
  const std::int64_t amount = data.at("amount").get<std::int64_t>();
  v["amount_minor"] = reversal ? -amount : amount;
  v["occurred_at"] = occurred;
  v["date_key"] = row.date_key;
  copy(v, data,
       {{"currency", "currency"},
        {"customer_id", "customer_id"},
        {"contract_id", "contract_id"},
        {"method", "method"}});
  return row;
}

Row event_row(const nlohmann::json& event) {
  const std::int64_t at = event.at("occurred_at").get<std::int64_t>();
  Row row{"fact_event", event.at("org_id"), utc_date_of_ms(at), {}};
  auto& v = row.values;
  v["org_id"] = row.org_id;
  v["event_id"] = event.at("id");
  v["type"] = event.at("type");
  v["subject"] = event.at("subject");
  v["occurred_at_ms"] = at;
  v["date_key"] = row.date_key;
  v["data_json"] = event.value("data", nlohmann::json::object()).dump();
  return row;
}

std::vector<Row> installment_rows(const std::string& org_id, const nlohmann::json& contract) {
  std::vector<Row> rows;
  auto list = contract.find("installments");
  if (list == contract.end() || !list->is_array()) return rows;
  const std::string closed_at = contract.value("closed_at", std::string());
  for (const auto& inst : *list) {
    const std::string due = inst.value("due", std::string());
    Row row{"fact_installment", org_id, due, {}};
    auto& v = row.values;
    v["org_id"] = org_id;
    v["contract_id"] = contract.at("id");
    v["installment_n"] = inst.value("n", std::int64_t{0});
    copy(v, contract,
         {{"customer_id", "customer_id"},
          {"product_id", "product_id"},
          {"device_id", "device_id"},
          {"currency", "currency"},
          {"start_date", "contract_start_date"},
          {"state", "contract_state"},
          {"closed_at", "closed_at"}});
    v["due_date"] = due;
    v["date_key"] = due;
    std::int64_t remaining = 0;
    for (const char* part : {"principal", "interest", "fee", "penalty"}) {
      const std::string paid_name = std::string("paid_") + part;
      const std::int64_t owed = int_of(inst, part);
      const std::int64_t paid = int_of(inst, paid_name.c_str());
      v[std::string(part) + "_due_minor"] = owed;
      v[std::string(part) + "_paid_minor"] = paid;
      remaining += owed - paid;
    }
    // Days late: from the due date to the day it was paid in full, or, for what was never paid,
    // to the day the contract closed (UTC calendar days; 0 when paid on time).
    const std::string paid_at = inst.value("paid_at", std::string());
    if (!paid_at.empty()) v["paid_at"] = paid_at;
    const auto due_day = epoch_days(due);
    const auto end_day = epoch_days(paid_at.empty() ? closed_at : paid_at);
    if (due_day && end_day) v["days_late"] = std::max<std::int64_t>(0, *end_day - *due_day);
    v["state"] = remaining <= 0 ? "paid" : "unpaid";
    rows.push_back(std::move(row));
  }
  return rows;
}

Row device_row(const std::string& org_id, const nlohmann::json& device, const std::string& today) {
  Row row{"dim_device", org_id, today, {}};
  row.values["org_id"] = org_id;
  copy(row.values, device,
       {{"id", "device_id"},
        {"serial", "serial"},
        {"model", "model"},
        {"chemistry", "chemistry"},
        {"capacity_wh", "capacity_wh"},
        {"nominal_voltage_mv", "nominal_voltage_mv"},
        {"firmware_version", "firmware_version"},
        {"manufactured_on", "manufactured_on"},
        {"depot", "depot"},
        {"state", "state"},
        {"created_at", "created_at"}});
  return row;
}

Row customer_row(const std::string& org_id, const nlohmann::json& customer,
                 const std::string& today) {
  // Names, phones, emails and national ids stay in the operational store: analysts join on the
  // id, and personal data does not spread into files that are copied around.
  Row row{"dim_customer", org_id, today, {}};
  row.values["org_id"] = org_id;
  copy(row.values, customer,
       {{"id", "customer_id"}, {"status", "status"}, {"created_at", "created_at"}});
  return row;
}

Row product_row(const std::string& org_id, const nlohmann::json& product,
                const std::string& today) {
  Row row{"dim_product", org_id, today, {}};
  row.values["org_id"] = org_id;
  copy(row.values, product,
       {{"id", "product_id"},
        {"name", "name"},
        {"kind", "kind"},
        {"currency", "currency"},
        {"status", "status"},
        {"created_at", "created_at"}});
  if (auto it = product.find("terms"); it != product.end()) row.values["terms_json"] = it->dump();
  return row;
}

}  // namespace cellfleet::warehouse
