#pragma once
// The one source of time. Services take a Clock&; tests and simulations use ManualClock to move
// time (credit expiry, overdue days, TTL) without sleeping.

#include <atomic>
#include <chrono>
#include <cstdint>

namespace cellfleet {

class Clock {
 public:
  using time_point = std::chrono::system_clock::time_point;
  virtual ~Clock() = default;
  virtual time_point now() const = 0;

  std::int64_t epoch_seconds() const {
    return std::chrono::duration_cast<std::chrono::seconds>(now().time_since_epoch()).count();
  }
  std::int64_t epoch_millis() const {
    return std::chrono::duration_cast<std::chrono::milliseconds>(now().time_since_epoch()).count();
  }
};

class SystemClock final : public Clock {
 public:
  time_point now() const override { return std::chrono::system_clock::now(); }
};

class ManualClock final : public Clock {
 public:
  explicit ManualClock(time_point start) : now_(start.time_since_epoch().count()) {}
  time_point now() const override { return time_point(time_point::duration(now_.load())); }
  void advance(std::chrono::system_clock::duration d) { now_ += d.count(); }
  void set(time_point t) { now_ = t.time_since_epoch().count(); }

 private:
  std::atomic<time_point::duration::rep> now_;
};

// The server's clock: the system's, moved forward by an offset when test mode allows it
// (testing.clock = "adjustable" and POST /v1/testing/clock). Scenario tests move a running
// server past due dates and credit expiry without waiting; production never adjusts it.
class AdjustableClock final : public Clock {
 public:
  explicit AdjustableClock(bool adjustable) : adjustable_(adjustable) {}
  time_point now() const override {
    return std::chrono::system_clock::now() + time_point::duration(offset_.load());
  }
  bool adjustable() const { return adjustable_; }
  // Moves the clock forward by d (> 0). Only when adjustable(); time never moves backwards, so
  // what was decided "before" stays in the past.
  void advance(std::chrono::system_clock::duration d) { offset_ += d.count(); }
  std::chrono::system_clock::duration offset() const {
    return std::chrono::system_clock::duration(offset_.load());
  }

 private:
  bool adjustable_;
  std::atomic<time_point::duration::rep> offset_{0};
};

}  // namespace cellfleet
