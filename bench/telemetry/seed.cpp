#include "seed.h"

#include <fmt/format.h>

#include <algorithm>
#include <random>

#include "device_impl.h"
#include "reading.h"
#include "storage/sqlite/sqlite_store.h"

namespace cellfleet::bench {
namespace {

using SteadyClock = std::chrono::steady_clock;

// Readings go in windows of ten intervals: each pack's ten readings of the window, a pack after
// another, then the next window. A 500-row transaction of put_many (50 packs) then dirties ~50
// primary-key pages and ~100 of the expires_at index, each rewritten whole in the WAL. In time
// order a transaction dirtied a primary-key page per pack (400); a pack's whole day at a time, an
// expires_at page per row (500). Measured here with 1M readings on the loaded machine: ~18,000
// readings/s in time order, ~29,000 by whole days, ~34,000 in windows of ten. A budget that runs
// out stops after the last whole window.
constexpr std::int64_t kWindowSteps = 10;

// A plausible reading of a 48 V pack in a city fleet, every field the API knows but the extra map:
// the stored attributes then have the names, digit counts and size of real ones.
device::Reading random_reading(std::int64_t at_ms, std::int64_t cycles, std::mt19937_64& rng) {
  const auto in = [&rng](std::int64_t low, std::int64_t high) {
    return std::uniform_int_distribution<std::int64_t>(low, high)(rng);
  };
  device::Reading r;
  r.at_ms = at_ms;
  r.soc_permille = in(50, 1000);
  r.voltage_mv = in(48'000, 54'600);
  r.current_ma = in(-30'000, 30'000);
  r.temperature_dc = in(150, 400);
  r.cycles = cycles;
  r.soh_permille = in(850, 1000);
  r.lat_e7 = -12'921'000 + in(-1'000'000, 1'000'000);
  r.lon_e7 = 368'219'000 + in(-1'000'000, 1'000'000);
  return r;
}

}  // namespace

SeedResult seed_history(const SeedPlan& plan) {
  if (plan.device_ids.empty()) throw std::invalid_argument("seed: no packs to seed");
  if (plan.interval_ms <= 0) throw std::invalid_argument("seed: the interval must be positive");
  storage::SqliteOptions options;
  options.path = plan.database;
  options.synchronous = plan.synchronous;
  auto store = storage::open_sqlite(options);

  const std::size_t packs = plan.device_ids.size();
  const auto steps = static_cast<std::int64_t>((plan.readings + packs - 1) / packs);
  const std::size_t planned = static_cast<std::size_t>(steps) * packs;
  const std::int64_t start_ms = plan.end_ms - steps * plan.interval_ms;
  const std::int64_t ttl_seconds = plan.retention_days * 86'400;
  std::vector<std::string> partitions;
  std::vector<std::int64_t> phase_ms;  // packs do not report in lockstep
  for (std::size_t i = 0; i < packs; ++i) {
    partitions.push_back(device::keys::device(plan.org_id, plan.device_ids[i]));
    phase_ms.push_back(static_cast<std::int64_t>(i * 7'919) % plan.interval_ms);
  }

  std::mt19937_64 rng(42);
  std::vector<storage::Item> items;
  items.reserve(plan.items_per_call);
  SeedResult result;
  const auto started = SteadyClock::now();
  auto next_progress = started + std::chrono::seconds(10);
  const auto elapsed = [&] {
    return std::chrono::duration<double>(SteadyClock::now() - started).count();
  };
  // Writes the items; false once the budget is spent.
  const auto flush = [&] {
    store->put_many(device::kTelemetryTable, items);
    result.readings += items.size();
    items.clear();
    if (SteadyClock::now() >= next_progress) {
      next_progress += std::chrono::seconds(10);
      fmt::print(stderr, "  seeded {} readings in {:.0f} s ({:.0f} readings/s)\n", result.readings,
                 elapsed(), result.readings / elapsed());
    }
    return elapsed() < plan.budget.count();
  };

  std::int64_t whole_steps = 0;  // steps of which every pack's reading is in the store
  bool within_budget = true;
  for (std::int64_t first = 0; first < steps && within_budget; first += kWindowSteps) {
    const std::int64_t last = std::min(steps, first + kWindowSteps);
    for (std::size_t i = 0; i < packs && within_budget; ++i) {
      for (std::int64_t step = first; step < last && within_budget; ++step) {
        const std::int64_t at_ms = start_ms + step * plan.interval_ms + phase_ms[i];
        storage::Item item = random_reading(at_ms, 100 + step / 120, rng).to_attributes();
        item["pk"] = partitions[i];
        item["sk"] = device::keys::time_key(at_ms);
        item["expires_at"] = at_ms / 1000 + ttl_seconds;
        items.push_back(std::move(item));
        if (items.size() == plan.items_per_call) within_budget = flush();
      }
    }
    if (!items.empty()) within_budget = flush() && within_budget;
    if (within_budget || result.readings == static_cast<std::size_t>(last) * packs) {
      whole_steps = last;
    }
  }
  result.seconds = elapsed();
  result.complete = result.readings == planned;
  result.from_ms = start_ms;
  result.to_ms = start_ms + whole_steps * plan.interval_ms;
  return result;
}

}  // namespace cellfleet::bench
