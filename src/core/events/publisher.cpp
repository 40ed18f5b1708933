#include "core/events/publisher.h"

#include "core/events/dispatcher.h"

namespace cellfleet::events {

Publisher::Publisher(storage::Store& store, const Clock& clock, Dispatcher* dispatcher,
                     std::chrono::seconds retention)
    : store_(store), clock_(clock), dispatcher_(dispatcher), retention_(retention), ids_(clock) {}

Event Publisher::publish(storage::WriteBatch& batch, const std::string& org_id,
                         const std::string& type, const std::string& subject, nlohmann::json data) {
  Event event{ids_.next("evt"), type, org_id, subject, clock_.epoch_millis(), std::move(data)};
  add_event(batch, event, retention_);
  return event;
}

void Publisher::commit(const storage::WriteBatch& batch) {
  store_.write(batch);
  committed(batch);
}

void Publisher::committed(const storage::WriteBatch& batch) {
  if (dispatcher_) dispatcher_->committed(batch);
}

}  // namespace cellfleet::events
