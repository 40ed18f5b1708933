// The repayment rules (loan/repayment.h) on hand-built contracts: allocation order, standing in
// the organization's zone, late fees, PAYG credit to the second, and the payoff quote.
#include <catch2/catch.hpp>

#include "core/calendar.h"
#include "loan/repayment.h"

using namespace cellfleet;
using namespace cellfleet::loan;
using nlohmann::json;

namespace {

json installment(int n, const std::string& due, std::int64_t principal, std::int64_t interest,
                 std::int64_t fee = 0) {
  return {{"n", n},          {"due", due},  {"principal", principal},
          {"interest", interest}, {"fee", fee},  {"penalty", 0},
          {"paid_principal", 0},  {"paid_interest", 0}, {"paid_fee", 0},
          {"paid_penalty", 0}};
}

json lease(json installments, std::int64_t grace = 3, std::int64_t late_fee = 500) {
  return {{"kind", "lease_to_own"},
          {"terms", {{"grace_period_days", grace}, {"late_fee", late_fee}}},
          {"installments", std::move(installments)}};
}

// 2026-03-10T00:00:00Z
constexpr std::int64_t kMarch10Utc = 1773100800;

}  // namespace

TEST_CASE("a payment settles the oldest installment first: fees then penalties then interest then principal",
          "[repayment]") {
  json insts = json::array({installment(1, "2026-03-01", 1000, 100, 10),
                            installment(2, "2026-04-01", 1000, 90, 10)});
  insts[0]["penalty"] = 50;
  auto a = allocate(insts, 1100, "t");
  CHECK(a.fee == 10);
  CHECK(a.penalty == 50);
  CHECK(a.interest == 100);
  CHECK(a.principal == 940);
  CHECK(installment_remaining(insts[0]) == 60);
  CHECK(installment_remaining(insts[1]) == 1100);
  // The next payment finishes the first and then prepays the second in the same order.
  a = allocate(insts, 100, "t2");
  CHECK(a.principal == 60);
  CHECK(a.fee == 10);
  CHECK(a.interest == 30);
  CHECK(insts[0].at("paid_at") == "t2");
  CHECK_FALSE(insts[1].contains("paid_at"));
  CHECK(outstanding(insts) == 1060);  // 60 of the interest and all 1,000 of the principal
  // More than is owed: only what is owed is taken.
  a = allocate(insts, 5000, "t3");
  CHECK(a.total() == 1060);
  CHECK(outstanding(insts) == 0);
}

TEST_CASE("days past due count local days and the contract locks only after the grace period",
          "[repayment]") {
  const OrgCalendar nairobi("Africa/Nairobi");  // UTC+3
  auto c = lease(json::array({installment(1, "2026-03-05", 1000, 0)}), 3);
  // 2026-03-08 23:59:59 local: 3 days late, still within grace.
  const std::int64_t march9_local = nairobi.start_of_day(parse_date("2026-03-09"));
  auto s = lease_standing(c, nairobi, march9_local - 1);
  CHECK(s.state == "active");
  CHECK(s.days_past_due == 3);
  CHECK(s.bucket == "1-30");
  REQUIRE(s.next_check);
  CHECK(*s.next_check == march9_local);  // grace ends at local midnight
  s = lease_standing(c, nairobi, march9_local);
  CHECK(s.state == "overdue");
  CHECK(s.days_past_due == 4);
  CHECK(*s.next_check == nairobi.start_of_day(parse_date("2026-04-05")));  // day 31: next bucket
  CHECK(charge_late_fees(c, nairobi, march9_local) == 500);
  CHECK(charge_late_fees(c, nairobi, march9_local + 86400) == 0);  // once per installment
  CHECK(installment_remaining(c["installments"][0]) == 1500);
}

TEST_CASE("grace ends at local midnight across a daylight saving change", "[repayment]") {
  const OrgCalendar london("Europe/London");
  // Due Friday 2026-03-27, grace 1 day: overdue from local midnight starting Sunday 2026-03-29,
  // the day clocks go forward (00:00 GMT is 00:00 UTC).
  auto c = lease(json::array({installment(1, "2026-03-27", 1000, 0)}), 1);
  const auto sunday = london.start_of_day(parse_date("2026-03-29"));
  CHECK(sunday == 1774742400);  // 2026-03-29T00:00:00Z
  CHECK(lease_standing(c, london, sunday - 1).state == "active");
  CHECK(lease_standing(c, london, sunday).state == "overdue");
  // New York is on EDT (UTC-4) from 2026-03-08: its days start at 04:00 UTC.
  const OrgCalendar new_york("America/New_York");
  auto c2 = lease(json::array({installment(1, "2026-03-07", 1000, 0)}), 1);
  const auto monday = new_york.start_of_day(parse_date("2026-03-09"));  // EDT since Sunday
  CHECK(monday == 1773028800);  // 2026-03-09T04:00:00Z
  CHECK(lease_standing(c2, new_york, monday - 1).days_past_due == 1);
  CHECK(lease_standing(c2, new_york, monday).state == "overdue");
}

TEST_CASE("grace ends at local midnight after the 25-hour day when the clocks go back",
          "[repayment]") {
  // London goes back from BST to GMT on Sunday 2026-10-25: that day starts at 23:00 UTC the day
  // before and lasts 25 hours, so the next local midnight is 00:00 UTC, not 23:00 UTC.
  const OrgCalendar london("Europe/London");
  auto c = lease(json::array({installment(1, "2026-10-24", 1000, 0)}), 1);
  const std::int64_t monday = 1792972800;  // 2026-10-26T00:00:00Z, local midnight (GMT)
  CHECK(london.start_of_day(parse_date("2026-10-26")) == monday);
  auto s = lease_standing(c, london, monday - 1800);  // 23:30 on the long Sunday
  CHECK(s.state == "active");
  CHECK(s.days_past_due == 1);
  REQUIRE(s.next_check);
  CHECK(*s.next_check == monday);
  s = lease_standing(c, london, monday);
  CHECK(s.state == "overdue");
  CHECK(s.days_past_due == 2);

  // New York goes back from EDT to EST on Sunday 2026-11-01: Monday starts at 05:00 UTC, where
  // Sunday started at 04:00 UTC.
  const OrgCalendar new_york("America/New_York");
  auto c2 = lease(json::array({installment(1, "2026-10-31", 1000, 0)}), 1);
  const std::int64_t ny_monday = 1793595600;  // 2026-11-02T05:00:00Z
  CHECK(new_york.start_of_day(parse_date("2026-11-02")) == ny_monday);
  s = lease_standing(c2, new_york, ny_monday - 1800);  // 04:30 UTC is still Sunday 23:30 EST
  CHECK(s.state == "active");
  CHECK(s.days_past_due == 1);
  REQUIRE(s.next_check);
  CHECK(*s.next_check == ny_monday);
  CHECK(lease_standing(c2, new_york, ny_monday).state == "overdue");
  CHECK(charge_late_fees(c2, new_york, ny_monday - 1) == 0);
  CHECK(charge_late_fees(c2, new_york, ny_monday) == 500);
}

TEST_CASE("a paid deposit activates and a fully paid schedule is paid off", "[repayment]") {
  const OrgCalendar utc("UTC");
  auto c = lease(json::array({installment(0, "2026-03-01", 2000, 0, 100),
                              installment(1, "2026-04-01", 1000, 50)}));
  CHECK(lease_standing(c, utc, kMarch10Utc).state == "pending_deposit");
  allocate(c["installments"], 2100, "t");
  auto s = lease_standing(c, utc, kMarch10Utc);
  CHECK(s.state == "active");
  CHECK(s.days_past_due == 0);
  CHECK(s.bucket == "current");
  allocate(c["installments"], 1050, "t");
  CHECK(lease_standing(c, utc, kMarch10Utc).state == "paid_off");
}

TEST_CASE("PAYG credit is bought to the second and the remainder is carried", "[repayment]") {
  json c = {{"kind", "payg"}, {"terms", {{"price_per_day", 3000}}}};
  CHECK(payg_standing(c, kMarch10Utc).state == "pending_deposit");
  CHECK(buy_credit(c, 4500, kMarch10Utc) == 129600);  // 1.5 days
  CHECK(c.at("credit_until") == kMarch10Utc + 129600);
  CHECK(buy_credit(c, 1, kMarch10Utc) == 28);  // 86,400 / 3,000 = 28.8 s
  CHECK(c.at("credit_remainder") == 2400);
  CHECK(buy_credit(c, 1, kMarch10Utc) == 29);  // (86,400 + 2,400) / 3,000 = 29.6
  CHECK(c.at("credit_remainder") == 1800);
  // Three payments of 0.01 and one of 29.97 buy exactly 30.00 worth: one day.
  json d = {{"kind", "payg"}, {"terms", {{"price_per_day", 3000}}}};
  std::int64_t seconds = 0;
  for (int i = 0; i < 3; ++i) seconds += buy_credit(d, 1, 0);
  seconds += buy_credit(d, 2997, 0);
  CHECK(seconds == 86400);
  CHECK(d.at("credit_remainder") == 0);
  CHECK(payg_standing(d, 86399).state == "active");
  CHECK(payg_standing(d, 86400).state == "overdue");
  // Credit that ran out starts again from now, not from the past.
  buy_credit(d, 3000, 200000);
  CHECK(d.at("credit_until") == 200000 + 86400);
}

TEST_CASE("the payoff quote waives interest and fees not yet due", "[repayment]") {
  json insts = json::array({installment(1, "2026-03-01", 1000, 100, 10),
                            installment(2, "2026-04-01", 1000, 90, 10),
                            installment(3, "2026-05-01", 1000, 80, 10)});
  const auto today = parse_date("2026-03-15");
  auto q = payoff_quote(insts, today);
  CHECK(q.due.principal == 3000);
  CHECK(q.due.interest == 100);
  CHECK(q.due.fee == 10);
  CHECK(q.waived_interest == 170);
  CHECK(q.waived_fees == 20);
  CHECK(q.due.total() == 3110);
  auto paid = settle_payoff(insts, today, "t");
  CHECK(paid.total() == 3110);
  CHECK(outstanding(insts) == 0);
  CHECK(insts[2].at("waived_interest") == 80);
}
