// cellfleet_events_crash_helper: the separate process of the commit-then-crash test
// (events_crash_test.cpp). events_crash.h describes the items it writes.
//
//   cellfleet_events_crash_helper publish <store>
//       commits a state item and its event per batch, with no dispatcher, printing each n once its
//       batch is committed, until it is killed (or kMaxCommits: the test kills it long before)
//   cellfleet_events_crash_helper deliver <store>
//       delivers the outbox to one subscriber until the outbox is empty, then prints
//       "delivered <count>" (deliveries completed by this process) and exits 0
//   <store>: --sqlite PATH | --dynamodb ENDPOINT TABLE_PREFIX
//
// Exit status: 0 done, 1 an error (its message on stderr), 2 a bad command line.

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <exception>
#include <string>
#include <thread>

#include "core/clock.h"
#include "core/events/dispatcher.h"
#include "core/events/publisher.h"
#include "core/log.h"
#include "core/metrics.h"
#include "events_crash.h"
#include "events_support.h"

using namespace cellfleet;
using namespace cellfleet::events;
using namespace cellfleet::events::testing::crash;
using cellfleet::events::testing::kTable;
using cellfleet::events::testing::outbox_size;

namespace {

constexpr long long kMaxCommits = 100'000;
constexpr auto kDeliverTimeout = std::chrono::seconds(120);

int publish(const StoreSpec& spec) {
  SystemClock clock;
  auto store = spec.open();
  Publisher publisher(*store, clock, nullptr);  // no dispatcher: nothing is delivered here
  for (long long n = 1; n <= kMaxCommits; ++n) {
    storage::WriteBatch batch;
    batch.ops.emplace_back(storage::Put{kTable,
                                        {{"pk", kStatePartition}, {"sk", state_sk(n)}, {"n", n}},
                                        storage::Condition::must_not_exist()});
    publisher.publish(batch, kOrg, kEventType, subject(n), {{"n", n}});
    publisher.commit(batch);
    // Printed only once write() has returned: every line the test reads is a committed batch.
    std::printf("%lld\n", n);
    std::fflush(stdout);
  }
  return 0;
}

int deliver(const StoreSpec& spec) {
  SystemClock clock;
  auto store = spec.open();
  Logger log(LogLevel::warn, stderr);
  MetricsRegistry metrics;
  DispatcherOptions options;
  options.instance_id = "ins_crash_" + std::to_string(::getpid());
  Dispatcher dispatcher(*store, clock, log, metrics, options);
  const std::string applied_by = dispatcher.instance_id();
  dispatcher.register_subscriber(
      kSubscriber, {kEventType},
      [&clock, &applied_by](const Event& event, storage::WriteBatch& effects) {
        // must_not_exist: an effect written twice would fail here even without the inbox marker.
        effects.ops.emplace_back(storage::Put{kTable,
                                              {{"pk", kEffectPartition},
                                               {"sk", event.subject},
                                               {"n", event.data.at("n")},
                                               {"event_id", event.id},
                                               {"applied_by", applied_by},
                                               {"applied_at", clock.epoch_millis()}},
                                              storage::Condition::must_not_exist()});
      });

  const auto deadline = std::chrono::steady_clock::now() + kDeliverTimeout;
  std::size_t delivered = 0;
  while (true) {
    const std::size_t pass = dispatcher.run_once();
    delivered += pass;
    if (outbox_size(*store) == 0) break;
    if (std::chrono::steady_clock::now() > deadline) {
      std::fprintf(stderr, "events_crash_helper: the outbox did not drain in %lld s\n",
                   static_cast<long long>(kDeliverTimeout.count()));
      return 1;
    }
    // A pass that delivered nothing waits for a handler retry or a lease: do not spin.
    if (pass == 0) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  dispatcher.stop();  // releases the leases, so the next process need not wait for them
  std::printf("delivered %zu\n", delivered);
  std::fflush(stdout);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  StoreSpec spec;
  try {
    if (mode != "publish" && mode != "deliver") throw std::invalid_argument("unknown mode");
    spec = StoreSpec::parse(argc, argv, 2);
  } catch (const std::exception& error) {
    std::fprintf(stderr,
                 "events_crash_helper: %s\nusage: events_crash_helper publish|deliver "
                 "--sqlite PATH | --dynamodb ENDPOINT TABLE_PREFIX\n",
                 error.what());
    return 2;
  }
  try {
    return mode == "publish" ? publish(spec) : deliver(spec);
  } catch (const std::exception& error) {
    std::fprintf(stderr, "events_crash_helper %s: %s\n", mode.c_str(), error.what());
    return 1;
  }
}
