#pragma once
// Process metrics in the Prometheus text exposition format (version 0.0.4), served at /metrics.
// Series are created on first use and live as long as the registry; updating one is lock-free.

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace cellfleet {

using Labels = std::vector<std::pair<std::string, std::string>>;

class Counter {
 public:
  void inc(std::uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  std::uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> value_{0};
};

class Gauge {
 public:
  void set(std::int64_t v) { value_.store(v, std::memory_order_relaxed); }
  void add(std::int64_t n) { value_.fetch_add(n, std::memory_order_relaxed); }
  std::int64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::int64_t> value_{0};
};

// Observations are durations in microseconds; exposed in seconds, as Prometheus expects.
class Histogram {
 public:
  explicit Histogram(std::vector<std::uint64_t> upper_bounds_us);
  void observe_us(std::uint64_t us);
  const std::vector<std::uint64_t>& bounds_us() const { return bounds_; }
  std::uint64_t bucket_count(std::size_t i) const { return counts_[i].load(); }  // not cumulative
  std::uint64_t count() const { return count_.load(); }
  std::uint64_t sum_us() const { return sum_us_.load(); }

 private:
  std::vector<std::uint64_t> bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> counts_;
  std::atomic<std::uint64_t> count_{0};
  std::atomic<std::uint64_t> sum_us_{0};
};

// Latency buckets from 1 ms to 10 s.
std::vector<std::uint64_t> default_latency_buckets_us();

class MetricsRegistry {
 public:
  Counter& counter(const std::string& name, const std::string& help, const Labels& labels = {});
  Gauge& gauge(const std::string& name, const std::string& help, const Labels& labels = {});
  Histogram& histogram(const std::string& name, const std::string& help, const Labels& labels = {},
                       std::vector<std::uint64_t> bounds_us = default_latency_buckets_us());
  // A gauge read when metrics are scraped (queue depths, pool sizes).
  void gauge_callback(const std::string& name, const std::string& help,
                      std::function<std::int64_t()> read);

  std::string render() const;

 private:
  enum class Type { counter, gauge, histogram };
  struct Family {
    Type type;
    std::string help;
    std::map<std::string, std::unique_ptr<Counter>> counters;  // keyed by rendered labels
    std::map<std::string, std::unique_ptr<Gauge>> gauges;
    std::map<std::string, std::unique_ptr<Histogram>> histograms;
    std::function<std::int64_t()> callback;
  };
  Family& family(const std::string& name, Type type, const std::string& help);

  mutable std::mutex mutex_;
  std::map<std::string, Family> families_;
};

}  // namespace cellfleet
