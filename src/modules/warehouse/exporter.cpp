#include "exporter.h"

#include <fmt/format.h>

#include "contracts/loan_events.h"
#include "core/events/event.h"
#include "core/events/outbox.h"

namespace cellfleet::warehouse {

namespace {

using Seconds = std::chrono::duration<double>;

// FNV-1a, 64 bits: a stable name for a batch from its source and start position.
std::string part_name(const std::string& source, const std::string& start) {
  std::uint64_t hash = 14695981039346656037ULL;
  for (unsigned char c : source + "@" + start) {
    hash ^= c;
    hash *= 1099511628211ULL;
  }
  return fmt::format("{:016x}", hash);
}

bool closes_contract(const std::string& type) {
  namespace le = contracts::loan_events;
  return type == le::kPaidOff || type == le::kCancelled || type == le::kWrittenOff;
}

}  // namespace

std::uint64_t ExportReport::fact_rows() const {
  std::uint64_t n = 0;
  for (const auto& [table, t] : tables) {
    if (!table_def(table).dimension) n += t.rows;
  }
  return n;
}

Exporter::Exporter(Sources sources, const Clock& clock, std::chrono::hours hot_window,
                   std::chrono::seconds settle, Sink& sink, std::function<bool()> should_stop)
    : sources_(sources),
      clock_(clock),
      hot_window_(hot_window),
      settle_(settle),
      sink_(sink),
      should_stop_(std::move(should_stop)) {}

ExportReport Exporter::run() {
  const auto started = std::chrono::steady_clock::now();
  report_ = {};
  stopped_ = false;
  for (const auto& t : table_defs()) report_.tables[t.name];
  checkpoints_ = sink_.checkpoints();
  const std::int64_t now = clock_.epoch_millis();
  today_ = utc_date_of_ms(now);
  const std::int64_t telemetry_until =
      now - std::chrono::duration_cast<std::chrono::milliseconds>(hot_window_).count();

  std::map<std::string, double> phase;  // seconds per source
  auto timed = [&phase](const char* name, auto&& f) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    phase[name] += Seconds(std::chrono::steady_clock::now() - t0).count();
  };
  for (const auto& org : sources_.organizations.organizations()) {
    if (stopping()) break;
    std::vector<std::string> device_ids;
    timed("dimensions", [&] { dimensions(org.id, device_ids); });
    timed("telemetry", [&] { telemetry(org.id, device_ids, telemetry_until); });
    timed("events", [&] {
      events(org.id, now - std::chrono::duration_cast<std::chrono::milliseconds>(settle_).count());
    });
  }
  sink_.flush();
  for (auto& [table, t] : report_.tables) {
    t.seconds = table == "fact_telemetry"     ? phase["telemetry"]
                : table.rfind("dim_", 0) == 0 ? phase["dimensions"]
                                              : phase["events"];
  }
  report_.stopped = stopped_;
  report_.seconds = Seconds(std::chrono::steady_clock::now() - started).count();
  return report_;
}

void Exporter::write(Batch& batch) {
  if (batch.rows.empty() && batch.checkpoints.empty()) return;
  sink_.write(batch);
  for (const auto& row : batch.rows) ++report_.tables[row.table].rows;
  for (const auto& [source, position] : batch.checkpoints) checkpoints_[source] = position;
  // dim_date grows with the facts' dates; the sink fills it, the report does not count it.
}

void Exporter::dimensions(const std::string& org_id, std::vector<std::string>& device_ids) {
  Batch batch;
  batch.part = "dimensions";
  std::string cursor;
  do {
    auto page = sources_.devices.devices(org_id, cursor);
    for (const auto& d : page.records) {
      batch.rows.push_back(device_row(org_id, d, today_));
      device_ids.push_back(d.at("id").get<std::string>());
    }
    cursor = page.next_cursor;
  } while (!cursor.empty() && !stopping());
  do {
    auto page = sources_.customers.customers(org_id, cursor);
    for (const auto& c : page.records) batch.rows.push_back(customer_row(org_id, c, today_));
    cursor = page.next_cursor;
  } while (!cursor.empty() && !stopping());
  do {
    auto page = sources_.loans.products(org_id, cursor);
    for (const auto& p : page.records) batch.rows.push_back(product_row(org_id, p, today_));
    cursor = page.next_cursor;
  } while (!cursor.empty() && !stopping());
  write(batch);
}

void Exporter::telemetry(const std::string& org_id, const std::vector<std::string>& device_ids,
                         std::int64_t until_ms) {
  for (const auto& device_id : device_ids) {
    const std::string source = "telemetry/" + org_id + "/" + device_id;
    // A page at a time from the last exported reading; each page is a batch of its own, named by
    // where it starts, so it is the same batch when a crash makes the next run read it again.
    while (!stopping()) {
      const auto it = checkpoints_.find(source);
      const std::string start = it == checkpoints_.end() ? "0" : it->second;
      auto page =
          sources_.devices.readings(org_id, device_id, std::stoll(start), until_ms, 1000, "");
      if (page.records.empty()) break;
      Batch batch;
      batch.part = part_name(source, start);
      for (const auto& reading : page.records) {
        batch.rows.push_back(telemetry_row(org_id, device_id, reading));
      }
      batch.checkpoints[source] = std::to_string(page.records.back().at("at").get<std::int64_t>());
      write(batch);
      if (page.next_cursor.empty()) break;
    }
  }
}

void Exporter::events(const std::string& org_id, std::int64_t until_ms) {
  const std::string source = "events/" + org_id;
  while (!stopping()) {
    const auto it = checkpoints_.find(source);
    const std::string start = it == checkpoints_.end() ? "" : it->second;
    storage::Query q;
    q.table = std::string(events::kEventsTable);
    q.partition = events::event_log_partition(org_id);
    if (!start.empty()) q.sort = storage::SortCondition{storage::SortCondition::Op::gt, start, ""};
    q.limit = 1000;
    const auto page = sources_.store.query(q);
    Batch batch;
    batch.part = part_name(source, start);
    bool settled_end = false;  // reached events too young to export
    for (const auto& logged : page.items) {
      const auto& event = logged.at("event");
      if (event.at("occurred_at").get<std::int64_t>() > until_ms) {
        settled_end = true;
        break;
      }
      batch.rows.push_back(event_row(event));
      if (auto payment = payment_row(event)) batch.rows.push_back(std::move(*payment));
      if (closes_contract(event.at("type").get<std::string>())) {
        // Closed contracts never change again: their installments are exported once, whole.
        if (auto contract =
                sources_.loans.contract(org_id, event.at("subject").get<std::string>())) {
          for (auto& row : installment_rows(org_id, *contract))
            batch.rows.push_back(std::move(row));
        }
      }
      batch.checkpoints[source] = logged.at("sk").get<std::string>();
    }
    write(batch);
    if (settled_end || page.next_cursor.empty() || batch.checkpoints.empty()) break;
  }
}

}  // namespace cellfleet::warehouse
