// The background checkpointer copies the WAL into the database file beside the writer, and the
// writer's own pass at the limit keeps the WAL file bounded however fast commits come.

#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <string>

#include "sqlite/temp_dir.h"
#include "storage/sqlite/checkpointer.h"
#include "storage/sqlite/connection.h"
#include "storage/sqlite/sqlite_store.h"

namespace cellfleet::storage::testing {

namespace {

using sqlite::Connection;

constexpr int kPageBytes = 4096;
constexpr int kFrameBytes = kPageBytes + 24;  // a WAL frame: its header and the page
constexpr int kStartPages = 20;
constexpr int kLimitPages = 80;
constexpr int kRowsPerCommit = 40;  // ~1 KB rows in random order: a few dozen pages a commit

std::unique_ptr<Connection> open(const std::string& path) {
  auto connection = std::make_unique<Connection>(path, Connection::Mode::read_write, 5000);
  REQUIRE(connection->query_text("PRAGMA journal_mode = WAL") == "wal");
  connection->exec("PRAGMA synchronous = off");
  return connection;
}

// The writer's connection, with the tables insert_commit() writes: rows in random key order (an
// index on the key), so that each commit dirties pages all over the file, and a commit counter.
std::unique_ptr<Connection> open_with_tables(const std::string& path) {
  auto writer = open(path);
  writer->exec(
      "CREATE TABLE t (k INTEGER, v BLOB); CREATE INDEX t_k ON t (k);"
      "CREATE TABLE commits (n INTEGER PRIMARY KEY)");
  return writer;
}

std::uintmax_t size_of(const std::string& path) {
  std::error_code error;
  const auto size = std::filesystem::file_size(path, error);
  return error ? 0 : size;
}

void insert_commit(Connection& writer, int commit) {
  writer.exec("BEGIN IMMEDIATE");
  for (int row = 0; row < kRowsPerCommit; ++row) {
    auto statement =
        writer.prepare("INSERT INTO t (k, v) VALUES (abs(random()) % 1000000000, zeroblob(1000))");
    statement.run();
  }
  writer.exec("INSERT INTO commits (n) VALUES (" + std::to_string(commit) + ")");
  writer.exec("COMMIT");
}

}  // namespace

TEST_CASE("the checkpointer copies commits into the file beside the writer and bounds the WAL",
          "[sqlite]") {
  TempDir dir;
  const auto path = dir.file("checkpoint.db");
  auto writer = open_with_tables(path);
  const auto file_before = size_of(path);

  constexpr int kCommits = 400;
  std::uintmax_t largest_wal = 0;
  std::uint64_t background = 0;
  std::uint64_t by_writer = 0;
  {
    sqlite::Checkpointer checkpointer(*writer, open(path), kStartPages, kLimitPages);
    for (int commit = 1; commit <= kCommits; ++commit) {
      insert_commit(*writer, commit);
      largest_wal = std::max(largest_wal, size_of(path + "-wal"));
    }
    background = checkpointer.status().background_passes;
    by_writer = checkpointer.status().writer_passes;
    // While the writer's connection is still open (closing it would checkpoint too), the
    // commits' pages are in the database file, not only in the WAL.
    CHECK(size_of(path) > file_before + 100 * kPageBytes);
  }
  INFO("background passes " << background << ", writer passes " << by_writer << ", largest WAL "
                            << largest_wal << " bytes");
  CHECK(background > 0);
  // Without checkpoints the WAL would hold every commit: 400 of them, a few dozen pages each. With
  // them it restarts once the limit is reached, so it never holds much more than the limit plus
  // the commit that crossed it.
  const std::uintmax_t commit_bound = 3 * kRowsPerCommit;  // pages one commit may write, generously
  CHECK(largest_wal <= 32 + (kLimitPages + commit_bound) * kFrameBytes);

  // Every commit is there, and the file is sound.
  writer.reset();
  Connection reader(path, Connection::Mode::read_only, 5000);
  CHECK(reader.query_text("SELECT COUNT(*) FROM commits") == std::to_string(kCommits));
  CHECK(reader.query_text("SELECT COUNT(*) FROM t") == std::to_string(kCommits * kRowsPerCommit));
  CHECK(reader.query_text("PRAGMA integrity_check") == "ok");
}

TEST_CASE("the checkpointer passes once per start_pages new pages, not after every commit",
          "[sqlite]") {
  TempDir dir;
  const auto path = dir.file("paced.db");
  auto writer = open_with_tables(path);
  // A few dozen pages a commit against a start of 300: a pass every several commits at most.
  constexpr int kCommits = 200;
  sqlite::Checkpointer checkpointer(*writer, open(path), 300, 100'000);
  for (int commit = 1; commit <= kCommits; ++commit) insert_commit(*writer, commit);
  const auto passes = checkpointer.status().background_passes;
  INFO("background passes " << passes);
  CHECK(passes > 0);
  CHECK(passes < kCommits / 3);
}

TEST_CASE("the checkpointer leaves the WAL alone below its start", "[sqlite]") {
  TempDir dir;
  const auto path = dir.file("small.db");
  auto writer = open_with_tables(path);
  sqlite::Checkpointer checkpointer(*writer, open(path), 1000, 4000);
  for (int commit = 1; commit <= 5; ++commit) insert_commit(*writer, commit);
  CHECK(checkpointer.status().background_passes == 0);
  CHECK(checkpointer.status().writer_passes == 0);
}

TEST_CASE("a store checkpoints beside its writer: its WAL stays bounded and nothing is lost",
          "[sqlite]") {
  TempDir dir;
  SqliteOptions options;
  options.path = dir.file("store.db");
  options.synchronous = "off";
  options.checkpoint_pages = 25;  // the writer's own pass at 100 pages
  std::vector<std::string> reports;
  options.on_checkpoint_report = [&](const std::string& what) { reports.push_back(what); };
  auto store = open_sqlite(options);

  // Items of ~600 bytes under keys spread over the table: each put_many touches dozens of pages.
  constexpr int kCalls = 150;
  constexpr int kItemsPerCall = 40;
  std::uintmax_t largest_wal = 0;
  const std::string padding(600, 'x');
  for (int call = 0; call < kCalls; ++call) {
    std::vector<Item> items;
    for (int i = 0; i < kItemsPerCall; ++i) {
      const int n = (i * 7919 + call * 104729) % 100000;
      items.push_back(Item{{"pk", "p#" + std::to_string(n)},
                           {"sk", std::to_string(call) + "#" + std::to_string(i)},
                           {"pad", padding}});
    }
    store->put_many("entities", items);
    largest_wal = std::max(largest_wal, size_of(options.path + "-wal"));
    // A reader now and then, as a serving store has.
    if (call % 10 == 0) CHECK(store->get("entities", {"p#0", "0#0"}).has_value());
  }
  INFO("largest WAL " << largest_wal << " bytes");
  CHECK(reports.empty());
  const auto status = store->wal_status();
  CHECK(status.checkpoints > 0);
  CHECK(!status.failing);
  CHECK(status.wal_pages > 0);
  CHECK(status.wal_pages <= 4 * 25 + 5 * kItemsPerCall);
  // At most the writer's limit (4 x 25 pages) plus the commit that crossed it: one call writes
  // about 140 pages here (a leaf and its share of splits per item), 5 an item is generous. Without
  // checkpoints the WAL would hold every call's pages, some 20,000.
  const std::uintmax_t commit_bound = 5 * kItemsPerCall;
  CHECK(largest_wal <= 32 + (4 * 25 + commit_bound) * kFrameBytes);
  store.reset();

  Connection reader(options.path, Connection::Mode::read_only, 5000);
  CHECK(reader.query_text("SELECT COUNT(*) FROM entities") ==
        std::to_string(kCalls * kItemsPerCall));
  CHECK(reader.query_text("PRAGMA integrity_check") == "ok");
}

}  // namespace cellfleet::storage::testing
