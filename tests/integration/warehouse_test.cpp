// The warehouse export, end to end: organizations seeded through the API, `cellfleet warehouse
// export` run against the server's store, and the SQLite warehouse and the NDJSON files read
// back: row counts, idempotence, increments, organizations kept apart, and the example queries
// of docs/warehouse.md with their expected answers.
#include <sqlite3.h>
#include <zlib.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <csignal>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <thread>

#include "support/api.h"
#include "support/server_process.h"
#include "support/shop.h"

using namespace cellfleet::testing;
using namespace std::chrono_literals;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

constexpr std::int64_t kHour = 3'600'000;

// The start of the UTC day three days ago: readings at +1 h, +2 h... are older than the 48-hour
// hot window, inside the retention, and on one UTC day.
std::int64_t day_three_days_ago() {
  return (now_ms() - 72 * kHour) / (24 * kHour) * (24 * kHour);
}

const json kLease = {{"name", "Lease 4 months"},
                     {"kind", "lease_to_own"},
                     {"terms",
                      {{"cash_price", 100000},
                       {"deposit", 20000},
                       {"installments", 4},
                       {"frequency", "monthly"},
                       {"interest_method", "flat"},
                       {"annual_rate_bp", 0},
                       {"grace_period_days", 3}}}};

std::map<std::string, std::string> warehouse_env(Backend backend) {
  auto env = backend_env(backend);
  env["CELLFLEET_PLATFORM_ADMIN_TOKEN"] = kPlatformToken;
  env["CELLFLEET_WAREHOUSE_INTERVAL_SECONDS"] = "0";  // exports only when the test runs one
  env["CELLFLEET_WAREHOUSE_SETTLE_SECONDS"] = "0";    // the test writes nothing meanwhile
  return env;
}

void post_readings(const Shop& shop, const std::string& pack, const std::vector<json>& readings) {
  const auto credential = issue_credential(shop.api, shop.org.owner_key, pack);
  const auto res =
      shop.api.call("POST", "/v1/telemetry", credential, json{{"readings", readings}}.dump());
  INFO(res.body);
  REQUIRE(res.status / 100 == 2);
}

json reading(std::int64_t at_ms, int soh_permille) {
  return {
      {"at", rfc3339_ms(at_ms)}, {"soc", 80.0}, {"voltage", 51.2}, {"soh", soh_permille / 10.0}};
}

// Pays a lease's deposit, waits until the loan module applied it.
void pay_deposit(const Shop& shop, const std::string& contract) {
  shop.pay(contract, 20000);
  shop.contract_when(contract, [](const json& c) { return c.at("state") == "active"; });
}

// A payment's reversal, retried while the loan module has not applied it yet (409).
void reverse(const Shop& shop, const std::string& payment) {
  HttpResponse res;
  for (int i = 0; i < 600; ++i) {
    res = shop.post("/v1/payments/" + payment + "/reverse", {{"reason", "bounced"}});
    if (res.status != 409) break;
    std::this_thread::sleep_for(100ms);
  }
  shop.ok(res);
}

struct Db {
  explicit Db(const fs::path& path) {
    REQUIRE(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
  }
  ~Db() { sqlite3_close(db); }
  // Every row of the query's answer, as JSON arrays of its columns.
  std::vector<json> rows(const std::string& sql, const std::vector<std::string>& params = {}) {
    sqlite3_stmt* s = nullptr;
    INFO(sql);
    REQUIRE(sqlite3_prepare_v2(db, sql.c_str(), -1, &s, nullptr) == SQLITE_OK);
    for (std::size_t i = 0; i < params.size(); ++i) {
      sqlite3_bind_text(s, static_cast<int>(i + 1), params[i].c_str(), -1, SQLITE_TRANSIENT);
    }
    std::vector<json> out;
    int rc = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
      json row = json::array();
      for (int c = 0; c < sqlite3_column_count(s); ++c) {
        switch (sqlite3_column_type(s, c)) {
          case SQLITE_INTEGER:
            row.push_back(sqlite3_column_int64(s, c));
            break;
          case SQLITE_FLOAT:
            row.push_back(sqlite3_column_double(s, c));
            break;
          case SQLITE_NULL:
            row.push_back(nullptr);
            break;
          default:
            row.push_back(reinterpret_cast<const char*>(sqlite3_column_text(s, c)));
        }
      }
      out.push_back(std::move(row));
    }
    sqlite3_finalize(s);
    REQUIRE(rc == SQLITE_DONE);
    return out;
  }
  std::int64_t count(const std::string& table, const std::string& org) {
    return rows("SELECT COUNT(*) FROM " + table + " WHERE org_id = ?", {org})[0][0];
  }
  sqlite3* db = nullptr;
};

const std::vector<std::string> kCounted = {"fact_telemetry", "fact_payment", "fact_installment",
                                           "fact_event",     "dim_device",   "dim_customer",
                                           "dim_product"};

std::map<std::string, std::int64_t> counts(Db& db, const std::string& org) {
  std::map<std::string, std::int64_t> out;
  for (const auto& t : kCounted) out[t] = db.count(t, org);
  return out;
}

// Waits until the event chain is done (invoices, access commands and the events they publish):
// the outbox reads empty three times in a row, so a later export finds no new events.
void wait_for_quiet_outbox(const Api& api) {
  int empty = 0;
  for (int i = 0; i < 600 && empty < 3; ++i) {
    const auto res = api.call("GET", "/metrics", "");
    std::smatch m;
    const bool idle =
        std::regex_search(res.body, m, std::regex(R"(\nevents_outbox_pending (\d+))")) &&
        m[1] == "0";
    empty = idle ? empty + 1 : 0;
    std::this_thread::sleep_for(300ms);
  }
  REQUIRE(empty == 3);
}

// Runs `cellfleet warehouse export` with args against the server's store; returns its output.
std::string export_now(const ServerProcess& server, const std::map<std::string, std::string>& env,
                       std::vector<std::string> args = {}) {
  std::vector<std::string> all = {"warehouse", "export", "--data-dir", server.data_dir().string()};
  all.insert(all.end(), args.begin(), args.end());
  auto [status, out] = run_cellfleet(all, env);
  INFO(out);
  REQUIRE(status == 0);
  return out;
}

std::int64_t facts_exported(const std::string& out) {
  std::smatch m;
  REQUIRE(std::regex_search(out, m, std::regex(R"(facts total\s+(\d+))")));
  return std::stoll(m[1]);
}

std::string gunzip(const fs::path& path) {
  gzFile f = gzopen(path.c_str(), "rb");
  REQUIRE(f != nullptr);
  std::string out;
  char buffer[65536];
  int n = 0;
  while ((n = gzread(f, buffer, sizeof buffer)) > 0)
    out.append(buffer, static_cast<std::size_t>(n));
  gzclose(f);
  return out;
}

// The ```sql blocks of docs/warehouse.md, in order.
std::vector<std::string> documented_queries() {
  std::ifstream in(std::string(CELLFLEET_SOURCE_DIR) + "/docs/warehouse.md");
  std::stringstream text;
  text << in.rdbuf();
  const std::string doc = text.str();
  std::vector<std::string> out;
  for (std::size_t at = doc.find("```sql\n"); at != std::string::npos;
       at = doc.find("```sql\n", at)) {
    const auto end = doc.find("```", at + 7);
    out.push_back(doc.substr(at + 7, end - at - 7));
    at = end + 3;
  }
  return out;
}

// The first row whose leading columns equal key.
json row_with(const std::vector<json>& rows, const json& key) {
  for (const auto& r : rows) {
    bool match = true;
    for (std::size_t i = 0; i < key.size(); ++i) match = match && r[i] == key[i];
    if (match) return r;
  }
  INFO("no row starting with " << key.dump());
  FAIL("missing row");
  return {};
}

}  // namespace

TEST_CASE(
    "the warehouse export moves each organization's history once and answers the documented "
    "queries",
    "[integration][warehouse]") {
  auto backend = GENERATE(Backend::sqlite, Backend::dynamodb);
  INFO("backend " << backend_name(backend));
  const auto env = warehouse_env(backend);
  ServerProcess server({}, env);
  const std::int64_t day = day_three_days_ago();
  const std::string month = rfc3339_ms(day).substr(0, 7);

  // Organization A: two packs of two models with old readings (and one still in the hot window),
  // a lease paid off, a lease cancelled after its deposit and a reversed payment.
  auto a = open_shop(server, "warehouse-a");
  const auto lease_a = a.product(kLease);
  const auto p1 = create_pack(a.api, a.org.owner_key, pack_fields("WA-1", {{"model", "M1"}}));
  const auto p2 = create_pack(a.api, a.org.owner_key, pack_fields("WA-2", {{"model", "M2"}}));
  post_readings(a, p1,
                {reading(day + kHour, 980), reading(day + 2 * kHour, 970),
                 reading(day + 3 * kHour, 960), reading(now_ms() - kHour, 950)});
  post_readings(a, p2, {reading(day + kHour, 990), reading(day + 2 * kHour, 990)});
  const std::string paid_off =
      a.contract(a.customer("Alice", "+254700000201"), a.stocked_pack("WA-3"), lease_a).at("id");
  const std::string cancelled =
      a.contract(a.customer("Bob", "+254700000202"), a.stocked_pack("WA-4"), lease_a).at("id");
  pay_deposit(a, paid_off);
  a.pay(paid_off, 80000);
  a.contract_when(paid_off, [](const json& c) { return c.at("state") == "paid_off"; });
  pay_deposit(a, cancelled);
  reverse(a, a.pay(cancelled, 5000).at("id"));
  // The loan module takes the reversal back off installment 1 before the contract closes.
  a.contract_when(cancelled,
                  [](const json& c) { return c.at("installments")[1].at("paid_principal") == 0; });
  a.ok(a.post("/v1/contracts/" + cancelled + "/cancel", {{"reason", "moved away"}}));

  // Organization B: one pack, one lease paid off at once.
  auto b = open_shop(server, "warehouse-b");
  const auto pb = create_pack(b.api, b.org.owner_key, pack_fields("WB-1"));
  post_readings(b, pb, {reading(day + kHour, 1000), reading(day + 5 * kHour, 990)});
  const std::string b_contract =
      b.contract(b.customer("Carol", "+254700000301"), b.stocked_pack("WB-2"), b.product(kLease))
          .at("id");
  pay_deposit(b, b_contract);
  b.pay(b_contract, 80000);
  b.contract_when(b_contract, [](const json& c) { return c.at("state") == "paid_off"; });

  wait_for_quiet_outbox(a.api);
  const fs::path warehouse = server.data_dir() / "warehouse.db";
  const auto first = export_now(server, env);
  std::map<std::string, std::int64_t> a_counts, b_counts;
  {
    Db db(warehouse);
    a_counts = counts(db, a.org.id);
    b_counts = counts(db, b.org.id);
    CHECK(a_counts["fact_telemetry"] == 5);     // the hot reading stays behind
    CHECK(a_counts["fact_payment"] == 5);       // 3 payments, 1 more and its reversal
    CHECK(a_counts["fact_installment"] == 10);  // two closed leases: deposit + 4 each
    CHECK(a_counts["dim_device"] == 4);
    CHECK(a_counts["dim_customer"] == 2);
    CHECK(a_counts["dim_product"] == 1);
    CHECK(a_counts["fact_event"] > 10);
    CHECK(b_counts["fact_telemetry"] == 2);
    CHECK(b_counts["fact_payment"] == 2);
    CHECK(b_counts["fact_installment"] == 5);
    CHECK(b_counts["dim_device"] == 2);
    // Nothing of B's under A's id or the reverse: each pack's readings carry its own org.
    CHECK(db.rows("SELECT COUNT(*) FROM fact_telemetry WHERE device_id = ? AND org_id <> ?",
                  {pb, b.org.id})[0][0] == 0);
    CHECK(db.rows("SELECT COUNT(*) FROM fact_installment WHERE contract_id = ? AND org_id <> ?",
                  {b_contract, b.org.id})[0][0] == 0);
    const auto reversal = db.rows(
        "SELECT amount_minor, currency FROM fact_payment WHERE org_id = ? AND kind = 'reversal'",
        {a.org.id});
    REQUIRE(reversal.size() == 1);
    CHECK(reversal[0] == json::array({-5000, "KES"}));
    CHECK(db.rows("SELECT state, days_late FROM fact_installment WHERE contract_id = ? AND "
                  "installment_n = 4",
                  {cancelled})[0] == json::array({"unpaid", 0}));
  }
  CHECK(facts_exported(first) > 0);

  // Again: nothing new, the same counts.
  {
    const auto again = export_now(server, env);
    if (facts_exported(again) != 0) {
      Db db(warehouse);
      INFO(again);
      INFO(
          json(db.rows(
                   "SELECT type, subject, event_id FROM fact_event ORDER BY event_id DESC LIMIT 6"))
              .dump());
      CHECK(facts_exported(again) == 0);
    }
  }
  {
    Db db(warehouse);
    CHECK(counts(db, a.org.id) == a_counts);
    CHECK(counts(db, b.org.id) == b_counts);
  }

  // New data: only the new rows.
  post_readings(b, pb, {reading(day + 6 * kHour, 980)});
  wait_for_quiet_outbox(a.api);
  CHECK(facts_exported(export_now(server, env)) >= 1);
  {
    Db db(warehouse);
    CHECK(counts(db, a.org.id) == a_counts);
    auto expected = b_counts;
    expected["fact_telemetry"] += 1;
    const auto now_b = counts(db, b.org.id);
    CHECK(now_b.at("fact_telemetry") == expected.at("fact_telemetry"));
    CHECK(now_b.at("fact_payment") == expected.at("fact_payment"));
    CHECK(now_b.at("fact_installment") == expected.at("fact_installment"));
    b_counts = now_b;
  }

  {  // The files sink holds the same rows, partitioned by table, organization and date.
    const fs::path dir = server.data_dir() / "files";
    export_now(server, env, {"--sink", "files", "--out", dir.string()});
    std::map<std::pair<std::string, std::string>, std::int64_t> seen;  // (table, org) -> rows
    for (const auto& entry : fs::recursive_directory_iterator(dir)) {
      if (!entry.is_regular_file() || entry.path().extension() != ".gz") continue;
      // .../table=<t>/org=<org>/date=<d>/part-<x>.ndjson.gz
      const auto date_dir = entry.path().parent_path();
      const auto org_dir = date_dir.parent_path();
      const auto table_dir = org_dir.parent_path();
      REQUIRE(date_dir.filename().string().rfind("date=", 0) == 0);
      REQUIRE(org_dir.filename().string().rfind("org=", 0) == 0);
      REQUIRE(table_dir.filename().string().rfind("table=", 0) == 0);
      const std::string table = table_dir.filename().string().substr(6);
      const std::string org = org_dir.filename().string().substr(4);
      std::istringstream lines(gunzip(entry.path()));
      for (std::string line; std::getline(lines, line);) {
        const auto row = json::parse(line);
        CHECK(row.at("org_id") == org);
        if (row.contains("date_key") && table.rfind("fact_", 0) == 0) {
          CHECK("date=" + row.at("date_key").get<std::string>() == date_dir.filename().string());
        }
        ++seen[{table, org}];
      }
    }
    Db db(warehouse);
    for (const auto& org : {a.org.id, b.org.id}) {
      for (const auto& t : kCounted) {
        INFO(t << " of " << org);
        CHECK(seen[{t, org}] == db.count(t, org));
      }
    }
    // Again: no new part files' rows (the checkpoint file holds).
    CHECK(facts_exported(export_now(server, env, {"--sink", "files", "--out", dir.string()})) == 0);
  }

  {  // Each example query of docs/warehouse.md answers as the seeded data says.
    const auto queries = documented_queries();
    REQUIRE(queries.size() == 3);
    Db db(warehouse);
    const std::string this_month = rfc3339_ms(now_ms()).substr(0, 7);

    // Monthly collections: A received 20,000 + 80,000 + 20,000 + 5,000 and reversed 5,000.
    const auto collections = db.rows(queries[0]);
    CHECK(row_with(collections, {a.org.id, this_month, "KES"}) ==
          json::array({a.org.id, this_month, "KES", 125000, 5000, 120000}));
    CHECK(row_with(collections, {b.org.id, this_month, "KES"}) ==
          json::array({b.org.id, this_month, "KES", 100000, 0, 100000}));

    // Degradation: M1 averaged 97.0 % over three readings, M2 99.0 % over two.
    const auto curve = db.rows(queries[1]);
    CHECK(row_with(curve, {a.org.id, "M1", month}) ==
          json::array({a.org.id, "M1", month, 97.0, 3}));
    CHECK(row_with(curve, {a.org.id, "M2", month}) ==
          json::array({a.org.id, "M2", month, 99.0, 2}));
    CHECK(row_with(curve, {b.org.id, "E-48", month}) ==
          json::array({b.org.id, "E-48", month, 99.0, 3}));

    // Cohorts: A's two leases financed 200,000 of principal and repaid 120,000 in their first
    // month (one paid off, one cancelled after its deposit); B's repaid all.
    const auto cohorts = db.rows(queries[2]);
    const auto a_cohort = row_with(cohorts, {a.org.id, "KES"});
    CHECK(a_cohort[3] == 0);
    CHECK(a_cohort[4] == 120000);
    CHECK(a_cohort[5] == 200000);
    CHECK(a_cohort[6] == 6000);
    const auto b_cohort = row_with(cohorts, {b.org.id, "KES"});
    CHECK(b_cohort[4] == 100000);
    CHECK(b_cohort[6] == 10000);
  }
}

TEST_CASE("serve exports to the warehouse in the background and stops promptly on SIGTERM",
          "[integration][warehouse]") {
  ServerProcess server({}, {{"CELLFLEET_PLATFORM_ADMIN_TOKEN", kPlatformToken},
                            {"CELLFLEET_WAREHOUSE_INTERVAL_SECONDS", "1"},
                            {"CELLFLEET_WAREHOUSE_SETTLE_SECONDS", "0"}});
  auto shop = open_shop(server, "warehouse-bg");
  const auto pack = create_pack(shop.api, shop.org.owner_key, pack_fields("BG-1"));
  post_readings(shop, pack, {reading(day_three_days_ago() + kHour, 990)});
  const Api api{server.port()};
  // The background export picks the reading up by itself, and counts it.
  std::string metrics;
  for (int i = 0; i < 600; ++i) {
    metrics = api.call("GET", "/metrics", "").body;
    if (metrics.find("cellfleet_warehouse_rows_exported_total{table=\"fact_telemetry\"} 1") !=
        std::string::npos) {
      break;
    }
    std::this_thread::sleep_for(100ms);
  }
  INFO(metrics);
  CHECK(metrics.find("cellfleet_warehouse_rows_exported_total{table=\"fact_telemetry\"} 1") !=
        std::string::npos);
  CHECK(metrics.find("cellfleet_warehouse_export_lag_seconds") != std::string::npos);
  CHECK_FALSE(server.wait_for_log("\"warehouse export\"", 60s).empty());
  {
    Db db(server.data_dir() / "warehouse.db");
    CHECK(db.count("fact_telemetry", shop.org.id) == 1);
  }
  CHECK(server.signal_and_wait(SIGTERM, 30s) == 0);
}
