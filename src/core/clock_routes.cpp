#include "core/clock_routes.h"

#include "core/error.h"
#include "core/json_input.h"
#include "core/timestamp.h"

namespace cellfleet {
namespace {

constexpr std::int64_t kMaxAdvanceSeconds = 10LL * 366 * 86400;

nlohmann::json clock_view(const AdjustableClock& clock) {
  return {{"now", format_utc(clock.epoch_seconds())},
          {"offset_seconds",
           std::chrono::duration_cast<std::chrono::seconds>(clock.offset()).count()},
          {"adjustable", clock.adjustable()}};
}

}  // namespace

void add_clock_routes(http::Router& router, AdjustableClock& clock) {
  router.add("GET", "/v1/testing/clock", Access::platform_admin(), [&clock](http::Request&) {
    return http::Response::json(200, clock_view(clock));
  });
  router.add("POST", "/v1/testing/clock", Access::platform_admin(), [&clock](http::Request& req) {
    if (!clock.adjustable()) {
      throw Error(ErrorKind::not_found,
                  "clock control is off: it exists only when the server runs with "
                  "testing.clock = \"adjustable\" (CELLFLEET_TESTING_CLOCK)");
    }
    auto body = parse_json_object(req);
    JsonFields in(body);
    auto seconds = in.required_int("advance_seconds", 1, kMaxAdvanceSeconds);
    in.finish();
    clock.advance(std::chrono::seconds(seconds));
    return http::Response::json(200, clock_view(clock));
  });
}

}  // namespace cellfleet
