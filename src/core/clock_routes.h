#pragma once
// Test mode's clock control, for scenario tests that must cross due dates and credit expiry on a
// running server:
//   GET  /v1/testing/clock   {"now", "offset_seconds", "adjustable"}
//   POST /v1/testing/clock   {"advance_seconds": n}  moves the server's clock forward (1..10 years)
// Platform administrator only. Unless the config sets testing.clock = "adjustable", POST is
// answered 404: the control does not exist on a production server.

#include "core/clock.h"
#include "core/http/router.h"

namespace cellfleet {

void add_clock_routes(http::Router& router, AdjustableClock& clock);

}  // namespace cellfleet
