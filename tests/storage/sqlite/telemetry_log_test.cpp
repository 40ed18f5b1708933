// The telemetry log (append_log.cpp): put_many on the telemetry table appends, a pass moves the
// log into the table, and every read merges what is not moved yet, so the table behaves as if
// each put_many had written it directly. Checked against a model under random puts, resends,
// expiry, write() calls, passes and reopenings, and against readers racing passes.

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <map>
#include <random>
#include <thread>

#include "sqlite/temp_dir.h"
#include "storage/sqlite/connection.h"
#include "storage/sqlite/sqlite_store.h"

namespace cellfleet::storage::testing {

namespace {

constexpr const char* kTelemetry = "telemetry";
constexpr std::int64_t kNow = 1'800'000'000;

std::int64_t count_rows(const std::string& path, const std::string& table) {
  sqlite::Connection db(path, sqlite::Connection::Mode::read_only, 1000);
  return std::stoll(db.query_text("SELECT COUNT(*) FROM " + table));
}

Item reading(const std::string& pk, const std::string& sk, std::int64_t value,
             std::optional<std::int64_t> expires_at = std::nullopt) {
  Item item{{"pk", pk}, {"sk", sk}, {"value", value}};
  if (expires_at) item["expires_at"] = *expires_at;
  return item;
}

Query partition(const std::string& pk, std::size_t limit) {
  Query q;
  q.table = kTelemetry;
  q.partition = pk;
  q.limit = limit;
  return q;
}

// Every item of the query, following cursors, with the page size given.
std::vector<Item> read_all(Store& store, Query q) {
  std::vector<Item> all;
  for (int pages = 0; pages < 1000; ++pages) {
    auto page = store.query(q);
    all.insert(all.end(), page.items.begin(), page.items.end());
    if (page.next_cursor.empty()) return all;
    q.cursor = page.next_cursor;
  }
  FAIL("the query did not end after 1000 pages");
  return all;
}

struct Options {
  TempDir dir;
  SqliteOptions options;
  std::atomic<std::int64_t> now{kNow};

  explicit Options(std::size_t log_rows) {
    options.path = dir.file("telemetry.db");
    options.synchronous = "off";
    options.telemetry_log_rows = log_rows;
    options.now_epoch_seconds = [this] { return now.load(); };
  }
};

}  // namespace

TEST_CASE("put_many on telemetry appends to the log, and reads find it before and after a pass",
          "[sqlite]") {
  Options o(1'000'000);  // no background pass: the test runs them
  auto store = open_sqlite(o.options);
  std::vector<Item> batch;
  for (int i = 0; i < 300; ++i)
    batch.push_back(reading("pack" + std::to_string(i % 3), "t" + std::to_string(1000 + i), i));
  store->put_many(kTelemetry, batch);

  CHECK(store->telemetry_log_rows() == 300);
  CHECK(count_rows(o.options.path, "telemetry_log") == 300);
  CHECK(count_rows(o.options.path, "telemetry") == 0);
  CHECK(store->get(kTelemetry, {"pack1", "t1004"})->at("value") == 4);
  Query q = partition("pack2", 7);
  CHECK(read_all(*store, q).size() == 100);

  CHECK(store->compact_log() == 300);
  CHECK(store->telemetry_log_rows() == 0);
  CHECK(count_rows(o.options.path, "telemetry_log") == 0);
  CHECK(count_rows(o.options.path, "telemetry_log_pass") == 0);
  CHECK(count_rows(o.options.path, "telemetry") == 300);
  CHECK(store->get(kTelemetry, {"pack1", "t1004"})->at("value") == 4);
  CHECK(read_all(*store, q).size() == 100);
  CHECK(store->compact_log() == 0);

  SECTION("the log is loaded again when the store reopens") {
    store->put_many(kTelemetry, {reading("pack0", "t1000", 77), reading("pack9", "t1", 1)});
    store.reset();
    store = open_sqlite(o.options);
    CHECK(store->telemetry_log_rows() == 2);
    CHECK(store->get(kTelemetry, {"pack0", "t1000"})->at("value") == 77);
    CHECK(store->get(kTelemetry, {"pack9", "t1"})->at("value") == 1);
    CHECK(read_all(*store, partition("pack0", 1000)).size() == 100);
  }
  SECTION("telemetry_log_rows = 0 writes the table directly") {
    store.reset();
    o.options.telemetry_log_rows = 0;
    store = open_sqlite(o.options);
    store->put_many(kTelemetry, {reading("pack0", "t1000", 78)});
    CHECK(store->telemetry_log_rows() == 0);
    CHECK(count_rows(o.options.path, "telemetry_log") == 0);
    CHECK(store->get(kTelemetry, {"pack0", "t1000"})->at("value") == 78);
  }
}

TEST_CASE("the background pass moves the log once it holds telemetry_log_rows rows", "[sqlite]") {
  Options o(50);
  auto store = open_sqlite(o.options);
  std::vector<Item> batch;
  for (int i = 0; i < 120; ++i)
    batch.push_back(reading("p" + std::to_string(i % 7), "t" + std::to_string(i), i));
  store->put_many(kTelemetry, batch);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while ((store->telemetry_log_rows() > 0 || count_rows(o.options.path, "telemetry_log") > 0) &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  CHECK(store->telemetry_log_rows() == 0);
  CHECK(count_rows(o.options.path, "telemetry_log") == 0);
  CHECK(count_rows(o.options.path, "telemetry") == 120);
  CHECK(read_all(*store, partition("p3", 5)).size() == 17);
}

TEST_CASE("a pass a crash interrupted is finished when the store opens", "[sqlite]") {
  Options o(1'000'000);
  {
    auto store = open_sqlite(o.options);
    store->put_many(kTelemetry, {reading("a", "t1", 1), reading("b", "t1", 2),
                                 reading("c", "t1", 3), reading("a", "t2", 4)});
  }
  {
    // What a pass leaves after its first transaction: partitions up to "b" moved, the log intact.
    sqlite::Connection db(o.options.path, sqlite::Connection::Mode::read_write, 1000);
    db.exec(
        "INSERT INTO telemetry (pk, sk, version, expires_at, body) "
        "SELECT pk, sk, version, expires_at, body FROM telemetry_log WHERE pk <= 'b';"
        "INSERT INTO telemetry_log_pass (id, through_seq, through_pk) VALUES (1, 4, 'b');"
        // A newer value for a moved item, put after the pass began: it must stay in the log.
        "INSERT INTO telemetry_log (seq, pk, sk, body) "
        "SELECT 5, 'a', 't1', body FROM telemetry_log WHERE seq = 3;");
  }
  auto store = open_sqlite(o.options);
  CHECK(count_rows(o.options.path, "telemetry_log_pass") == 0);
  CHECK(count_rows(o.options.path, "telemetry_log") == 2);  // c's row and the newer a/t1
  CHECK(store->telemetry_log_rows() == 2);
  CHECK(store->get(kTelemetry, {"a", "t1"})->at("value") == 3);
  CHECK(store->get(kTelemetry, {"a", "t2"})->at("value") == 4);
  CHECK(store->get(kTelemetry, {"b", "t1"})->at("value") == 2);
  CHECK(store->get(kTelemetry, {"c", "t1"})->at("value") == 3);
  CHECK(read_all(*store, partition("a", 1)).size() == 2);
  CHECK(store->compact_log() == 2);
  CHECK(store->get(kTelemetry, {"a", "t1"})->at("value") == 3);
}

TEST_CASE("the logged telemetry table answers as the model does under random operations",
          "[sqlite]") {
  for (const unsigned seed : {1u, 2u, 3u, 4u}) {
    DYNAMIC_SECTION("seed " << seed) {
      std::mt19937 random(seed);
      auto pick = [&random](int n) { return static_cast<int>(random() % n); };
      Options o(1'000'000);
      auto store = open_sqlite(o.options);
      std::map<std::pair<std::string, std::string>, Item> model;  // live and expired items
      const std::vector<std::string> partitions = {"p0", "p1", "p2"};
      auto sk_of = [&] { return "t" + std::to_string(100 + pick(40)); };
      std::int64_t value = 0;

      for (int step = 0; step < 120; ++step) {
        INFO("step " << step);
        const int action = pick(10);
        if (action < 5) {
          std::vector<Item> batch;
          for (int i = pick(30); i >= 0; --i) {
            std::optional<std::int64_t> expires;
            if (pick(6) == 0) expires = o.now.load() + pick(5);  // some expire as the clock moves
            batch.push_back(reading(partitions[pick(3)], sk_of(), ++value, expires));
          }
          store->put_many(kTelemetry, batch);
          for (const auto& item : batch) model[{item["pk"], item["sk"]}] = item;
        } else if (action == 5) {
          store->compact_log();
        } else if (action == 6) {
          // write() to a partition with rows in the log: conditions see the item as reads do.
          const Key key{partitions[pick(3)], sk_of()};
          const auto it = model.find({key.pk, key.sk});
          const bool live =
              it != model.end() && (!it->second.contains("expires_at") ||
                                    it->second["expires_at"].get<std::int64_t>() > o.now.load());
          if (pick(2) == 0) {
            ++value;
            if (live || value % 2 == 0) {
              store->write(
                  {{Update{kTelemetry,
                           key,
                           {{"value", value}},
                           {},
                           live ? Condition::must_exist() : Condition::must_not_exist()}}});
            } else {
              // A conditional Put: one statement (put_if) once the partition is flushed.
              store->write(
                  {{Put{kTelemetry, reading(key.pk, key.sk, value), Condition::must_not_exist()}}});
            }
            Item updated = live ? it->second : Item{{"pk", key.pk}, {"sk", key.sk}};
            updated["value"] = value;
            model[{key.pk, key.sk}] = updated;
            CHECK_THROWS_AS(store->write({{Put{kTelemetry, reading(key.pk, key.sk, value + 1000),
                                               Condition::must_not_exist()}}}),
                            ConditionFailed);
          } else {
            CHECK_THROWS_AS(store->write({{Delete{
                                kTelemetry, key,
                                live ? Condition::must_not_exist() : Condition::must_exist()}}}),
                            ConditionFailed);
            store->write({{Delete{kTelemetry, key, Condition::none()}}});
            model.erase({key.pk, key.sk});
          }
        } else if (action == 7) {
          store.reset();
          store = open_sqlite(o.options);
        } else if (action == 8) {
          o.now += 1;
        }

        // Every partition, both directions, a random page size and sort condition.
        for (const auto& pk : partitions) {
          Query q = partition(pk, static_cast<std::size_t>(1 + pick(6)));
          q.forward = pick(2) == 0;
          const auto low = sk_of();
          const auto high = sk_of();
          switch (pick(4)) {
            case 0:
              break;
            case 1:
              q.sort = SortCondition{SortCondition::Op::ge, low, ""};
              break;
            case 2:
              q.sort = SortCondition{SortCondition::Op::between, std::min(low, high),
                                     std::max(low, high)};
              break;
            case 3:
              q.sort = SortCondition{SortCondition::Op::begins_with, low.substr(0, 2), ""};
              break;
          }
          std::vector<Item> expected;
          for (const auto& [key, item] : model) {
            if (key.first != pk) continue;
            if (item.contains("expires_at") &&
                item["expires_at"].get<std::int64_t>() <= o.now.load()) {
              continue;
            }
            const auto& sk = key.second;
            if (q.sort && q.sort->op == SortCondition::Op::ge && sk < q.sort->value) continue;
            if (q.sort && q.sort->op == SortCondition::Op::between &&
                (sk < q.sort->value || sk > q.sort->upper)) {
              continue;
            }
            if (q.sort && q.sort->op == SortCondition::Op::begins_with &&
                sk.rfind(q.sort->value, 0) != 0) {
              continue;
            }
            expected.push_back(item);
          }
          if (!q.forward) std::reverse(expected.begin(), expected.end());
          INFO("partition " << pk << " limit " << q.limit << " forward " << q.forward);
          CHECK(read_all(*store, q) == expected);
        }
        const Key key{partitions[pick(3)], sk_of()};
        const auto it = model.find({key.pk, key.sk});
        std::optional<Item> expected;
        if (it != model.end() && (!it->second.contains("expires_at") ||
                                  it->second["expires_at"].get<std::int64_t>() > o.now.load())) {
          expected = it->second;
        }
        CHECK(store->get(kTelemetry, key) == expected);
      }
      // The background pass would have run long ago; after a last one the log is empty.
      store->compact_log();
      CHECK(store->telemetry_log_rows() == 0);
      CHECK(count_rows(o.options.path, "telemetry_log") == 0);
    }
  }
}

TEST_CASE("readers racing passes see every acknowledged reading exactly once", "[sqlite]") {
  Options o(1'000'000);
  auto store = open_sqlite(o.options);
  constexpr int kBatches = 150;
  constexpr int kPacks = 20;
  std::atomic<int> acknowledged{0};  // batches whose put_many returned
  std::atomic<bool> done{false};
  std::thread writer([&] {
    for (int b = 0; b < kBatches; ++b) {
      std::vector<Item> batch;
      for (int p = 0; p < kPacks; ++p) {
        batch.push_back(reading("pack" + std::to_string(p), "t" + std::to_string(10000 + b), b));
      }
      store->put_many(kTelemetry, batch);
      acknowledged = b + 1;
    }
    done = true;
  });
  std::thread compactor([&] {
    while (!done) {
      store->compact_log();
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  });
  int reads = 0;
  int failures = 0;
  std::mt19937 random(7);
  while (!done || reads < 50) {
    const int seen_before = acknowledged.load();
    const auto pk = "pack" + std::to_string(random() % kPacks);
    const auto items = read_all(*store, partition(pk, 1 + random() % 50));
    ++reads;
    // Every acknowledged batch, in order, none twice; a batch acknowledged meanwhile may be there.
    bool ok = static_cast<int>(items.size()) >= seen_before;
    for (std::size_t i = 0; ok && i < items.size(); ++i) {
      ok = items[i].at("value") == static_cast<int>(i);
    }
    if (!ok) ++failures;
  }
  writer.join();
  compactor.join();
  CHECK(failures == 0);
  CHECK(reads >= 50);
  store->compact_log();
  CHECK(count_rows(o.options.path, "telemetry") == kBatches * kPacks);
}

TEST_CASE("a read racing a pass never shows a value older than an acknowledged one", "[sqlite]") {
  // Each round puts 400 values of one key in one call (only the last, r * 1000 + 399, is ever the
  // item's value once the call returns), then runs a pass, which moves and deletes the log while
  // the reader reads.
  Options o(1'000'000);
  auto store = open_sqlite(o.options);
  std::atomic<std::int64_t> acknowledged{-1};
  std::atomic<bool> done{false};
  std::thread writer([&] {
    for (int r = 0; r < 150; ++r) {
      std::vector<Item> batch;
      for (int i = 0; i < 400; ++i) batch.push_back(reading("p", "a", r * 1000 + i));
      store->put_many(kTelemetry, batch);
      acknowledged = r * 1000 + 399;
      store->compact_log();
    }
    done = true;
  });
  int reads = 0;
  int stale = 0;
  std::int64_t example = -1;
  while (!done) {
    const auto before = acknowledged.load();
    if (before < 0) continue;
    const auto got = store->get(kTelemetry, {"p", "a"})->at("value").get<std::int64_t>();
    const auto page = store->query(partition("p", 10));
    const auto listed = page.items.at(0).at("value").get<std::int64_t>();
    for (const auto value : {got, listed}) {
      if (value < before || value % 1000 != 399) {
        ++stale;
        example = value;
      }
    }
    ++reads;
  }
  writer.join();
  INFO(reads << " reads, e.g. " << example);
  CHECK(stale == 0);
  CHECK(reads > 0);
}

TEST_CASE("writing the table directly first moves the pack's rows a log left behind", "[sqlite]") {
  Options o(1'000'000);
  open_sqlite(o.options)->put_many(kTelemetry, {reading("p", "a", 1), reading("p", "b", 1)});
  o.options.telemetry_log_rows = 0;
  auto store = open_sqlite(o.options);
  store->put_many(kTelemetry, {reading("p", "a", 2)});
  CHECK(store->get(kTelemetry, {"p", "a"})->at("value") == 2);
  CHECK(store->get(kTelemetry, {"p", "b"})->at("value") == 1);
  store->compact_log();
  CHECK(store->get(kTelemetry, {"p", "a"})->at("value") == 2);
  CHECK(read_all(*store, partition("p", 1)).size() == 2);
}

TEST_CASE("a store opened beside the log's owner writes the table and runs no pass", "[sqlite]") {
  Options o(10);  // the owner's pass would start at once
  o.options.telemetry_log_owner = true;
  SqliteOptions beside = o.options;
  beside.telemetry_log_owner = false;
  auto cli = open_sqlite(beside);
  cli->put_many(kTelemetry, {reading("q", "a", 3)});
  CHECK(count_rows(o.options.path, "telemetry") == 1);
  std::vector<Item> batch;
  for (int i = 0; i < 30; ++i) batch.push_back(reading("p", "t" + std::to_string(i), i));
  {
    // A CLI command's store holds the log as it found it; nothing of it moves.
    SqliteOptions owner = o.options;
    owner.telemetry_log_rows = 1'000'000;
    open_sqlite(owner)->put_many(kTelemetry, batch);
  }
  auto second = open_sqlite(beside);
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // past the owner's check period
  CHECK(count_rows(o.options.path, "telemetry_log") == 30);
  CHECK(second->telemetry_log_rows() == 30);
  CHECK(read_all(*second, partition("p", 7)).size() == 30);
  // Its own writes do not collide with the owner's seqs, and the owner finds them.
  second->put_many(kTelemetry, {reading("p", "t5", 55)});
  auto owner = open_sqlite(o.options);
  CHECK(owner->get(kTelemetry, {"p", "t5"})->at("value") == 55);
  CHECK(owner->get(kTelemetry, {"q", "a"})->at("value") == 3);
  CHECK(read_all(*owner, partition("p", 7)).size() == 30);
}

}  // namespace cellfleet::storage::testing
