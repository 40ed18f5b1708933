#pragma once
// Telemetry: ingest (POST /v1/telemetry), latest state, history.

#include "alerts.h"
#include "core/http/router.h"
#include "device_impl.h"

namespace cellfleet::device {

class Telemetry {
 public:
  Telemetry(Context& context, Alerts& alerts) : ctx_(context), alerts_(alerts) {}
  void register_routes(http::Router& router);

 private:
  Context& ctx_;
  Alerts& alerts_;
};

}  // namespace cellfleet::device
