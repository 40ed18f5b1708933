#include "warehouse_module.h"

#include <fmt/format.h>

#include "core/events/shard_lease.h"
#include "core/ids.h"
#include "files_sink.h"
#include "sqlite_sink.h"

namespace cellfleet::warehouse {

namespace {
// Held while a run lasts, renewed between pages: a crashed instance's lease frees in 10 minutes.
constexpr std::chrono::minutes kLeaseDuration{10};
}  // namespace

WarehouseModule::WarehouseModule(WarehouseDeps deps, WarehouseOptions options)
    : deps_(deps),
      options_(std::move(options)),
      owner_(IdGenerator(deps.clock).next("wh")),
      last_success_ms_(deps.clock.epoch_millis()) {
  // Lag: how long ago the last complete export finished (since the process started, before the
  // first one), so an alert fires when exports stop succeeding.
  deps_.metrics.gauge_callback(
      "cellfleet_warehouse_export_lag_seconds",
      "Seconds since the last complete warehouse export finished (since start before the first)",
      [this] { return (deps_.clock.epoch_millis() - last_success_ms_.load()) / 1000; });
}

WarehouseModule::~WarehouseModule() {
  stop();
}

ExportReport WarehouseModule::export_now(const std::string& sink, const std::string& target) {
  std::unique_ptr<Sink> out;
  if (sink == "sqlite") {
    out = std::make_unique<SqliteSink>(target.empty() ? options_.sqlite_path : target);
  } else if (sink == "files") {
    out = std::make_unique<FilesSink>(target.empty() ? options_.files_dir : target);
  } else {
    throw std::invalid_argument("warehouse: sink must be sqlite or files, not \"" + sink + "\"");
  }
  events::ShardLeases lease(deps_.store, deps_.clock, owner_, kLeaseDuration, "warehouse_" + sink);
  if (!lease.hold(0)) {
    throw ExportBusy("another instance is exporting to the " + sink + " warehouse now");
  }
  bool lost = false;
  auto should_stop = [&] {
    if (stopping_.load() || lost) return true;
    try {
      lost = !lease.hold(0);
    } catch (const std::exception&) {
      lost = true;
    }
    return lost;
  };
  Exporter exporter({deps_.store, deps_.organizations, deps_.devices, deps_.customers, deps_.loans},
                    deps_.clock, std::chrono::hours(options_.hot_window_hours),
                    std::chrono::seconds(options_.settle_seconds), *out, should_stop);
  ExportReport report;
  try {
    report = exporter.run();
  } catch (...) {
    lease.release_all();
    throw;
  }
  lease.release_all();
  for (const auto& [table, t] : report.tables) {
    if (t.rows == 0) continue;
    deps_.metrics
        .counter("cellfleet_warehouse_rows_exported_total", "Rows written to the warehouse",
                 {{"table", table}})
        .inc(t.rows);
  }
  if (!report.stopped) last_success_ms_ = deps_.clock.epoch_millis();
  return report;
}

void WarehouseModule::start() {
  std::lock_guard lock(mutex_);
  if (thread_.joinable() || options_.sink == "off" || options_.interval_seconds == 0) return;
  stopping_ = false;
  thread_ = std::thread([this] { run_background(); });
}

void WarehouseModule::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void WarehouseModule::run_background() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    lock.unlock();
    try {
      const auto report = export_now(options_.sink);
      deps_.log.info("warehouse export", {{"sink", options_.sink},
                                          {"rows", report.fact_rows()},
                                          {"seconds", static_cast<std::int64_t>(report.seconds)},
                                          {"complete", !report.stopped}});
    } catch (const ExportBusy&) {
      // Another instance exports this period.
    } catch (const std::exception& e) {
      deps_.log.error("warehouse export failed", {{"error", e.what()}});
    }
    lock.lock();
    wake_.wait_for(lock, std::chrono::seconds(options_.interval_seconds),
                   [this] { return stopping_.load(); });
  }
}

}  // namespace cellfleet::warehouse
