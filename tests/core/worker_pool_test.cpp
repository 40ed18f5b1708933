#include <catch2/catch.hpp>
#include <future>

#include "core/worker_pool.h"

TEST_CASE("a full worker queue refuses work instead of growing", "[worker_pool]") {
  cellfleet::WorkerPool pool(1, 2);
  std::promise<void> release;
  auto gate = release.get_future().share();
  std::promise<void> started;
  REQUIRE(pool.try_submit([&started, gate] {
    started.set_value();
    gate.wait();
  }));
  started.get_future().wait();  // the only worker is busy
  std::atomic<int> ran{0};
  CHECK(pool.try_submit([&ran] { ++ran; }));
  CHECK(pool.try_submit([&ran] { ++ran; }));
  CHECK_FALSE(pool.try_submit([&ran] { ++ran; }));  // queue of 2 is full
  CHECK(pool.queued() == 2);
  release.set_value();
  pool.shutdown();  // runs what was queued
  CHECK(ran == 2);
}
