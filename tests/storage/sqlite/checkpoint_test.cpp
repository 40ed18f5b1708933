// The background checkpointer copies the WAL into the database file beside the writer, and the
// writer's own pass at the limit keeps the WAL file bounded however fast commits come.

#include <catch2/catch.hpp>

#include <sqlite3.h>

#include <filesystem>
#include <string>

#include "sqlite/temp_dir.h"
#include "storage/sqlite/checkpointer.h"
#include "storage/sqlite/connection.h"

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
  auto writer = open(path);
  writer->exec(
      "CREATE TABLE t (k INTEGER, v BLOB); CREATE INDEX t_k ON t (k);"
      "CREATE TABLE commits (n INTEGER PRIMARY KEY)");
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
    background = checkpointer.background_passes();
    by_writer = checkpointer.writer_passes();
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
  auto writer = open(path);
  writer->exec(
      "CREATE TABLE t (k INTEGER, v BLOB); CREATE INDEX t_k ON t (k);"
      "CREATE TABLE commits (n INTEGER PRIMARY KEY)");
  // A few dozen pages a commit against a start of 300: a pass every several commits at most.
  constexpr int kCommits = 200;
  sqlite::Checkpointer checkpointer(*writer, open(path), 300, 100'000);
  for (int commit = 1; commit <= kCommits; ++commit) insert_commit(*writer, commit);
  const auto passes = checkpointer.background_passes();
  INFO("background passes " << passes);
  CHECK(passes > 0);
  CHECK(passes < kCommits / 3);
}

TEST_CASE("the checkpointer leaves the WAL alone below its start", "[sqlite]") {
  TempDir dir;
  const auto path = dir.file("small.db");
  auto writer = open(path);
  writer->exec("CREATE TABLE t (k INTEGER, v BLOB); CREATE TABLE commits (n INTEGER PRIMARY KEY)");
  sqlite::Checkpointer checkpointer(*writer, open(path), 1000, 4000);
  for (int commit = 1; commit <= 5; ++commit) insert_commit(*writer, commit);
  CHECK(checkpointer.background_passes() == 0);
  CHECK(checkpointer.writer_passes() == 0);
}

}  // namespace cellfleet::storage::testing
