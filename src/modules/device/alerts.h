#pragma once
// Threshold alerts: over-temperature, low state of health, low voltage (relative to the pack's
// nominal voltage) and no report for N hours. An alert opens once per episode of its condition
// and resolves when the condition clears; operators acknowledge it meanwhile. Each threshold has
// a small hysteresis (2 °C, 1 % of health, 2 % of nominal voltage) so a value hovering at the
// line opens one alert, not one per reading.
//
// Only the newest reading of a pack is judged (an older reading arriving late says nothing about
// now). "No report" applies to deployed packs: a pack on a shelf is expected to be silent.
//
// Item layout (entities):
//   org#<org>                  sk alert_settings   the thresholds (absent: the defaults)
//   org#<org>#device#<dev>     sk alerts           {"open": {kind: alert id}}, version
//   org#<org>#alerts           sk <alert id>       the alert      gsi1 org#<org>#alerts#open
//                                                  (while open), gsi2 org#<org>#device#<dev>#alerts
// Events (subject: the pack): device.alert_opened, device.alert_resolved.

#include <optional>
#include <string>

#include "core/http/router.h"
#include "device_impl.h"
#include "reading.h"

namespace cellfleet::device {

struct AlertThresholds {
  std::optional<std::int64_t> over_temperature_c = 60;
  std::optional<std::int64_t> low_soh_percent = 70;
  std::optional<std::int64_t> low_voltage_percent = 80;  // of the pack's nominal voltage
  std::optional<std::int64_t> no_report_hours = 24;
};

class Alerts {
 public:
  explicit Alerts(Context& context) : ctx_(context) {}
  void register_routes(http::Router& router);

  // Told by telemetry about a device's reading that became its latest state, judged against the
  // organization's thresholds (from thresholds(org_id)).
  void on_latest_reading(const std::string& org_id, const storage::Item& device,
                         const Reading& reading, const AlertThresholds& t);
  // The scheduled check: opens "no_report" alerts for deployed packs silent for longer than the
  // threshold, in every organization.
  void check_silent_devices();

  AlertThresholds thresholds(const std::string& org_id) const;

 private:
  http::Response get_settings(http::Request& req);
  http::Response put_settings(http::Request& req);
  http::Response list(http::Request& req);
  http::Response acknowledge(http::Request& req);

  // Opens or resolves kind for the pack so the stored state matches should_be_open.
  void apply(const std::string& org_id, const std::string& device_id, const std::string& kind,
             bool should_be_open, const nlohmann::json& detail);
  void check_org_silence(const std::string& org_id);

  Context& ctx_;
};

}  // namespace cellfleet::device
