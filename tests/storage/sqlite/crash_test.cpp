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

// The child: writes items 0, 1, 2, ... one batch each, and reports each number on the pipe only
// after write() returned. It never returns; it runs until killed.
[[noreturn]] void write_until_killed(const std::string& path, int report_fd) {
  try {
    SqliteOptions options;
    options.path = path;  // synchronous stays at its default, "full"
    // A checkpoint every couple of commits, and one by the writer every few, so that kills land in
    // the middle of checkpoints too.
    options.checkpoint_pages = 2;
    auto store = open_sqlite(options);
    for (std::uint32_t i = 0;; ++i) {
      store->write({{Put{"entities", Item{{"pk", "crash"}, {"sk", std::to_string(i)}, {"i", i}},
                         Condition::must_not_exist()}}});
      if (::write(report_fd, &i, sizeof i) != sizeof i) _exit(2);
    }
  } catch (...) {
    _exit(3);
  }
}

}  // namespace

TEST_CASE("every write acknowledged before the process is killed is there after reopening",
          "[sqlite][durability]") {
  TempDir dir;
  const auto path = dir.file("crash.db");
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
    write_until_killed(path, fds[1]);
  }
  close(fds[1]);

  std::vector<std::uint32_t> acknowledged;
  std::uint32_t number = 0;
  while (acknowledged.size() < kill_after_acks &&
         read(fds[0], &number, sizeof number) == sizeof number) {
    acknowledged.push_back(number);
  }
  // Kill at a random moment, most likely in the middle of a commit.
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
  SqliteOptions options;
  options.path = path;
  auto store = open_sqlite(options);
  std::size_t missing = 0;
  for (const auto i : acknowledged) {
    if (!store->get("entities", {"crash", std::to_string(i)})) ++missing;
  }
  INFO(acknowledged.size() << " writes acknowledged before the kill");
  CHECK(missing == 0);
}

}  // namespace cellfleet::storage::testing
