// Migrations: embedded in the binary, applied once, and a newer database is never opened.

#include <catch2/catch.hpp>

#include <exception>
#include <filesystem>
#include <latch>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "sqlite/temp_dir.h"
#include "storage/sqlite/connection.h"
#include "storage/sqlite/migrations.h"
#include "storage/sqlite/sqlite_store.h"

namespace cellfleet::storage::testing {

TEST_CASE("the embedded migrations are numbered from 1 without gaps", "[sqlite]") {
  const auto migrations = sqlite::embedded_migrations();
  REQUIRE_FALSE(migrations.empty());
  for (std::size_t i = 0; i < migrations.size(); ++i) {
    CHECK(migrations[i].version == static_cast<int>(i + 1));
    CHECK_FALSE(migrations[i].sql.empty());
  }
  CHECK(migrations[0].name == "0001_initial.sql");
  CHECK(sqlite_schema_version() == migrations.back().version);
}

TEST_CASE("a new database is migrated to the newest version, and migrating again applies nothing",
          "[sqlite]") {
  TempDir dir;
  SqliteOptions options;
  options.path = dir.file("fresh.db");
  const auto first = migrate_sqlite(options);
  CHECK(first.from_version == 0);
  CHECK(first.to_version == sqlite_schema_version());
  const auto second = migrate_sqlite(options);
  CHECK(second.from_version == sqlite_schema_version());
  CHECK(second.to_version == sqlite_schema_version());
  CHECK_NOTHROW(open_sqlite(options)->ping());
}

TEST_CASE("migrate run by several processes at once on a new database: every one succeeds, each "
          "migration is applied once",
          "[sqlite]") {
  // Every container that starts may run `cellfleet migrate` (or serve, which migrates first) on
  // the same file. Each thread has its own connections, so SQLite's file locks decide, as they
  // would between processes. The race that matters (switching a new file to WAL, which SQLite may
  // refuse at once with "database is locked") lost about one switch in 140 when measured, so the
  // case runs 30 new files of 6 migrations each, all 6 released at once.
  TempDir dir;
  constexpr int kRounds = 30;
  constexpr std::size_t kRuns = 6;
  for (int round = 0; round < kRounds; ++round) {
    INFO("round " << round);
    SqliteOptions options;
    options.path = dir.file("shared-" + std::to_string(round) + ".db");
    options.busy_timeout_ms = 30000;
    std::vector<std::string> failures(kRuns);
    std::vector<MigrationReport> reports(kRuns);
    std::latch start(kRuns);
    std::vector<std::thread> threads;
    for (std::size_t i = 0; i < kRuns; ++i) {
      threads.emplace_back([&, i] {
        start.arrive_and_wait();
        try {
          reports[i] = migrate_sqlite(options);
        } catch (const std::exception& e) {
          failures[i] = e.what();
        }
      });
    }
    for (auto& t : threads) t.join();
    int applied_from_zero = 0;
    for (std::size_t i = 0; i < kRuns; ++i) {
      INFO("migrate #" << i << ": " << failures[i]);
      REQUIRE(failures[i].empty());
      CHECK(reports[i].to_version == sqlite_schema_version());
      if (reports[i].from_version == 0) ++applied_from_zero;
    }
    CHECK(applied_from_zero == 1);  // one run applied everything; the others found it done
    sqlite::Connection db(options.path, sqlite::Connection::Mode::read_only, 1000);
    CHECK(db.query_text("SELECT COUNT(*) FROM schema_version") ==
          std::to_string(sqlite::embedded_migrations().size()));
    CHECK(db.query_text("SELECT COUNT(DISTINCT version) FROM schema_version") ==
          std::to_string(sqlite::embedded_migrations().size()));
    CHECK_NOTHROW(open_sqlite(options)->ping());
  }
}

TEST_CASE("a database migrated by a newer cellfleet refuses to open, naming both versions",
          "[sqlite]") {
  TempDir dir;
  SqliteOptions options;
  options.path = dir.file("future.db");
  migrate_sqlite(options);
  const int future = sqlite_schema_version() + 1;
  {
    sqlite::Connection db(options.path, sqlite::Connection::Mode::read_write, 1000);
    db.exec("INSERT INTO schema_version (version, name, applied_at) VALUES (" +
            std::to_string(future) + ", '9999_from_the_future.sql', 0)");
  }
  try {
    open_sqlite(options);
    FAIL("a database newer than the binary opened");
  } catch (const SchemaTooNew& error) {
    CHECK(error.database_version == future);
    CHECK(error.binary_version == sqlite_schema_version());
    const std::string message = error.what();
    CHECK_THAT(message, Catch::Contains("schema version " + std::to_string(future)));
    CHECK_THAT(message, Catch::Contains("version " + std::to_string(sqlite_schema_version())));
  }
  CHECK_THROWS_AS(migrate_sqlite(options), SchemaTooNew);
}

TEST_CASE("opening a database creates its missing parent directories", "[sqlite]") {
  TempDir dir;
  SqliteOptions options;
  options.path = dir.file("a/b/c/cellfleet.db");
  auto store = open_sqlite(options);
  CHECK(std::filesystem::exists(options.path));
  CHECK_NOTHROW(store->ping());
}

TEST_CASE("a database path that cannot be opened is reported as unavailable", "[sqlite]") {
  TempDir dir;
  SqliteOptions options;
  options.path = dir.path().string();  // a directory, not a file
  CHECK_THROWS_AS(open_sqlite(options), Unavailable);
}

TEST_CASE("the database is kept in WAL mode", "[sqlite]") {
  TempDir dir;
  SqliteOptions options;
  options.path = dir.file("wal.db");
  auto store = open_sqlite(options);
  sqlite::Connection db(options.path, sqlite::Connection::Mode::read_only, 1000);
  CHECK(db.query_text("PRAGMA journal_mode") == "wal");
}

TEST_CASE("options out of range are refused before anything is opened", "[sqlite]") {
  TempDir dir;
  SqliteOptions options;
  options.path = dir.file("never.db");
  options.synchronous = "sometimes";
  CHECK_THROWS_AS(open_sqlite(options), std::invalid_argument);
  options.synchronous = "normal";
  options.readers = 0;
  CHECK_THROWS_AS(open_sqlite(options), std::invalid_argument);
  CHECK_FALSE(std::filesystem::exists(options.path));
}

}  // namespace cellfleet::storage::testing
