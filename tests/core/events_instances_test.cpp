// Several dispatcher instances sharing one store, as several cellfleet processes share one
// DynamoDB: shard leases decide who delivers, and each event is still applied exactly once.

#include <atomic>
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
