#include "core/events/event_stream.h"

#include <algorithm>
#include <optional>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "core/error.h"
#include "core/events/event_routes.h"
#include "core/events/outbox.h"
#include "core/ids.h"

namespace cellfleet::events {

namespace {

constexpr std::size_t kMaxTypes = 20;

std::string stream_key(std::string_view org_id) {
  return "event-stream/" + std::string(org_id);
}

// ?type=a,b: one or more event types, comma separated.
std::vector<std::string> parse_types(const std::optional<std::string>& param) {
  std::vector<std::string> types;
  if (!param) return types;
  std::string_view rest = *param;
  while (true) {
    auto comma = rest.find(',');
    std::string_view type = rest.substr(0, comma);
    if (type.empty() || type.size() > 100) {
      throw bad_request("type must list event types separated by commas",
                        {{"query.type", "each type must be 1 to 100 characters"}});
    }
    types.emplace_back(type);
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  if (types.size() > kMaxTypes) {
    throw bad_request("type lists too many event types",
                      {{"query.type", fmt::format("at most {} types", kMaxTypes)}});
  }
  return types;
}

std::string sse_event(const Event& e) {
  // nlohmann's compact dump escapes control characters, so the data is one line as SSE needs.
  return fmt::format("id: {}\nevent: {}\ndata: {}\n\n", e.id, e.type, event_view(e).dump());
}

}  // namespace

// A stream's share of its organization's connection limit, given back when the stream ends.
class EventStreams::Slot {
 public:
  Slot(EventStreams& owner, std::string org_id) : owner_(owner), org_id_(std::move(org_id)) {}
  Slot(const Slot&) = delete;
  Slot& operator=(const Slot&) = delete;
  ~Slot() {
    std::lock_guard lock(owner_.open_mutex_);
    auto it = owner_.open_.find(org_id_);
    if (it != owner_.open_.end() && --it->second == 0) owner_.open_.erase(it);
    owner_.open_gauge_.add(-1);
  }

 private:
  EventStreams& owner_;
  std::string org_id_;
};

// One stream's position. Only the stream's produce() runs touch it, one at a time.
struct EventStreams::Cursor {
  std::string org_id;
  std::vector<std::string> types;  // empty: every type
  std::string after;               // the last event id read (written or filtered out)
  std::chrono::steady_clock::time_point last_write;
  std::unique_ptr<Slot> slot;
};

EventStreams::EventStreams(storage::Store& store, const Clock& clock, http::Notifier& notifier,
                           Logger& log, MetricsRegistry& metrics, StreamOptions options)
    : store_(store),
      clock_(clock),
      notifier_(notifier),
      log_(log),
      metrics_(metrics),
      options_(options),
      open_gauge_(metrics.gauge("events_streams_open",
                                "Live event streams (GET /v1/events/stream) open here")) {}

void EventStreams::add_routes(http::Router& router) {
  router.add("GET", "/v1/events/stream", Access::any_member(),
             [this](http::Request& req) { return open(req); });
}

void EventStreams::published(const std::string& org_id) {
  notifier_.notify(stream_key(org_id));
}

std::unique_ptr<EventStreams::Slot> EventStreams::take_slot(const std::string& org_id) {
  std::lock_guard lock(open_mutex_);
  auto& count = open_[org_id];
  if (count >= options_.max_per_org) {
    if (count == 0) open_.erase(org_id);
    Error busy(ErrorKind::too_many_requests,
               fmt::format("this organization has {} event streams open, the limit; close one or "
                           "retry later",
                           count));
    busy.with_header("Retry-After", "5");
    throw busy;
  }
  ++count;
  open_gauge_.add(1);
  return std::make_unique<Slot>(*this, org_id);
}

http::Response EventStreams::open(http::Request& req) {
  auto cursor = std::make_shared<Cursor>();
  cursor->org_id = req.caller().org_id;
  cursor->types = parse_types(req.query("type"));

  std::optional<std::string> start;
  std::string field = "header.Last-Event-ID";
  if (auto header = req.header("Last-Event-ID")) {
    start = std::string(*header);
  } else if (auto after = req.query("after")) {
    start = *after;
    field = "query.after";
  }
  if (start) {
    if (!is_id(*start, "evt")) {
      throw bad_request("the stream's start must be an event id", {{field, "must be an evt_ id"}});
    }
    // Resuming from an id the log does not hold (another organization's, or one past the
    // retention) could silently skip or repeat events: refuse it instead.
    auto known = store_.get(std::string(kEventsTable),
                            storage::Key{event_log_partition(cursor->org_id), *start});
    if (!known) {
      throw bad_request(
          "the stream's start is not an event this organization's log still holds; list "
          "GET /v1/events to find where to resume",
          {{field, "unknown event id"}});
    }
    cursor->after = *start;
  } else {
    // From now: the last id the previous millisecond could have had, so an event stamped after
    // the stream opened is never below it.
    cursor->after = last_id_at("evt", clock_.epoch_millis() - 1);
  }
  cursor->slot = take_slot(cursor->org_id);
  cursor->last_write = std::chrono::steady_clock::now();

  http::Stream stream;
  stream.key = stream_key(cursor->org_id);
  stream.interval = std::min(options_.poll_interval, options_.heartbeat);
  stream.max_unsent_bytes = options_.max_unsent_bytes;
  stream.produce = [this, cursor] { return produce(*cursor); };
  auto res = http::Response::streamed("text/event-stream", std::move(stream));
  // First bytes at once, so a client knows the stream is open before any event.
  res.body = ": stream open\n\n";
  return res;
}

http::StreamChunk EventStreams::produce(Cursor& cursor) {
  http::StreamChunk chunk;
  const auto now = std::chrono::steady_clock::now();
  const std::int64_t now_ms = clock_.epoch_millis();
  const std::string settled = last_id_at("evt", now_ms - options_.settle.count());
  // A catch-up page fits in half the unsent-bytes bound, so a client that keeps up is never
  // dropped for the size of one page.
  const std::size_t budget = std::max<std::size_t>(1, options_.max_unsent_bytes / 2);

  storage::Query q;
  q.table = std::string(kEventsTable);
  q.partition = event_log_partition(cursor.org_id);
  q.sort = storage::SortCondition{storage::SortCondition::Op::gt, cursor.after, ""};
  q.limit = options_.page_size;
  auto page = store_.query(q);

  bool stopped_early = false;
  std::size_t written = 0;
  for (const auto& item : page.items) {
    const auto& id = item.at("sk").get_ref<const std::string&>();
    if (id > settled) {
      // Too young to be sure no earlier-stamped event is still committing: back when it is not.
      chunk.retry_in = std::chrono::milliseconds(
          std::max<std::int64_t>(1, id_millis(id) + options_.settle.count() - now_ms));
      stopped_early = true;
      break;
    }
    if (chunk.data.size() >= budget) {
      chunk.more = true;
      stopped_early = true;
      break;
    }
    auto event = item.at("event").get<Event>();
    if (cursor.types.empty() ||
        std::find(cursor.types.begin(), cursor.types.end(), event.type) != cursor.types.end()) {
      chunk.data += sse_event(event);
      ++written;
    }
    cursor.after = id;
  }
  if (!stopped_early && !page.next_cursor.empty()) chunk.more = true;

  if (written > 0) {
    metrics_.counter("events_streamed_total", "Events written to live event streams").inc(written);
  }
  if (!chunk.data.empty()) {
    cursor.last_write = now;
  } else if (now - cursor.last_write >= options_.heartbeat) {
    chunk.data = ": heartbeat\n\n";
    cursor.last_write = now;
  } else {
    // Be back when the heartbeat is due rather than at the next interval after it.
    auto due = std::chrono::duration_cast<std::chrono::milliseconds>(options_.heartbeat -
                                                                     (now - cursor.last_write));
    due = std::max(due, std::chrono::milliseconds(1));
    chunk.retry_in = chunk.retry_in ? std::min(*chunk.retry_in, due) : due;
  }
  return chunk;
}

}  // namespace cellfleet::events
