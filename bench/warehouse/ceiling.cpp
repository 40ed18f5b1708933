// The warehouse benchmark's ceiling: raw SQLite batched inserts of fact_telemetry's row shape
// (same columns, same WITHOUT ROWID primary key, 1,000 rows a transaction, WAL, synchronous=FULL
// as the warehouse writes), with no operational store read and no JSON in between.
//
//   cellfleet_bench_warehouse_ceiling --file PATH --rows N
// prints "CEILING rows=N seconds=S rows_per_second=R rows_per_transaction=1000".
#include <sqlite3.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

#include <fmt/format.h>

namespace {

void exec(sqlite3* db, const char* sql) {
  char* error = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &error) != SQLITE_OK) {
    fmt::print(stderr, "ceiling: {}: {}\n", sql, error ? error : "?");
    std::exit(1);
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::string path;
  std::int64_t rows = 1'000'000;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--file") == 0) path = argv[i + 1];
    if (std::strcmp(argv[i], "--rows") == 0) rows = std::atoll(argv[i + 1]);
  }
  if (path.empty() || rows <= 0) {
    fmt::print(stderr, "usage: cellfleet_bench_warehouse_ceiling --file PATH --rows N\n");
    return 2;
  }
  sqlite3* db = nullptr;
  if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) return 1;
  exec(db, "PRAGMA journal_mode=WAL");
  exec(db, "PRAGMA synchronous=FULL");
  exec(db,
       "CREATE TABLE fact_telemetry (org_id TEXT, device_id TEXT, at_ms INTEGER, date_key TEXT, "
       "soc_permille INTEGER, voltage_mv INTEGER, current_ma INTEGER, temperature_decidegc "
       "INTEGER, cycles INTEGER, soh_permille INTEGER, lat_e7 INTEGER, lon_e7 INTEGER, extra_json "
       "TEXT, PRIMARY KEY (org_id, device_id, at_ms)) WITHOUT ROWID");
  sqlite3_stmt* s = nullptr;
  sqlite3_prepare_v2(db,
                     "INSERT OR IGNORE INTO fact_telemetry VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
                     "?, ?, ?)",
                     -1, &s, nullptr);
  constexpr std::int64_t kPerTransaction = 1000;
  constexpr std::int64_t kPacks = 400;
  const std::string org = "org_01BENCHCEILING000000000000";
  const auto started = std::chrono::steady_clock::now();
  for (std::int64_t i = 0; i < rows; ++i) {
    if (i % kPerTransaction == 0) exec(db, "BEGIN");
    // As the export writes them: one pack's readings in time order, a minute apart.
    const std::string device = fmt::format("dev_01BENCH{:017}", i / (rows / kPacks + 1));
    const std::int64_t at = 1'750'000'000'000 + i * 60'000;
    sqlite3_bind_text(s, 1, org.c_str(), -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, device.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 3, at);
    sqlite3_bind_text(s, 4, "2025-06-15", -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 5, 500 + i % 500);
    sqlite3_bind_int64(s, 6, 51200);
    sqlite3_bind_int64(s, 7, -3200);
    sqlite3_bind_int64(s, 8, 315);
    sqlite3_bind_int64(s, 9, 412);
    sqlite3_bind_int64(s, 10, 960);
    sqlite3_bind_null(s, 11);
    sqlite3_bind_null(s, 12);
    sqlite3_bind_null(s, 13);
    if (sqlite3_step(s) != SQLITE_DONE) return 1;
    sqlite3_reset(s);
    if (i % kPerTransaction == kPerTransaction - 1 || i == rows - 1) exec(db, "COMMIT");
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  sqlite3_finalize(s);
  sqlite3_close(db);
  fmt::print("CEILING rows={} seconds={:.3f} rows_per_second={:.0f} rows_per_transaction={}\n",
             rows, seconds, rows / seconds, kPerTransaction);
  return 0;
}
