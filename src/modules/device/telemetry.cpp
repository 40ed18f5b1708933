#include "telemetry.h"

namespace cellfleet::device {

void Telemetry::register_routes(http::Router&) {}

}  // namespace cellfleet::device
