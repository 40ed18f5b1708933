// cellfleet_bench_store: how fast the Store is on each backend, next to what the backend itself
// can do on this machine. A benchmark, not a test: it reports and does not fail on slow figures.
//
//   cellfleet_bench_store --backend sqlite|dynamodb [--endpoint URL] [--seconds N] [--threads T]
//                         [--json FILE]
//
// sqlite: a fresh database in a new directory under $TMPDIR (else /tmp), measured with
// synchronous=full (the default) and, for the write operations, synchronous=normal; each next to
// raw sqlite3 batched inserts with the same setting. dynamodb: DynamoDB Local at --endpoint
// (loopback only), in tables with a prefix of their own, created by migrate_dynamodb and deleted
// at the end. bench/store/README.md explains the rows.
#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <stdexcept>
#include <string>
#include <thread>

#include "dynamodb_ceiling.h"
#include "environment.h"
#include "raw_sqlite.h"
#include "report.h"
#include "storage/dynamodb/dynamodb_store.h"
#include "storage/sqlite/sqlite_store.h"
#include "store_workloads.h"

namespace fs = std::filesystem;
namespace storage = cellfleet::storage;
using namespace cellfleet::bench;

namespace {

// DynamoDB Local's own limits on this machine (ARCHITECTURE.md §8).
constexpr double kDynamoLocalPutItemsPerSecond = 2500;
constexpr double kDynamoLocalBatchItemsPerSecond = 8800;

struct Arguments {
  std::string backend;
  std::string endpoint;
  double seconds = 10;
  int threads = 1;
  std::string json_path;
};

[[noreturn]] void usage(const std::string& problem) {
  std::cerr << "cellfleet_bench_store: " << problem
            << "\nusage: cellfleet_bench_store --backend sqlite|dynamodb [--endpoint URL] "
               "[--seconds N] [--threads T] [--json FILE]\n";
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
      } else if (flag == "--threads") {
        args.threads = std::stoi(value);
      } else if (flag == "--json") {
        args.json_path = value;
      } else {
        usage("unknown option " + flag);
      }
    } catch (const std::logic_error&) {
      usage("bad value for " + flag + ": " + value);
    }
  }
  if (args.backend != "sqlite" && args.backend != "dynamodb") usage("--backend is required");
  if (args.backend == "dynamodb" && args.endpoint.empty()) usage("dynamodb needs --endpoint");
  if (!(args.seconds > 0 && args.seconds <= 600)) usage("--seconds must be in (0, 600]");
  if (args.threads < 1 || args.threads > 64) usage("--threads must be in 1..64");
  return args;
}

void add_put_many_ratio(Report& report, const std::string& backend) {
  const auto* put_many = find_row(report, backend, kPutManyOperation);
  const auto* raw = find_row(report, backend, kRawOperation);
  if (put_many == nullptr || raw == nullptr) return;
  report.ratios.push_back(
      {fmt::format("{}: put_many items/s / raw SQLite batched insert rows/s", backend),
       put_many->items_per_second(), raw->items_per_second()});
}

void run_sqlite(const Arguments& args, const RunOptions& options, Report& report) {
  TempDir dir("cellfleet-bench-store-");
  report.notes.push_back(fmt::format(
      "SQLite files were in {} (removed); its disk sets the synchronous=full write rates. The raw\n"
      "table starts empty, the store's holds the rows of the phases before put_many.",
      dir.path().string()));
  const auto add = [&report](const Measurement& m) { report.rows.push_back(m); };
  for (const std::string synchronous : {"full", "normal"}) {
    const std::string backend = "sqlite sync=" + synchronous;
    const fs::path run_dir = dir.path() / synchronous;
    fs::create_directories(run_dir);
    {
      storage::SqliteOptions sqlite;
      sqlite.path = (run_dir / "store.db").string();
      sqlite.synchronous = synchronous;
      auto store = storage::open_sqlite(sqlite);
      // Reads do not depend on synchronous: they are measured once, with the default.
      run_store_operations(backend, *store, options,
                           synchronous == "full" ? Operations::all : Operations::writes_only, add);
    }
    fmt::print(stderr, "{}: {} for {:g} s\n", backend, kRawOperation, args.seconds);
    add(measure_raw_sqlite_insert(backend, (run_dir / "raw.db").string(), synchronous, options));
    add_put_many_ratio(report, backend);
    fs::remove_all(run_dir);
  }
}

void add_dynamodb_ratios(Report& report, const std::string& backend) {
  const auto* put = find_row(report, backend, kPutOperation);
  const auto* put_many = find_row(report, backend, kPutManyOperation);
  const auto* put_item = find_row(report, backend, kRawPutItemOperation);
  const auto* batch_write = find_row(report, backend, kRawBatchWriteOperation);
  if (put != nullptr) {
    report.ratios.push_back({"put ops/s / DynamoDB Local PutItem ceiling (§8)", put->ops_per_second,
                             kDynamoLocalPutItemsPerSecond});
  }
  if (put_many != nullptr) {
    report.ratios.push_back({"put_many items/s / DynamoDB Local BatchWriteItem ceiling (§8)",
                             put_many->items_per_second(), kDynamoLocalBatchItemsPerSecond});
  }
  if (put != nullptr && put_item != nullptr) {
    report.ratios.push_back({"put ops/s / client PutItem ops/s (this run)", put->ops_per_second,
                             put_item->ops_per_second});
  }
  if (put_many != nullptr && batch_write != nullptr) {
    report.ratios.push_back({"put_many items/s / client BatchWriteItem items/s (this run)",
                             put_many->items_per_second(), batch_write->items_per_second()});
  }
}

void run_dynamodb(const Arguments& args, const RunOptions& options, Report& report) {
  const storage::DynamoDbOptions dynamo = local_dynamodb_options(
      args.endpoint, fmt::format("bench-{}-{}-", getpid(), std::time(nullptr)));
  fmt::print(stderr, "dynamodb: creating tables {}*\n", dynamo.table_prefix);
  storage::migrate_dynamodb(dynamo);
  const std::string backend = "dynamodb-local";
  const auto add = [&report](const Measurement& m) { report.rows.push_back(m); };
  try {
    auto store = storage::open_dynamodb(dynamo);
    run_store_operations(backend, *store, options, Operations::all, add);
    const std::string table = dynamo.table_prefix + "entities";
    fmt::print(stderr, "{}: {} for {:g} s\n", backend, kRawPutItemOperation, args.seconds);
    add(measure_client_put_item(backend, dynamo.client, table, options));
    fmt::print(stderr, "{}: {} for {:g} s\n", backend, kRawBatchWriteOperation, args.seconds);
    add(measure_client_batch_write(backend, dynamo.client, table, options));
  } catch (...) {
    delete_tables(dynamo);
    throw;
  }
  delete_tables(dynamo);
  add_dynamodb_ratios(report, backend);
  report.notes.push_back(fmt::format(
      "DynamoDB Local tops out near 2,500 PutItem/s and 8,800 items/s with BatchWriteItem on this\n"
      "machine when it is quiet (ARCHITECTURE.md §8): judge the DynamoDB backend against those or\n"
      "against the client rows of this run, never against SQLite. put and write(batch) are one\n"
      "TransactWriteItems each (they carry conditions); put_many is BatchWriteItem, 25 items a\n"
      "request, {} in flight. The client rows send prepared requests through the backend's wire\n"
      "client without the Store: PutItem on {} thread(s), BatchWriteItem on {} threads.",
      kBatchWritesInFlight, options.threads, options.threads * kBatchWritesInFlight));
}

}  // namespace

int main(int argc, char** argv) {
  const Arguments args = parse_arguments(argc, argv);
  RunOptions options;
  options.duration = std::chrono::duration<double>(args.seconds);
  options.warmup = options.duration / 10;
  options.threads = args.threads;
  Report report;
  report.title = fmt::format(
      "cellfleet_bench_store --backend {}: {}, {:g} s per operation after {:g} s of warm-up, {} "
      "thread(s), {} cores, load average {}",
      args.backend, utc_now(), args.seconds, options.warmup.count(), args.threads,
      std::thread::hardware_concurrency(), load_average());
  report.legend =
      "Rates count time inside the Store calls (building items is not timed), summed over "
      "threads.\nLatencies in microseconds, per call (a call of put_many stores 1,000 items).";
  try {
    if (args.backend == "sqlite") {
      run_sqlite(args, options, report);
    } else {
      run_dynamodb(args, options, report);
    }
  } catch (const std::exception& error) {
    report.notes.push_back("Load average at the end: " + load_average() + ".");
    if (!report.rows.empty()) print_report(report);
    std::cerr << "cellfleet_bench_store: " << error.what() << '\n';
    return 1;
  }
  report.notes.push_back("Load average at the end: " + load_average() + ".");
  print_report(report);
  if (!args.json_path.empty()) write_json_report(report, args.json_path);
  return 0;
}
