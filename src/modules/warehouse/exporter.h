#pragma once
// One export run: for every organization, the dimensions (upserted), the telemetry older than the
// hot window after each pack's checkpoint, and the event log after the organization's checkpoint
// (every event; payments and reversals; the installments of contracts that closed). Each page
// read becomes one Batch, its rows and its checkpoint stored together.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "contracts/history_sources.h"
#include "contracts/organization_directory.h"
#include "core/clock.h"
#include "sink.h"
#include "storage/store.h"

namespace cellfleet::warehouse {

struct Sources {
  storage::Store& store;  // the event log (core's)
  contracts::OrganizationDirectory& organizations;
  contracts::DeviceHistory& devices;
  contracts::CustomerHistory& customers;
  contracts::LoanHistory& loans;
};

struct TableReport {
  std::uint64_t rows = 0;
  double seconds = 0;  // time spent on the source that feeds the table
};

struct ExportReport {
  std::map<std::string, TableReport> tables;  // every table of rows.h, in name order
  double seconds = 0;
  bool stopped = false;  // the stop flag cut the run short; the next run continues
  std::uint64_t fact_rows() const;
};

class Exporter {
 public:
  // should_stop is asked between pages (a stop flag, a lost lease); true ends the run early.
  // Events younger than settle are left for the next run: an event's id is taken before its
  // write commits, so an event with a smaller id may still appear after a younger one.
  Exporter(Sources sources, const Clock& clock, std::chrono::hours hot_window,
           std::chrono::seconds settle, Sink& sink, std::function<bool()> should_stop = {});
  // Throws what the store or the sink throws; batches written before stay written.
  ExportReport run();

 private:
  void dimensions(const std::string& org_id, std::vector<std::string>& device_ids);
  void telemetry(const std::string& org_id, const std::vector<std::string>& device_ids,
                 std::int64_t until_ms);
  void events(const std::string& org_id, std::int64_t until_ms);
  void write(Batch& batch);
  bool stopping() {
    if (!stopped_ && should_stop_) stopped_ = should_stop_();
    return stopped_;
  }

  Sources sources_;
  const Clock& clock_;
  std::chrono::hours hot_window_;
  std::chrono::seconds settle_;
  Sink& sink_;
  std::function<bool()> should_stop_;
  bool stopped_ = false;
  Checkpoints checkpoints_;
  ExportReport report_;
  std::string today_;
};

}  // namespace cellfleet::warehouse
