#pragma once
// What every contract test is given: a fresh store of one backend, the clock it reads, and a
// partition-key prefix unique to this run so tests can share real DynamoDB tables.

#include <catch2/catch.hpp>

#include <atomic>
#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "contract/backends.h"
#include "storage/store.h"

namespace cellfleet::storage::testing {

inline constexpr std::int64_t kStartOfTime = 1'800'000'000;  // 2027-01-15, an arbitrary "now"
inline constexpr const char* kTable = "entities";

struct Fixture {
  Store& store;
  std::atomic<std::int64_t>& now;
  std::string prefix;

  std::string pk(std::string_view name) const { return prefix + std::string(name); }
};

inline std::string unique_prefix() {
  std::random_device seed;
  std::mt19937_64 random(seed());
  return "test" + std::to_string(random()) + "#";
}

// Runs body once per backend, each in its own Catch section with a fresh store.
template <typename Body>
void for_each_backend(Body body) {
  for (const auto& backend : contract_backends()) {
    DYNAMIC_SECTION("backend " << backend.name) {
      std::atomic<std::int64_t> now{kStartOfTime};
      auto opened = backend.open([&now] { return now.load(); });
      Fixture fixture{*opened.store, now, unique_prefix()};
      body(fixture);
    }
  }
}

inline Item item(const std::string& pk, const std::string& sk, Item attributes = Item::object()) {
  attributes["pk"] = pk;
  attributes["sk"] = sk;
  return attributes;
}

inline void put(Store& store, Item value, Condition condition = Condition::none()) {
  store.write({{Put{kTable, std::move(value), condition}}});
}

inline Query partition_query(std::string partition) {
  Query q;
  q.table = kTable;
  q.partition = std::move(partition);
  return q;
}

inline Query index_query(std::string index, std::string partition) {
  Query q = partition_query(std::move(partition));
  q.index = std::move(index);
  return q;
}

// Every item the query matches, following cursors to the end.
inline std::vector<Item> query_all(Store& store, Query query) {
  std::vector<Item> all;
  for (;;) {
    auto page = store.query(query);
    all.insert(all.end(), page.items.begin(), page.items.end());
    if (page.next_cursor.empty()) return all;
    query.cursor = page.next_cursor;
  }
}

inline std::vector<std::string> sort_keys(const std::vector<Item>& items) {
  std::vector<std::string> keys;
  for (const auto& i : items) keys.push_back(i.at("sk").get<std::string>());
  return keys;
}

}  // namespace cellfleet::storage::testing
