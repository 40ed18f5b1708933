#pragma once
// The warehouse module: moves history out of the operational store, incrementally and
// idempotently, for analysts (docs/warehouse.md). It owns no data of the operational store; it
// reads the other modules' records through contracts/history_sources.h and the event log, and
// writes a SQLite star schema or gzip NDJSON files.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>

#include "contracts/history_sources.h"
#include "contracts/organization_directory.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/metrics.h"
#include "exporter.h"
#include "storage/store.h"

namespace cellfleet::warehouse {

struct WarehouseOptions {
  std::string sink = "sqlite";  // off, sqlite or files
  std::string sqlite_path;      // the SQLite sink's file
  std::string files_dir;        // the files sink's directory
  std::int64_t hot_window_hours = 48;
  std::int64_t interval_seconds = 3600;  // background period in serve; 0: only on demand
  std::int64_t settle_seconds = 60;      // events younger than this wait for the next run
};

struct WarehouseDeps {
  storage::Store& store;
  const Clock& clock;
  Logger& log;
  MetricsRegistry& metrics;
  contracts::OrganizationDirectory& organizations;
  contracts::DeviceHistory& devices;
  contracts::CustomerHistory& customers;
  contracts::LoanHistory& loans;
};

// Another instance holds the export's lease: it is exporting to the same kind of sink now.
class ExportBusy : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class WarehouseModule {
 public:
  WarehouseModule(WarehouseDeps deps, WarehouseOptions options);
  ~WarehouseModule();  // stop()
  WarehouseModule(const WarehouseModule&) = delete;
  WarehouseModule& operator=(const WarehouseModule&) = delete;

  // Runs one export now into sink ("sqlite" or "files") at target (a file or a directory; empty:
  // the configured one). One instance at a time per sink kind, by a lease in the store: throws
  // ExportBusy when another holds it. Throws std::runtime_error when the sink fails.
  ExportReport export_now(const std::string& sink, const std::string& target = "");

  // Starts and stops the background export (every interval_seconds; nothing when the sink is
  // off or the interval 0). stop() interrupts a run between pages. Idempotent.
  void start();
  void stop();

 private:
  void run_background();

  WarehouseDeps deps_;
  WarehouseOptions options_;
  std::string owner_;  // this instance, in the lease
  std::atomic<bool> stopping_{false};
  std::atomic<std::int64_t> last_success_ms_;  // end of the last complete export
  std::mutex mutex_;
  std::condition_variable wake_;
  std::thread thread_;
};

}  // namespace cellfleet::warehouse
