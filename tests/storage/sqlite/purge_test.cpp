// The TTL purge removes expired rows from the file, in bounded steps, by call or in the background.

#include <catch2/catch.hpp>

#include <chrono>
#include <thread>

#include "sqlite/temp_dir.h"
#include "storage/sqlite/connection.h"
#include "storage/sqlite/sqlite_store.h"

namespace cellfleet::storage::testing {

namespace {

constexpr std::int64_t kNow = 1'800'000'000;

std::int64_t rows_in_file(const std::string& path) {
  sqlite::Connection db(path, sqlite::Connection::Mode::read_only, 1000);
  return std::stoll(db.query_text("SELECT COUNT(*) FROM entities"));
}

std::vector<Item> items(const std::string& pk, int count, std::optional<std::int64_t> expires_at) {
  std::vector<Item> result;
  for (int i = 0; i < count; ++i) {
    Item item{{"pk", pk}, {"sk", std::to_string(i)}};
    if (expires_at) item["expires_at"] = *expires_at;
    result.push_back(item);
  }
  return result;
}

}  // namespace

TEST_CASE("purge_expired deletes only expired rows, and no more than it is allowed per call",
          "[sqlite]") {
  TempDir dir;
  SqliteOptions options;
  options.path = dir.file("purge.db");
  options.synchronous = "off";
  options.now_epoch_seconds = [] { return kNow; };
  auto store = open_sqlite(options);
  store->put_many("entities", items("expired", 1200, kNow));
  store->put_many("entities", items("later", 5, kNow + 100));
  store->put_many("entities", items("forever", 5, std::nullopt));

  CHECK(store->purge_expired(kNow, 1000) == 1000);
  CHECK(rows_in_file(options.path) == 210);
  CHECK(store->purge_expired(kNow, 1000) == 200);
  CHECK(store->purge_expired(kNow, 1000) == 0);
  CHECK(rows_in_file(options.path) == 10);
  CHECK(store->get("entities", {"later", "0"}));

  CHECK(store->purge_expired(kNow + 100, 1000) == 5);
  CHECK(rows_in_file(options.path) == 5);
}

TEST_CASE("the background purge removes expired rows and stops when the store closes", "[sqlite]") {
  TempDir dir;
  SqliteOptions options;
  options.path = dir.file("background.db");
  options.synchronous = "off";
  options.now_epoch_seconds = [] { return kNow; };
  options.ttl_purge_interval = std::chrono::milliseconds(10);
  auto store = open_sqlite(options);
  store->put_many("entities", items("expired", 50, kNow - 1));
  store->put_many("entities", items("kept", 3, kNow + 1));

  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (rows_in_file(options.path) > 3 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  CHECK(rows_in_file(options.path) == 3);

  const auto closing = std::chrono::steady_clock::now();
  store.reset();
  // The destructor wakes the purge thread instead of waiting out its interval.
  CHECK(std::chrono::steady_clock::now() - closing < std::chrono::seconds(2));
}

}  // namespace cellfleet::storage::testing
