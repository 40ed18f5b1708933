#include <catch2/catch.hpp>
#include <set>

#include "core/ids.h"

using namespace cellfleet;

TEST_CASE("ids carry their type prefix and sort in creation order", "[ids]") {
  ManualClock clock(
      std::chrono::system_clock::time_point(std::chrono::milliseconds(1'700'000'000'000)));
  IdGenerator ids(clock);
  std::vector<std::string> made;
  for (int i = 0; i < 1000; ++i) {
    made.push_back(ids.next("dev"));
    if (i % 100 == 0) clock.advance(std::chrono::milliseconds(1));
  }
  for (const auto& id : made) CHECK(is_id(id, "dev"));
  CHECK(std::is_sorted(made.begin(), made.end()));
  CHECK(std::set<std::string>(made.begin(), made.end()).size() == made.size());
  CHECK_FALSE(is_id(made[0], "cus"));
  CHECK_FALSE(is_id("dev_0000", "dev"));
}

TEST_CASE("ids stay increasing when the clock steps back", "[ids]") {
  ManualClock clock(
      std::chrono::system_clock::time_point(std::chrono::milliseconds(1'700'000'000'000)));
  IdGenerator ids(clock);
  auto first = ids.next("pay");
  clock.advance(-std::chrono::seconds(5));
  CHECK(ids.next("pay") > first);
}

TEST_CASE("the last id of a millisecond bounds every id made up to then and none after", "[ids]") {
  // Later than any other test's clock: the generator's state is shared by the whole process.
  const std::int64_t ms = 1'900'000'000'000;
  ManualClock clock{std::chrono::system_clock::time_point(std::chrono::milliseconds(ms))};
  IdGenerator ids(clock);
  const auto bound = last_id_at("evt", ms);
  CHECK(is_id(bound, "evt"));
  auto at = ids.next("evt");
  auto again = ids.next("evt");
  CHECK(at <= bound);
  CHECK(again <= bound);
  CHECK(at.substr(0, 14) == bound.substr(0, 14));  // the same 10 time digits
  CHECK(last_id_at("evt", ms - 1) < at);
  CHECK(id_millis(at) == ms);
  CHECK(id_millis(bound) == ms);
  clock.advance(std::chrono::milliseconds(1));
  CHECK(ids.next("evt") > bound);
}
