// The event bus on one instance: publishing through the outbox, effectively-once delivery,
// retries and dead letters, per-subject order. Each case runs on every available real store.

#include <map>
#include <stdexcept>
#include <thread>

#include <catch2/catch.hpp>

#include "core/error.h"
#include "events_support.h"

using namespace cellfleet;
using namespace cellfleet::events;
using namespace cellfleet::events::testing;

namespace {

const std::string kOrg = "org_01JD3K6W7M8N9P0Q1R2S3T4V5W";

template <typename Predicate>
bool eventually(Predicate done, std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return done();
}

// Two subjects of kOrg whose events share an outbox shard.
std::pair<std::string, std::string> subjects_in_one_shard() {
  const std::string first = "dev_poison";
  for (int i = 0;; ++i) {
    std::string other = "dev_other" + std::to_string(i);
    if (outbox_shard(kOrg, other) == outbox_shard(kOrg, first)) return {first, other};
  }
}

}  // namespace

TEST_CASE("a published event reaches its subscriber once and stays in the organization's log",
          "[events]") {
  for (const auto& backend : event_backends()) {
    DYNAMIC_SECTION(backend) {
      EventWorld<SystemClock> world(backend);
      auto [clock, store, log, metrics, ids] = world.parts();
      Dispatcher dispatcher(store, clock, log.get(), metrics);
      dispatcher.register_subscriber("counter", {"organization.created"},
                                     counting_handler(store, "counter"));
      int unrelated_calls = 0;
      dispatcher.register_subscriber(
          "unrelated", {"device.registered"},
          [&](const Event&, storage::WriteBatch&) { ++unrelated_calls; });
      dispatcher.start();

      const Event event =
          make_event(ids, clock, kOrg, kOrg, "organization.created", {{"name", "Volta Ltd"}});
      publish(store, {event});
      dispatcher.notify();

      REQUIRE(eventually([&] { return applied_count(store, "counter", event.id) == 1; }));
      CHECK(eventually([&] { return outbox_size(store) == 0; }));
      CHECK(dispatcher.run_once() == 0);
      dispatcher.stop();
      CHECK(applied_count(store, "counter", event.id) == 1);
      CHECK(unrelated_calls == 0);

      const auto logged = store.get(kTable, {event_log_partition(kOrg), event.id});
      REQUIRE(logged);
      CHECK(logged->at("event").get<Event>() == event);
      CHECK(logged->at("expires_at").get<std::int64_t>() ==
            event.occurred_at / 1000 + 30 * 24 * 3600);
      storage::Query by_type;
      by_type.table = kTable;
      by_type.index = "gsi1";
      by_type.partition = event_type_partition(kOrg, "organization.created");
      const auto page = store.query(by_type);
      REQUIRE(page.items.size() == 1);
      CHECK(page.items[0].at("sk") == event.id);

      const auto text = metrics.render();
      CHECK_THAT(text, Catch::Contains(R"(events_delivered_total{subscriber="counter"} 1)"));
      CHECK_THAT(text,
                 Catch::Contains(R"(events_dispatch_lag_seconds_count{subscriber="counter"} 1)"));
    }
  }
}

TEST_CASE("a batch that fails its condition publishes nothing", "[events]") {
  for (const auto& backend : event_backends()) {
    DYNAMIC_SECTION(backend) {
      EventWorld<SystemClock> world(backend);
      auto [clock, store, log, metrics, ids] = world.parts();
      Dispatcher dispatcher(store, clock, log.get(), metrics);
      dispatcher.register_subscriber("counter", {"*"}, counting_handler(store, "counter"));

      const Event event = make_event(ids, clock, kOrg, "dev_1", "device.registered");
      storage::WriteBatch batch;
      batch.ops.emplace_back(storage::Check{
          kTable, {"org#" + kOrg + "#device", "dev_1"}, storage::Condition::must_exist()});
      add_event(batch, event);
      CHECK_THROWS_AS(store.write(batch), storage::ConditionFailed);

      CHECK_FALSE(store.get(kTable, {event_log_partition(kOrg), event.id}));
      CHECK(outbox_size(store) == 0);
      CHECK(dispatcher.run_once() == 0);
      CHECK(applied_count(store, "counter", event.id) == 0);
    }
  }
}

TEST_CASE("an event redelivered after a crash changes nothing twice", "[events]") {
  for (const auto& backend : event_backends()) {
    DYNAMIC_SECTION(backend) {
      EventWorld<SystemClock> world(backend);
      auto [clock, store, log, metrics, ids] = world.parts();
      const Event event = make_event(ids, clock, kOrg, "pay_1", "payment.received");
      publish(store, {event});

      // Instance A applied the effects with their inbox marker, then died before its bookkeeping
      // on the outbox item: the item is still there.
      storage::WriteBatch applied_by_a;
      count_application(store, "counter", event, applied_by_a);
      applied_by_a.ops.emplace_back(
          storage::Put{kTable,
                       {{"pk", "inbox#counter"}, {"sk", event.id}, {"applied_at", 1}},
                       storage::Condition::must_not_exist()});
      store.write(applied_by_a);
      REQUIRE(outbox_size(store) == 1);

      Dispatcher dispatcher(store, clock, log.get(), metrics);
      int calls = 0;
      dispatcher.register_subscriber("counter", {"payment.received"},
                                     [&](const Event& e, storage::WriteBatch& effects) {
                                       ++calls;
                                       count_application(store, "counter", e, effects);
                                     });
      CHECK(dispatcher.run_once() == 1);
      CHECK(calls == 1);
      CHECK(applied_count(store, "counter", event.id) == 1);
      CHECK(outbox_size(store) == 0);
      CHECK_THAT(metrics.render(),
                 Catch::Contains(R"(events_delivered_total{subscriber="counter"} 0)"));
    }
  }
}

TEST_CASE(
    "a failing handler is retried, then dead-lettered, while other subjects flow, and a retried "
    "dead letter is delivered",
    "[events]") {
  for (const auto& backend : event_backends()) {
    DYNAMIC_SECTION(backend) {
      EventWorld<ManualClock> world(backend, test_start());
      auto [clock, store, log, metrics, ids] = world.parts();
      DispatcherOptions options;
      options.max_attempts = 3;
      options.retry_base = std::chrono::seconds(1);
      Dispatcher dispatcher(store, clock, log.get(), metrics, options);

      bool healed = false;
      std::map<std::string, int> calls;
      dispatcher.register_subscriber("counter", {"*"},
                                     [&](const Event& e, storage::WriteBatch& fx) {
                                       ++calls[e.id];
                                       if (e.data.value("poison", false) && !healed) {
                                         throw std::runtime_error("battery model unknown");
                                       }
                                       count_application(store, "counter", e, fx);
                                     });

      const auto [poisoned, other] = subjects_in_one_shard();
      const Event p1 =
          make_event(ids, clock, kOrg, poisoned, "device.registered", {{"poison", true}});
      const Event q1 = make_event(ids, clock, kOrg, other, "device.registered");
      const Event p2 = make_event(ids, clock, kOrg, poisoned, "device.deployed");
      const Event q2 = make_event(ids, clock, kOrg, other, "device.deployed");
      publish(store, {p1, q1, p2, q2});

      // Attempt 1 fails: the other subject flows, the poisoned subject's next event waits.
      CHECK(dispatcher.run_once() == 2);
      CHECK(applied_count(store, "counter", q1.id) == 1);
      CHECK(applied_count(store, "counter", q2.id) == 1);
      CHECK(applied_count(store, "counter", p2.id) == 0);
      CHECK(calls[p1.id] == 1);
      CHECK(calls[p2.id] == 0);
      CHECK_THAT(metrics.render(), Catch::Contains("events_outbox_pending 2"));

      // Not before the backoff has passed (1 s, then 2 s).
      CHECK(dispatcher.run_once() == 0);
      CHECK(calls[p1.id] == 1);
      clock.advance(std::chrono::seconds(1));
      CHECK(dispatcher.run_once() == 0);
      CHECK(calls[p1.id] == 2);
      clock.advance(std::chrono::seconds(2));
      // Attempt 3 is the last: p1 becomes a dead letter and p2 is delivered in the same pass.
      CHECK(dispatcher.run_once() == 2);
      CHECK(calls[p1.id] == 3);
      CHECK(applied_count(store, "counter", p2.id) == 1);
      CHECK(applied_count(store, "counter", p1.id) == 0);
      CHECK(outbox_size(store) == 0);

      const auto letters = dispatcher.dead_letters("counter", 10);
      REQUIRE(letters.items.size() == 1);
      CHECK(letters.items[0].event == p1);
      CHECK(letters.items[0].error == "battery model unknown");
      CHECK(letters.items[0].attempts == 3);
      CHECK(letters.items[0].subscriber == "counter");
      CHECK(dispatcher.dead_letters(std::nullopt, 10).items.size() == 1);
      const auto text = metrics.render();
      CHECK_THAT(text, Catch::Contains(R"(events_handler_retries_total{subscriber="counter"} 2)"));
      CHECK_THAT(text, Catch::Contains(R"(events_dead_letters_total{subscriber="counter"} 1)"));

      healed = true;
      dispatcher.retry_dead_letter("counter", p1.id);
      CHECK(dispatcher.dead_letters("counter", 10).items.empty());
      CHECK(outbox_size(store) == 1);
      CHECK(dispatcher.run_once() == 1);
      CHECK(applied_count(store, "counter", p1.id) == 1);
      CHECK(outbox_size(store) == 0);
      CHECK_THROWS_AS(dispatcher.retry_dead_letter("counter", p1.id), Error);
    }
  }
}

TEST_CASE("a dead letter of one subscriber does not hold back another subscriber of the event",
          "[events]") {
  for (const auto& backend : event_backends()) {
    DYNAMIC_SECTION(backend) {
      EventWorld<ManualClock> world(backend, test_start());
      auto [clock, store, log, metrics, ids] = world.parts();
      DispatcherOptions options;
      options.max_attempts = 1;
      Dispatcher dispatcher(store, clock, log.get(), metrics, options);
      dispatcher.register_subscriber("broken", {"*"}, [](const Event&, storage::WriteBatch&) {
        throw std::runtime_error("always fails");
      });
      dispatcher.register_subscriber("counter", {"*"}, counting_handler(store, "counter"));

      std::vector<Event> events;
      for (int i = 0; i < 3; ++i) {
        events.push_back(
            make_event(ids, clock, kOrg, "dev_" + std::to_string(i), "device.registered"));
      }
      publish(store, events);
      CHECK(dispatcher.run_once() == 6);
      for (const auto& event : events) CHECK(applied_count(store, "counter", event.id) == 1);
      CHECK(dispatcher.dead_letters("counter", 10).items.empty());
      CHECK(outbox_size(store) == 0);

      const auto first = dispatcher.dead_letters("broken", 2);
      REQUIRE(first.items.size() == 2);
      REQUIRE_FALSE(first.next_cursor.empty());
      const auto second = dispatcher.dead_letters("broken", 2, first.next_cursor);
      REQUIRE(second.items.size() == 1);
      CHECK(second.next_cursor.empty());
      CHECK(first.items[0].event == events[0]);
      CHECK(first.items[1].event == events[1]);
      CHECK(second.items[0].event == events[2]);
      CHECK(dispatcher.dead_letters(std::nullopt, 10).items.size() == 3);
    }
  }
}

TEST_CASE("an instance that lost the race for an event applies nothing", "[events]") {
  for (const auto& backend : event_backends()) {
    DYNAMIC_SECTION(backend) {
      EventWorld<SystemClock> world(backend);
      auto [clock, store, log, metrics, ids] = world.parts();
      const Event event = make_event(ids, clock, kOrg, "con_1", "contract.overdue");
      publish(store, {event});

      // While this instance's handler runs, another instance (after a lease takeover) applies the
      // event and deletes its outbox item.
      Dispatcher dispatcher(store, clock, log.get(), metrics);
      int calls = 0;
      dispatcher.register_subscriber(
          "counter", {"*"}, [&](const Event& e, storage::WriteBatch& effects) {
            ++calls;
            count_application(store, "counter", e, effects);
            if (calls > 1) return;
            storage::WriteBatch other_instance;
            count_application(store, "counter", e, other_instance);
            other_instance.ops.emplace_back(storage::Put{kTable,
                                                         {{"pk", "inbox#counter"}, {"sk", e.id}},
                                                         storage::Condition::must_not_exist()});
            other_instance.ops.emplace_back(
                storage::Delete{kTable,
                                {outbox_partition(outbox_shard(e.org_id, e.subject)), e.id},
                                storage::Condition::must_exist()});
            store.write(other_instance);
          });
      CHECK(dispatcher.run_once() == 0);
      CHECK(calls == 1);
      CHECK(applied_count(store, "counter", event.id) == 1);
      CHECK(outbox_size(store) == 0);
      CHECK(dispatcher.run_once() == 0);
      CHECK(applied_count(store, "counter", event.id) == 1);
    }
  }
}

TEST_CASE("an event committed before start-up is delivered when the dispatcher starts",
          "[events]") {
  for (const auto& backend : event_backends()) {
    DYNAMIC_SECTION(backend) {
      EventWorld<SystemClock> world(backend);
      auto [clock, store, log, metrics, ids] = world.parts();
      // The process crashed between the commit and the delivery: the outbox item is all there is.
      const Event before = make_event(ids, clock, kOrg, "dev_1", "device.registered");
      publish(store, {before});

      DispatcherOptions options;
      options.sweep_interval = std::chrono::minutes(10);
      options.lease_duration = std::chrono::minutes(60);
      Dispatcher dispatcher(store, clock, log.get(), metrics, options);
      dispatcher.register_subscriber("counter", {"*"}, counting_handler(store, "counter"));
      dispatcher.start();
      CHECK(eventually([&] { return applied_count(store, "counter", before.id) == 1; }));

      // With a ten-minute sweep, only notify() can make the next one arrive in time.
      const Event after = make_event(ids, clock, kOrg, "dev_1", "device.deployed");
      publish(store, {after});
      dispatcher.notify();
      CHECK(eventually([&] { return applied_count(store, "counter", after.id) == 1; },
                       std::chrono::seconds(5)));
      dispatcher.stop();
    }
  }
}

TEST_CASE("events of one subject reach a subscriber in the order they were published", "[events]") {
  for (const auto& backend : event_backends()) {
    DYNAMIC_SECTION(backend) {
      EventWorld<ManualClock> world(backend, test_start());
      auto [clock, store, log, metrics, ids] = world.parts();
      DispatcherOptions options;
      options.retry_base = std::chrono::seconds(1);
      options.page_size = 7;  // several pages per shard
      Dispatcher dispatcher(store, clock, log.get(), metrics, options);

      std::map<std::string, std::vector<int>> seen;
      bool failed_once = false;
      dispatcher.register_subscriber("recorder", {"*"},
                                     [&](const Event& e, storage::WriteBatch& fx) {
                                       const int seq = e.data.at("seq").get<int>();
                                       if (e.subject == "dev_0" && seq == 5 && !failed_once) {
                                         failed_once = true;
                                         throw std::runtime_error("transient");
                                       }
                                       count_application(store, "recorder", e, fx);
                                       seen[e.subject].push_back(seq);
                                     });

      // Subjects interleaved: round i publishes event i of each subject, in batches of 10.
      std::vector<Event> batch;
      for (int seq = 0; seq < 20; ++seq) {
        for (int s = 0; s < 5; ++s) {
          batch.push_back(make_event(ids, clock, kOrg, "dev_" + std::to_string(s),
                                     "device.reported", {{"seq", seq}}));
          if (batch.size() == 10) {
            publish(store, batch);
            batch.clear();
          }
        }
      }

      deliver_passes(dispatcher, store, clock, 10, std::chrono::seconds(2));
      CHECK(outbox_size(store) == 0);
      CHECK(failed_once);
      std::vector<int> in_order(20);
      for (int i = 0; i < 20; ++i) in_order[static_cast<std::size_t>(i)] = i;
      REQUIRE(seen.size() == 5);
      for (const auto& [subject, sequence] : seen) {
        INFO(subject);
        CHECK(sequence == in_order);
      }
    }
  }
}

TEST_CASE("an event must name its id, type, organization and subject", "[events]") {
  storage::WriteBatch batch;
  Event event{"evt_1", "device.registered", "org_1", "", 0, nlohmann::json::object()};
  CHECK_THROWS_AS(add_event(batch, event), std::invalid_argument);
  event.subject = "dev_1";
  add_event(batch, event);
  REQUIRE(batch.ops.size() == 2);
  const auto& outbox = std::get<storage::Put>(batch.ops[1]);
  CHECK(outbox.item.at("pk") == outbox_partition(outbox_shard("org_1", "dev_1")));
  CHECK(outbox.item.at("sk") == "evt_1");
  const nlohmann::json round_trip = event;
  CHECK(round_trip.get<Event>() == event);
}
