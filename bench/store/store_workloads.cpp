#include "store_workloads.h"

#include <fmt/format.h>

#include <memory>

#include "telemetry.h"

namespace cellfleet::bench {
namespace {

using storage::Item;
using storage::Key;
using storage::Store;

const std::string kTable = "entities";
constexpr std::size_t kPreloadedReadings = 20'000;  // the keys get reads
constexpr std::size_t kQueryPartitions = 100;

std::string query_partition(std::size_t index) {
  return fmt::format("org_bench#qdev_{:03}", index);
}

// What the read operations need: readings spread over the fleet, whose keys get picks from, and
// partitions of exactly kQueryPartitionItems readings that no write phase touches.
std::vector<Key> preload(Store& store, TelemetrySource& source) {
  std::mt19937_64 rng(20261126);
  std::vector<Key> keys;
  std::vector<Item> chunk;
  const auto flush = [&] {
    store.put_many(kTable, chunk);
    chunk.clear();
  };
  for (std::size_t i = 0; i < kPreloadedReadings; ++i) {
    const Reading reading = source.next(rng);
    keys.push_back({reading.pk, reading.sk});
    chunk.push_back(to_item(reading));
    if (chunk.size() == kPutManyItems) flush();
  }
  for (std::size_t p = 0; p < kQueryPartitions; ++p) {
    for (std::size_t i = 0; i < kQueryPartitionItems; ++i) {
      chunk.push_back(to_item(source.next_in(query_partition(p), rng)));
      if (chunk.size() == kPutManyItems) flush();
    }
  }
  if (!chunk.empty()) flush();
  return keys;
}

storage::Put put_of(const Reading& reading) {
  return {kTable, to_item(reading), storage::Condition::must_not_exist()};
}

NextCall single_put(Store& store, TelemetrySource& source) {
  return [&store, &source](std::mt19937_64& rng) -> Call {
    auto batch = std::make_shared<storage::WriteBatch>();
    batch->ops.emplace_back(put_of(source.next(rng)));
    return [&store, batch] { store.write(*batch); };
  };
}

NextCall random_get(Store& store, const std::vector<Key>& keys) {
  return [&store, &keys](std::mt19937_64& rng) -> Call {
    const Key& key = keys[std::uniform_int_distribution<std::size_t>(0, keys.size() - 1)(rng)];
    return [&store, &key] {
      if (!store.get(kTable, key)) throw std::runtime_error("get found no item at " + key.pk);
    };
  };
}

NextCall partition_query(Store& store) {
  return [&store](std::mt19937_64& rng) -> Call {
    auto query = std::make_shared<storage::Query>();
    query->table = kTable;
    query->partition =
        query_partition(std::uniform_int_distribution<std::size_t>(0, kQueryPartitions - 1)(rng));
    query->limit = kQueryLimit;
    return [&store, query] {
      const auto page = store.query(*query);
      if (page.items.size() != kQueryLimit || page.next_cursor.empty()) {
        throw std::runtime_error(
            fmt::format("query of {} returned {} items", query->partition, page.items.size()));
      }
    };
  };
}

NextCall batch_write(Store& store, TelemetrySource& source) {
  return [&store, &source](std::mt19937_64& rng) -> Call {
    auto batch = std::make_shared<storage::WriteBatch>();
    for (std::size_t i = 0; i < kBatchPuts; ++i) batch->ops.emplace_back(put_of(source.next(rng)));
    return [&store, batch] { store.write(*batch); };
  };
}

NextCall bulk_put(Store& store, TelemetrySource& source) {
  return [&store, &source](std::mt19937_64& rng) -> Call {
    auto items = std::make_shared<std::vector<Item>>();
    items->reserve(kPutManyItems);
    for (std::size_t i = 0; i < kPutManyItems; ++i) items->push_back(to_item(source.next(rng)));
    return [&store, items] { store.put_many(kTable, *items); };
  };
}

}  // namespace

void run_store_operations(const std::string& backend, Store& store, const RunOptions& options,
                          Operations operations,
                          const std::function<void(const Measurement&)>& report) {
  TelemetrySource source;
  const bool reads = operations == Operations::all;
  std::vector<Key> keys;
  if (reads) {
    fmt::print(stderr, "{}: loading {} readings and {} query partitions\n", backend,
               kPreloadedReadings, kQueryPartitions);
    keys = preload(store, source);
  }
  const auto run = [&](const char* operation, std::size_t items_per_op, const NextCall& next) {
    fmt::print(stderr, "{}: {} for {:g} s\n", backend, operation, options.duration.count());
    report(measure(backend, operation, items_per_op, options, next));
  };
  run(kPutOperation, 1, single_put(store, source));
  if (reads) {
    run(kGetOperation, 1, random_get(store, keys));
    run(kQueryOperation, kQueryLimit, partition_query(store));
  }
  run(kBatchOperation, kBatchPuts, batch_write(store, source));
  run(kPutManyOperation, kPutManyItems, bulk_put(store, source));
}

}  // namespace cellfleet::bench
