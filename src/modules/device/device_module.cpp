#include "device_module.h"

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "access_policy.h"
#include "alerts.h"
#include "commands.h"
#include "core/error.h"
#include "core/item_view.h"
#include "credentials.h"
#include "fleet_facts.h"
#include "history.h"
#include "presence.h"
#include "reading.h"
#include "registry.h"
#include "telemetry.h"

namespace cellfleet::device {

std::string keys::time_key(std::int64_t epoch_ms) {
  std::string digits = std::to_string(epoch_ms < 0 ? 0 : epoch_ms);
  return std::string(digits.size() < 13 ? 13 - digits.size() : 0, '0') + digits;
}

std::optional<storage::Item> Context::find_device(const std::string& org_id,
                                                  const std::string& device_id) const {
  if (!is_id(device_id, "dev")) return std::nullopt;
  return store.get(kTable, {keys::device(org_id, device_id), keys::kDeviceSk});
}

storage::Item Context::require_device(const std::string& org_id,
                                      const std::string& device_id) const {
  auto device = find_device(org_id, device_id);
  if (!device) throw pack_not_found(device_id);
  return *device;
}

Error pack_not_found(const std::string& device_id) {
  return Error(ErrorKind::not_found, "no battery pack " + device_id);
}

storage::Item Context::device_of(const http::Request& req) const {
  return require_device(req.caller().org_id, req.param("device_id"));
}

nlohmann::json device_view(const storage::Item& device) {
  return item_view(device);
}

struct DeviceModule::Impl {
  Impl(storage::Store& store, const Clock& clock, DeviceOptions options, Logger& log,
       events::Publisher& events, contracts::OrganizationDirectory& organizations,
       http::Notifier& notifier)
      : ctx(store, clock, options, log, events, organizations),
        registry(ctx),
        credentials(ctx),
        alerts(ctx),
        telemetry(ctx, alerts),
        commands(ctx, notifier),
        access(ctx, commands),
        history(ctx),
        presence(ctx),
        fleet(ctx) {}

  Context ctx;
  Registry registry;
  Credentials credentials;
  Alerts alerts;
  Telemetry telemetry;
  Commands commands;
  AccessPolicy access;
  History history;
  Presence presence;
  FleetFacts fleet;

  // The scheduled checks' thread.
  std::mutex mutex;
  std::condition_variable wake;
  bool stopping = false;
  std::thread checker;

  void run_checks() {
    std::unique_lock lock(mutex);
    while (!stopping) {
      lock.unlock();
      try {
        alerts.check_silent_devices();
      } catch (const std::exception& e) {
        ctx.log.error("device checks failed", {{"error", e.what()}});
      }
      try {
        presence.check_all();
      } catch (const std::exception& e) {
        ctx.log.error("presence check failed", {{"error", e.what()}});
      }
      lock.lock();
      wake.wait_for(lock, std::chrono::seconds(ctx.options.check_interval_seconds),
                    [this] { return stopping; });
    }
  }
};

DeviceModule::DeviceModule(storage::Store& store, const Clock& clock, DeviceOptions options,
                           Logger& log, events::Publisher& events,
                           contracts::OrganizationDirectory& organizations,
                           http::Notifier& notifier)
    : impl_(std::make_unique<Impl>(store, clock, options, log, events, organizations, notifier)) {}

DeviceModule::~DeviceModule() {
  stop();
}

void DeviceModule::register_routes(http::Router& router) {
  impl_->registry.register_routes(router);
  impl_->credentials.register_routes(router);
  impl_->telemetry.register_routes(router);
  impl_->alerts.register_routes(router);
  impl_->commands.register_routes(router);
  impl_->access.register_routes(router);
}

void DeviceModule::subscribe(events::Dispatcher& dispatcher) {
  impl_->access.subscribe(dispatcher);
}

contracts::DeviceBinding& DeviceModule::binding() {
  return impl_->access;
}

contracts::DeviceHistory& DeviceModule::history() {
  return impl_->history;
}

contracts::FleetSource& DeviceModule::fleet() {
  return impl_->fleet;
}

Authenticator& DeviceModule::authenticator() {
  return impl_->credentials;
}

void DeviceModule::start() {
  std::lock_guard lock(impl_->mutex);
  if (impl_->checker.joinable()) return;
  impl_->stopping = false;
  impl_->checker = std::thread([this] { impl_->run_checks(); });
}

void DeviceModule::stop() {
  {
    std::lock_guard lock(impl_->mutex);
    if (!impl_->checker.joinable()) return;
    impl_->stopping = true;
  }
  impl_->wake.notify_all();
  impl_->checker.join();
}

}  // namespace cellfleet::device
