#include "core/calendar.h"

#include <date/tz.h>

#include <stdexcept>

namespace cellfleet {
namespace {

namespace sc = std::chrono;

void require_valid(sc::year_month_day d, const char* what) {
  if (!d.ok()) throw std::invalid_argument(std::string(what) + " is not a valid calendar date");
}

// std::chrono and date count days and seconds from the same epoch (1970-01-01 00:00:00 UTC), so
// converting between them is a matter of the count.
date::local_seconds to_local_midnight(sc::year_month_day d) {
  return date::local_seconds{
      date::local_days{date::days{sc::sys_days{d}.time_since_epoch().count()}}};
}

}  // namespace

OrgCalendar::OrgCalendar(std::string_view iana_zone) : name_(iana_zone), zone_(nullptr) {
  try {
    zone_ = date::locate_zone(iana_zone);
  } catch (const std::exception&) {
    // locate_zone throws std::runtime_error for an unknown name.
  }
  if (zone_ == nullptr) {
    throw std::invalid_argument("unknown time zone '" + name_ + "'");
  }
}

sc::year_month_day OrgCalendar::local_date(std::int64_t epoch_s) const {
  const auto local = zone_->to_local(date::sys_seconds{std::chrono::seconds{epoch_s}});
  const auto day = date::floor<date::days>(local);
  return sc::year_month_day{sc::sys_days{sc::days{day.time_since_epoch().count()}}};
}

std::int64_t OrgCalendar::start_of_day(sc::year_month_day d) const {
  require_valid(d, "day");
  const date::local_seconds midnight = to_local_midnight(d);
  const date::local_info info = zone_->get_info(midnight);
  date::sys_seconds start;
  switch (info.result) {
    case date::local_info::unique:
      start = date::sys_seconds{midnight.time_since_epoch()} - info.first.offset;
      break;
    case date::local_info::ambiguous:
      // Midnight happens twice; the day starts at the first.
      start = date::sys_seconds{midnight.time_since_epoch()} - info.first.offset;
      break;
    case date::local_info::nonexistent:
      // The clocks jump over midnight; the day starts at the jump, the first instant that exists.
      start = info.second.begin;
      break;
  }
  return start.time_since_epoch().count();
}

std::int64_t OrgCalendar::days_between(sc::year_month_day a, sc::year_month_day b) {
  require_valid(a, "from date");
  require_valid(b, "to date");
  return (sc::sys_days{b} - sc::sys_days{a}).count();
}

}  // namespace cellfleet
