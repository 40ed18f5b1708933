#pragma once
// An organization's business calendar: which local day an instant falls on, and when a local day
// begins, in the organization's IANA zone. Installments fall due and days of credit end on local
// days, not on UTC days or on multiples of 86,400 s.

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace date {
class time_zone;  // Howard Hinnant's date/tz; only calendar.cpp includes it.
}

namespace cellfleet {

class OrgCalendar {
 public:
  // Throws std::invalid_argument naming the zone when the tz database (the system's tzdata,
  // /usr/share/zoneinfo) does not know it. Cheap enough to construct per request: the database is
  // loaded once per process and the zone found by a binary search.
  explicit OrgCalendar(std::string_view iana_zone);

  const std::string& zone() const { return name_; }

  // The local calendar date at an instant (epoch seconds).
  std::chrono::year_month_day local_date(std::int64_t epoch_s) const;

  // The first instant of the local day d (epoch seconds): local midnight, or when midnight does
  // not exist that day (a DST jump at 00:00, e.g. America/Havana, America/Santiago), the first
  // instant that exists. When midnight occurs twice (a fall-back to 00:00), the earlier one.
  // Throws std::invalid_argument when d is not a valid date.
  std::int64_t start_of_day(std::chrono::year_month_day d) const;

  // Whole local days from date a to date b (b - a, negative when b is earlier), by calendar date,
  // not by 86,400 s. Throws std::invalid_argument when either is not a valid date.
  static std::int64_t days_between(std::chrono::year_month_day a, std::chrono::year_month_day b);

 private:
  std::string name_;
  const date::time_zone* zone_;  // owned by the process-wide tz database; never null
};

}  // namespace cellfleet
