#pragma once
// What the event bus tests share: the real stores they run against (SQLite in a temp dir always,
// DynamoDB Local too when CELLFLEET_TEST_DYNAMODB_ENDPOINT is set), and a subscriber whose effect
// counts how often each event was applied, so a double application shows as a count of 2.

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <random>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "core/clock.h"
#include "core/events/dispatcher.h"
#include "core/events/outbox.h"
#include "core/ids.h"
#include "core/log.h"
#include "storage/dynamodb/dynamodb_client.h"
#include "storage/dynamodb/dynamodb_store.h"
#include "storage/schema.h"
#include "storage/sqlite/sqlite_store.h"
#include "support/server_process.h"

namespace cellfleet::events::testing {

inline const std::string kTable(kEventsTable);

inline std::vector<std::string> event_backends() {
  std::vector<std::string> names{"sqlite"};
  const char* endpoint = std::getenv("CELLFLEET_TEST_DYNAMODB_ENDPOINT");
  if (endpoint != nullptr && *endpoint != '\0') names.emplace_back("dynamodb");
  return names;
}

// Drops a test's DynamoDB tables when it ends, however it ends: DynamoDB Local keeps every table
// in memory while it runs and slows down as they pile up (with some 300 left behind, the events
// tests ran ~25 times slower and timed out), and one emulator may serve many test runs.
class TablesDroppedAtEnd {
 public:
  explicit TablesDroppedAtEnd(storage::DynamoDbOptions options) : options_(std::move(options)) {}
  ~TablesDroppedAtEnd() {
    try {
      storage::dynamodb::DynamoDbClient client(options_.client);
      for (const auto& table : storage::logical_schema()) {
        client.call("DeleteTable", {{"TableName", options_.table_prefix + table.name}});
      }
    } catch (const std::exception&) {
      // Left behind in an emulator that forgets everything when it stops: not worth a failure.
    }
  }
  TablesDroppedAtEnd(const TablesDroppedAtEnd&) = delete;
  TablesDroppedAtEnd& operator=(const TablesDroppedAtEnd&) = delete;

 private:
  storage::DynamoDbOptions options_;
};

// A fresh store of the named backend whose TTL "now" follows clock. On DynamoDB every call makes
// its own tables (a random prefix), since outbox and lease partitions are global, not per test,
// and drops them when the OpenedStore goes.
struct OpenedStore {
  std::unique_ptr<cellfleet::testing::TempDir> dir;
  std::unique_ptr<TablesDroppedAtEnd> tables;  // after the store is closed
  std::unique_ptr<storage::Store> store;
};

inline OpenedStore open_store(const std::string& backend, const Clock& clock) {
  OpenedStore opened;
  auto now = [&clock] { return clock.epoch_seconds(); };
  if (backend == "sqlite") {
    opened.dir = std::make_unique<cellfleet::testing::TempDir>();
    storage::SqliteOptions options;
    options.path = (opened.dir->path() / "cellfleet.db").string();
    options.synchronous = "off";  // a test database need not survive power loss
    options.now_epoch_seconds = now;
    opened.store = storage::open_sqlite(options);
    return opened;
  }
  ::setenv("AWS_ACCESS_KEY_ID", "local", 0);
  ::setenv("AWS_SECRET_ACCESS_KEY", "local", 0);
  storage::DynamoDbOptions options;
  options.client.endpoint = std::getenv("CELLFLEET_TEST_DYNAMODB_ENDPOINT");
  options.client.region = "us-east-1";
  options.table_prefix = "events" + std::to_string(std::random_device{}()) + "-";
  options.streams = false;  // the emulator slows with every stream record it keeps
  options.now_epoch_seconds = now;
  storage::migrate_dynamodb(options);
  opened.tables = std::make_unique<TablesDroppedAtEnd>(options);
  opened.store = storage::open_dynamodb(options);
  return opened;
}

// A logger that drops everything below error into /dev/null, so expected handler failures do
// not clutter the test output.
class QuietLogger {
 public:
  QuietLogger() : sink_(std::fopen("/dev/null", "w")), logger_(LogLevel::error, sink_) {}
  ~QuietLogger() { std::fclose(sink_); }
  Logger& get() { return logger_; }

 private:
  std::FILE* sink_;
  Logger logger_;
};

// What every events test sets up on one backend: a clock, a fresh store, a quiet logger,
// metrics and an id generator. Tests name the parts they use:
//   EventWorld<SystemClock> world(backend);
//   auto [clock, store, log, metrics, ids] = world.parts();
template <typename ClockType>
class EventWorld {
 public:
  template <typename... ClockArgs>
  explicit EventWorld(const std::string& backend, ClockArgs&&... clock_args)
      : clock_(std::forward<ClockArgs>(clock_args)...),
        opened_(open_store(backend, clock_)),
        ids_(clock_) {}

  std::tuple<ClockType&, storage::Store&, QuietLogger&, MetricsRegistry&, IdGenerator&> parts() {
    return {clock_, *opened_.store, log_, metrics_, ids_};
  }

 private:
  ClockType clock_;
  OpenedStore opened_;
  QuietLogger log_;
  MetricsRegistry metrics_;
  IdGenerator ids_;
};

inline Event make_event(IdGenerator& ids, const Clock& clock, const std::string& org,
                        const std::string& subject, const std::string& type,
                        nlohmann::json data = nlohmann::json::object()) {
  return Event{ids.next("evt"), type, org, subject, clock.epoch_millis(), std::move(data)};
}

inline void publish(storage::Store& store, const std::vector<Event>& events) {
  storage::WriteBatch batch;
  for (const auto& event : events) add_event(batch, event);
  store.write(batch);
}

inline storage::Key applied_key(const std::string& subscriber, const std::string& event_id) {
  return {"applied#" + subscriber, event_id};
}

// The effect of the counting subscriber: applied#<subscriber>/<event id> {count: n}, written
// with the version it read, as a real read-modify-write subscriber would.
inline void count_application(storage::Store& store, const std::string& subscriber,
                              const Event& event, storage::WriteBatch& effects) {
  const storage::Key key = applied_key(subscriber, event.id);
  const auto current = store.get(kTable, key);
  const std::int64_t count = current ? current->value("count", std::int64_t{0}) : 0;
  const std::int64_t version = current ? current->value("version", std::int64_t{0}) : 0;
  effects.ops.emplace_back(storage::Update{
      kTable,
      key,
      {{"count", count + 1}, {"version", version + 1}},
      {},
      current ? storage::Condition::version_is(version) : storage::Condition::must_not_exist()});
}

inline Handler counting_handler(storage::Store& store, const std::string& subscriber) {
  return [&store, subscriber](const Event& event, storage::WriteBatch& effects) {
    count_application(store, subscriber, event, effects);
  };
}

inline std::int64_t applied_count(storage::Store& store, const std::string& subscriber,
                                  const std::string& event_id) {
  const auto item = store.get(kTable, applied_key(subscriber, event_id));
  return item ? item->value("count", std::int64_t{0}) : 0;
}

// Every item of one partition, all pages.
inline std::vector<storage::Item> partition_items(storage::Store& store,
                                                  const std::string& partition) {
  std::vector<storage::Item> items;
  storage::Query query;
  query.table = kTable;
  query.partition = partition;
  query.limit = 1000;
  do {
    auto page = store.query(query);
    for (auto& item : page.items) items.push_back(std::move(item));
    query.cursor = page.next_cursor;
  } while (!query.cursor.empty());
  return items;
}

inline std::size_t outbox_size(storage::Store& store) {
  std::size_t size = 0;
  for (std::size_t shard = 0; shard < kOutboxShards; ++shard) {
    size += partition_items(store, outbox_partition(shard)).size();
  }
  return size;
}

// Delivery passes, the clock moved on by step after each (so retries fall due), until the outbox
// is empty or passes have run.
inline void deliver_passes(Dispatcher& dispatcher, storage::Store& store, ManualClock& clock,
                           int passes, std::chrono::seconds step) {
  for (int pass = 0; pass < passes && outbox_size(store) > 0; ++pass) {
    dispatcher.run_once();
    clock.advance(step);
  }
}

inline Clock::time_point test_start() {
  // Real time, so TTLs written by the tests are in the future for DynamoDB Local too.
  return std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
}

}  // namespace cellfleet::events::testing
