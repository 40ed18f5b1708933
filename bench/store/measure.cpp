#include "measure.h"

#include <algorithm>
#include <cmath>
#include <exception>
#include <mutex>
#include <thread>
#include <utility>

namespace cellfleet::bench {
namespace {

using SteadyClock = std::chrono::steady_clock;

struct ThreadResult {
  std::vector<std::int64_t> latencies_ns;
  std::uint64_t errors = 0;
  std::string first_error;
  SteadyClock::duration busy{0};  // time inside calls, errors included
};

ThreadResult run_thread(const NextCall& next, std::uint64_t seed,
                        SteadyClock::time_point deadline) {
  ThreadResult result;
  result.latencies_ns.reserve(1 << 16);
  std::mt19937_64 rng(seed);
  while (SteadyClock::now() < deadline) {
    Call call = next(rng);
    const auto start = SteadyClock::now();
    try {
      call();
      const auto elapsed = SteadyClock::now() - start;
      result.busy += elapsed;
      result.latencies_ns.push_back(
          std::chrono::duration_cast<std::chrono::nanoseconds>(elapsed).count());
    } catch (const std::exception& error) {
      result.busy += SteadyClock::now() - start;
      if (result.errors++ == 0) result.first_error = error.what();
    }
  }
  return result;
}

// The nearest-rank percentile of sorted values: the smallest value with at least p of all values
// at or below it.
double percentile_us(const std::vector<std::int64_t>& sorted_ns, double p) {
  if (sorted_ns.empty()) return 0;
  const auto rank = static_cast<std::size_t>(std::ceil(p * static_cast<double>(sorted_ns.size())));
  return static_cast<double>(sorted_ns[std::max<std::size_t>(rank, 1) - 1]) / 1000.0;
}

}  // namespace

Measurement measure(std::string backend, std::string operation, std::size_t items_per_op,
                    const RunOptions& options, const NextCall& next) {
  const int threads = std::max(1, options.threads);
  std::vector<ThreadResult> results(static_cast<std::size_t>(threads));
  const auto seed = std::hash<std::string>{}(operation);
  const auto run_all = [&](std::chrono::duration<double> duration, std::uint64_t round) {
    const auto deadline =
        SteadyClock::now() + std::chrono::duration_cast<SteadyClock::duration>(duration);
    std::vector<std::thread> workers;
    for (int i = 0; i < threads; ++i) {
      workers.emplace_back([&, i] {
        const auto index = static_cast<std::size_t>(i);
        results[index] = run_thread(next, seed + round * 1000 + index, deadline);
      });
    }
    for (auto& worker : workers) worker.join();
  };
  if (options.warmup.count() > 0) run_all(options.warmup, 0);
  const auto start = SteadyClock::now();
  run_all(options.duration, 1);

  Measurement m;
  m.backend = std::move(backend);
  m.operation = std::move(operation);
  m.items_per_op = items_per_op;
  m.threads = threads;
  m.wall_seconds = std::chrono::duration<double>(SteadyClock::now() - start).count();
  std::vector<std::int64_t> all;
  for (auto& result : results) {
    const auto ops = result.latencies_ns.size();
    m.ops += ops;
    m.errors += result.errors;
    if (m.first_error.empty()) m.first_error = result.first_error;
    const double busy = std::chrono::duration<double>(result.busy).count();
    if (busy > 0) m.ops_per_second += static_cast<double>(ops) / busy;
    all.insert(all.end(), result.latencies_ns.begin(), result.latencies_ns.end());
  }
  set_latencies(m, std::move(all));
  return m;
}

void set_latencies(Measurement& m, std::vector<std::int64_t> latencies_ns) {
  std::sort(latencies_ns.begin(), latencies_ns.end());
  m.p50_us = percentile_us(latencies_ns, 0.50);
  m.p90_us = percentile_us(latencies_ns, 0.90);
  m.p99_us = percentile_us(latencies_ns, 0.99);
  m.max_us = latencies_ns.empty() ? 0 : static_cast<double>(latencies_ns.back()) / 1000.0;
}

}  // namespace cellfleet::bench
