#pragma once
// Runs one operation in a loop for a fixed time on a few threads and keeps every latency.
// Building a call's input (items, keys) is not timed: rates count time spent inside the calls, so
// they describe the store, not the benchmark's item factory.

#include <chrono>
#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <vector>

namespace cellfleet::bench {

struct RunOptions {
  std::chrono::duration<double> duration{10.0};
  // Run, untimed, before each measurement: the emulator's JIT and the page cache settle, so the
  // first calls' costs do not land in the tail percentiles.
  std::chrono::duration<double> warmup{1.0};
  int threads = 1;
};

// The call to time; it throws to report an error.
using Call = std::function<void()>;
// Prepares the next call of one thread (untimed) from that thread's random generator.
using NextCall = std::function<Call(std::mt19937_64& rng)>;

struct Measurement {
  std::string backend;    // "sqlite synchronous=full", "dynamodb-local", ...
  std::string operation;  // "put", "get", ...
  std::size_t items_per_op = 1;
  int threads = 1;
  std::uint64_t ops = 0;     // calls that returned normally
  std::uint64_t errors = 0;  // calls that threw
  std::string first_error;
  double wall_seconds = 0;
  double ops_per_second = 0;  // sum over threads of ops / time inside calls
  double items_per_second() const { return ops_per_second * static_cast<double>(items_per_op); }
  // Latencies of the calls that returned normally, in microseconds.
  double p50_us = 0, p90_us = 0, p99_us = 0, max_us = 0;
};

// Sets m's p50/p90/p99/max (nearest-rank percentiles, in microseconds) from latencies in
// nanoseconds, for figures timed by other means than measure().
void set_latencies(Measurement& m, std::vector<std::int64_t> latencies_ns);

// Calls next(rng)() on options.threads threads for options.warmup, then again, measured, until
// options.duration has passed; a call under way at the deadline is finished and counted.
Measurement measure(std::string backend, std::string operation, std::size_t items_per_op,
                    const RunOptions& options, const NextCall& next);

}  // namespace cellfleet::bench
