#pragma once
// Threshold alerts: over-temperature, low state of health, low voltage (relative to the pack's
// nominal voltage) and no report for N hours. An alert opens once per episode of its condition
// and resolves when the condition clears; operators acknowledge it meanwhile.

#include <string>

#include "core/http/router.h"
#include "device_impl.h"
#include "reading.h"

namespace cellfleet::device {

class Alerts {
 public:
  explicit Alerts(Context& context) : ctx_(context) {}
  void register_routes(http::Router& router);

  // Told by telemetry about a device's reading that became its latest state.
  void on_latest_reading(const std::string& org_id, const storage::Item& device,
                         const Reading& reading);
  // The scheduled check: opens "no_report" alerts for packs silent for longer than the threshold.
  void check_silent_devices();

 private:
  Context& ctx_;
};

}  // namespace cellfleet::device
