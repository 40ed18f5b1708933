#include "core/events/dispatcher.h"

#include <algorithm>
#include <atomic>
#include <deque>
#include <random>
#include <stdexcept>
#include <thread>
#include <tuple>
#include <utility>
#include <variant>

#include "core/events/outbox.h"
#include "core/ids.h"

namespace cellfleet::events {

namespace {

const std::string kTable(kEventsTable);
constexpr std::int64_t kMinRetryWaitMs = 20;
// Re-runs of a handler whose effects lost a version race, before the loss counts as a failed
// attempt; each after a random pause of up to 2^n ms (capped at 64), so racing threads fall out of
// step. A handler whose condition can never hold costs at most about a second more per attempt.
constexpr int kConflictReruns = 20;

void pause_before_rerun(int rerun) {
  thread_local std::minstd_rand random(std::random_device{}());
  const int cap = 1 << std::min(rerun, 6);
  std::this_thread::sleep_for(std::chrono::milliseconds(random() % (cap + 1)));
}

// True when the batch puts an outbox item: the handler published events.
bool publishes_events(const storage::WriteBatch& batch) {
  for (const auto& op : batch.ops) {
    const auto* put = std::get_if<storage::Put>(&op);
    if (put && put->item.value("pk", "").rfind("outbox#", 0) == 0) return true;
  }
  return false;
}

// Lag from occurred_at to applied spans milliseconds (happy path) to hours (a retried event).
std::vector<std::uint64_t> lag_buckets_us() {
  return {1'000,     5'000,     10'000,     50'000,     100'000,     500'000,
          1'000'000, 5'000'000, 10'000'000, 60'000'000, 300'000'000, 3'600'000'000};
}

bool valid_subscriber_name(const std::string& name) {
  if (name.empty() || name.size() > 64) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == '-';
  });
}

std::string inbox_partition(const std::string& subscriber) {
  return "inbox#" + subscriber;
}

DispatcherOptions with_instance_id(DispatcherOptions options, const Clock& clock) {
  if (options.instance_id.empty()) options.instance_id = IdGenerator(clock).next("ins");
  return options;
}

// A handler read what its delivery group has changed but not committed, in a way the group cannot
// answer (a query over a partition or index it changed).
class GroupConflict : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

using ItemKey = std::tuple<std::string, std::string, std::string>;  // table, pk, sk

ItemKey item_key(const storage::WriteOp& op) {
  storage::Key key = storage::op_key(op);
  return {storage::op_table(op), std::move(key.pk), std::move(key.sk)};
}

bool pins_state(const storage::Condition& condition) {
  return condition.kind == storage::Condition::Kind::version_is ||
         condition.kind == storage::Condition::Kind::must_not_exist;
}

bool holds(const storage::Condition& condition, const std::optional<storage::Item>& item) {
  switch (condition.kind) {
    case storage::Condition::Kind::none:
      return true;
    case storage::Condition::Kind::must_exist:
      return item.has_value();
    case storage::Condition::Kind::must_not_exist:
      return !item;
    case storage::Condition::Kind::version_is: {
      if (!item) return false;
      const auto version = item->find("version");
      return version != item->end() && version->is_number_integer() &&
             version->get<std::int64_t>() == condition.version;
    }
  }
  return false;
}

// The item after op, from the item before it.
std::optional<storage::Item> after(const storage::WriteOp& op, std::optional<storage::Item> item) {
  if (const auto* put = std::get_if<storage::Put>(&op)) return put->item;
  if (std::holds_alternative<storage::Delete>(op)) return std::nullopt;
  if (const auto* update = std::get_if<storage::Update>(&op)) {
    if (!item) item = storage::Item{{"pk", update->key.pk}, {"sk", update->key.sk}};
    for (const auto& [name, value] : update->set.items()) (*item)[name] = value;
    for (const auto& name : update->remove) item->erase(name);
  }
  return item;  // a Check changes nothing
}

// One operation doing what first and then next do, under first's condition (next's condition
// was checked against the state first leaves). Partial stays partial: an update after an update
// or a check still applies to whatever the stored item holds then.
storage::WriteOp combined(const storage::WriteOp& first, const storage::WriteOp& next) {
  const storage::Condition condition = storage::op_condition(first);
  const auto [table, pk, sk] = item_key(first);
  if (std::holds_alternative<storage::Check>(next)) return first;
  if (const auto* put = std::get_if<storage::Put>(&next)) {
    return storage::Put{table, put->item, condition};
  }
  if (std::holds_alternative<storage::Delete>(next)) {
    return storage::Delete{table, {pk, sk}, condition};
  }
  const auto& update = std::get<storage::Update>(next);
  if (const auto* first_update = std::get_if<storage::Update>(&first)) {
    storage::Update merged = *first_update;
    for (const auto& [name, value] : update.set.items()) {
      merged.set[name] = value;
      std::erase(merged.remove, name);
    }
    for (const auto& name : update.remove) {
      merged.set.erase(name);
      if (std::find(merged.remove.begin(), merged.remove.end(), name) == merged.remove.end()) {
        merged.remove.push_back(name);
      }
    }
    return merged;
  }
  if (std::holds_alternative<storage::Check>(first)) {
    storage::Update checked = update;
    checked.condition = condition;
    return checked;
  }
  // After a put or a delete the whole item is known: a put of it.
  const auto* put = std::get_if<storage::Put>(&first);
  return storage::Put{
      table, *after(next, put ? std::optional<storage::Item>(put->item) : std::nullopt), condition};
}

// A delivery group's writes merged into one batch, at most one operation per item (so it is one
// transaction on DynamoDB too), and the store as that batch would leave it, for the group's
// handlers to read. Each item's operation is its final state under the condition of the group's
// first operation on it; a later operation joins only when that condition pins the item (a
// version or its absence), so the later condition can be checked here, exactly, against the
// state the group leaves.
class GroupWrites final : public storage::Store {
 public:
  explicit GroupWrites(storage::Store& store) : store_(store) {}

  const storage::WriteBatch& batch() const { return s_.batch; }
  void clear() { s_ = State{}; }

  // Adds one delivery's batch; false, with nothing added, when one of its operations cannot be
  // merged (its condition does not hold in the group's state, or cannot be checked here) or the
  // merged batch would exceed kMaxBatchOps.
  bool add(const storage::WriteBatch& delivery) {
    // What a store may refuse (two operations on one item, an update naming the key or setting
    // and removing one attribute) is left to a delivery alone, which fails as it should there.
    std::set<ItemKey> keys;
    for (const auto& op : delivery.ops) {
      if (!keys.insert(item_key(op)).second) return false;
      if (const auto* update = std::get_if<storage::Update>(&op)) {
        if (update->set.contains("pk") || update->set.contains("sk")) return false;
        for (const auto& name : update->remove) {
          if (name == "pk" || name == "sk" || update->set.contains(name)) return false;
        }
      }
    }
    std::size_t new_items = 0;
    for (const auto& op : delivery.ops) {
      auto found = s_.items.find(item_key(op));
      if (found == s_.items.end()) {
        ++new_items;
        continue;
      }
      const storage::Condition condition = storage::op_condition(op);
      if (condition.kind == storage::Condition::Kind::none) continue;
      if (!pins_state(storage::op_condition(s_.batch.ops[found->second.op]))) return false;
      if (!holds(condition, state(found->first, found->second))) return false;
    }
    if (s_.batch.ops.size() + new_items > storage::kMaxBatchOps) return false;
    for (const auto& op : delivery.ops) merge(op);
    return true;
  }

  std::optional<storage::Item> get(const std::string& table, const storage::Key& key) override {
    auto found = s_.items.find({table, key.pk, key.sk});
    if (found == s_.items.end()) return store_.get(table, key);
    return state(found->first, found->second);
  }

  storage::Page query(const storage::Query& q) override {
    const bool changed = q.index ? s_.changed_tables.contains(q.table)
                                 : s_.changed_partitions.contains({q.table, q.partition});
    if (changed) throw GroupConflict("the query reads what the delivery group changed");
    return store_.query(q);
  }

  void write(const storage::WriteBatch&) override { refuse(); }
  void put_many(const std::string&, const std::vector<storage::Item>&) override { refuse(); }
  void ping() override { store_.ping(); }

 private:
  struct Entry {
    std::size_t op;                     // index in batch
    std::optional<storage::Item> item;  // the state after the group, once known
    bool known = false;
  };
  struct State {
    storage::WriteBatch batch;
    std::map<ItemKey, Entry> items;
    std::set<std::pair<std::string, std::string>> changed_partitions;  // table, pk
    std::set<std::string> changed_tables;
  };

 public:
  // What add() changed after save() is undone by restore().
  State save() const { return s_; }
  void restore(State saved) { s_ = std::move(saved); }

 private:
  [[noreturn]] static void refuse() {
    throw std::logic_error("a grouped handler writes through its effects batch, not its reads");
  }

  // The item as the group leaves it; the stored item is read when the group's operations on it
  // are partial (an update or a check of an item no handler of the group has read through here).
  const std::optional<storage::Item>& state(const ItemKey& key, Entry& entry) {
    if (!entry.known) {
      // Under must_not_exist the group writes only if the item is absent: no need to read it.
      const storage::WriteOp& first = s_.batch.ops[entry.op];
      const auto& [table, pk, sk] = key;
      entry.item =
          after(first, storage::op_condition(first).kind == storage::Condition::Kind::must_not_exist
                           ? std::nullopt
                           : store_.get(table, {pk, sk}));
      entry.known = true;
    }
    return entry.item;
  }

  void merge(const storage::WriteOp& op) {
    const ItemKey key = item_key(op);
    const auto& [table, pk, sk] = key;
    s_.changed_partitions.emplace(table, pk);
    s_.changed_tables.insert(table);
    const bool partial =
        std::holds_alternative<storage::Update>(op) || std::holds_alternative<storage::Check>(op);
    auto found = s_.items.find(key);
    if (found == s_.items.end()) {
      Entry entry{s_.batch.ops.size(), std::nullopt, !partial};
      if (!partial) entry.item = after(op, std::nullopt);
      s_.batch.ops.push_back(op);
      s_.items.emplace(key, std::move(entry));
      return;
    }
    Entry& entry = found->second;
    s_.batch.ops[entry.op] = combined(s_.batch.ops[entry.op], op);
    if (!partial) {
      entry.item = after(op, std::nullopt);
      entry.known = true;
    } else if (entry.known) {
      entry.item = after(op, std::move(entry.item));
    }
  }

  storage::Store& store_;
  State s_;
};

}  // namespace

struct Dispatcher::Subscriber {
  std::string name;
  std::vector<std::string> types;
  GroupedHandler handler;
  AfterCommit after_commit;
  bool grouped;  // reads only through the store it is handed: may join delivery groups
  Counter& delivered;
  Counter& retries;
  Counter& dead_letters;
  Histogram& lag;

  bool wants(const std::string& type) const {
    return std::any_of(types.begin(), types.end(),
                       [&type](const std::string& t) { return t == "*" || t == type; });
  }
};

// Deliveries read and decided but not committed yet, merged into one batch that flush() writes.
struct Dispatcher::Group {
  struct Member {
    OutboxEntry* entry;
    const Subscriber* subscriber;
    bool last;
    std::int64_t now_ms;
  };
  explicit Group(storage::Store& store) : writes(store) {}
  bool empty() const { return members.empty(); }
  void clear() {
    members.clear();
    writes.clear();
  }

  std::vector<Member> members;  // an entry's members are next to each other, in delivery order
  GroupWrites writes;
};

// An outbox item as read: the event and which subscribers are done with it.
struct Dispatcher::OutboxEntry {
  storage::Key key;
  Event event;
  std::string subject_key;
  std::set<std::string> done;
  std::optional<std::set<std::string>> only;  // a re-queued dead letter names its subscriber
  std::int64_t version = 0;
  bool deleted = false;

  static OutboxEntry from_item(const storage::Item& item) {
    OutboxEntry entry;
    entry.key = {item.at("pk").get<std::string>(), item.at("sk").get<std::string>()};
    entry.event = item.at("event").get<Event>();
    entry.subject_key = item.value("subject_key", entry.event.org_id + "\n" + entry.event.subject);
    for (const auto& name : item.value("done", nlohmann::json::array())) {
      entry.done.insert(name.get<std::string>());
    }
    if (item.contains("only")) {
      entry.only.emplace();
      for (const auto& name : item.at("only")) entry.only->insert(name.get<std::string>());
    }
    entry.version = item.value("version", std::int64_t{0});
    return entry;
  }
};

Dispatcher::Dispatcher(storage::Store& store, const Clock& clock, Logger& log,
                       MetricsRegistry& metrics, DispatcherOptions options)
    : store_(store),
      clock_(clock),
      log_(log),
      metrics_(metrics),
      options_(with_instance_id(std::move(options), clock)),
      leases_(store, clock, options_.instance_id, options_.lease_duration),
      retries_(kOutboxShards),
      pending_gauge_(metrics.gauge("events_outbox_pending",
                                   "Outbox events not yet delivered to every subscriber, in the "
                                   "shards this instance holds (as of its last pass)")),
      group_writes_(
          metrics.counter("events_group_writes_total", "Delivery groups committed with one write")),
      group_fallbacks_(metrics.counter(
          "events_group_fallbacks_total",
          "Delivery groups whose write failed, their events then delivered one by one")) {
  if (options_.max_attempts < 1) throw std::invalid_argument("max_attempts must be at least 1");
  if (options_.page_size < 1 || options_.page_size > 1000) {
    throw std::invalid_argument("page_size must be within 1..1000");
  }
  if (options_.delivery_threads < 1 || options_.delivery_threads > kOutboxShards) {
    throw std::invalid_argument("delivery_threads must be within 1..16");
  }
  if (options_.group_deliveries < 1 || options_.group_deliveries > 256) {
    throw std::invalid_argument("group_deliveries must be within 1..256");
  }
}

Dispatcher::~Dispatcher() {
  stop();
}

void Dispatcher::register_subscriber(std::string name, std::vector<std::string> types,
                                     Handler handler, AfterCommit after_commit) {
  add_subscriber(
      std::move(name), std::move(types),
      [handler = std::move(handler)](const Event& event, storage::Store&,
                                     storage::WriteBatch& effects) { handler(event, effects); },
      std::move(after_commit), false);
}

void Dispatcher::register_grouped_subscriber(std::string name, std::vector<std::string> types,
                                             GroupedHandler handler, AfterCommit after_commit) {
  add_subscriber(std::move(name), std::move(types), std::move(handler), std::move(after_commit),
                 true);
}

void Dispatcher::add_subscriber(std::string name, std::vector<std::string> types,
                                GroupedHandler handler, AfterCommit after_commit, bool grouped) {
  if (!valid_subscriber_name(name)) {
    throw std::invalid_argument("subscriber name must be 1-64 of [A-Za-z0-9_.-]: " + name);
  }
  const Labels labels{{"subscriber", name}};
  auto subscriber = std::unique_ptr<Subscriber>(new Subscriber{
      name, std::move(types), std::move(handler), std::move(after_commit), grouped,
      metrics_.counter("events_delivered_total", "Events applied by a subscriber", labels),
      metrics_.counter("events_handler_retries_total",
                       "Handler failures that were scheduled for a retry", labels),
      metrics_.counter("events_dead_letters_total",
                       "Events a subscriber gave up on after its attempts ran out", labels),
      metrics_.histogram("events_dispatch_lag_seconds",
                         "Time from an event's occurrence to its application by a subscriber",
                         labels, lag_buckets_us())});
  std::lock_guard lock(subscribers_mutex_);
  if (!subscribers_.emplace(name, std::move(subscriber)).second) {
    throw std::invalid_argument("subscriber registered twice: " + name);
  }
}

void Dispatcher::start() {
  std::lock_guard lock(wake_mutex_);
  if (thread_.joinable()) return;
  stopping_ = false;
  stop_requested_ = false;
  thread_ = std::thread([this] { run(); });
}

void Dispatcher::stop() {
  {
    std::lock_guard lock(wake_mutex_);
    stopping_ = true;
    stop_requested_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  std::lock_guard pass(pass_mutex_);
  std::lock_guard lease(lease_mutex_);
  leases_.release_all();
}

void Dispatcher::notify() {
  {
    std::lock_guard lock(wake_mutex_);
    notified_ = true;
  }
  wake_.notify_all();
}

void Dispatcher::committed(const storage::WriteBatch& batch) {
  notify();
  if (!publish_listener_) return;
  std::vector<std::string> orgs;
  for (const auto& op : batch.ops) {
    const auto* put = std::get_if<storage::Put>(&op);
    if (!put || put->item.value("pk", "").rfind("outbox#", 0) != 0) continue;
    auto org = put->item.at("event").value("org_id", "");
    if (!org.empty() && std::find(orgs.begin(), orgs.end(), org) == orgs.end()) {
      orgs.push_back(std::move(org));
    }
  }
  for (const auto& org : orgs) publish_listener_(org);
}

void Dispatcher::set_publish_listener(std::function<void(const std::string& org_id)> listener) {
  publish_listener_ = std::move(listener);
}

void Dispatcher::run() {
  // Renewal must come before half the lease has passed, whatever the sweep interval.
  const auto max_wait = std::min(options_.sweep_interval, options_.lease_duration / 4);
  while (true) {
    try {
      run_once();
    } catch (const std::exception& e) {
      log_.error("event delivery pass failed", {{"error", e.what()}});
    }
    std::unique_lock lock(wake_mutex_);
    if (stopping_) return;
    auto wait = max_wait;
    if (const std::int64_t retry_at = next_retry_at_ms_.load(); retry_at != 0) {
      // At least a short pause: a due retry still held back by an earlier event of its subject
      // must not turn this loop into a spin.
      const auto until_retry = std::chrono::milliseconds(
          std::max<std::int64_t>(kMinRetryWaitMs, retry_at - clock_.epoch_millis()));
      wait = std::min(wait, until_retry);
    }
    wake_.wait_for(lock, wait, [this] { return notified_ || stopping_; });
    notified_ = false;
    if (stopping_) return;
  }
}

std::size_t Dispatcher::run_once() {
  std::lock_guard pass(pass_mutex_);
  ++pass_;
  std::vector<const Subscriber*> subscribers;
  {
    std::lock_guard lock(subscribers_mutex_);
    for (const auto& [name, subscriber] : subscribers_) subscribers.push_back(subscriber.get());
  }
  const auto shard_failed = [this](std::size_t shard, const std::exception& e) {
    // The store is unreachable or an item is unreadable; the next pass tries again.
    log_.warn("event delivery failed for an outbox shard", {{"shard", shard}, {"error", e.what()}});
  };
  std::vector<std::size_t> held;
  for (std::size_t shard = 0; shard < kOutboxShards && !stop_requested_; ++shard) {
    try {
      if (hold_lease(shard)) {
        held.push_back(shard);
      } else {
        retries_[shard].clear();  // another instance delivers (and retries) this shard now
      }
    } catch (const std::exception& e) {
      shard_failed(shard, e);
    }
  }

  // The held shards are shared out to up to delivery_threads threads, this one included.
  std::atomic<std::size_t> next{0};
  std::atomic<std::size_t> delivered{0};
  std::atomic<std::int64_t> pending{0};
  const auto deliver_shards = [&] {
    for (std::size_t i = next++; i < held.size() && !stop_requested_; i = next++) {
      std::int64_t shard_pending = 0;
      try {
        delivered += process_shard(held[i], subscribers, shard_pending);
      } catch (const std::exception& e) {
        shard_failed(held[i], e);
      }
      pending += shard_pending;
    }
  };
  std::vector<std::thread> helpers;
  for (std::size_t t = 1; t < std::min(options_.delivery_threads, held.size()); ++t) {
    helpers.emplace_back(deliver_shards);
  }
  deliver_shards();
  for (auto& helper : helpers) helper.join();
  // An event published during the pass may sit in a shard the pass had already read: the pass
  // that follows delivers it, and until then the gauge must not claim the outbox is empty.
  bool published_meanwhile = false;
  {
    std::lock_guard lock(wake_mutex_);
    published_meanwhile = notified_;
  }
  pending_gauge_.set(published_meanwhile ? std::max<std::int64_t>(pending.load(), 1)
                                         : pending.load());
  next_retry_at_ms_ = earliest_retry_ms();
  return delivered;
}

std::vector<const Dispatcher::Subscriber*> Dispatcher::interested_in(
    const OutboxEntry& entry, const std::vector<const Subscriber*>& subscribers) {
  std::vector<const Subscriber*> interested;
  for (const Subscriber* subscriber : subscribers) {
    if (!subscriber->wants(entry.event.type) || entry.done.contains(subscriber->name)) continue;
    if (entry.only && !entry.only->contains(subscriber->name)) continue;
    interested.push_back(subscriber);
  }
  return interested;
}

bool Dispatcher::hold_lease(std::size_t shard) {
  std::lock_guard lock(lease_mutex_);
  return leases_.hold(shard);
}

std::size_t Dispatcher::process_shard(std::size_t shard,
                                      const std::vector<const Subscriber*>& subscribers,
                                      std::int64_t& pending) {
  storage::Query query;
  query.table = kTable;
  query.partition = outbox_partition(shard);
  query.limit = options_.page_size;
  std::set<std::string> blocked;  // subject_key + "\n" + subscriber: wait for an earlier event
  std::size_t delivered = 0;
  Group group(store_);
  do {
    const storage::Page page = store_.query(query);
    std::deque<OutboxEntry> entries;  // a group points into it
    for (const auto& item : page.items) {
      // A group not committed yet is dropped with the lease: the next holder delivers it.
      if (stop_requested_ || !hold_lease(shard)) return delivered;
      entries.push_back(OutboxEntry::from_item(item));
      delivered += deliver(shard, entries.back(), subscribers, blocked, group);
    }
    delivered += flush(shard, group, subscribers, blocked);
    for (const auto& entry : entries) {
      if (!entry.deleted) ++pending;
    }
    query.cursor = page.next_cursor;
  } while (!query.cursor.empty());
  forget_unseen_retries(shard);
  return delivered;
}

std::size_t Dispatcher::deliver(std::size_t shard, OutboxEntry& entry,
                                const std::vector<const Subscriber*>& subscribers,
                                std::set<std::string>& blocked, Group& group) {
  const auto interested = interested_in(entry, subscribers);
  // Nobody to deliver to: only the entry's own outbox item is deleted, whatever the group holds.
  if (interested.empty()) return deliver_alone(shard, entry, subscribers, blocked);
  std::size_t completed = 0;
  if (may_group(shard, entry, interested, blocked)) {
    if (group.members.size() + interested.size() > options_.group_deliveries) {
      completed += flush(shard, group, subscribers, blocked);
    }
    // A flush that fell back to single deliveries may have held this subject back: check again.
    // The rest count when the group is committed.
    if (may_group(shard, entry, interested, blocked) && join(entry, interested, group)) {
      return completed;
    }
    if (!group.empty()) {
      // The merged batch is full, or this event's writes cannot merge into it: a new group.
      completed += flush(shard, group, subscribers, blocked);
      if (may_group(shard, entry, interested, blocked) && join(entry, interested, group)) {
        return completed;
      }
    }
  }
  // Alone, after the group: a subject's events reach a subscriber in order.
  completed += flush(shard, group, subscribers, blocked);
  return completed + deliver_alone(shard, entry, subscribers, blocked);
}

bool Dispatcher::may_group(std::size_t shard, const OutboxEntry& entry,
                           const std::vector<const Subscriber*>& interested,
                           const std::set<std::string>& blocked) const {
  if (options_.group_deliveries < 2 || interested.size() > options_.group_deliveries) return false;
  const auto& shard_retries = retries_[shard];
  return std::all_of(interested.begin(), interested.end(), [&](const Subscriber* subscriber) {
    return subscriber->grouped && !blocked.contains(entry.subject_key + "\n" + subscriber->name) &&
           !shard_retries.contains(entry.key.sk + "\n" + subscriber->name);
  });
}

bool Dispatcher::join(OutboxEntry& entry, const std::vector<const Subscriber*>& interested,
                      Group& group) {
  // A later subscriber's handler reads the earlier ones' effects too; all or none of them join.
  std::optional<decltype(group.writes.save())> before;
  if (interested.size() > 1) before = group.writes.save();
  const std::size_t first = group.members.size();
  std::set<std::string> done = entry.done;
  std::int64_t version = entry.version;
  for (std::size_t i = 0; i < interested.size(); ++i) {
    const Subscriber& subscriber = *interested[i];
    const bool last = i + 1 == interested.size();
    const std::int64_t now_ms = clock_.epoch_millis();
    storage::WriteBatch effects;
    bool joined = false;
    try {
      subscriber.handler(entry.event, group.writes, effects);
      joined = group.writes.add(
          delivery_batch(entry, subscriber, effects,
                         finish_op(entry.key, done, version, subscriber.name, last), now_ms));
    } catch (...) {
      // Delivered alone instead, where a failure is retried and counted as it should be.
    }
    if (!joined) {
      if (before) group.writes.restore(std::move(*before));
      group.members.resize(first);
      return false;
    }
    group.members.push_back({&entry, &subscriber, last, now_ms});
    done.insert(subscriber.name);
    ++version;
  }
  return true;
}

std::size_t Dispatcher::flush(std::size_t shard, Group& group,
                              const std::vector<const Subscriber*>& subscribers,
                              std::set<std::string>& blocked) {
  if (group.empty()) return 0;
  try {
    store_.write(group.writes.batch());
  } catch (const storage::Unavailable&) {
    group.clear();
    throw;  // the pass ends; the next one delivers these events again
  } catch (const std::exception& e) {
    // Nothing of the group was written. One by one, each delivery meets its own outcome: a
    // redelivery's marker, a lost race re-run, a failing effect retried or dead-lettered.
    group_fallbacks_.inc();
    log_.info("a delivery group failed; delivering its events one by one",
              {{"shard", shard}, {"deliveries", group.members.size()}, {"error", e.what()}});
    std::vector<OutboxEntry*> entries;
    for (const auto& member : group.members) {
      if (entries.empty() || entries.back() != member.entry) entries.push_back(member.entry);
    }
    group.clear();
    std::size_t completed = 0;
    for (OutboxEntry* entry : entries) {
      completed += deliver_alone(shard, *entry, subscribers, blocked);
    }
    return completed;
  }
  group_writes_.inc();
  for (const auto& member : group.members) {
    member.entry->done.insert(member.subscriber->name);
    record_delivery(shard, *member.entry, *member.subscriber, member.last, true, member.now_ms);
  }
  // The events the effects published are next.
  if (publishes_events(group.writes.batch())) committed(group.writes.batch());
  const std::size_t completed = group.members.size();
  group.clear();
  return completed;
}

std::size_t Dispatcher::deliver_alone(std::size_t shard, OutboxEntry& entry,
                                      const std::vector<const Subscriber*>& subscribers,
                                      std::set<std::string>& blocked) {
  const auto interested = interested_in(entry, subscribers);
  if (interested.empty()) {
    // Nobody (left) to deliver to: an event type without subscribers, or all were done.
    try {
      store_.write({{finish_op(entry, "", true)}});
      entry.deleted = true;
    } catch (const storage::ConditionFailed&) {
      // Another instance changed the item meanwhile; the next pass re-reads it.
    }
    return 0;
  }

  std::size_t completed = 0;
  for (const Subscriber* subscriber : interested) {
    const std::string block_key = entry.subject_key + "\n" + subscriber->name;
    auto& shard_retries = retries_[shard];
    auto retry = shard_retries.find(entry.key.sk + "\n" + subscriber->name);
    if (retry != shard_retries.end()) retry->second.seen_in_pass = pass_;
    if (blocked.contains(block_key)) continue;
    if (retry != shard_retries.end() && retry->second.next_at_ms > clock_.epoch_millis()) {
      blocked.insert(block_key);
      continue;
    }
    const bool last = completed + 1 == interested.size();
    switch (apply(shard, entry, *subscriber, last)) {
      case Outcome::done:
        ++completed;
        entry.done.insert(subscriber->name);
        break;
      case Outcome::waiting:
        blocked.insert(block_key);
        break;
      case Outcome::stale:
        // The item changed under us (another instance at a lease takeover): keep this subject's
        // later events back for everyone until the next pass has re-read it.
        for (const Subscriber* s : subscribers) blocked.insert(entry.subject_key + "\n" + s->name);
        return completed;
    }
  }
  return completed;
}

Dispatcher::Outcome Dispatcher::apply(std::size_t shard, OutboxEntry& entry,
                                      const Subscriber& subscriber, bool last) {
  for (int rerun = 0;; ++rerun) {
    auto outcome = apply_once(shard, entry, subscriber, last, rerun < kConflictReruns);
    if (outcome) return *outcome;
    pause_before_rerun(rerun);
  }
}

std::optional<Dispatcher::Outcome> Dispatcher::apply_once(std::size_t shard, OutboxEntry& entry,
                                                          const Subscriber& subscriber, bool last,
                                                          bool may_rerun) {
  storage::WriteBatch effects;
  try {
    subscriber.handler(entry.event, store_, effects);
  } catch (const std::exception& e) {
    return fail(shard, entry, subscriber, last, e.what());
  } catch (...) {
    return fail(shard, entry, subscriber, last, "the handler threw a non-standard exception");
  }

  const std::int64_t now_ms = clock_.epoch_millis();
  const storage::WriteBatch batch =
      delivery_batch(entry, subscriber, effects, finish_op(entry, subscriber.name, last), now_ms);

  bool applied_now = true;
  try {
    store_.write(batch);
  } catch (const storage::ConditionFailed& failed) {
    if (failed.op_index == batch.ops.size() - 1) return Outcome::stale;
    if (failed.op_index != 0) {
      // The handler's own effects lost a race (a version-checked item another shard's thread or
      // instance changed since the handler read it): run it again on fresh reads.
      if (may_rerun) return std::nullopt;
      return fail(shard, entry, subscriber, last, failed.what());
    }
    // Applied before (a redelivery): only the bookkeeping is left to do.
    applied_now = false;
    try {
      store_.write({{finish_op(entry, subscriber.name, last)}});
    } catch (const storage::ConditionFailed&) {
      return Outcome::stale;
    }
  } catch (const storage::Unavailable&) {
    throw;  // not the handler's fault: the pass ends and the next one tries again
  } catch (const std::exception& e) {
    return fail(shard, entry, subscriber, last, e.what());
  }

  record_delivery(shard, entry, subscriber, last, applied_now, now_ms);
  // The events the effects published are next.
  if (applied_now && publishes_events(batch)) committed(batch);
  return Outcome::done;
}

storage::WriteBatch Dispatcher::delivery_batch(const OutboxEntry& entry,
                                               const Subscriber& subscriber,
                                               storage::WriteBatch& effects,
                                               storage::WriteOp finish, std::int64_t now_ms) const {
  storage::WriteBatch batch;
  batch.ops.reserve(effects.ops.size() + 2);
  // The marker goes first, so an event applied before is reported as the marker's condition
  // (the first failing operation) rather than as whatever condition its effects would now break.
  batch.ops.emplace_back(storage::Put{kTable,
                                      {{"pk", inbox_partition(subscriber.name)},
                                       {"sk", entry.event.id},
                                       {"applied_at", now_ms},
                                       {"expires_at", now_ms / 1000 + options_.inbox_ttl.count()}},
                                      storage::Condition::must_not_exist()});
  for (auto& op : effects.ops) batch.ops.push_back(std::move(op));
  batch.ops.push_back(std::move(finish));
  return batch;
}

void Dispatcher::record_delivery(std::size_t shard, OutboxEntry& entry,
                                 const Subscriber& subscriber, bool last, bool applied_now,
                                 std::int64_t now_ms) {
  if (last) {
    entry.deleted = true;
  } else {
    ++entry.version;
  }
  retries_[shard].erase(entry.key.sk + "\n" + subscriber.name);
  if (!applied_now) return;
  if (subscriber.after_commit) subscriber.after_commit(entry.event);
  subscriber.delivered.inc();
  subscriber.lag.observe_us(
      static_cast<std::uint64_t>(std::max<std::int64_t>(0, now_ms - entry.event.occurred_at)) *
      1000);
}

Dispatcher::Outcome Dispatcher::fail(std::size_t shard, OutboxEntry& entry,
                                     const Subscriber& subscriber, bool last,
                                     const std::string& error) {
  const std::int64_t now_ms = clock_.epoch_millis();
  Retry& retry = retries_[shard][entry.key.sk + "\n" + subscriber.name];
  ++retry.attempts;
  retry.seen_in_pass = pass_;
  const nlohmann::json fields = {{"subscriber", subscriber.name},  {"event_id", entry.event.id},
                                 {"event_type", entry.event.type}, {"org_id", entry.event.org_id},
                                 {"attempt", retry.attempts},      {"error", error}};
  if (retry.attempts < options_.max_attempts) {
    retry.next_at_ms = now_ms + backoff_ms(retry.attempts);
    subscriber.retries.inc();
    log_.warn("event handler failed; will retry", fields);
    return Outcome::waiting;
  }

  const DeadLetter letter{subscriber.name, entry.event, error, retry.attempts, now_ms};
  try {
    store_.write({{storage::Put{kTable, dead_letter_item(letter), storage::Condition::none()},
                   finish_op(entry, subscriber.name, last)}});
  } catch (const storage::ConditionFailed&) {
    return Outcome::stale;
  }
  if (last) {
    entry.deleted = true;
  } else {
    ++entry.version;
  }
  retries_[shard].erase(entry.key.sk + "\n" + subscriber.name);
  subscriber.dead_letters.inc();
  log_.error("event handler gave up; the event is a dead letter", fields);
  return Outcome::done;
}

storage::WriteOp Dispatcher::finish_op(const OutboxEntry& entry, const std::string& subscriber,
                                       bool last) const {
  return finish_op(entry.key, entry.done, entry.version, subscriber, last);
}

storage::WriteOp Dispatcher::finish_op(const storage::Key& key, const std::set<std::string>& done,
                                       std::int64_t version, const std::string& subscriber,
                                       bool last) const {
  const auto condition = storage::Condition::version_is(version);
  if (last) return storage::Delete{kTable, key, condition};
  nlohmann::json names = nlohmann::json::array();
  for (const auto& name : done) names.push_back(name);
  names.push_back(subscriber);
  return storage::Update{
      kTable, key, {{"done", std::move(names)}, {"version", version + 1}}, {}, condition};
}

void Dispatcher::forget_unseen_retries(std::size_t shard) {
  // Entries of events that left the outbox (delivered by another instance) are dropped.
  std::erase_if(retries_[shard],
                [this](const auto& entry) { return entry.second.seen_in_pass != pass_; });
}

std::int64_t Dispatcher::backoff_ms(int attempts) const {
  std::int64_t delay = options_.retry_base.count();
  for (int i = 1; i < attempts && delay < options_.retry_max.count(); ++i) delay *= 2;
  return std::min(delay, options_.retry_max.count());
}

std::int64_t Dispatcher::earliest_retry_ms() const {
  std::int64_t earliest = 0;
  for (const auto& retries : retries_) {
    for (const auto& [key, retry] : retries) {
      if (earliest == 0 || retry.next_at_ms < earliest) earliest = retry.next_at_ms;
    }
  }
  return earliest;
}

DeadLetterPage Dispatcher::dead_letters(const std::optional<std::string>& subscriber,
                                        std::size_t limit, const std::string& cursor) {
  return list_dead_letters(store_, subscriber, limit, cursor);
}

void Dispatcher::retry_dead_letter(const std::string& subscriber, const std::string& event_id) {
  requeue_dead_letter(store_, subscriber, event_id);
  notify();
}

}  // namespace cellfleet::events
