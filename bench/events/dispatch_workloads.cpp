#include "dispatch_workloads.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "core/events/dispatcher.h"
#include "core/events/outbox.h"
#include "core/events/publisher.h"
#include "core/log.h"
#include "core/metrics.h"
#include "measure.h"
#include "stopwatch_store.h"

namespace cellfleet::bench {

namespace {

using SteadyClock = std::chrono::steady_clock;

const std::string kTable(events::kEventsTable);
const std::string kOrg = "org_01JDBENCH00000000000000000";
const std::string kEventType = "bench.state_committed";
const std::string kSubscriber = "bench.effects";
constexpr std::int64_t kSubjects = 1000;  // devices the events are about, spread over the shards

std::int64_t nanoseconds(SteadyClock::duration d) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(d).count();
}

double seconds(SteadyClock::duration d) {
  return std::chrono::duration<double>(d).count();
}

std::string sort_key(std::int64_t n) {
  return fmt::format("{:012}", n);
}

// One event per batch, with the state change it reports, as a module's service publishes.
void publish_one(events::Publisher& publisher, std::int64_t n) {
  storage::WriteBatch batch;
  batch.ops.emplace_back(storage::Put{kTable,
                                      {{"pk", kStatePartition}, {"sk", sort_key(n)}, {"n", n}},
                                      storage::Condition::must_not_exist()});
  publisher.publish(batch, kOrg, kEventType, fmt::format("dev_{:05}", n % kSubjects), {{"n", n}});
  publisher.commit(batch);
}

// The subscriber: one effect item per event, reading nothing, so the figures are the bus's own.
void write_effect(const events::Event& event, storage::WriteBatch& effects) {
  effects.ops.emplace_back(storage::Put{kTable,
                                        {{"pk", kEffectPartition},
                                         {"sk", event.id},
                                         {"n", event.data.at("n")},
                                         {"event_id", event.id}},
                                        storage::Condition::must_not_exist()});
}

std::size_t outbox_size(storage::Store& store) {
  std::size_t size = 0;
  for (std::size_t shard = 0; shard < events::kOutboxShards; ++shard) {
    storage::Query query;
    query.table = kTable;
    query.partition = events::outbox_partition(shard);
    query.limit = 1000;
    do {
      const auto page = store.query(query);
      size += page.items.size();
      query.cursor = page.next_cursor;
    } while (!query.cursor.empty());
  }
  return size;
}

Measurement row(const std::string& backend, const std::string& operation, std::uint64_t ops,
                double busy_seconds, double wall_seconds, std::vector<std::int64_t> latencies_ns) {
  Measurement m;
  m.backend = backend;
  m.operation = operation;
  m.ops = ops;
  m.wall_seconds = wall_seconds;
  m.ops_per_second = busy_seconds > 0 ? static_cast<double>(ops) / busy_seconds : 0;
  set_latencies(m, std::move(latencies_ns));
  return m;
}

// The dispatcher's commit for one event, without the dispatcher: an inbox marker and an effect,
// both must_not_exist, and the delete of an item written earlier (the outbox item's part; here
// the previous call's effect) with version_is, as one write().
// Each run writes under partitions of its own, so the second starts from empty ones as the first.
Measurement measure_ceiling(const std::string& backend, const std::string& operation,
                            storage::Store& store, std::chrono::duration<double> duration,
                            std::chrono::duration<double> warmup) {
  RunOptions run;
  run.duration = duration;
  run.warmup = warmup;
  const std::int64_t expires_at = SystemClock().epoch_seconds() + 35 * 24 * 3600;
  const std::string inbox = "bench#ceiling#inbox#" + operation;
  const std::string effect = "bench#ceiling#effect#" + operation;
  std::int64_t calls = 0;
  return measure(backend, operation, 1, run, [&](std::mt19937_64&) {
    const std::int64_t n = ++calls;
    storage::WriteBatch batch;
    batch.ops.emplace_back(storage::Put{
        kTable,
        {{"pk", inbox}, {"sk", sort_key(n)}, {"applied_at", n}, {"expires_at", expires_at}},
        storage::Condition::must_not_exist()});
    batch.ops.emplace_back(storage::Put{kTable,
                                        {{"pk", effect},
                                         {"sk", sort_key(n)},
                                         {"n", n},
                                         {"event_id", "evt_01JDBENCH00000000000000000"},
                                         {"version", 0}},
                                        storage::Condition::must_not_exist()});
    if (n > 1) {
      batch.ops.emplace_back(
          storage::Delete{kTable, {effect, sort_key(n - 1)}, storage::Condition::version_is(0)});
    }
    return [&store, batch = std::move(batch)] { store.write(batch); };
  });
}

// Publishes events 1..count, or fewer when budget runs out first (a slow backend); the row's ops
// say how many.
Measurement measure_publish(const std::string& backend, events::Publisher& publisher,
                            std::size_t count, SteadyClock::duration budget) {
  std::vector<std::int64_t> latencies;
  latencies.reserve(count);
  SteadyClock::duration busy{0};
  const auto start = SteadyClock::now();
  std::size_t published = 0;
  while (published < count && SteadyClock::now() - start < budget) {
    const auto before = SteadyClock::now();
    publish_one(publisher, static_cast<std::int64_t>(++published));
    const auto took = SteadyClock::now() - before;
    busy += took;
    latencies.push_back(nanoseconds(took));
  }
  return row(backend, kPublishOperation, published, seconds(busy),
             seconds(SteadyClock::now() - start), std::move(latencies));
}

// run_once until the outbox is empty. The latencies are the gaps between one event's effects
// committing and the next's: their mean is 1 / the rate, their tail the pauses (shard queries,
// lease renewals, a busy disk).
// Stops at budget with the outbox not yet empty: the row's errors count the events left.
Measurement measure_drain(const std::string& backend, events::Dispatcher& dispatcher,
                          StopwatchStore& watched, SteadyClock::duration budget) {
  std::uint64_t delivered = 0;
  SteadyClock::duration busy{0};
  std::size_t left = 0;
  const auto start = SteadyClock::now();
  do {
    const auto before = SteadyClock::now();
    delivered += dispatcher.run_once();
    busy += SteadyClock::now() - before;
    left = outbox_size(watched);
  } while (left > 0 && SteadyClock::now() - start < budget);
  const auto wall = SteadyClock::now() - start;
  std::vector<SteadyClock::time_point> applied;
  for (const auto& [n, at] : watched.applied()) applied.push_back(at);
  std::sort(applied.begin(), applied.end());
  std::vector<std::int64_t> gaps;
  auto previous = start;
  for (const auto at : applied) {
    gaps.push_back(nanoseconds(at - previous));
    previous = at;
  }
  Measurement m =
      row(backend, kDrainOperation, delivered, seconds(busy), seconds(wall), std::move(gaps));
  m.errors = left;
  if (left > 0) m.first_error = fmt::format("{} events still in the outbox at the budget", left);
  return m;
}

// Events published every 1/rate seconds (with notify) for options.seconds, after a tenth of that
// as unmeasured warm-up, with the dispatcher's thread running; the lag of each is its effect's
// commit minus its own.
Measurement measure_lag(const std::string& backend, events::Dispatcher& dispatcher,
                        events::Publisher& publisher, StopwatchStore& watched,
                        const DispatchOptions& options, std::int64_t first_n) {
  const auto warmup_count = static_cast<std::int64_t>(options.rate * options.seconds.count() / 10);
  const auto count = static_cast<std::int64_t>(options.rate * options.seconds.count());
  const auto interval = std::chrono::duration_cast<SteadyClock::duration>(
      std::chrono::duration<double>(1.0 / options.rate));
  watched.clear();
  dispatcher.start();
  const auto start = SteadyClock::now();
  for (std::int64_t k = 0; k < warmup_count + count; ++k) {
    std::this_thread::sleep_until(start + k * interval);  // behind schedule: no sleep
    publish_one(publisher, first_n + k);
  }
  const auto published_at = SteadyClock::now();
  const auto total = static_cast<std::size_t>(warmup_count + count);
  const auto budget = std::chrono::duration_cast<SteadyClock::duration>(options.seconds * 2);
  while (watched.applied().size() < total && SteadyClock::now() - published_at < budget) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  dispatcher.stop();

  const auto committed = watched.committed();
  const auto applied = watched.applied();
  std::vector<std::int64_t> lags;
  std::uint64_t missing = 0;
  for (std::int64_t n = first_n + warmup_count; n < first_n + warmup_count + count; ++n) {
    const auto commit = committed.find(n);
    const auto apply = applied.find(n);
    if (commit == committed.end() || apply == applied.end()) {
      ++missing;
      continue;
    }
    // The dispatcher may apply an event before the publishing thread has taken its time (it
    // was descheduled right after the commit): that lag is 0, not negative.
    lags.push_back(std::max<std::int64_t>(0, nanoseconds(apply->second - commit->second)));
  }
  const double publishing = seconds(published_at - start) * static_cast<double>(count) /
                            static_cast<double>(warmup_count + count);
  const std::uint64_t measured = lags.size();
  Measurement m = row(backend, kLagOperation, measured, publishing, seconds(published_at - start),
                      std::move(lags));
  m.errors = missing;
  if (missing > 0) m.first_error = fmt::format("{} events not applied in time", missing);
  return m;
}

// Untimed, before anything is measured: the ceiling's writes for duration, then a few hundred
// events published and delivered (given as long again at most). A DynamoDB Local just started is
// still compiling its hot paths (its first seconds run at a third of its later speed); SQLite's
// caches fill.
void warm_up(storage::Store& store, events::Publisher& publisher, events::Dispatcher& dispatcher,
             std::chrono::duration<double> duration) {
  constexpr std::int64_t kFirst = 1'000'000'000;  // apart from the measured events' numbers
  constexpr std::int64_t kEvents = 300;
  measure_ceiling("warm-up", "warm-up", store, duration, std::chrono::duration<double>(0));
  const auto deadline =
      SteadyClock::now() + std::chrono::duration_cast<SteadyClock::duration>(duration);
  for (std::int64_t k = 0; k < kEvents && SteadyClock::now() < deadline; ++k) {
    publish_one(publisher, kFirst + k);
  }
  while (outbox_size(store) > 0 && SteadyClock::now() < deadline) dispatcher.run_once();
}

// Each figure against both ceiling runs, the one before and the one after: when the backend's
// speed moved during the run (a shared VM's disk does), the truth is within that range.
void add_ratios(Report& report, const std::string& backend) {
  const auto* first = find_row(report, backend, kCeilingOperation);
  const auto* again = find_row(report, backend, kCeilingAgainOperation);
  if (first == nullptr || again == nullptr) return;
  report.ratios.push_back({backend + ": ceiling again / ceiling (drift; 1.00 = steady)",
                           again->ops_per_second, first->ops_per_second});
  const auto* publish = find_row(report, backend, kPublishOperation);
  const auto* drain = find_row(report, backend, kDrainOperation);
  const auto* lag = find_row(report, backend, kLagOperation);
  for (const auto* ceiling : {first, again}) {
    const std::string name = ceiling == first ? "ceiling" : "ceiling again";
    if (drain != nullptr) {
      report.ratios.push_back({fmt::format("{}: drain events/s / {} writes/s", backend, name),
                               drain->ops_per_second, ceiling->ops_per_second});
    }
    if (publish != nullptr) {
      report.ratios.push_back({fmt::format("{}: publish commits/s / {} writes/s", backend, name),
                               publish->ops_per_second, ceiling->ops_per_second});
    }
    if (lag != nullptr) {
      report.ratios.push_back({fmt::format("{}: lag p50 / {} write p50 (us)", backend, name),
                               lag->p50_us, ceiling->p50_us});
      report.ratios.push_back({fmt::format("{}: lag p99 / {} write p99 (us)", backend, name),
                               lag->p99_us, ceiling->p99_us});
    }
  }
}

}  // namespace

void run_dispatch_workloads(const std::string& backend, storage::Store& store,
                            const DispatchOptions& options, Report& report) {
  StopwatchStore watched(store);
  SystemClock clock;
  Logger log(LogLevel::warn, stderr);
  MetricsRegistry metrics;
  events::Dispatcher dispatcher(watched, clock, log, metrics);
  dispatcher.register_subscriber(kSubscriber, {kEventType}, write_effect);
  events::Publisher offline(watched, clock, nullptr);  // publishes without waking anyone
  events::Publisher publisher(watched, clock, &dispatcher);
  dispatcher.run_once();  // takes the shard leases before anything is timed

  const auto ceiling_time = options.seconds / 4;
  fmt::print(stderr, "{}: warming up\n", backend);
  warm_up(store, offline, dispatcher, options.warmup);
  watched.clear();

  fmt::print(stderr, "{}: {} for {:g} s\n", backend, kCeilingOperation, ceiling_time.count());
  report.rows.push_back(
      measure_ceiling(backend, kCeilingOperation, store, ceiling_time, ceiling_time / 10));

  // What a notify() costs before any event is found: the lag's floor besides the write.
  RunOptions pass_run;
  pass_run.duration = ceiling_time / 2;
  pass_run.warmup = pass_run.duration / 10;
  fmt::print(stderr, "{}: {} for {:g} s\n", backend, kEmptyPassOperation,
             pass_run.duration.count());
  report.rows.push_back(measure(backend, kEmptyPassOperation, 1, pass_run, [&](std::mt19937_64&) {
    return [&dispatcher] { dispatcher.run_once(); };
  }));

  fmt::print(stderr, "{}: publishing {} events\n", backend, options.events);
  // A backend too slow for options.events gets twice the lag phase's time for each of publishing
  // and draining, and the rows say how far it got.
  const auto budget = std::chrono::duration_cast<SteadyClock::duration>(options.seconds * 2);
  report.rows.push_back(measure_publish(backend, offline, options.events, budget));
  fmt::print(stderr, "{}: draining them\n", backend);
  report.rows.push_back(measure_drain(backend, dispatcher, watched, budget));

  fmt::print(stderr, "{}: lag at {:g} events/s for {:g} s\n", backend, options.rate,
             options.seconds.count());
  report.rows.push_back(measure_lag(backend, dispatcher, publisher, watched, options,
                                    static_cast<std::int64_t>(options.events) + 1));

  // The same ceiling once more: how far it moved during the run is the noise every ratio carries
  // (a shared VM's flush latency can change several-fold within a minute).
  fmt::print(stderr, "{}: {} for {:g} s\n", backend, kCeilingAgainOperation, ceiling_time.count());
  report.rows.push_back(
      measure_ceiling(backend, kCeilingAgainOperation, store, ceiling_time, ceiling_time / 10));
  add_ratios(report, backend);
}

}  // namespace cellfleet::bench
