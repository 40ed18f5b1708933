// Durability: a write that write() acknowledged survives the process being killed at any moment.

#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <random>
#include <thread>

#include "sqlite/temp_dir.h"
#include "storage/sqlite/sqlite_store.h"

namespace cellfleet::storage::testing {

namespace {

SqliteOptions crash_options(const std::string& path) {
  SqliteOptions options;
  options.path = path;  // synchronous stays at its default, "full"
  // A checkpoint every couple of commits, and one by the writer every few, so that kills land in
  // the middle of checkpoints too.
  options.checkpoint_pages = 2;
  // A telemetry log pass every few batches, so that kills land in passes too.
  options.telemetry_log_rows = 40;
  return options;
}

// The child: calls write_one(0), write_one(1), ..., and reports each number on the pipe only after
// the call returned. It never returns; it runs until killed.
template <typename Write>
[[noreturn]] void write_until_killed(const std::string& path, int report_fd, Write write_one) {
  try {
    auto store = open_sqlite(crash_options(path));
    for (std::uint32_t i = 0;; ++i) {
      write_one(*store, i);
      if (::write(report_fd, &i, sizeof i) != sizeof i) _exit(2);
    }
  } catch (...) {
    _exit(3);
  }
}

// Runs write_until_killed in a child, kills it at a random moment (most likely in the middle of a
// commit) and returns the numbers it acknowledged.
template <typename Write>
std::vector<std::uint32_t> acknowledged_before_kill(const std::string& path, Write write_one) {
  std::random_device seed;
  std::mt19937 random(seed());
  const auto kill_after_acks = std::uniform_int_distribution<std::uint32_t>(20, 200)(random);
  const auto extra_delay_us = std::uniform_int_distribution<int>(0, 20000)(random);

  int fds[2];
  REQUIRE(pipe(fds) == 0);
  const pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    close(fds[0]);
    write_until_killed(path, fds[1], write_one);
  }
  close(fds[1]);

  std::vector<std::uint32_t> acknowledged;
  std::uint32_t number = 0;
  while (acknowledged.size() < kill_after_acks &&
         read(fds[0], &number, sizeof number) == sizeof number) {
    acknowledged.push_back(number);
  }
  std::this_thread::sleep_for(std::chrono::microseconds(extra_delay_us));
  REQUIRE(kill(child, SIGKILL) == 0);
  // Reports already in the pipe were acknowledged before the kill.
  while (read(fds[0], &number, sizeof number) == sizeof number) acknowledged.push_back(number);
  close(fds[0]);
  int status = 0;
  REQUIRE(waitpid(child, &status, 0) == child);
  REQUIRE(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == SIGKILL);
  REQUIRE(acknowledged.size() >= kill_after_acks);
  return acknowledged;
}

std::string time_key(std::uint32_t i) {
  std::string key = std::to_string(i);
  return "t" + std::string(8 - key.size(), '0') + key;
}

}  // namespace

TEST_CASE("every write acknowledged before the process is killed is there after reopening",
          "[sqlite][durability]") {
  TempDir dir;
  const auto path = dir.file("crash.db");
  const auto acknowledged = acknowledged_before_kill(path, [](Store& store, std::uint32_t i) {
    store.write({{Put{"entities", Item{{"pk", "crash"}, {"sk", std::to_string(i)}, {"i", i}},
                      Condition::must_not_exist()}}});
  });
  auto store = open_sqlite(crash_options(path));
  std::size_t missing = 0;
  for (const auto i : acknowledged) {
    if (!store->get("entities", {"crash", std::to_string(i)})) ++missing;
  }
  INFO(acknowledged.size() << " writes acknowledged before the kill");
  CHECK(missing == 0);
}

TEST_CASE("every reading put_many acknowledged before a kill is there once in the log or the table",
          "[sqlite][durability]") {
  TempDir dir;
  const auto path = dir.file("crash.db");
  // Each call: reading i of five packs, and a new value of one key every call overwrites.
  const auto acknowledged = acknowledged_before_kill(path, [](Store& store, std::uint32_t i) {
    std::vector<Item> batch;
    for (int pack = 0; pack < 5; ++pack) {
      batch.push_back(Item{{"pk", "pack" + std::to_string(pack)}, {"sk", time_key(i)}, {"i", i}});
    }
    batch.push_back(Item{{"pk", "pack0"}, {"sk", "z-latest"}, {"i", i}});
    store.put_many("telemetry", batch);
    // The background pass looks once a second; a pass every few calls makes kills land in them.
    if (i % 4 == 3) dynamic_cast<SqliteStore&>(store).compact_log();
  });
  auto store = open_sqlite(crash_options(path));
  std::size_t missing = 0;
  for (const auto i : acknowledged) {
    for (int pack = 0; pack < 5; ++pack) {
      const auto got = store->get("telemetry", {"pack" + std::to_string(pack), time_key(i)});
      if (!got || got->at("i") != i) ++missing;
    }
  }
  INFO(acknowledged.size() << " batches acknowledged before the kill");
  CHECK(missing == 0);
  // The overwritten key holds the last acknowledged value, or one written after it.
  CHECK(store->get("telemetry", {"pack0", "z-latest"})->at("i").get<std::uint32_t>() >=
        acknowledged.back());
  // No reading twice, none lost, whether the log or the table holds it.
  for (int pack = 0; pack < 5; ++pack) {
    Query q;
    q.table = "telemetry";
    q.partition = "pack" + std::to_string(pack);
    q.sort = SortCondition{SortCondition::Op::begins_with, "t", ""};
    q.limit = 7;
    std::vector<std::uint32_t> seen;
    for (;;) {
      auto page = store->query(q);
      for (const auto& item : page.items) seen.push_back(item.at("i").get<std::uint32_t>());
      if (page.next_cursor.empty()) break;
      q.cursor = page.next_cursor;
    }
    INFO("pack " << pack);
    REQUIRE(seen.size() >= acknowledged.size());
    for (std::size_t k = 0; k < seen.size(); ++k) CHECK(seen[k] == k);
  }
  store->compact_log();
  CHECK(store->telemetry_log_rows() == 0);
  CHECK(store->get("telemetry", {"pack3", time_key(acknowledged.back())})->at("i") ==
        acknowledged.back());
}

}  // namespace cellfleet::storage::testing
