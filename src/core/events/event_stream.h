#pragma once
// GET /v1/events/stream: an organization's events, live, as Server-Sent Events
// (text/event-stream, docs/events.md "Live stream"). Each event is
//   id: <event id>\nevent: <type>\ndata: <the event as GET /v1/events shows it>\n\n
// in id order. The start is the Last-Event-ID header (or ?after=): every retained event after it,
// read from the log a page at a time, then the live ones; without either, only events from now.
// ?type=a,b keeps only the listed types. A ": heartbeat" comment goes out when nothing else was
// written for a heartbeat interval.
//
// Where events come from: the organization's event log partition (strongly consistent on both
// backends), re-read when published() announces a commit on this instance and every
// poll_interval for commits on other instances. An event is written only once it is settle old
// (by its id's time): a batch whose event id was stamped earlier but which committed later than
// another's would otherwise be passed over by a cursor that already moved beyond it.
//
// Limits: max_per_org open streams per organization on this instance (the next is 429), and the
// server's per-connection bound on unsent bytes (max_unsent_bytes: a client that does not keep up
// is disconnected).

#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "core/clock.h"
#include "core/http/notifier.h"
#include "core/http/router.h"
#include "core/log.h"
#include "core/metrics.h"
#include "storage/store.h"

namespace cellfleet::events {

struct StreamOptions {
  std::chrono::milliseconds heartbeat{15000};
  std::size_t max_per_org = 20;
  std::size_t max_unsent_bytes = 1024 * 1024;
  std::chrono::milliseconds poll_interval{2000};  // re-read of the log without a notify
  std::chrono::milliseconds settle{200};          // an event's minimum age before it is written
  std::size_t page_size = 100;                    // log items read per run
};

class EventStreams {
 public:
  // notifier must outlive this object and be the one the HTTP server parks on.
  EventStreams(storage::Store& store, const Clock& clock, http::Notifier& notifier, Logger& log,
               MetricsRegistry& metrics, StreamOptions options = {});
  EventStreams(const EventStreams&) = delete;
  EventStreams& operator=(const EventStreams&) = delete;

  void add_routes(http::Router& router);
  // Events of org_id were committed on this instance: its streams read the log now.
  void published(const std::string& org_id);

 private:
  struct Cursor;
  class Slot;
  http::Response open(http::Request& req);
  http::StreamChunk produce(Cursor& cursor);
  std::unique_ptr<Slot> take_slot(const std::string& org_id);

  storage::Store& store_;
  const Clock& clock_;
  http::Notifier& notifier_;
  Logger& log_;
  MetricsRegistry& metrics_;
  StreamOptions options_;
  std::mutex open_mutex_;
  std::map<std::string, std::size_t> open_;  // org -> streams open on this instance
  Gauge& open_gauge_;
};

}  // namespace cellfleet::events
