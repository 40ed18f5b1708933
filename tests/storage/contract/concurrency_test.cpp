// Many writers at once, and bulk loads.

#include <map>
#include <mutex>
#include <thread>

#include "contract/fixture.h"

namespace cellfleet::storage::testing {

TEST_CASE("writers racing on one item each win a version exactly once", "[contract]") {
  for_each_backend([](Fixture& f) {
    const Key key{f.pk("counter"), "c"};
    put(f.store, item(key.pk, key.sk, {{"version", 0}}));
    constexpr int kThreads = 6;
    constexpr int kAttempts = 40;

    std::mutex mutex;
    std::map<std::int64_t, std::vector<int>> winners;  // version -> threads that wrote it
    int conflicts = 0;
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int a = 0; a < kAttempts; ++a) {
          const auto read = f.store.get(kTable, key);
          const auto version = read->at("version").get<std::int64_t>();
          try {
            f.store.write({{Update{kTable,
                                   key,
                                   {{"version", version + 1}, {"by", t}},
                                   {},
                                   Condition::version_is(version)}}});
            std::lock_guard lock(mutex);
            winners[version + 1].push_back(t);
          } catch (const ConditionFailed&) {
            std::lock_guard lock(mutex);
            ++conflicts;
          }
        }
      });
    }
    for (auto& thread : threads) thread.join();

    const auto final_version = f.store.get(kTable, key)->at("version").get<std::int64_t>();
    CHECK(static_cast<std::int64_t>(winners.size()) == final_version);
    for (const auto& [version, threads_that_won] : winners) {
      INFO("version " << version);
      CHECK(threads_that_won.size() == 1);
    }
    CHECK(final_version + conflicts == kThreads * kAttempts);
  });
}

TEST_CASE("concurrent batches that fail their conditions leave the others written", "[contract]") {
  // On SQLite, batches that arrive together share one commit: a failing one must undo only itself.
  for_each_backend([](Fixture& f) {
    constexpr int kThreads = 6;
    constexpr int kBatches = 30;
    std::vector<std::thread> threads;
    std::vector<std::vector<bool>> refused(kThreads, std::vector<bool>(kBatches));
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int b = 0; b < kBatches; ++b) {
          const std::string sk = std::to_string(t) + "-" + std::to_string(b);
          WriteBatch batch{{Put{kTable, item(f.pk("group"), sk), Condition::must_not_exist()},
                            Put{kTable, item(f.pk("group"), sk + "-pair"), {}}}};
          // Every third batch also needs an item nobody writes: it must fail whole.
          if (b % 3 == 0) {
            batch.ops.push_back(Check{kTable, {f.pk("group"), "absent"}, Condition::must_exist()});
          }
          try {
            f.store.write(batch);
          } catch (const ConditionFailed& failed) {
            refused[t][b] = failed.op_index == 2;
          }
        }
      });
    }
    for (auto& thread : threads) thread.join();
    for (int t = 0; t < kThreads; ++t) {
      for (int b = 0; b < kBatches; ++b) {
        const std::string sk = std::to_string(t) + "-" + std::to_string(b);
        INFO("batch " << sk);
        CHECK(refused[t][b] == (b % 3 == 0));
        CHECK(f.store.get(kTable, {f.pk("group"), sk}).has_value() == (b % 3 != 0));
        CHECK(f.store.get(kTable, {f.pk("group"), sk + "-pair"}).has_value() == (b % 3 != 0));
      }
    }
  });
}

TEST_CASE("put_many stores ten thousand items that a query then finds", "[contract]") {
  for_each_backend([](Fixture& f) {
    std::vector<Item> items;
    for (int i = 0; i < 10000; ++i) {
      items.push_back(
          item(f.pk("telemetry"), "t" + std::to_string(1000000 + i), {{"soc", i % 101}}));
    }
    f.store.put_many(kTable, items);

    auto q = partition_query(f.pk("telemetry"));
    q.limit = 1000;
    const auto all = query_all(f.store, q);
    CHECK(all.size() == 10000);
    CHECK(all.front().at("sk") == "t1000000");
    CHECK(all.back().at("sk") == "t1009999");
  });
}

TEST_CASE("put_many replaces items that already exist", "[contract]") {
  for_each_backend([](Fixture& f) {
    put(f.store, item(f.pk("reading"), "r1", {{"soc", 10}, {"old", true}}));
    f.store.put_many(kTable, {item(f.pk("reading"), "r1", {{"soc", 20}})});
    CHECK(*f.store.get(kTable, {f.pk("reading"), "r1"}) ==
          item(f.pk("reading"), "r1", {{"soc", 20}}));
  });
}

}  // namespace cellfleet::storage::testing
