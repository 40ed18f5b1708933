#pragma once
// The device module: battery packs and their lifecycle, device credentials for the packs' IoT
// gateways, telemetry ingest and history, threshold alerts, and the lock/unlock commands a pack
// fetches and acknowledges.

#include <cstdint>
#include <memory>

#include "contracts/device_binding.h"
#include "contracts/fleet_source.h"
#include "contracts/history_sources.h"
#include "contracts/organization_directory.h"
#include "core/auth.h"
#include "core/clock.h"
#include "core/events/dispatcher.h"
#include "core/events/publisher.h"
#include "core/http/notifier.h"
#include "core/http/router.h"
#include "core/log.h"
#include "storage/store.h"

namespace cellfleet::device {

struct DeviceOptions {
  std::int64_t telemetry_retention_days = 90;  // raw readings expire after this (store TTL)
  // How often the scheduled checks run (the "no report for N hours" alerts, presence).
  std::int64_t check_interval_seconds = 60;
  // A pack is online while its newest reading is younger than this (presence.h).
  std::int64_t online_minutes = 15;
  // A command not acknowledged this long after it was queued expires.
  std::int64_t command_expiry_hours = 7 * 24;
  // A delivered, unacknowledged command is handed to the pack again after this long.
  std::int64_t command_redelivery_seconds = 60;
  // How long telemetry ingest keeps what it read of a pack (its serial, state, nominal voltage,
  // open alerts) before reading it again; 0 reads it for every request. Changes made on this
  // instance apply at once; another instance's within this time (pack_cache.h).
  std::int64_t pack_cache_ms = 60'000;
};

class DeviceModule {
 public:
  // notifier wakes packs' parked command long-polls (the server's; it must outlive the module).
  DeviceModule(storage::Store& store, const Clock& clock, DeviceOptions options, Logger& log,
               events::Publisher& events, contracts::OrganizationDirectory& organizations,
               http::Notifier& notifier);
  ~DeviceModule();  // stop()
  DeviceModule(const DeviceModule&) = delete;
  DeviceModule& operator=(const DeviceModule&) = delete;

  void register_routes(http::Router& router);
  // Subscribes the access policy to the loan module's contract events (lock/unlock commands).
  void subscribe(events::Dispatcher& dispatcher);
  // Deploys and returns packs for contracts, inside the caller's write.
  contracts::DeviceBinding& binding();
  // Packs and readings for the warehouse export.
  contracts::DeviceHistory& history();
  // Each pack's facts for the insights rebuild.
  contracts::FleetSource& fleet();
  // Resolves device credentials, "Bearer cfd_<prefix>_<secret>".
  Authenticator& authenticator();

  // Starts and stops the scheduled checks. Idempotent.
  void start();
  void stop();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace cellfleet::device
