// cellfleet_bench_telemetry: the store-side half of bench/telemetry/run.sh.
//
//   cellfleet_bench_telemetry seed --database FILE --org ORG_ID --devices FILE [--readings N]
//       [--interval-seconds S] [--end-ms MS] [--retention-days D] [--budget-seconds S]
//       [--synchronous off|normal|full]
//     Seeds telemetry history into a stopped server's SQLite store (see seed.h); --devices lists
//     one pack id per line.
//
//   cellfleet_bench_telemetry raw-ceiling --dir DIR [--seconds S] [--synchronous full|normal]
//     The readings/s ceiling of the same run: bench/store's raw sqlite3 batched insert (1,000
//     fleet-scattered rows per transaction) into a new database in DIR.
//
//   cellfleet_bench_telemetry count --database FILE
//     How many readings a running server's store holds (a read-only connection beside it): the
//     ingest rate when requests take longer than wrk's run and wrk sees none of them complete.
//
// Each prints one summary line of key=value pairs ("SEED ...", "RAW ...", "COUNT ...") on stdout
// for the script, progress on stderr.
#include <fmt/format.h>
#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "raw_sqlite.h"
#include "seed.h"

namespace fs = std::filesystem;
using namespace cellfleet::bench;

namespace {

[[noreturn]] void usage(const std::string& problem) {
  std::cerr << "cellfleet_bench_telemetry: " << problem
            << "\nusage: cellfleet_bench_telemetry seed --database FILE --org ORG_ID --devices "
               "FILE [--readings N] [--interval-seconds S] [--end-ms MS] [--retention-days D] "
               "[--budget-seconds S] [--synchronous off|normal|full]\n"
               "       cellfleet_bench_telemetry raw-ceiling --dir DIR [--seconds S] "
               "[--synchronous full|normal]\n"
               "       cellfleet_bench_telemetry count --database FILE\n";
  std::exit(2);
}

// --flag value pairs after the subcommand, each flag one of known.
std::map<std::string, std::string> parse_flags(int argc, char** argv,
                                               std::initializer_list<std::string> known) {
  std::map<std::string, std::string> flags;
  for (int i = 2; i < argc; i += 2) {
    const std::string flag = argv[i];
    if (std::find(known.begin(), known.end(), flag) == known.end()) {
      usage("unknown option " + flag);
    }
    if (i + 1 >= argc) usage(flag + " needs a value");
    flags[flag] = argv[i + 1];
  }
  return flags;
}

std::string required(const std::map<std::string, std::string>& flags, const std::string& flag) {
  auto it = flags.find(flag);
  if (it == flags.end()) usage(flag + " is required");
  return it->second;
}

template <typename Number>
Number number(const std::map<std::string, std::string>& flags, const std::string& flag,
              Number fallback) {
  auto it = flags.find(flag);
  if (it == flags.end()) return fallback;
  try {
    if constexpr (std::is_floating_point_v<Number>) {
      return static_cast<Number>(std::stod(it->second));
    } else {
      return static_cast<Number>(std::stoll(it->second));
    }
  } catch (const std::logic_error&) {
    usage("bad value for " + flag + ": " + it->second);
  }
}

std::vector<std::string> read_lines(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int seed(int argc, char** argv) {
  const auto flags =
      parse_flags(argc, argv,
                  {"--database", "--org", "--devices", "--readings", "--interval-seconds",
                   "--end-ms", "--retention-days", "--budget-seconds", "--synchronous"});
  SeedPlan plan;
  plan.database = required(flags, "--database");
  plan.org_id = required(flags, "--org");
  plan.device_ids = read_lines(required(flags, "--devices"));
  plan.readings = number<std::size_t>(flags, "--readings", plan.readings);
  plan.interval_ms = number<std::int64_t>(flags, "--interval-seconds", 60) * 1000;
  plan.end_ms = number<std::int64_t>(flags, "--end-ms", now_ms());
  plan.retention_days = number<std::int64_t>(flags, "--retention-days", plan.retention_days);
  plan.budget =
      std::chrono::duration<double>(number<double>(flags, "--budget-seconds", plan.budget.count()));
  if (auto it = flags.find("--synchronous"); it != flags.end()) plan.synchronous = it->second;
  if (plan.readings == 0 || plan.interval_ms <= 0 || plan.budget.count() <= 0) {
    usage("--readings, --interval-seconds and --budget-seconds must be positive");
  }

  fmt::print(stderr,
             "seeding up to {} readings over {} packs, one per {} s each, for at most {:g} s\n",
             plan.readings, plan.device_ids.size(), plan.interval_ms / 1000, plan.budget.count());
  const SeedResult r = seed_history(plan);
  fmt::print(
      "SEED readings={} seconds={:.2f} readings_per_second={:.0f} complete={} packs={} "
      "from_ms={} to_ms={} synchronous={}\n",
      r.readings, r.seconds, r.readings_per_second(), r.complete ? 1 : 0, plan.device_ids.size(),
      r.from_ms, r.to_ms, plan.synchronous);
  return 0;
}

int raw_ceiling(int argc, char** argv) {
  const auto flags = parse_flags(argc, argv, {"--dir", "--seconds", "--synchronous"});
  const fs::path dir = required(flags, "--dir");
  const std::string synchronous =
      flags.contains("--synchronous") ? flags.at("--synchronous") : std::string("full");
  RunOptions options;
  options.duration = std::chrono::duration<double>(number<double>(flags, "--seconds", 15.0));
  options.warmup = options.duration / 10;
  fmt::print(stderr, "{} (synchronous={}) for {:g} s\n", kRawOperation, synchronous,
             options.duration.count());
  const Measurement m =
      measure_raw_sqlite_insert("sqlite", (dir / "raw-ceiling.db").string(), synchronous, options);
  fs::remove(dir / "raw-ceiling.db");
  fs::remove(dir / "raw-ceiling.db-wal");
  fs::remove(dir / "raw-ceiling.db-shm");
  if (m.errors > 0) throw std::runtime_error(m.first_error);
  fmt::print(
      "RAW rows_per_second={:.0f} transactions_per_second={:.1f} rows_per_transaction={} "
      "p50_us={:.0f} p90_us={:.0f} p99_us={:.0f} max_us={:.0f} synchronous={}\n",
      m.items_per_second(), m.ops_per_second, m.items_per_op, m.p50_us, m.p90_us, m.p99_us,
      m.max_us, synchronous);
  return 0;
}

int count(int argc, char** argv) {
  const auto flags = parse_flags(argc, argv, {"--database"});
  const std::string path = required(flags, "--database");
  sqlite3* db = nullptr;
  sqlite3_stmt* statement = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
  if (rc == SQLITE_OK) sqlite3_busy_timeout(db, 5000);
  if (rc == SQLITE_OK) {
    // The table, plus the log's readings not yet moved into it (migrations/0003): those an
    // interrupted pass already moved are in both until the server next opens the file.
    rc = sqlite3_prepare_v2(db,
                            "SELECT (SELECT count(*) FROM telemetry) + (SELECT count(*) FROM "
                            "telemetry_log l WHERE NOT EXISTS (SELECT 1 FROM telemetry_log_pass p "
                            "WHERE l.seq <= p.through_seq AND l.pk <= p.through_pk))",
                            -1, &statement, nullptr);
    // A file of a cellfleet before the log: the table alone.
    if (rc != SQLITE_OK) {
      rc = sqlite3_prepare_v2(db, "SELECT count(*) FROM telemetry", -1, &statement, nullptr);
    }
  }
  const bool counted = rc == SQLITE_OK && sqlite3_step(statement) == SQLITE_ROW;
  const std::int64_t readings = counted ? sqlite3_column_int64(statement, 0) : 0;
  const std::string error = db != nullptr ? sqlite3_errmsg(db) : "out of memory";
  sqlite3_finalize(statement);
  sqlite3_close_v2(db);
  if (!counted) throw std::runtime_error(path + ": " + error);
  fmt::print("COUNT readings={}\n", readings);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) usage("a subcommand is required");
  const std::string command = argv[1];
  try {
    if (command == "seed") return seed(argc, argv);
    if (command == "raw-ceiling") return raw_ceiling(argc, argv);
    if (command == "count") return count(argc, argv);
  } catch (const std::exception& error) {
    std::cerr << "cellfleet_bench_telemetry " << command << ": " << error.what() << '\n';
    return 1;
  }
  usage("unknown subcommand " + command);
}
