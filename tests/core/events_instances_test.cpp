// Several dispatcher instances sharing one store, as several cellfleet processes share one
// DynamoDB: shard leases decide who delivers, and each event is still applied exactly once.

#include <atomic>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include <catch2/catch.hpp>

#include "events_support.h"

using namespace cellfleet;
using namespace cellfleet::events;
using namespace cellfleet::events::testing;

namespace {

const std::string kOrg = "org_01JD3K6W7M8N9P0Q1R2S3T4V5W";

std::uint64_t delivered(const MetricsRegistry& metrics) {
  // The one line events_delivered_total{subscriber="counter"} N of this registry.
  const std::string text = metrics.render();
  const std::string key = R"(events_delivered_total{subscriber="counter"} )";
  const auto at = text.find(key);
  if (at == std::string::npos) return 0;
  return std::stoull(text.substr(at + key.size()));
}

DispatcherOptions instance(const std::string& id) {
  DispatcherOptions options;
  options.instance_id = id;
  options.lease_duration = std::chrono::seconds(10);
  return options;
}

}  // namespace

TEST_CASE("two dispatcher instances on one store apply each of 1,000 events exactly once",
          "[events]") {
  for (const auto& backend : event_backends()) {
    DYNAMIC_SECTION(backend) {
      EventWorld<SystemClock> world(backend);
      auto [clock, store, log, metrics_a, ids] = world.parts();
      MetricsRegistry metrics_b;
      auto options = [](const std::string& id) {
        DispatcherOptions o = instance(id);
        o.sweep_interval = std::chrono::milliseconds(50);
        o.lease_duration = std::chrono::seconds(2);
        return o;
      };
      Dispatcher a(store, clock, log.get(), metrics_a, options("ins_a"));
      Dispatcher b(store, clock, log.get(), metrics_b, options("ins_b"));
      a.register_subscriber("counter", {"*"}, counting_handler(store, "counter"));
      b.register_subscriber("counter", {"*"}, counting_handler(store, "counter"));
      a.start();
      b.start();

      // 1,000 events over 100 subjects, 20 per batch; instance A leaves half way (releasing its
      // leases), so B must take its shards over while events keep arriving.
      std::vector<std::string> published;
      for (int batch = 0; batch < 50; ++batch) {
        std::vector<Event> events;
        for (int i = 0; i < 20; ++i) {
          events.push_back(make_event(ids, clock, kOrg,
                                      "dev_" + std::to_string((batch * 20 + i) % 100),
                                      "device.reported", {{"n", batch * 20 + i}}));
          published.push_back(events.back().id);
        }
        publish(store, events);
        a.notify();
        b.notify();
        if (batch == 25) a.stop();
      }

      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(420);  // a busy CI machine
      while (outbox_size(store) > 0 && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
      b.stop();
      REQUIRE(outbox_size(store) == 0);

      const auto applied = partition_items(store, "applied#counter");
      CHECK(applied.size() == 1000);
      std::size_t applied_twice = 0;
      for (const auto& item : applied) {
        if (item.at("count").get<std::int64_t>() != 1) ++applied_twice;
      }
      CHECK(applied_twice == 0);
      for (const auto& id : published) {
        if (applied_count(store, "counter", id) != 1) FAIL("not applied exactly once: " << id);
      }
      CHECK(delivered(metrics_a) + delivered(metrics_b) == 1000);
      CHECK(delivered(metrics_b) > 0);
    }
  }
}

TEST_CASE("a holder that stops renewing loses its shards once its lease expires", "[events]") {
  for (const auto& backend : event_backends()) {
    DYNAMIC_SECTION(backend) {
      EventWorld<ManualClock> world(backend, test_start());
      auto [clock, store, log, metrics_a, ids] = world.parts();
      MetricsRegistry metrics_b;
      Dispatcher a(store, clock, log.get(), metrics_a, instance("ins_a"));
      Dispatcher b(store, clock, log.get(), metrics_b, instance("ins_b"));
      a.register_subscriber("counter", {"*"}, counting_handler(store, "counter"));
      b.register_subscriber("counter", {"*"}, counting_handler(store, "counter"));

      CHECK(a.run_once() == 0);  // takes every shard's lease
      const Event first = make_event(ids, clock, kOrg, "dev_1", "device.registered");
      publish(store, {first});
      CHECK(b.run_once() == 0);
      clock.advance(std::chrono::seconds(6));
      CHECK(b.run_once() == 0);  // A's lease (10 s) has not expired yet
      CHECK(applied_count(store, "counter", first.id) == 0);

      // A has "crashed": it renews no more. After expiry B takes every shard over.
      clock.advance(std::chrono::seconds(5));
      CHECK(b.run_once() == 1);
      CHECK(applied_count(store, "counter", first.id) == 1);
      const auto lease = store.get(kTable, {lease_partition(outbox_shard(kOrg, "dev_1")), "lease"});
      REQUIRE(lease);
      CHECK(lease->at("owner") == "ins_b");

      // A comes back: the shards are B's now.
      const Event second = make_event(ids, clock, kOrg, "dev_1", "device.deployed");
      publish(store, {second});
      CHECK(a.run_once() == 0);
      CHECK(b.run_once() == 1);
      CHECK(applied_count(store, "counter", second.id) == 1);
    }
  }
}

TEST_CASE("a holder that keeps renewing keeps its shards, and hands them over when it stops",
          "[events]") {
  for (const auto& backend : event_backends()) {
    DYNAMIC_SECTION(backend) {
      EventWorld<ManualClock> world(backend, test_start());
      auto [clock, store, log, metrics_a, ids] = world.parts();
      MetricsRegistry metrics_b;
      Dispatcher a(store, clock, log.get(), metrics_a, instance("ins_a"));
      Dispatcher b(store, clock, log.get(), metrics_b, instance("ins_b"));
      a.register_subscriber("counter", {"*"}, counting_handler(store, "counter"));
      b.register_subscriber("counter", {"*"}, counting_handler(store, "counter"));

      CHECK(a.run_once() == 0);
      clock.advance(std::chrono::seconds(6));
      CHECK(a.run_once() == 0);  // past half the lease: renewed
      clock.advance(std::chrono::seconds(6));
      const Event event = make_event(ids, clock, kOrg, "dev_1", "device.registered");
      publish(store, {event});
      CHECK(b.run_once() == 0);  // 12 s after A took the lease, but it was renewed at 6 s
      CHECK(applied_count(store, "counter", event.id) == 0);

      a.stop();  // releases its leases: B need not wait for them to expire
      CHECK(b.run_once() == 1);
      CHECK(applied_count(store, "counter", event.id) == 1);
    }
  }
}

TEST_CASE("shards delivered on four threads keep each subject's order and a shared counter exact",
          "[events]") {
  for (const auto& backend : event_backends()) {
    DYNAMIC_SECTION(backend) {
      EventWorld<SystemClock> world(backend);
      auto [clock, store, log, metrics, ids] = world.parts();
      DispatcherOptions options = instance("ins_threads");
      options.delivery_threads = 4;
      Dispatcher dispatcher(store, clock, log.get(), metrics, options);

      // Every event adds one to a single version-checked total that all threads race for, and
      // moves its subject's "last" from n - 1 to n; a subject seen out of order leaves a
      // violation item behind.
      std::mutex threads_mutex;
      std::set<std::thread::id> threads;
      dispatcher.register_subscriber(
          "ordered", {"*"}, [&](const Event& event, storage::WriteBatch& effects) {
            {
              std::lock_guard lock(threads_mutex);
              threads.insert(std::this_thread::get_id());
            }
            const auto versioned_update = [&](const storage::Key& key,
                                              const std::optional<storage::Item>& current,
                                              nlohmann::json set) {
              const std::int64_t version = current ? current->value("version", std::int64_t{0}) : 0;
              set["version"] = version + 1;
              effects.ops.emplace_back(storage::Update{
                  kTable, key, std::move(set), {},
                  current ? storage::Condition::version_is(version)
                          : storage::Condition::must_not_exist()});
            };
            const storage::Key total_key{"shared", "total"};
            const auto total = store.get(kTable, total_key);
            versioned_update(total_key, total, {{"n", (total ? total->value("n", 0) : 0) + 1}});
            const int n = event.data.at("n");
            const storage::Key order_key{"order", event.subject};
            const auto last = store.get(kTable, order_key);
            versioned_update(order_key, last, {{"last", n}});
            if ((last ? last->value("last", -1) : -1) != n - 1) {
              effects.ops.emplace_back(storage::Put{
                  kTable, {{"pk", "violation"}, {"sk", event.id}}, storage::Condition::none()});
            }
          });

      // 400 events on SQLite, 48 on the emulator (whose transactions on one hot item are slow):
      // 40 (16) subjects spread over the shards, each with n = 0..9 (0..2) in publish order.
      const int kSubjects = backend == "sqlite" ? 40 : 16;
      const int kPerSubject = backend == "sqlite" ? 10 : 3;
      for (int n = 0; n < kPerSubject; ++n) {
        std::vector<Event> events;
        for (int s = 0; s < kSubjects; ++s) {
          events.push_back(make_event(ids, clock, kOrg, "dev_" + std::to_string(s),
                                      "device.reported", {{"n", n}}));
        }
        publish(store, events);
      }
      dispatcher.start();
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(420);
      while (outbox_size(store) > 0 && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
      dispatcher.stop();
      REQUIRE(outbox_size(store) == 0);

      const auto total = store.get(kTable, {"shared", "total"});
      REQUIRE(total);
      CHECK(total->at("n") == kSubjects * kPerSubject);
      CHECK(partition_items(store, "violation").empty());
      for (const auto& letter : dispatcher.dead_letters(std::nullopt, 10).items) {
        FAIL_CHECK("dead letter after " << letter.attempts << " attempts: " << letter.error);
      }
      for (int s = 0; s < kSubjects; ++s) {
        const auto order = store.get(kTable, {"order", "dev_" + std::to_string(s)});
        REQUIRE(order);
        CHECK(order->at("last") == kPerSubject - 1);
      }
      CHECK(threads.size() > 1);  // shards were handled on more than one thread
    }
  }
}
