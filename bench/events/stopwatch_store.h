#pragma once
// A Store that forwards every call to another one and notes, on the steady clock, when a write
// carrying one of the benchmark's marked items has returned: the commit of event n (its state
// item, written by the publisher in the event's own batch) and the commit of its effect (written
// by the subscriber, in the dispatcher's batch). Their difference is the dispatch lag of event n,
// commit to applied, at microsecond resolution (the dispatcher's own lag histogram has the
// event's millisecond occurred_at to go by).

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>

#include "storage/store.h"

namespace cellfleet::bench {

// Partitions of the marked items; each item carries its event's number as "n".
inline constexpr const char* kStatePartition = "bench#state";
inline constexpr const char* kEffectPartition = "bench#effect";

class StopwatchStore final : public storage::Store {
 public:
  using Times = std::map<std::int64_t, std::chrono::steady_clock::time_point>;  // by n

  explicit StopwatchStore(storage::Store& inner) : inner_(inner) {}

  std::optional<storage::Item> get(const std::string& table, const storage::Key& key) override {
    return inner_.get(table, key);
  }
  storage::Page query(const storage::Query& q) override { return inner_.query(q); }
  void write(const storage::WriteBatch& batch) override;
  void put_many(const std::string& table, const std::vector<storage::Item>& items) override {
    inner_.put_many(table, items);
  }
  void ping() override { inner_.ping(); }

  Times committed() const;
  Times applied() const;
  void clear();

 private:
  storage::Store& inner_;
  mutable std::mutex mutex_;
  Times committed_;
  Times applied_;
};

}  // namespace cellfleet::bench
