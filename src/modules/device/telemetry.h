#pragma once
// Telemetry: ingest (POST /v1/telemetry), latest state, history.
//
//   POST /v1/telemetry                        a batch of up to 1,000 readings, from a pack's own
//                                             credential or from an operator key (a gateway that
//                                             aggregates many packs, each row naming its pack)
//   GET  /v1/devices/{device_id}/telemetry    readings of [from, to) in time order, a page at a
//                                             time; with ?bucket=15m|1h|1d, min/avg/max per bucket
//
// A reading is stored under (pack, time to the millisecond), so a resent reading lands on the
// key it had and is stored once; the newest reading of each pack is also kept as its latest
// state, which only a newer reading replaces. Raw readings expire after the retention
// (DeviceOptions::telemetry_retention_days) by the store's TTL.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "alerts.h"
#include "core/http/router.h"
#include "device_impl.h"
#include "latest_memory.h"
#include "reading.h"

namespace cellfleet::device {

// The pack's latest state (its "latest" item) for the API: {"last_seen": "<RFC 3339 ms>",
// "reading": {...}}. For GET /v1/devices/{device_id}.
nlohmann::json latest_view(const storage::Item& latest);

class Telemetry {
 public:
  Telemetry(Context& context, Alerts& alerts) : ctx_(context), alerts_(alerts) {}
  void register_routes(http::Router& router);

 private:
  http::Response ingest(http::Request& req);   // telemetry_ingest.cpp
  http::Response history(http::Request& req);  // telemetry_history.cpp

  // One pack's newest reading of a request.
  struct Newest {
    const storage::Item* device;
    const Reading* reading;
  };
  // Makes each reading its pack's latest state unless the stored one is newer (or the same), all
  // packs' changes in one Store::write_each (one commit on SQLite, not one per pack), then tells
  // the alerts of each pack that advanced. Concurrent requests for one pack are resolved by the
  // item's version: a pack whose write lost a race is read and decided again, a few times.
  void advance_latest(const std::string& org_id, const std::vector<Newest>& newest);

  Context& ctx_;
  Alerts& alerts_;
  LatestMemory latest_;
};

}  // namespace cellfleet::device
