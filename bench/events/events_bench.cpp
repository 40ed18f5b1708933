// cellfleet_bench_events: how fast and how soon the event bus delivers on each backend, next to
// the write it must make per event, measured in the same run. A benchmark, not a test: it reports
// and does not fail on slow figures.
//
//   cellfleet_bench_events --backend sqlite|dynamodb [--endpoint URL] [--seconds N] [--events N]
//                          [--rate R] [--warmup S] [--json FILE]
//
// --seconds: the lag phase (default 10; each ceiling run takes a quarter); --events: published,
// then drained (default 2,000 on SQLite, 1,500 on DynamoDB); --rate: events/s in the lag phase
// (50); --warmup: untimed ceiling writes first (a quarter of --seconds on SQLite, 10 s on
// DynamoDB), then 300 events published and delivered.
//
// sqlite: fresh databases in a new directory under $TMPDIR (else /tmp), one with
// synchronous=full (the server's default), one with synchronous=normal. dynamodb: DynamoDB Local at
// --endpoint (loopback only), in tables with a prefix of their own, created by migrate_dynamodb and
// deleted at the end. dispatch_workloads.h describes the rows; bench/README.md how to run it.
#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <ctime>
#include <iostream>
#include <stdexcept>
#include <string>
#include <thread>

#include "dispatch_workloads.h"
#include "environment.h"
#include "report.h"
#include "storage/dynamodb/dynamodb_store.h"
#include "storage/sqlite/sqlite_store.h"

namespace storage = cellfleet::storage;
using namespace cellfleet::bench;

namespace {

// The defaults keep a backend's run around a minute on this machine, slow disk included: SQLite
// with synchronous=full commits 250-6,000 times a second here (the VM's flush latency swings),
// DynamoDB Local a few hundred. 50 events/s is a moderate load for both: each event costs two
// commits (its publication and its delivery), so the lag measures latency, not a queue.
struct Arguments {
  std::string backend;
  std::string endpoint;
  double seconds = 10;
  std::size_t events = 0;  // 0: the backend's default
  double rate = 50;
  double warmup = -1;  // < 0: the backend's default
  std::string json_path;
};

constexpr std::size_t kSqliteEvents = 2000;
constexpr std::size_t kDynamoEvents = 1500;
// A DynamoDB Local started just before runs its first seconds at a third of its later speed (the
// JVM compiling its hot paths); 2.5 s of warm-up left the first ceiling run at 0.3-0.9 of the last.
constexpr double kDynamoWarmupSeconds = 10;

[[noreturn]] void usage(const std::string& problem) {
  std::cerr << "cellfleet_bench_events: " << problem
            << "\nusage: cellfleet_bench_events --backend sqlite|dynamodb [--endpoint URL] "
               "[--seconds N] [--events N] [--rate R] [--warmup S] [--json FILE]\n";
  std::exit(2);
}

Arguments parse_arguments(int argc, char** argv) {
  Arguments args;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (i + 1 >= argc) usage(flag + " needs a value");
    const std::string value = argv[++i];
    try {
      if (flag == "--backend") {
        args.backend = value;
      } else if (flag == "--endpoint") {
        args.endpoint = value;
      } else if (flag == "--seconds") {
        args.seconds = std::stod(value);
      } else if (flag == "--events") {
        args.events = std::stoul(value);
      } else if (flag == "--rate") {
        args.rate = std::stod(value);
      } else if (flag == "--warmup") {
        args.warmup = std::stod(value);
      } else if (flag == "--json") {
        args.json_path = value;
      } else {
        usage("unknown option " + flag);
      }
    } catch (const std::logic_error&) {
      usage("bad value for " + flag + ": " + value);
    }
  }
  const bool sqlite = args.backend == "sqlite";
  if (!sqlite && args.backend != "dynamodb") usage("--backend is required");
  if (!sqlite && args.endpoint.empty()) usage("dynamodb needs --endpoint");
  if (args.events == 0) args.events = sqlite ? kSqliteEvents : kDynamoEvents;
  if (args.warmup < 0) args.warmup = sqlite ? args.seconds / 4 : kDynamoWarmupSeconds;
  if (!(args.seconds > 0 && args.seconds <= 600)) usage("--seconds must be in (0, 600]");
  if (args.events > 1'000'000) usage("--events must be in 1..1000000");
  if (!(args.rate > 0 && args.rate <= 10000)) usage("--rate must be in (0, 10000]");
  if (args.warmup > 600) usage("--warmup must be in [0, 600]");
  return args;
}

// synchronous=full is how `cellfleet serve` runs (every commit waits for the disk, so the VM's
// flush latency sets the rates); synchronous=normal takes the disk out and shows the CPU path.
void run_sqlite(const DispatchOptions& options, Report& report) {
  TempDir dir("cellfleet-bench-events-");
  for (const std::string synchronous : {"full", "normal"}) {
    storage::SqliteOptions sqlite;
    sqlite.path = (dir.path() / synchronous / "store.db").string();
    sqlite.synchronous = synchronous;
    auto store = storage::open_sqlite(sqlite);
    run_dispatch_workloads("sqlite sync=" + synchronous, *store, options, report);
  }
  report.notes.push_back(fmt::format(
      "SQLite files in {} (removed). sync=full is the server's default: every commit waits for\n"
      "the disk under $TMPDIR, whose flush latency on this shared VM swings several-fold from one\n"
      "minute to the next (see the drift ratio). sync=normal waits for no disk.",
      dir.path().string()));
}

void run_dynamodb(const Arguments& args, const DispatchOptions& options, Report& report) {
  const storage::DynamoDbOptions dynamo = local_dynamodb_options(
      args.endpoint, fmt::format("bench-events-{}-{}-", getpid(), std::time(nullptr)));
  fmt::print(stderr, "dynamodb: creating tables {}*\n", dynamo.table_prefix);
  storage::migrate_dynamodb(dynamo);
  try {
    auto store = storage::open_dynamodb(dynamo);
    run_dispatch_workloads("dynamodb-local", *store, options, report);
  } catch (...) {
    delete_tables(dynamo);
    throw;
  }
  delete_tables(dynamo);
  report.notes.push_back(
      "DynamoDB Local: every write() is one TransactWriteItems; a delivery pass also queries all\n"
      "16 outbox shards. Judge it against the ceiling row of this run, never against SQLite.");
}

}  // namespace

int main(int argc, char** argv) {
  const Arguments args = parse_arguments(argc, argv);
  DispatchOptions options;
  options.seconds = std::chrono::duration<double>(args.seconds);
  options.events = args.events;
  options.rate = args.rate;
  options.warmup = std::chrono::duration<double>(args.warmup);
  Report report;
  report.title = fmt::format(
      "cellfleet_bench_events --backend {}: {}, {} events drained, lag at {:g} events/s for {:g} "
      "s, ceilings {:g} s each, {} cores, load average {}",
      args.backend, utc_now(), args.events, args.rate, args.seconds, args.seconds / 4,
      std::thread::hardware_concurrency(), load_average());
  report.legend =
      "Before anything is measured, untimed: ceiling writes for --warmup s and 300 events\n"
      "published and delivered (a DynamoDB Local just started runs at a third of its speed).\n"
      "ceiling: write() of an inbox marker + an effect + the delete of an earlier item, what the\n"
      "dispatcher commits per event; ops/s counts time inside write(), latencies per call.\n"
      "ceiling again: the same at the end of the run, to show how far the ceiling drifted.\n"
      "pass over empty outbox: run_once finding nothing, the 16 shard queries a notify costs.\n"
      "publish: Publisher::commit of a state item + its event, one per batch, no dispatcher.\n"
      "drain: run_once until the outbox those commits filled is empty, one subscriber writing one\n"
      "item per event; ops/s = events / time in run_once; latencies = gaps between deliveries.\n"
      "lag: the dispatcher thread running, events committed (with notify) at the given rate;\n"
      "ops/s = events per second published; latencies = each event's commit to its effect's\n"
      "commit. Publish and drain get 2x --seconds each at most, the lag's events as long to be\n"
      "applied: errors = events left undelivered then. All latencies in microseconds.";
  try {
    if (args.backend == "sqlite") {
      run_sqlite(options, report);
    } else {
      run_dynamodb(args, options, report);
    }
  } catch (const std::exception& error) {
    report.notes.push_back("Load average at the end: " + load_average() + ".");
    if (!report.rows.empty()) print_report(report);
    std::cerr << "cellfleet_bench_events: " << error.what() << '\n';
    return 1;
  }
  report.notes.push_back("Load average at the end: " + load_average() + ".");
  print_report(report);
  if (!args.json_path.empty()) write_json_report(report, args.json_path);
  return 0;
}
