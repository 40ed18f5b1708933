#include "raw_sqlite.h"

#include <fmt/format.h>
#include <sqlite3.h>

#include <memory>
#include <stdexcept>
#include <vector>

#include "telemetry.h"

namespace cellfleet::bench {
namespace {

struct CloseDatabase {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
struct FinalizeStatement {
  void operator()(sqlite3_stmt* statement) const { sqlite3_finalize(statement); }
};
using Database = std::unique_ptr<sqlite3, CloseDatabase>;
using Statement = std::unique_ptr<sqlite3_stmt, FinalizeStatement>;

void check(sqlite3* db, int rc, const char* what) {
  if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) {
    throw std::runtime_error(fmt::format("raw sqlite: {}: {}", what, sqlite3_errmsg(db)));
  }
}

void exec(sqlite3* db, const std::string& sql) {
  check(db, sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), sql.c_str());
}

Statement prepare(sqlite3* db, const std::string& sql) {
  sqlite3_stmt* statement = nullptr;
  check(db, sqlite3_prepare_v3(db, sql.c_str(), -1, SQLITE_PREPARE_PERSISTENT, &statement, nullptr),
        sql.c_str());
  return Statement(statement);
}

std::string create_table_sql() {
  std::string columns;
  for (const auto name : kReadingAttributes) columns += fmt::format(", {} INTEGER", name);
  return fmt::format(
      "CREATE TABLE readings (pk TEXT NOT NULL, sk TEXT NOT NULL{}, PRIMARY KEY (pk, sk)) "
      "WITHOUT ROWID",
      columns);
}

std::string insert_sql() {
  std::string names = "pk, sk";
  std::string marks = "?, ?";
  for (const auto name : kReadingAttributes) {
    names += fmt::format(", {}", name);
    marks += ", ?";
  }
  return fmt::format("INSERT INTO readings ({}) VALUES ({})", names, marks);
}

class RawWriter {
 public:
  RawWriter(const std::string& path, const std::string& synchronous) {
    sqlite3* db = nullptr;
    const int rc =
        sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
    db_.reset(db);
    check(db, rc, "open");
    exec(db, "PRAGMA journal_mode = WAL");
    exec(db, "PRAGMA synchronous = " + synchronous);
    exec(db, create_table_sql());
    begin_ = prepare(db, "BEGIN");
    commit_ = prepare(db, "COMMIT");
    insert_ = prepare(db, insert_sql());
  }

  // Inserts the rows in one transaction.
  void insert(const std::vector<Reading>& rows) {
    step(begin_.get(), "BEGIN");
    sqlite3_stmt* insert = insert_.get();
    for (const auto& row : rows) {
      sqlite3_bind_text(insert, 1, row.pk.data(), static_cast<int>(row.pk.size()), SQLITE_STATIC);
      sqlite3_bind_text(insert, 2, row.sk.data(), static_cast<int>(row.sk.size()), SQLITE_STATIC);
      for (std::size_t i = 0; i < kReadingValues; ++i) {
        sqlite3_bind_int64(insert, static_cast<int>(i) + 3, row.values[i]);
      }
      step(insert, "INSERT");
    }
    step(commit_.get(), "COMMIT");
  }

 private:
  void step(sqlite3_stmt* statement, const char* what) {
    const int rc = sqlite3_step(statement);
    sqlite3_reset(statement);
    if (rc != SQLITE_DONE) {
      const std::string message = sqlite3_errmsg(db_.get());
      if (sqlite3_get_autocommit(db_.get()) == 0) {
        sqlite3_exec(db_.get(), "ROLLBACK", nullptr, nullptr, nullptr);
      }
      throw std::runtime_error(fmt::format("raw sqlite: {}: {}", what, message));
    }
  }

  Database db_;
  Statement begin_, commit_, insert_;
};

}  // namespace

Measurement measure_raw_sqlite_insert(const std::string& backend, const std::string& path,
                                      const std::string& synchronous, const RunOptions& options) {
  RawWriter writer(path, synchronous);
  TelemetrySource source;
  RunOptions one_thread = options;
  one_thread.threads = 1;
  return measure(backend, kRawOperation, kRawRowsPerTransaction, one_thread,
                 [&](std::mt19937_64& rng) -> Call {
                   auto rows = std::make_shared<std::vector<Reading>>();
                   rows->reserve(kRawRowsPerTransaction);
                   for (std::size_t i = 0; i < kRawRowsPerTransaction; ++i) {
                     rows->push_back(source.next(rng));
                   }
                   return [&writer, rows] { writer.insert(*rows); };
                 });
}

}  // namespace cellfleet::bench
