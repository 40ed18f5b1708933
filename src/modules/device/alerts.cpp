#include "alerts.h"

namespace cellfleet::device {

void Alerts::register_routes(http::Router&) {}

void Alerts::on_latest_reading(const std::string&, const storage::Item&, const Reading&) {}

void Alerts::check_silent_devices() {}

}  // namespace cellfleet::device
