// Delivery groups (dispatcher.h): a shard's consecutive events for subscribers that read through
// the view they are handed are merged into one write, and every failure falls back to delivering
// them one by one. Each case runs on every available real store (on DynamoDB a group is one
// TransactWriteItems).

#include <algorithm>
#include <map>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "events_support.h"

using namespace cellfleet;
using namespace cellfleet::events;
using namespace cellfleet::events::testing;

namespace {

const std::string kOrg = "org_01JD3K6W7M8N9P0Q1R2S3T4V5W";

// A counter's value in the metrics text ("name value" with no labels); -1 when absent.
std::int64_t metric(MetricsRegistry& metrics, const std::string& name) {
  const std::string text = metrics.render();
  const auto at = text.find("\n" + name + " ");
  if (at == std::string::npos) return -1;
  return std::stoll(text.substr(at + name.size() + 2));
}

// The effects of a tally subscriber, read through reads as a grouped handler must: the event's
// own application count (count_application), one total for the organization that every event
// bumps (the item all of a group's deliveries change), and the subject's sequence numbers in the
// order they were applied.
void tally(storage::Store& reads, const std::string& subscriber, const Event& event,
           storage::WriteBatch& effects) {
  count_application(reads, subscriber, event, effects);
  const auto bump = [&](const storage::Key& key, const std::function<void(storage::Item&)>& edit) {
    auto item = reads.get(kTable, key);
    const std::int64_t version = item ? item->value("version", std::int64_t{0}) : 0;
    storage::Item next = item ? *item : storage::Item{{"pk", key.pk}, {"sk", key.sk}};
    edit(next);
    next["version"] = version + 1;
    effects.ops.emplace_back(storage::Put{
        kTable, std::move(next),
        item ? storage::Condition::version_is(version) : storage::Condition::must_not_exist()});
  };
  bump({"tally#" + subscriber, event.org_id},
       [](storage::Item& item) { item["total"] = item.value("total", std::int64_t{0}) + 1; });
  bump({"tally#" + subscriber, "seq#" + event.subject}, [&](storage::Item& item) {
    if (!item.contains("seen")) item["seen"] = nlohmann::json::array();
    item["seen"].push_back(event.data.at("seq"));
  });
}

std::int64_t total(storage::Store& store, const std::string& subscriber) {
  const auto item = store.get(kTable, {"tally#" + subscriber, kOrg});
  return item ? item->value("total", std::int64_t{0}) : 0;
}

std::vector<int> seen(storage::Store& store, const std::string& subscriber,
                      const std::string& subject) {
  const auto item = store.get(kTable, {"tally#" + subscriber, "seq#" + subject});
  return item ? item->at("seen").get<std::vector<int>>() : std::vector<int>{};
}

// rounds events of each of subjects subjects, interleaved, data {seq}, published 25 to a batch.
std::vector<Event> publish_rounds(storage::Store& store, IdGenerator& ids, const Clock& clock,
                                  int subjects, int rounds, const std::string& type) {
  std::vector<Event> all;
  std::vector<Event> batch;
  for (int seq = 0; seq < rounds; ++seq) {
    for (int s = 0; s < subjects; ++s) {
      batch.push_back(
          make_event(ids, clock, kOrg, "dev_" + std::to_string(s), type, {{"seq", seq}}));
      all.push_back(batch.back());
      if (batch.size() == 25) {
        publish(store, batch);
        batch.clear();
      }
    }
  }
  if (!batch.empty()) publish(store, batch);
  return all;
}

std::vector<int> zero_to(int n) {
  std::vector<int> sequence;
  for (int i = 0; i < n; ++i) sequence.push_back(i);
  return sequence;
}

// 0..n-1 with `first` moved to the front: the order when event `first` was applied before.
std::vector<int> zero_to_with_first(int n, int first) {
  std::vector<int> sequence = zero_to(n);
  sequence.erase(sequence.begin() + first);
  sequence.insert(sequence.begin(), first);
  return sequence;
}

// An earlier holder applied event (tally and inbox marker) and died before its bookkeeping on
// the outbox item: the event is still to deliver, and its redelivery must change nothing.
void applied_before(storage::Store& store, const std::string& subscriber, const Event& event) {
  storage::WriteBatch batch;
  tally(store, subscriber, event, batch);
  batch.ops.emplace_back(
      storage::Put{kTable,
                   {{"pk", "inbox#" + subscriber}, {"sk", event.id}, {"applied_at", 1}},
                   storage::Condition::must_not_exist()});
  store.write(batch);
}

}  // namespace

TEST_CASE("grouped deliveries share writes, apply each event once and keep each subject's order",
          "[events]") {
  for (const auto& backend : event_backends()) {
    DYNAMIC_SECTION(backend) {
      EventWorld<SystemClock> world(backend);
      auto [clock, store, log, metrics, ids] = world.parts();
      DispatcherOptions options;
      options.group_deliveries = 64;
      options.page_size = 50;  // groups end at page ends too
      Dispatcher dispatcher(store, clock, log.get(), metrics, options);
      // Three grouped subscribers of every event: each event's outbox item is updated by the
      // first two deliveries and deleted by the third within one group.
      for (const std::string name : {"fleet", "money"}) {
        dispatcher.register_grouped_subscriber(
            name, {"*"},
            [name](const Event& e, storage::Store& reads, storage::WriteBatch& effects) {
              tally(reads, name, e, effects);
            });
      }
      // The third writes without reading first and without a condition (an update of named
      // fields), and reads that item back for the next event: the group must replay its merged
      // updates over the stored item.
      std::vector<std::string> stamp_errors;
      dispatcher.register_grouped_subscriber(
          "stamp", {"*"},
          [&stamp_errors](const Event& e, storage::Store& reads, storage::WriteBatch& effects) {
            const storage::Key key{"stamp", e.org_id};
            const int seq = e.data.at("seq").get<int>();
            const auto stamp = reads.get(kTable, key);
            const int previous =
                stamp && stamp->contains(e.subject) ? stamp->at(e.subject).get<int>() : -1;
            if (previous != seq - 1) {
              stamp_errors.push_back(e.subject + " " + std::to_string(previous) + " then " +
                                     std::to_string(seq));
            }
            const std::int64_t count = stamp ? stamp->value("count", std::int64_t{0}) : 0;
            effects.ops.emplace_back(
                storage::Update{kTable, key, {{e.subject, seq}, {"count", count + 1}}, {}, {}});
          });
      const auto events = publish_rounds(store, ids, clock, 12, 25, "device.reported");

      std::size_t delivered = 0;
      for (int pass = 0; pass < 5 && outbox_size(store) > 0; ++pass) {
        delivered += dispatcher.run_once();
      }
      CHECK(outbox_size(store) == 0);
      CHECK(delivered == 3 * events.size());
      CHECK(stamp_errors.empty());
      const auto stamp = store.get(kTable, {"stamp", kOrg});
      REQUIRE(stamp);
      CHECK(stamp->at("count") == 300);
      for (int s = 0; s < 12; ++s) CHECK(stamp->at("dev_" + std::to_string(s)) == 24);
      for (const std::string name : {"fleet", "money"}) {
        INFO(name);
        CHECK(total(store, name) == 300);
        for (const auto& event : events) REQUIRE(applied_count(store, name, event.id) == 1);
        for (int s = 0; s < 12; ++s)
          CHECK(seen(store, name, "dev_" + std::to_string(s)) == zero_to(25));
      }
      // 900 deliveries in groups of at most 64, cut at page and shard ends and where the merged
      // batch reaches 100 operations (about five new items an event): far fewer writes.
      const std::int64_t writes = metric(metrics, "events_group_writes_total");
      CHECK(writes >= 10);
      CHECK(writes <= 100);
      CHECK(metric(metrics, "events_group_fallbacks_total") == 0);
    }
  }
}

TEST_CASE("a delivery group whose write fails is delivered one by one and applies nothing twice",
          "[events]") {
  for (const auto& backend : event_backends()) {
    DYNAMIC_SECTION(backend) {
      EventWorld<SystemClock> world(backend);
      auto [clock, store, log, metrics, ids] = world.parts();
      DispatcherOptions options;
      options.group_deliveries = 64;
      Dispatcher dispatcher(store, clock, log.get(), metrics, options);
      int calls = 0;
      dispatcher.register_grouped_subscriber(
          "fleet", {"*"}, [&calls](const Event& e, storage::Store& reads, storage::WriteBatch& fx) {
            ++calls;
            tally(reads, "fleet", e, fx);
          });
      // One subject, so every event is in one shard and one group.
      const auto events = publish_rounds(store, ids, clock, 1, 40, "device.reported");

      applied_before(store, "fleet", events[17]);

      CHECK(dispatcher.run_once() == 40);
      CHECK(outbox_size(store) == 0);
      for (const auto& event : events) REQUIRE(applied_count(store, "fleet", event.id) == 1);
      CHECK(total(store, "fleet") == 40);
      // Event 17 was applied first, by the earlier holder; the others in order.
      CHECK(seen(store, "fleet", "dev_0") == zero_to_with_first(40, 17));
      CHECK_THAT(metrics.render(),
                 Catch::Contains(R"(events_delivered_total{subscriber="fleet"} 39)"));
      // The marker for event 17 failed its group: that group's handlers ran again, alone.
      CHECK(metric(metrics, "events_group_fallbacks_total") == 1);
      CHECK(calls > 40);
      CHECK(calls <= 80);
    }
  }
}

TEST_CASE(
    "a grouped handler that throws, queries what its group changed, or shares a subject with a "
    "plain subscriber is delivered alone, in order",
    "[events]") {
  for (const auto& backend : event_backends()) {
    DYNAMIC_SECTION(backend) {
      EventWorld<ManualClock> world(backend, test_start());
      auto [clock, store, log, metrics, ids] = world.parts();
      DispatcherOptions options;
      options.group_deliveries = 64;
      options.retry_base = std::chrono::seconds(1);
      Dispatcher dispatcher(store, clock, log.get(), metrics, options);
      bool failed_once = false;
      int conflicts_seen = 0;
      dispatcher.register_grouped_subscriber(
          "fleet", {"*"}, [&](const Event& e, storage::Store& reads, storage::WriteBatch& fx) {
            const int seq = e.data.at("seq").get<int>();
            if (e.subject == "dev_1" && seq == 7 && !failed_once) {
              failed_once = true;
              throw std::runtime_error("transient");
            }
            if (seq % 10 == 3) {
              // Reads the tally partition, which the group's earlier deliveries changed.
              try {
                partition_items(reads, "tally#fleet");
              } catch (...) {
                ++conflicts_seen;
                throw;
              }
            }
            tally(reads, "fleet", e, fx);
          });
      // A plain subscriber of one type: its events cut the groups.
      std::map<std::string, std::vector<int>> plain_seen;
      dispatcher.register_subscriber("access", {"device.locked"},
                                     [&](const Event& e, storage::WriteBatch& fx) {
                                       count_application(store, "access", e, fx);
                                       plain_seen[e.subject].push_back(e.data.at("seq"));
                                     });
      std::vector<Event> events;
      for (int seq = 0; seq < 30; ++seq) {
        std::vector<Event> round;
        for (int s = 0; s < 3; ++s) {
          round.push_back(make_event(ids, clock, kOrg, "dev_" + std::to_string(s),
                                     seq % 4 == 0 ? "device.locked" : "device.reported",
                                     {{"seq", seq}}));
        }
        publish(store, round);
        events.insert(events.end(), round.begin(), round.end());
      }

      deliver_passes(dispatcher, store, clock, 10, std::chrono::seconds(2));
      CHECK(outbox_size(store) == 0);
      CHECK(failed_once);
      CHECK(total(store, "fleet") == 90);
      for (const auto& event : events) REQUIRE(applied_count(store, "fleet", event.id) == 1);
      std::vector<int> locks;
      for (int seq = 0; seq < 30; seq += 4) locks.push_back(seq);
      for (int s = 0; s < 3; ++s) {
        const std::string subject = "dev_" + std::to_string(s);
        INFO(subject);
        CHECK(seen(store, "fleet", subject) == zero_to(30));
        CHECK(plain_seen[subject] == locks);
      }
      CHECK(conflicts_seen > 0);
      CHECK(metric(metrics, "events_group_writes_total") > 0);
      CHECK(metric(metrics, "events_group_fallbacks_total") == 0);
    }
  }
}

TEST_CASE("when a group falls back and an event then fails alone, its subject's later events wait",
          "[events]") {
  for (const auto& backend : event_backends()) {
    DYNAMIC_SECTION(backend) {
      EventWorld<ManualClock> world(backend, test_start());
      auto [clock, store, log, metrics, ids] = world.parts();
      DispatcherOptions options;
      options.group_deliveries = 8;
      options.retry_base = std::chrono::seconds(1);
      Dispatcher dispatcher(store, clock, log.get(), metrics, options);
      bool failed_once = false;
      storage::Store* const the_store = &store;
      dispatcher.register_grouped_subscriber(
          "fleet", {"*"}, [&](const Event& e, storage::Store& reads, storage::WriteBatch& fx) {
            // Event 5 fails once when delivered alone (its reads are the store itself then).
            if (e.data.at("seq") == 5 && &reads == the_store && !failed_once) {
              failed_once = true;
              throw std::runtime_error("transient");
            }
            tally(reads, "fleet", e, fx);
          });
      const auto events = publish_rounds(store, ids, clock, 1, 30, "device.reported");
      // Event 3 was applied before, so the first group's write fails on its marker and the group
      // is delivered one by one: event 5 fails there, and events 6.. must wait for its retry.
      applied_before(store, "fleet", events[3]);

      deliver_passes(dispatcher, store, clock, 10, std::chrono::seconds(2));
      CHECK(outbox_size(store) == 0);
      CHECK(failed_once);
      CHECK(seen(store, "fleet", "dev_0") == zero_to_with_first(30, 3));
      CHECK(metric(metrics, "events_group_fallbacks_total") >= 1);
      for (const auto& event : events) REQUIRE(applied_count(store, "fleet", event.id) == 1);
    }
  }
}

namespace {

// A subscriber that writes what its event's data says, reading each item through reads first:
// data.ops = [{kind: put|update|delete|check, key, cond: none|read|exist|wrong, set, remove}].
// "read" pins what was read (its version, or its absence); "exist" asks that an item read present
// still exist, without pinning it; "wrong" names a version the item does not have, so that
// delivery fails wherever it runs (each such failure costs the dispatcher's re-runs, about a
// second, so there is one).
void scripted(const Event& event, storage::Store& reads, storage::WriteBatch& effects) {
  for (const auto& op : event.data.at("ops")) {
    const storage::Key key{"script", op.at("key").get<std::string>()};
    const auto item = reads.get(kTable, key);
    const std::int64_t version = item ? item->value("version", std::int64_t{0}) : 0;
    const std::string cond = op.at("cond");
    storage::Condition condition;
    if (cond == "read") {
      condition =
          item ? storage::Condition::version_is(version) : storage::Condition::must_not_exist();
    } else if (cond == "exist" && item) {
      condition = storage::Condition::must_exist();
    } else if (cond == "wrong") {
      condition = storage::Condition::version_is(version + 7);
    }
    const std::string kind = op.at("kind");
    storage::Item set = op.at("set");
    set["version"] = version + 1;
    if (kind == "put") {
      set["pk"] = key.pk;
      set["sk"] = key.sk;
      effects.ops.emplace_back(storage::Put{kTable, set, condition});
    } else if (kind == "update") {
      effects.ops.emplace_back(storage::Update{
          kTable, key, set, op.at("remove").get<std::vector<std::string>>(), condition});
    } else if (kind == "delete") {
      effects.ops.emplace_back(storage::Delete{kTable, key, condition});
    } else {
      effects.ops.emplace_back(storage::Check{kTable, key, condition});
    }
  }
}

// Delivers events to the scripted subscriber until the outbox is empty; returns the scripted
// items and the dead letters' event ids.
std::pair<std::vector<storage::Item>, std::vector<std::string>> run_script(
    const std::string& backend, const std::vector<nlohmann::json>& scripts,
    std::size_t group_deliveries) {
  EventWorld<ManualClock> world(backend, test_start());
  auto [clock, store, log, metrics, ids] = world.parts();
  DispatcherOptions options;
  options.group_deliveries = group_deliveries;
  options.retry_base = std::chrono::milliseconds(100);
  options.max_attempts = 2;
  Dispatcher dispatcher(store, clock, log.get(), metrics, options);
  dispatcher.register_grouped_subscriber("script", {"*"}, scripted);
  std::vector<Event> events;
  for (const auto& script : scripts) {
    events.push_back(make_event(ids, clock, kOrg, "dev_0", "device.reported", {{"ops", script}}));
  }
  for (std::size_t at = 0; at < events.size(); at += 25) {
    publish(store, std::vector<Event>(events.begin() + static_cast<std::ptrdiff_t>(at),
                                      events.begin() + static_cast<std::ptrdiff_t>(
                                                           std::min(at + 25, events.size()))));
  }
  deliver_passes(dispatcher, store, clock, 40, std::chrono::seconds(1));
  REQUIRE(outbox_size(store) == 0);
  std::vector<std::string> dead;
  for (const auto& letter : dispatcher.dead_letters("script", 1000).items) {
    // The ids differ between runs; the position in the script is what must match.
    for (std::size_t i = 0; i < events.size(); ++i) {
      if (events[i].id == letter.event.id) dead.push_back(std::to_string(i));
    }
  }
  std::sort(dead.begin(), dead.end());
  return {partition_items(store, "script"), dead};
}

}  // namespace

TEST_CASE("a grouped subscriber's writes leave the store as one-by-one delivery leaves it",
          "[events]") {
  std::mt19937 random(20261126);
  const std::vector<std::string> kinds = {"put", "update", "update", "delete", "check"};
  const std::vector<std::string> conds = {"read", "read", "read", "none", "none", "exist"};
  std::vector<nlohmann::json> scripts;
  for (int e = 0; e < 60; ++e) {
    nlohmann::json ops = nlohmann::json::array();
    std::vector<int> keys = {0, 1, 2, 3, 4, 5};
    std::shuffle(keys.begin(), keys.end(), random);
    const int count = 1 + static_cast<int>(random() % 3);
    for (int k = 0; k < count; ++k) {
      // One field set and another removed (a path both set and removed is refused by DynamoDB).
      const int field = static_cast<int>(random() % 3);
      nlohmann::json set = nlohmann::json::object();
      set["f" + std::to_string(field)] = static_cast<int>(random() % 100);
      ops.push_back({{"kind", kinds[random() % kinds.size()]},
                     {"key", "k" + std::to_string(keys[static_cast<std::size_t>(k)])},
                     {"cond", e == 30 && k == 0 ? "wrong" : conds[random() % conds.size()]},
                     {"set", set},
                     {"remove", nlohmann::json::array({"f" + std::to_string((field + 1) % 3)})}});
    }
    scripts.push_back(ops);
  }
  for (const auto& backend : event_backends()) {
    DYNAMIC_SECTION(backend) {
      const auto [alone_items, alone_dead] = run_script(backend, scripts, 1);
      const auto [grouped_items, grouped_dead] = run_script(backend, scripts, 32);
      CHECK(grouped_dead == alone_dead);
      CHECK_FALSE(alone_dead.empty());  // the "wrong" conditions, at least
      REQUIRE(grouped_items.size() == alone_items.size());
      for (std::size_t i = 0; i < alone_items.size(); ++i) {
        INFO(alone_items[i].dump());
        CHECK(grouped_items[i] == alone_items[i]);
      }
    }
  }
}
