#pragma once
// How a module publishes: events go into the caller's write batch (the transactional outbox,
// outbox.h), and commit() writes the batch and wakes the dispatcher so delivery starts at once.
// One Publisher per process, shared by every module; it stamps ids, times and the event log's
// retention the same way for all of them.

#include <chrono>
#include <string>

#include <nlohmann/json.hpp>

#include "core/clock.h"
#include "core/events/event.h"
#include "core/events/outbox.h"
#include "core/ids.h"
#include "storage/store.h"

namespace cellfleet::events {

class Dispatcher;

class Publisher {
 public:
  // dispatcher may be null (offline commands such as create-org): a running server's dispatcher
  // then finds the events at its next sweep.
  Publisher(storage::Store& store, const Clock& clock, Dispatcher* dispatcher,
            std::chrono::seconds retention = kDefaultEventRetention);

  // Adds an event to batch and returns it. Thread-safe.
  Event publish(storage::WriteBatch& batch, const std::string& org_id, const std::string& type,
                const std::string& subject, nlohmann::json data);
  // store.write(batch), then wakes the dispatcher. Throws what write() throws.
  void commit(const storage::WriteBatch& batch);
  // Wakes the dispatcher for a batch the caller wrote itself (Store::write_each), once it
  // committed.
  void committed(const storage::WriteBatch& batch);

  std::chrono::seconds retention() const { return retention_; }

 private:
  storage::Store& store_;
  const Clock& clock_;
  Dispatcher* dispatcher_;
  std::chrono::seconds retention_;
  IdGenerator ids_;
};

}  // namespace cellfleet::events
