// Commit-then-crash with real processes: a process that publishes through the outbox is killed
// with SIGKILL while it is committing, and the next process delivers everything it committed,
// once. The processes are cellfleet_events_crash_helper (events_crash_helper.cpp); the store is a
// SQLite file, and DynamoDB Local at CELLFLEET_TEST_DYNAMODB_ENDPOINT. Without that variable the
// DynamoDB section fails rather than passing unchecked, like the server's DynamoDB test:
// scripts/test.sh starts the emulator and sets it.

#include <signal.h>

#include <chrono>
#include <cstdlib>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>

#include "core/events/dead_letter.h"
#include "core/events/outbox.h"
#include "events_crash.h"
#include "events_support.h"
#include "support/child_process.h"
#include "support/server_process.h"

using namespace cellfleet;
using namespace cellfleet::events;
using namespace cellfleet::events::testing;
using namespace cellfleet::events::testing::crash;
using cellfleet::testing::ChildProcess;
using cellfleet::testing::run_to_completion;
using cellfleet::testing::TempDir;

namespace {

constexpr std::size_t kCommitsBeforeKill = 200;
constexpr auto kLineTimeout = std::chrono::seconds(30);
constexpr auto kProcessTimeout = std::chrono::seconds(150);

std::string helper_binary() {
  return CELLFLEET_EVENTS_CRASH_HELPER;
}

std::vector<std::string> helper_args(const std::string& mode, const StoreSpec& spec) {
  std::vector<std::string> args{mode};
  for (auto& arg : spec.args()) args.push_back(std::move(arg));
  return args;
}

using ItemsBySk = std::map<std::string, storage::Item>;

// What the store holds of the test's items, read by a fresh connection of the test process.
struct Observed {
  ItemsBySk states;   // crash#state, by <n>
  ItemsBySk effects;  // crash#effect, by event subject
  ItemsBySk inbox;    // the subscriber's inbox markers, by event id
  // The organization's event log, by subject.
  std::map<std::string, Event> events_by_subject;
  std::size_t outbox = 0;
  std::size_t dead_letters = 0;
};

ItemsBySk by_sk(storage::Store& store, const std::string& partition) {
  ItemsBySk items;
  for (auto& item : partition_items(store, partition)) {
    const std::string sk = item.at("sk");
    items.emplace(sk, std::move(item));
  }
  return items;
}

Observed observe(const StoreSpec& spec) {
  auto store = spec.open();
  Observed seen;
  seen.states = by_sk(*store, kStatePartition);
  seen.effects = by_sk(*store, kEffectPartition);
  seen.inbox = by_sk(*store, "inbox#" + kSubscriber);
  for (const auto& item : partition_items(*store, event_log_partition(kOrg))) {
    const auto event = item.at("event").get<Event>();
    seen.events_by_subject.emplace(event.subject, event);
  }
  seen.outbox = outbox_size(*store);
  seen.dead_letters = list_dead_letters(*store, kSubscriber, 1000, "").items.size();
  return seen;
}

StoreSpec sqlite_spec(const TempDir& dir) {
  StoreSpec spec;
  spec.backend = "sqlite";
  spec.sqlite_path = (dir.path() / "cellfleet.db").string();
  return spec;
}

// Fresh tables under a prefix of this run's own, created here as `cellfleet migrate` would.
StoreSpec dynamodb_spec(const std::string& endpoint) {
  StoreSpec spec;
  spec.backend = "dynamodb";
  spec.endpoint = endpoint;
  spec.table_prefix = "crash" + std::to_string(std::random_device{}()) + "-";
  storage::migrate_dynamodb(spec.dynamodb_options());
  return spec;
}

// Runs the publisher until it has reported kCommitsBeforeKill commits, SIGKILLs it while it is
// still committing, and returns every n it reported (each one a batch whose write() returned).
std::vector<long long> publish_then_kill(const StoreSpec& spec) {
  ChildProcess publisher(helper_binary(), helper_args("publish", spec));
  std::vector<long long> reported;
  while (reported.size() < kCommitsBeforeKill) {
    const auto line = publisher.read_line(kLineTimeout);
    if (!line) {
      FAIL("the publisher stopped after " << reported.size() << " commits, exit status "
                                          << publisher.wait(std::chrono::seconds(5)));
    }
    reported.push_back(std::stoll(*line));
  }
  publisher.send_signal(SIGKILL);
  for (const auto& line : publisher.read_remaining_lines(std::chrono::seconds(10))) {
    reported.push_back(std::stoll(line));
  }
  const int status = publisher.wait(std::chrono::seconds(10));
  CHECK(ChildProcess::killed_by(status, SIGKILL));  // killed mid-run, not finished
  return reported;
}

// Puts every event of committed back into the outbox.
void requeue_all(const StoreSpec& spec, const Observed& committed) {
  auto store = spec.open();
  storage::WriteBatch batch;
  for (const auto& [subject, event] : committed.events_by_subject) {
    batch.ops.emplace_back(storage::Put{kTable, outbox_item(event), storage::Condition::none()});
    if (batch.ops.size() == storage::kMaxBatchOps) {
      store->write(batch);
      batch.ops.clear();
    }
  }
  if (!batch.ops.empty()) store->write(batch);
}

}  // namespace

TEST_CASE(
    "events committed by a process killed with SIGKILL are each delivered once by the next "
    "process",
    "[events][crash]") {
  for (const std::string backend : {"sqlite", "dynamodb"}) {
    DYNAMIC_SECTION(backend) {
      TempDir dir;
      StoreSpec spec;
      std::optional<TablesDroppedAtEnd> drop_tables;
      if (backend == "sqlite") {
        spec = sqlite_spec(dir);
      } else {
        const char* endpoint = std::getenv("CELLFLEET_TEST_DYNAMODB_ENDPOINT");
        if (endpoint == nullptr || *endpoint == '\0') {
          FAIL(
              "CELLFLEET_TEST_DYNAMODB_ENDPOINT is not set: run scripts/test.sh, or start DynamoDB "
              "Local with scripts/dynamodb-local.sh start and export its endpoint");
        }
        spec = dynamodb_spec(endpoint);
        drop_tables.emplace(spec.dynamodb_options());
      }

      const std::vector<long long> reported = publish_then_kill(spec);
      for (std::size_t i = 0; i < reported.size(); ++i) {
        REQUIRE(reported[i] == static_cast<long long>(i + 1));
      }
      // A request DynamoDB Local had received when its sender died may still be applied just
      // after; give it time to land (or not) before anything is read.
      std::this_thread::sleep_for(std::chrono::milliseconds(500));

      // Every reported commit is in the store, whole (state and event), and at most one more:
      // the batch in flight at the kill, committed but not yet reported.
      const Observed committed = observe(spec);
      const std::size_t count = committed.states.size();
      INFO("reported " << reported.size() << " commits, found " << count);
      REQUIRE(count >= reported.size());
      REQUIRE(count <= reported.size() + 1);
      for (long long n = 1; n <= static_cast<long long>(count); ++n) {
        REQUIRE(committed.states.contains(state_sk(n)));
        CHECK(committed.events_by_subject.contains(subject(n)));
      }
      CHECK(committed.events_by_subject.size() == count);  // no event without its state
      CHECK(committed.outbox == count);
      CHECK(committed.effects.empty());  // the publisher had no dispatcher

      const auto first =
          run_to_completion(helper_binary(), helper_args("deliver", spec), kProcessTimeout);
      REQUIRE(first.status == 0);
      CHECK(first.lines == std::vector<std::string>{"delivered " + std::to_string(count)});

      const Observed delivered = observe(spec);
      CHECK(delivered.outbox == 0);
      CHECK(delivered.dead_letters == 0);
      CHECK(delivered.states == committed.states);
      // Every committed state has exactly one effect, from its own event, and every effect has
      // its committed state.
      REQUIRE(delivered.effects.size() == count);
      for (long long n = 1; n <= static_cast<long long>(count); ++n) {
        const auto effect = delivered.effects.find(subject(n));
        REQUIRE(effect != delivered.effects.end());
        CHECK(effect->second.at("n").get<long long>() == n);
        CHECK(effect->second.at("event_id") == committed.events_by_subject.at(subject(n)).id);
      }
      CHECK(delivered.inbox.size() == count);

      // A second deliverer finds nothing to do and rewrites nothing: the same effects, with the
      // first deliverer's name and times, and the same inbox markers.
      const auto second =
          run_to_completion(helper_binary(), helper_args("deliver", spec), kProcessTimeout);
      REQUIRE(second.status == 0);
      CHECK(second.lines == std::vector<std::string>{"delivered 0"});
      const Observed again = observe(spec);
      CHECK(again.effects == delivered.effects);
      CHECK(again.inbox == delivered.inbox);
      CHECK(again.states == delivered.states);
      CHECK(again.outbox == 0);
      CHECK(again.dead_letters == 0);

      // Even handed every event again (the outbox as a deliverer that died after applying them
      // but before its bookkeeping would leave it), a deliverer applies nothing twice: each inbox
      // marker turns its event away, and the effects stay as the first deliverer wrote them.
      requeue_all(spec, committed);
      REQUIRE(observe(spec).outbox == count);
      const auto third =
          run_to_completion(helper_binary(), helper_args("deliver", spec), kProcessTimeout);
      REQUIRE(third.status == 0);
      CHECK(third.lines == std::vector<std::string>{"delivered " + std::to_string(count)});
      const Observed redelivered = observe(spec);
      CHECK(redelivered.effects == delivered.effects);
      CHECK(redelivered.inbox == delivered.inbox);
      CHECK(redelivered.outbox == 0);
      CHECK(redelivered.dead_letters == 0);
    }
  }
}
