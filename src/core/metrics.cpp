#include "core/metrics.h"

#include <stdexcept>

#include <fmt/format.h>

namespace cellfleet {

namespace {
std::string escape_label_value(const std::string& value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out.push_back(c);
  }
  return out;
}

// {a="1",b="2"} (empty string for no labels); extra is appended last (histograms' le).
std::string render_labels(const Labels& labels, const std::string& extra = {}) {
  if (labels.empty() && extra.empty()) return {};
  std::string out = "{";
  for (const auto& [name, value] : labels) {
    if (out.size() > 1) out += ',';
    out += name + "=\"" + escape_label_value(value) + '"';
  }
  if (!extra.empty()) {
    if (out.size() > 1) out += ',';
    out += extra;
  }
  return out + "}";
}

// "{a="1"}" + le="0.5" -> "{a="1",le="0.5"}"
std::string with_extra(const std::string& rendered, const std::string& extra) {
  if (rendered.empty()) return "{" + extra + "}";
  return rendered.substr(0, rendered.size() - 1) + "," + extra + "}";
}

std::string seconds(std::uint64_t us) {
  return fmt::format("{}", static_cast<double>(us) / 1e6);
}
}  // namespace

Histogram::Histogram(std::vector<std::uint64_t> upper_bounds_us)
    : bounds_(std::move(upper_bounds_us)),
      counts_(new std::atomic<std::uint64_t>[bounds_.size() + 1]) {
  for (std::size_t i = 0; i <= bounds_.size(); ++i) counts_[i].store(0);
}

void Histogram::observe_us(std::uint64_t us) {
  std::size_t i = 0;
  while (i < bounds_.size() && us > bounds_[i]) ++i;
  counts_[i].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_us_.fetch_add(us, std::memory_order_relaxed);
}

std::vector<std::uint64_t> default_latency_buckets_us() {
  return {1000,   2500,   5000,    10000,   25000,   50000,   100000,
          250000, 500000, 1000000, 2500000, 5000000, 10000000};
}

MetricsRegistry::Family& MetricsRegistry::family(const std::string& name, Type type,
                                                 const std::string& help) {
  auto [it, inserted] = families_.try_emplace(name);
  if (inserted) {
    it->second.type = type;
    it->second.help = help;
  } else if (it->second.type != type) {
    throw std::logic_error("metric " + name + " registered with two types");
  }
  return it->second;
}

Counter& MetricsRegistry::counter(const std::string& name, const std::string& help,
                                  const Labels& labels) {
  std::lock_guard lock(mutex_);
  auto& slot = family(name, Type::counter, help).counters[render_labels(labels)];
  if (!slot) slot = std::make_unique<Counter>();
  return *slot;
}

Gauge& MetricsRegistry::gauge(const std::string& name, const std::string& help,
                              const Labels& labels) {
  std::lock_guard lock(mutex_);
  auto& slot = family(name, Type::gauge, help).gauges[render_labels(labels)];
  if (!slot) slot = std::make_unique<Gauge>();
  return *slot;
}

Histogram& MetricsRegistry::histogram(const std::string& name, const std::string& help,
                                      const Labels& labels, std::vector<std::uint64_t> bounds_us) {
  std::lock_guard lock(mutex_);
  auto& slot = family(name, Type::histogram, help).histograms[render_labels(labels)];
  if (!slot) slot = std::make_unique<Histogram>(std::move(bounds_us));
  return *slot;
}

void MetricsRegistry::gauge_callback(const std::string& name, const std::string& help,
                                     std::function<std::int64_t()> read) {
  std::lock_guard lock(mutex_);
  family(name, Type::gauge, help).callback = std::move(read);
}

std::string MetricsRegistry::render() const {
  std::lock_guard lock(mutex_);
  std::string out;
  for (const auto& [name, fam] : families_) {
    std::string_view type = fam.type == Type::counter ? "counter"
                            : fam.type == Type::gauge ? "gauge"
                                                      : "histogram";
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, fam.help, name, type);
    for (const auto& [labels, c] : fam.counters)
      out += fmt::format("{}{} {}\n", name, labels, c->value());
    for (const auto& [labels, g] : fam.gauges)
      out += fmt::format("{}{} {}\n", name, labels, g->value());
    if (fam.callback) out += fmt::format("{} {}\n", name, fam.callback());
    for (const auto& [labels, h] : fam.histograms) {
      std::uint64_t cumulative = 0;
      for (std::size_t i = 0; i < h->bounds_us().size(); ++i) {
        cumulative += h->bucket_count(i);
        out += fmt::format("{}_bucket{} {}\n", name,
                           with_extra(labels, "le=\"" + seconds(h->bounds_us()[i]) + "\""),
                           cumulative);
      }
      // +Inf and _count from the same buckets read above, so a scrape racing an observation
      // still shows a monotonic histogram.
      cumulative += h->bucket_count(h->bounds_us().size());
      out += fmt::format("{}_bucket{} {}\n", name, with_extra(labels, "le=\"+Inf\""), cumulative);
      out += fmt::format("{}_sum{} {}\n", name, labels, seconds(h->sum_us()));
      out += fmt::format("{}_count{} {}\n", name, labels, cumulative);
    }
  }
  return out;
}

}  // namespace cellfleet
