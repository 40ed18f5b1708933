#pragma once
// Delivers committed events from the outbox (outbox.h) to the subscribers registered here.
//
// For each event and each interested subscriber, the subscriber's handler reads what it needs
// and appends its effects to a batch; the dispatcher adds an inbox marker
//   pk "inbox#<subscriber>", sk <event id>   (must_not_exist, expires after inbox_ttl)
// and its own bookkeeping on the outbox item, and commits all of it with one write(). A marker
// that already exists means the event was applied before (a redelivery after a crash or a lease
// takeover): the effects are dropped and delivery counts as done. So effects are applied
// effectively once. When every interested subscriber is done, the outbox item is deleted.
//
// Order: events of one subject reach a subscriber in event id order. A handler that throws is
// retried with capped exponential backoff; meanwhile only later events of the same subject for
// the same subscriber wait. After max_attempts the event becomes a dead letter (dead_letter.h)
// and delivery moves on.
//
// Several instances may share one store: each outbox shard is delivered only by the holder of
// its lease (shard_lease.h).
//
// Effects that publish events (a handler calling Publisher::publish on its effects batch) wake the
// delivery thread once committed, so a chain of subscribers (payment -> contract -> battery)
// runs without waiting for the next sweep.
//
// Delivery groups: a subscriber registered with register_grouped_subscriber reads only through
// the store view it is handed. A shard's consecutive events whose interested subscribers are all
// such (the insights counters) are then applied up to group_deliveries at a time with one write
// (one SQLite commit, one DynamoDB transaction): each handler reads a view in which the group's
// earlier effects are already applied, and the deliveries' batches (each with its own marker and
// outbox bookkeeping) are merged into one batch with one operation per item: the item's final
// state under the condition of the group's first operation on it. A delivery joins only while
// that is exact (the first condition pins the item's version or absence, so the later condition
// is checked against the group's state) and the merged batch stays within kMaxBatchOps. When the
// write fails (a redelivery's marker, a lost race, an invalid effect) each of the group's events
// is delivered again on its own, as without groups. An event for any other subscriber first
// commits the group, so order per subject and subscriber is kept.
//
// Concurrency: a pass delivers up to delivery_threads outbox shards at once, each shard by one
// thread in id order, so events of one subject (always in one shard) still reach a subscriber
// one at a time and in order, while events of different shards are handled concurrently. A
// handler must therefore be safe to run on several threads at once for different subjects (as
// it already must be with several instances). A handler whose effects lose a version race
// (ConditionFailed on one of its own operations, e.g. a shared counter) is run again on fresh
// reads after a short random pause, up to 20 times, before that counts as a failed attempt.
//
// Thread-safe. Handlers may call notify() but not run_once() or stop().

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "core/events/dead_letter.h"
#include "core/events/event.h"
#include "core/events/shard_lease.h"
#include "core/log.h"
#include "core/metrics.h"
#include "storage/store.h"

namespace cellfleet::events {

// Reads what it needs from the store and appends its effects (at most kMaxBatchOps - 2
// operations) to effects. Throwing means "not applied, try again later".
using Handler = std::function<void(const Event& event, storage::WriteBatch& effects)>;
// A Handler that reads only through reads (the store, or a delivery group's view of it): see
// register_grouped_subscriber.
using GroupedHandler =
    std::function<void(const Event& event, storage::Store& reads, storage::WriteBatch& effects)>;
// Called on the dispatcher's thread after a handler's effects for event were committed (not for a
// redelivery whose effects were dropped): wakes what waits for them, e.g. a pack's long-poll.
// Must not throw and must not touch the store.
using AfterCommit = std::function<void(const Event& event)>;

struct DispatcherOptions {
  std::string instance_id;  // this process's name in lease items; "" makes an "ins_" id
  int max_attempts = 5;     // handler calls before an event becomes a dead letter
  std::chrono::milliseconds retry_base{200};   // first retry delay, doubled per attempt
  std::chrono::milliseconds retry_max{60000};  // cap of the retry delay
  // How often the outbox is re-read without a notify(): heals a crash between commit and
  // delivery, picks up other instances' events and shards whose lease expired.
  std::chrono::milliseconds sweep_interval{1000};
  std::chrono::milliseconds lease_duration{10000};
  std::chrono::seconds inbox_ttl = std::chrono::days(35);  // longer than the event retention
  std::size_t page_size = 100;                             // outbox items read per query
  std::size_t delivery_threads = 1;  // shards delivered at the same time (1..16)
  // Deliveries (event x subscriber) to grouped subscribers committed by one write, 1..256 (fewer
  // when their merged operations reach kMaxBatchOps). 1: every delivery is its own write.
  std::size_t group_deliveries = 1;
};

class Dispatcher {
 public:
  Dispatcher(storage::Store& store, const Clock& clock, Logger& log, MetricsRegistry& metrics,
             DispatcherOptions options = {});
  ~Dispatcher();  // stop()
  Dispatcher(const Dispatcher&) = delete;
  Dispatcher& operator=(const Dispatcher&) = delete;

  // Subscribes name (unique, [A-Za-z0-9_.-]) to the listed event types ("*" for every type).
  // Throws std::invalid_argument for a bad or duplicate name.
  void register_subscriber(std::string name, std::vector<std::string> types, Handler handler,
                           AfterCommit after_commit = {});

  // Like register_subscriber, for a handler that reads only through the store it is handed, so
  // that its deliveries may be grouped (see above). Reads through any other path would miss the
  // group's uncommitted effects.
  void register_grouped_subscriber(std::string name, std::vector<std::string> types,
                                   GroupedHandler handler, AfterCommit after_commit = {});

  // Starts the delivery thread; it delivers what is in the outbox at once (healing a crash), then
  // on every notify() and every sweep_interval. Idempotent.
  void start();
  // Finishes the event in hand, releases the leases held, joins the thread. Idempotent.
  void stop();
  // Wakes the delivery thread; call after committing a batch with events.
  void notify();
  // notify(), and tells the publish listener which organizations' events batch committed.
  // Publisher::commit calls it; so does delivery for effects that publish.
  void committed(const storage::WriteBatch& batch);
  // Called with an organization id after a batch with its events committed on this instance
  // (live event streams read the log at once). Set before start(); must be quick, not throw.
  void set_publish_listener(std::function<void(const std::string& org_id)> listener);

  // One delivery pass over every shard this instance holds or can take, on the calling thread
  // (waits for a pass of the delivery thread in progress). Returns how many deliveries it
  // completed (applied, recognised as already applied, or dead-lettered). Does nothing between
  // stop() and the next start().
  std::size_t run_once();

  const std::string& instance_id() const { return options_.instance_id; }

  // Dead letters of one subscriber, or of every subscriber when subscriber is unset.
  DeadLetterPage dead_letters(const std::optional<std::string>& subscriber, std::size_t limit,
                              const std::string& cursor = "");
  // Re-queues a dead letter for its subscriber alone and wakes the thread. Throws Error
  // not_found when there is no such dead letter.
  void retry_dead_letter(const std::string& subscriber, const std::string& event_id);

 private:
  struct Subscriber;
  struct Retry {
    int attempts = 0;
    std::int64_t next_at_ms = 0;
    std::uint64_t seen_in_pass = 0;
  };
  struct OutboxEntry;
  struct Group;
  enum class Outcome { done, waiting, stale };

  void run();
  bool hold_lease(std::size_t shard);
  std::size_t process_shard(std::size_t shard, const std::vector<const Subscriber*>& subscribers,
                            std::int64_t& pending);
  void add_subscriber(std::string name, std::vector<std::string> types, GroupedHandler handler,
                      AfterCommit after_commit, bool grouped);
  // Delivers entry, into group when it may join it; returns the deliveries completed now.
  std::size_t deliver(std::size_t shard, OutboxEntry& entry,
                      const std::vector<const Subscriber*>& subscribers,
                      std::set<std::string>& blocked, Group& group);
  // Delivers entry to each interested subscriber, each with its own write.
  std::size_t deliver_alone(std::size_t shard, OutboxEntry& entry,
                            const std::vector<const Subscriber*>& subscribers,
                            std::set<std::string>& blocked);
  static std::vector<const Subscriber*> interested_in(
      const OutboxEntry& entry, const std::vector<const Subscriber*>& subscribers);
  bool may_group(std::size_t shard, const OutboxEntry& entry,
                 const std::vector<const Subscriber*>& interested,
                 const std::set<std::string>& blocked) const;
  // Runs the handlers of entry's interested subscribers on the group's view and adds their
  // deliveries; false (and the group as it was) when a handler threw or read what the group
  // changes.
  bool join(OutboxEntry& entry, const std::vector<const Subscriber*>& interested, Group& group);
  // Commits the group; when that fails, delivers each of its entries alone.
  std::size_t flush(std::size_t shard, Group& group,
                    const std::vector<const Subscriber*>& subscribers,
                    std::set<std::string>& blocked);
  // The marker, effects and outbox bookkeeping of one delivery, as one batch.
  storage::WriteBatch delivery_batch(const OutboxEntry& entry, const Subscriber& subscriber,
                                     storage::WriteBatch& effects, storage::WriteOp finish,
                                     std::int64_t now_ms) const;
  // Bookkeeping after subscriber's delivery of entry committed (applied_now: its effects too).
  void record_delivery(std::size_t shard, OutboxEntry& entry, const Subscriber& subscriber,
                       bool last, bool applied_now, std::int64_t now_ms);
  Outcome apply(std::size_t shard, OutboxEntry& entry, const Subscriber& subscriber, bool last);
  // One handler run and commit; nullopt when its effects lost a race and may_rerun allows
  // running it again.
  std::optional<Outcome> apply_once(std::size_t shard, OutboxEntry& entry,
                                    const Subscriber& subscriber, bool last, bool may_rerun);
  Outcome fail(std::size_t shard, OutboxEntry& entry, const Subscriber& subscriber, bool last,
               const std::string& error);
  storage::WriteOp finish_op(const OutboxEntry& entry, const std::string& subscriber,
                             bool last) const;
  storage::WriteOp finish_op(const storage::Key& key, const std::set<std::string>& done,
                             std::int64_t version, const std::string& subscriber, bool last) const;
  void forget_unseen_retries(std::size_t shard);
  std::int64_t backoff_ms(int attempts) const;
  std::int64_t earliest_retry_ms() const;

  storage::Store& store_;
  const Clock& clock_;
  Logger& log_;
  MetricsRegistry& metrics_;
  DispatcherOptions options_;
  std::mutex lease_mutex_;  // ShardLeases is not thread-safe; a pass's threads share it
  ShardLeases leases_;

  std::function<void(const std::string&)> publish_listener_;
  std::mutex subscribers_mutex_;
  std::map<std::string, std::unique_ptr<Subscriber>> subscribers_;

  std::mutex pass_mutex_;  // one pass at a time; guards pass_ and the shape of retries_
  // Per shard (index), event|subscriber -> retry; a shard's map is touched only by the thread
  // delivering that shard in the pass.
  std::vector<std::map<std::string, Retry>> retries_;
  std::uint64_t pass_ = 0;

  std::mutex wake_mutex_;
  std::condition_variable wake_;
  bool notified_ = false;
  bool stopping_ = false;
  std::atomic<bool> stop_requested_{false};        // read between events, without wake_mutex_
  std::atomic<std::int64_t> next_retry_at_ms_{0};  // 0: no retry waiting
  std::thread thread_;

  Gauge& pending_gauge_;
  Counter& group_writes_;
  Counter& group_fallbacks_;
};

}  // namespace cellfleet::events
