#include <catch2/catch.hpp>

#include <stdexcept>
#include <string>

#include "core/calendar.h"

using namespace cellfleet;
using namespace std::chrono;

// Expected instants are worked out by hand: 2026-01-01 is day 20454 since 1970-01-01
// (56 years, 14 of them leap: 56 * 365 + 14), 2025-01-01 is day 20089 and 2024-01-01 day 19723;
// a day's UTC midnight is its day number * 86400, and local midnight is that minus the offset.

TEST_CASE("a spring-forward day in New York lasts 23 hours", "[calendar]") {
  OrgCalendar cal("America/New_York");
  CHECK(cal.zone() == "America/New_York");
  // 2026-03-08 is day 20454 + 66 = 20520; midnight EST (UTC-5): 20520 * 86400 + 5 h.
  CHECK(cal.start_of_day(2026y / March / 8) == 1772946000);
  // 2026-03-09 midnight EDT (UTC-4): 20521 * 86400 + 4 h.
  CHECK(cal.start_of_day(2026y / March / 9) == 1773028800);
  CHECK(cal.start_of_day(2026y / March / 9) - cal.start_of_day(2026y / March / 8) == 82800);
  // The day before is an ordinary 24 hours.
  CHECK(cal.start_of_day(2026y / March / 8) - cal.start_of_day(2026y / March / 7) == 86400);
}

TEST_CASE("a fall-back day in New York lasts 25 hours", "[calendar]") {
  OrgCalendar cal("America/New_York");
  // 2026-11-01 is day 20454 + 304 = 20758; midnight EDT: 20758 * 86400 + 4 h.
  CHECK(cal.start_of_day(2026y / November / 1) == 1793505600);
  // 2026-11-02 midnight EST: 20759 * 86400 + 5 h.
  CHECK(cal.start_of_day(2026y / November / 2) == 1793595600);
  CHECK(cal.start_of_day(2026y / November / 2) - cal.start_of_day(2026y / November / 1) == 90000);
  // 01:30 local happens twice that morning; both instants are on November 1.
  CHECK(cal.local_date(1793505600 + 5400) == 2026y / November / 1);         // 01:30 EDT
  CHECK(cal.local_date(1793505600 + 5400 + 3600) == 2026y / November / 1);  // 01:30 EST
}

TEST_CASE("London's days around both 2026 transitions last 23 and 25 hours", "[calendar]") {
  OrgCalendar cal("Europe/London");
  // 2026-03-29 (day 20541) starts in GMT: 20541 * 86400.
  CHECK(cal.start_of_day(2026y / March / 29) == 1774742400);
  // 2026-03-30 starts in BST (UTC+1): 20542 * 86400 - 1 h.
  CHECK(cal.start_of_day(2026y / March / 30) == 1774825200);
  CHECK(cal.start_of_day(2026y / March / 30) - cal.start_of_day(2026y / March / 29) == 82800);
  // 2026-10-25 (day 20751) starts in BST: 20751 * 86400 - 1 h; 2026-10-26 in GMT: 20752 * 86400.
  CHECK(cal.start_of_day(2026y / October / 25) == 1792882800);
  CHECK(cal.start_of_day(2026y / October / 26) == 1792972800);
  CHECK(cal.start_of_day(2026y / October / 26) - cal.start_of_day(2026y / October / 25) == 90000);
}

TEST_CASE("local_date turns over at local midnight and not at UTC midnight", "[calendar]") {
  OrgCalendar london("Europe/London");
  // In BST, local midnight of 2026-10-25 is 23:00 UTC on the 24th.
  CHECK(london.local_date(1792882800 - 1) == 2026y / October / 24);
  CHECK(london.local_date(1792882800) == 2026y / October / 25);
  // In GMT, local midnight is UTC midnight.
  CHECK(london.local_date(1792972800 - 1) == 2026y / October / 25);
  CHECK(london.local_date(1792972800) == 2026y / October / 26);

  OrgCalendar new_york("America/New_York");
  CHECK(new_york.local_date(1773028800 - 1) == 2026y / March / 8);
  CHECK(new_york.local_date(1773028800) == 2026y / March / 9);
  // 03:00 UTC on 2026-03-09 is still 23:00 on the 8th in New York.
  CHECK(new_york.local_date(20521LL * 86400 + 3 * 3600) == 2026y / March / 8);
}

TEST_CASE("Nairobi is three hours ahead of UTC all year", "[calendar]") {
  OrgCalendar cal("Africa/Nairobi");
  // 2026-06-15 is day 20454 + 165 = 20619; local midnight is 21:00 UTC the day before.
  CHECK(cal.start_of_day(2026y / June / 15) == 1781470800);
  CHECK(cal.local_date(1781470800 - 1) == 2026y / June / 14);
  CHECK(cal.local_date(1781470800) == 2026y / June / 15);
  // Every day is 86,400 s, including the dates when Europe and America change their clocks.
  CHECK(cal.start_of_day(2026y / March / 30) - cal.start_of_day(2026y / March / 29) == 86400);
  CHECK(cal.start_of_day(2026y / March / 9) - cal.start_of_day(2026y / March / 8) == 86400);
  CHECK(cal.start_of_day(2026y / October / 26) - cal.start_of_day(2026y / October / 25) == 86400);
  // 2026-01-01 00:00 Nairobi is 2025-12-31 21:00 UTC.
  CHECK(cal.start_of_day(2026y / January / 1) == 1767225600 - 3 * 3600);
}

TEST_CASE("UTC days start at UTC midnight", "[calendar]") {
  OrgCalendar cal("UTC");
  CHECK(cal.start_of_day(2026y / January / 1) == 1767225600);  // 20454 * 86400
  CHECK(cal.local_date(1767225600 - 1) == 2025y / December / 31);
  CHECK(cal.local_date(1767225600) == 2026y / January / 1);
  CHECK(cal.local_date(0) == 1970y / January / 1);
  CHECK(cal.local_date(-1) == 1969y / December / 31);
}

TEST_CASE("a day whose midnight the clocks skip starts at the jump", "[calendar]") {
  // Cuba moved its clocks from 00:00 CST to 01:00 CDT on 2025-03-09 (day 20089 + 67 = 20156):
  // the day starts at the jump, 00:00 CST = 20156 * 86400 + 5 h, and lasts 23 hours.
  OrgCalendar havana("America/Havana");
  CHECK(havana.start_of_day(2025y / March / 9) == 1741496400);
  CHECK(havana.start_of_day(2025y / March / 10) == 1741579200);  // 20157 * 86400 + 4 h
  CHECK(havana.start_of_day(2025y / March / 10) - havana.start_of_day(2025y / March / 9) == 82800);
  CHECK(havana.local_date(1741496400 - 1) == 2025y / March / 8);
  CHECK(havana.local_date(1741496400) == 2025y / March / 9);

  // Chile moved from 00:00 -04 to 01:00 -03 on 2025-09-07 (day 20089 + 249 = 20338), at 04:00 UTC.
  OrgCalendar santiago("America/Santiago");
  CHECK(santiago.start_of_day(2025y / September / 7) == 1757217600);  // 20338 * 86400 + 4 h
  CHECK(santiago.start_of_day(2025y / September / 8) == 1757300400);  // 20339 * 86400 + 3 h
}

TEST_CASE("a day whose midnight happens twice starts at the first one", "[calendar]") {
  // Cuba went back from 01:00 CDT to 00:00 CST on 2024-11-03 (day 19723 + 307 = 20030): local
  // midnight was at 04:00 UTC and again at 05:00 UTC; the day starts at the first and lasts 25 h.
  OrgCalendar havana("America/Havana");
  CHECK(havana.start_of_day(2024y / November / 3) == 1730606400);  // 20030 * 86400 + 4 h
  CHECK(havana.start_of_day(2024y / November / 4) == 1730696400);  // 20031 * 86400 + 5 h
  CHECK(havana.start_of_day(2024y / November / 4) - havana.start_of_day(2024y / November / 3) ==
        90000);
}

TEST_CASE("an unknown time zone is refused by name", "[calendar]") {
  try {
    OrgCalendar cal("Mars/Olympus_Mons");
    FAIL("no exception");
  } catch (const std::invalid_argument& e) {
    CHECK(std::string(e.what()).find("Mars/Olympus_Mons") != std::string::npos);
  }
  CHECK_THROWS_AS(OrgCalendar(""), std::invalid_argument);
  CHECK_THROWS_AS(OrgCalendar("../etc/passwd"), std::invalid_argument);
}

TEST_CASE("days between dates count calendar days whatever the clocks do", "[calendar]") {
  CHECK(OrgCalendar::days_between(2026y / March / 8, 2026y / March / 9) == 1);
  CHECK(OrgCalendar::days_between(2026y / March / 1, 2026y / November / 1) == 245);
  CHECK(OrgCalendar::days_between(2024y / February / 28, 2024y / March / 1) == 2);
  CHECK(OrgCalendar::days_between(2026y / January / 1, 2025y / December / 31) == -1);
  CHECK(OrgCalendar::days_between(2026y / January / 1, 2026y / January / 1) == 0);
  CHECK_THROWS_AS(OrgCalendar::days_between(2026y / February / 30, 2026y / March / 1),
                  std::invalid_argument);
  OrgCalendar cal("Europe/London");
  CHECK_THROWS_AS(cal.start_of_day(2025y / February / 29), std::invalid_argument);
}
