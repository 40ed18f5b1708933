// Money and utilisation insights, end to end on both backends: the figures the dashboards read
// from the aggregates that "insights.money" keeps, against hand-computed fixtures, and against
// `cellfleet insights rebuild` (which recomputes them from the loan, billing and device items)
// after each fixture and after a random scenario: every money endpoint must answer the same.
#include <catch2/catch.hpp>
#include <array>
#include <chrono>
#include <cstdio>
#include <random>
#include <thread>

#include "support/api.h"
#include "support/shop.h"
#include "support/server_process.h"

using namespace cellfleet::testing;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

// The server's environment, kept so `cellfleet insights rebuild` can run against the same store.
std::map<std::string, std::string> insights_env(Backend backend) {
  auto env = backend_env(backend);
  env["CELLFLEET_TESTING_CLOCK"] = "adjustable";
  env["CELLFLEET_LOANS_CHECK_INTERVAL_SECONDS"] = "1";
  env["CELLFLEET_PLATFORM_ADMIN_TOKEN"] = kPlatformToken;
  return env;
}

const json kLease = {{"name", "Lease 4 weeks"},
                     {"kind", "lease_to_own"},
                     {"terms",
                      {{"cash_price", 100000},
                       {"deposit", 20000},
                       {"installments", 4},
                       {"frequency", "weekly"},
                       {"interest_method", "declining_balance"},
                       {"annual_rate_bp", 2600},
                       {"late_fee", 500},
                       {"grace_period_days", 3}}}};
const json kPayg = {{"name", "Daily"}, {"kind", "payg"}, {"terms", {{"price_per_day", 3000}}}};

// The shop, paying by any method and reversing, with a generic poll.
struct Desk : Shop {
  std::string customer(const std::string& phone) const {
    return Shop::customer("Customer " + phone, phone);
  }
  HttpResponse pay(const std::string& contract_id, std::int64_t amount,
                   const std::string& method = "cash") const {
    return post("/v1/payments", {{"contract_id", contract_id},
                                 {"amount", amount},
                                 {"currency", "KES"},
                                 {"method", method}});
  }
  // Reverses a payment once the loan module has applied it (409 until then).
  void reverse(const std::string& payment_id) const {
    HttpResponse res;
    for (int i = 0; i < 600; ++i) {
      res = post("/v1/payments/" + payment_id + "/reverse", {{"reason", "bounced"}});
      if (res.status != 409) break;
      std::this_thread::sleep_for(100ms);
    }
    ok(res);
  }
  // Polls path until pred(answer) holds (up to 60 s: DynamoDB Local under load).
  template <typename Pred>
  json when(const std::string& path, Pred pred) const {
    json a;
    for (int i = 0; i < 600; ++i) {
      a = get(path);
      if (pred(a)) return a;
      std::this_thread::sleep_for(100ms);
    }
    INFO(path << " " << a.dump());
    FAIL("the answer never reached the expected state");
    return a;
  }
};

Desk open_desk(const ServerProcess& server, const std::string& slug) {
  return Desk{open_shop(server, slug)};
}

// The local date (Africa/Nairobi, UTC+3 all year) of an RFC 3339 UTC instant, plus days.
std::string nairobi_date(const std::string& utc, int plus_days = 0) {
  const std::chrono::year_month_day utc_day{std::chrono::year(std::stoi(utc.substr(0, 4))),
                                            std::chrono::month(std::stoul(utc.substr(5, 2))),
                                            std::chrono::day(std::stoul(utc.substr(8, 2)))};
  const int hour = std::stoi(utc.substr(11, 2));
  const std::chrono::year_month_day d{std::chrono::sys_days(utc_day) +
                                      std::chrono::days(plus_days + (hour + 3 >= 24 ? 1 : 0))};
  char out[16];
  std::snprintf(out, sizeof out, "%04d-%02u-%02u", static_cast<int>(d.year()),
                static_cast<unsigned>(d.month()), static_cast<unsigned>(d.day()));
  return out;
}

std::int64_t installment_total(const json& inst) {
  return inst.at("principal").get<std::int64_t>() + inst.at("interest").get<std::int64_t>() +
         inst.at("fee").get<std::int64_t>();
}

std::int64_t bp(std::int64_t num, std::int64_t den) {
  return num * 10000 / den;
}

// What the dashboards say, without the instant they said it.
json dashboards(const Shop& shop, const std::string& from, const std::string& to) {
  json out;
  const std::vector<std::string> paths = {"/v1/insights/portfolio",
                                          "/v1/insights/collections?from=" + from + "&to=" + to,
                                          "/v1/insights/utilisation?from=" + from + "&to=" + to};
  for (const auto& path : paths) {
    auto answer = shop.get(path);
    answer.erase("as_of");
    out[path] = std::move(answer);
  }
  return out;
}

// Waits until the dashboards stop changing (the scheduler and the dispatcher are idle).
json settled(const Shop& shop, const std::string& from, const std::string& to) {
  json last = dashboards(shop, from, to);
  for (int i = 0; i < 60; ++i) {
    std::this_thread::sleep_for(2s);
    json now = dashboards(shop, from, to);
    if (now == last) return now;
    last = std::move(now);
  }
  FAIL("the dashboards never settled");
  return last;
}

// Runs `cellfleet insights rebuild` against the server's store and checks that every money
// endpoint answers exactly as the incremental figures did (incremental: settled(...) before).
void check_rebuild_equals(const ServerProcess& server, const std::map<std::string, std::string>& env,
                          const Shop& shop, const json& incremental, const std::string& from,
                          const std::string& to) {
  auto [status, out] =
      run_cellfleet({"insights", "rebuild", "--data-dir", server.data_dir().string()}, env);
  INFO(out);
  REQUIRE(status == 0);
  CHECK(out.find(shop.org.id + ": generation ") != std::string::npos);
  const json rebuilt = dashboards(shop, from, to);
  for (const auto& [path, answer] : incremental.items()) {
    INFO(path);
    CHECK(rebuilt.at(path) == answer);
  }
  CHECK(rebuilt == incremental);
}

}  // namespace

TEST_CASE("portfolio at risk and the collection rate match a hand-computed fixture",
          "[integration][insights]") {
  auto backend = GENERATE(Backend::sqlite, Backend::dynamodb);
  INFO("backend " << backend_name(backend));
  const auto env = insights_env(backend);
  ServerProcess server({}, env);
  auto shop = open_desk(server, "par");
  const auto lease = shop.product(kLease);
  const auto payg = shop.product(kPayg);
  const std::string day0 = nairobi_date(shop.get("/v1/insights/portfolio").at("as_of"));

  // A and B: leases whose deposits are paid; A also pays installment 1 ahead. C is cancelled
  // before its deposit. P: a PAYG contract whose only payment is reversed the same day.
  const auto a = shop.contract(shop.customer("+254700000101"), shop.stocked_pack("A"), lease);
  const auto b = shop.contract(shop.customer("+254700000102"), shop.stocked_pack("B"), lease);
  const auto c = shop.contract(shop.customer("+254700000103"), shop.stocked_pack("C"), lease);
  const std::string p =
      shop.contract(shop.customer("+254700000104"), shop.stocked_pack("P"), payg).at("id");
  shop.stocked_pack("SPARE");
  const auto& first = a.at("installments")[1];
  const std::int64_t deposit = installment_total(a.at("installments")[0]);
  const std::int64_t inst1 = installment_total(first);
  const std::int64_t p1 = first.at("principal");
  REQUIRE(deposit == 20000);
  shop.ok(shop.pay(a.at("id"), 20000), 201);
  shop.ok(shop.pay(a.at("id"), inst1, "mobile_money"), 201);
  shop.ok(shop.pay(b.at("id"), 20000), 201);
  shop.ok(shop.pay(p, 4500), 201);
  const std::string reversed = shop.ok(shop.pay(p, 3000), 201).at("id");
  shop.ok(shop.post("/v1/contracts/" + c.at("id").get<std::string>() + "/cancel",
                    {{"reason", "changed their mind"}}));
  shop.reverse(reversed);

  // Day 0: A and B active with 80,000 - p1 and 80,000 outstanding, nothing late; C's pack is
  // back (returned, not in stock), the spare is in stock. The pack's return reaches the fleet
  // counts one event after the cancellation reaches the money figures (contract.cancelled, then
  // the pack's device.state_changed), so the wait covers both.
  auto portfolio = shop.when("/v1/insights/portfolio", [&](const json& j) {
    return j.at("contracts_by_state").at("cancelled") == 1 &&
           j.at("outstanding_principal") == 160000 - p1 &&
           j.at("revenue_by_product").value(payg, std::int64_t{0}) == 4500 &&
           j.at("fleet") == json{{"deployed", 3}, {"in_stock", 1}};
  });
  CHECK(portfolio.at("contracts_by_state").at("active") == 3);
  CHECK(portfolio.at("contracts") == 4);
  CHECK(portfolio.at("outstanding_by_bucket").at("current") == 160000 - p1);
  CHECK(portfolio.at("par1").at("bp") == 0);
  CHECK(portfolio.at("revenue_by_product").at(lease) == 40000 + inst1);
  CHECK(portfolio.at("fleet") == json{{"deployed", 3}, {"in_stock", 1}});

  // Day 12: B's installment 1 (due day 7) is 5 days late; A's was paid ahead.
  shop.advance(12 * 86400);
  portfolio = shop.when("/v1/insights/portfolio", [](const json& j) {
    return j.at("outstanding_by_bucket").at("1-30") == 80000;
  });
  CHECK(portfolio.at("outstanding_by_bucket").at("1-30") == 80000);
  CHECK(portfolio.at("par1").at("principal") == 80000);
  CHECK(portfolio.at("par1").at("bp") == bp(80000, 160000 - p1));
  CHECK(portfolio.at("par30").at("bp") == 0);
  CHECK(portfolio.at("par90").at("bp") == 0);

  // Collections: day 0 took both deposits, A's installment and P's 45.00 and 30.00 (the 30.00
  // reversed that day);
  // three deposits (C's too) and, on day 7, A's and B's installment 1 were expected; and P, in
  // force from day 1 (activated on day 0), 30.00 of rent on each of days 1..12: 360.00.
  const auto col = shop.when(
      "/v1/insights/collections?from=" + day0 + "&to=" + nairobi_date(day0 + "T00:00:00Z", 12),
      [inst1](const json& j) {
        // P's by-kind figure passes 4,500 -> 7,500 -> 4,500 as its 30.00 is applied, then taken
        // back (both contract events may trail the portfolio wait above).
        return j.at("totals").at("expected").get<std::int64_t>() == 96000 + 2 * inst1 &&
               j.at("totals").at("by_kind").at("payg").at("collected") == 4500;
      });
  const auto& days = col.at("days");
  REQUIRE(days.size() == 13);
  CHECK(days[0].at("date") == day0);
  CHECK(days[0].at("received") == 40000 + inst1 + 7500);
  CHECK(days[0].at("received_count") == 5);
  CHECK(days[0].at("reversed") == 3000);
  CHECK(days[0].at("reversed_count") == 1);
  CHECK(days[0].at("collected") == 44500 + inst1);
  CHECK(days[0].at("expected") == 60000);
  CHECK(days[0].at("by_method").at("mobile_money").at("collected") == inst1);
  CHECK(days[0].at("by_method").at("cash").at("collected") == 44500);
  CHECK(days[1].at("expected") == 3000);
  CHECK(days[7].at("expected") == 2 * inst1 + 3000);
  CHECK(col.at("totals").at("collected") == 44500 + inst1);
  CHECK(col.at("totals").at("by_kind") ==
        json{{"lease_to_own", {{"expected", 60000 + 2 * inst1}, {"collected", 40000 + inst1}}},
             {"payg", {{"expected", 36000}, {"collected", 4500}}}});
  CHECK(col.at("collection_rate").at("collected") == 44500 + inst1);
  CHECK(col.at("collection_rate").at("bp") == bp(44500 + inst1, 96000 + 2 * inst1));

  // Utilisation on day 0: A's, B's and P's packs deployed, the spare in stock (C's returned).
  const auto util = shop.get("/v1/insights/utilisation?from=" + day0 + "&to=" + day0);
  CHECK(util.at("days")[0].at("deployed") == 3);
  CHECK(util.at("days")[0].at("in_stock") == 1);
  CHECK(util.at("days")[0].at("bp") == 7500);

  // Day 42: A's installment 2 (day 14) is 28 days late, B's installment 1 35 days.
  shop.advance(30 * 86400);
  portfolio = shop.when("/v1/insights/portfolio", [](const json& j) {
    return j.at("outstanding_by_bucket").at("31-60") != 0 &&
           j.at("outstanding_by_bucket").at("current") == 0;
  });
  CHECK(portfolio.at("outstanding_by_bucket").at("31-60") == 80000);
  CHECK(portfolio.at("outstanding_by_bucket").at("1-30") == 80000 - p1);
  CHECK(portfolio.at("par1").at("bp") == 10000);
  CHECK(portfolio.at("par30").at("bp") == bp(80000, 160000 - p1));
  CHECK(portfolio.at("par90").at("bp") == 0);

  // Bad ranges are refused with a problem.
  for (const std::string q : {"from=2026-13-01&to=2026-12-01", "from=2026-01-02&to=2026-01-01",
                              "from=2025-01-01&to=2026-01-02", "to=2026-01-01"}) {
    const auto res = shop.api.call("GET", "/v1/insights/collections?" + q, shop.key);
    CHECK(res.status == 400);
    CHECK(res.header("content-type") == "application/problem+json");
  }

  // The rebuild from the contracts', payments' and packs' items gives every endpoint the same
  // answer.
  const std::string last = nairobi_date(day0 + "T00:00:00Z", 60);
  check_rebuild_equals(server, env, shop, settled(shop, day0, last), day0, last);
}

TEST_CASE("the collection rate with lease-to-own and PAYG contracts matches a hand-computed "
          "fixture",
          "[integration][insights]") {
  auto backend = GENERATE(Backend::sqlite, Backend::dynamodb);
  INFO("backend " << backend_name(backend));
  const auto env = insights_env(backend);
  ServerProcess server({}, env);
  auto shop = open_desk(server, "rate");
  // Every step of a day happens just after 09:00 in Nairobi (06:00 UTC), far from midnight.
  const std::string now = shop.get("/v1/insights/portfolio").at("as_of");
  const std::int64_t since_midnight_utc = std::stoll(now.substr(11, 2)) * 3600 +
                                          std::stoll(now.substr(14, 2)) * 60 +
                                          std::stoll(now.substr(17, 2));
  const std::int64_t to_nine = ((6 * 3600 - since_midnight_utc) % 86400 + 86400) % 86400;
  if (to_nine > 0) shop.advance(to_nine);
  const std::string d0 = nairobi_date(shop.get("/v1/insights/portfolio").at("as_of"));
  auto day = [&d0](int n) { return nairobi_date(d0 + "T00:00:00Z", n); };
  auto next_day = [&shop](int days = 1) {
    shop.advance(days * 86400);
    std::this_thread::sleep_for(1200ms);  // a scheduler pass at the new time
  };

  // An interest-free lease: deposit 20,000 due on signing, then 4 weekly installments of
  // 80,000 / 4 = 20,000. Two PAYG products at 3,000 and 2,000 a day.
  const auto lease = shop.product({{"name", "Lease no interest"},
                                   {"kind", "lease_to_own"},
                                   {"terms",
                                    {{"cash_price", 100000},
                                     {"deposit", 20000},
                                     {"installments", 4},
                                     {"frequency", "weekly"},
                                     {"annual_rate_bp", 0},
                                     {"grace_period_days", 3}}}});
  const auto payg3000 = shop.product(kPayg);
  const auto payg2000 =
      shop.product({{"name", "Small"}, {"kind", "payg"}, {"terms", {{"price_per_day", 2000}}}});

  // Day 0. L (lease) pays its deposit; P1 (3,000/day) tops up 6,000 and P2 (2,000/day) 2,000,
  // which activates both today, so both owe rent from day 1. Q (PAYG) is signed and never paid:
  // it owes nothing. X, a customer without a contract, pays 1,000: customer credit (unapplied).
  const auto l = shop.contract(shop.customer("+254700000201"), shop.stocked_pack("L"), lease);
  REQUIRE(l.at("installments").size() == 5);
  for (std::size_t n = 0; n < 5; ++n) {
    INFO("installment " << n);
    REQUIRE(installment_total(l.at("installments")[n]) == 20000);
  }
  REQUIRE(l.at("installments")[1].at("due") == day(7));
  const std::string l_id = l.at("id");
  const std::string p1 =
      shop.contract(shop.customer("+254700000202"), shop.stocked_pack("P1"), payg3000).at("id");
  const std::string p2 =
      shop.contract(shop.customer("+254700000203"), shop.stocked_pack("P2"), payg2000).at("id");
  shop.contract(shop.customer("+254700000204"), shop.stocked_pack("Q"), payg3000);
  const auto x = shop.customer("+254700000205");
  shop.ok(shop.pay(l_id, 20000), 201);
  shop.ok(shop.pay(p1, 6000), 201);
  shop.ok(shop.pay(p2, 2000), 201);
  shop.ok(shop.post("/v1/payments",
                    {{"customer_id", x}, {"amount", 1000}, {"currency", "KES"}, {"method", "cash"}}),
          201);
  shop.contract_when(p2, [](const json& c) { return c.at("state") == "active"; });
  shop.contract_when(p1, [](const json& c) { return c.at("state") == "active"; });

  // Day 1: P1 tops up 3,000 by mobile money.
  next_day();
  shop.ok(shop.pay(p1, 3000, "mobile_money"), 201);
  // Day 2: P2 is returned; it was in force as day 2 began, so it owes day 2, not day 3.
  next_day();
  shop.ok(shop.post("/v1/contracts/" + p2 + "/cancel", {{"reason", "returned"}}));
  // Day 3: P1 pays 1,500, reversed on day 4 (counted +1,500 on day 3, -1,500 on day 4).
  next_day();
  const std::string bounced = shop.ok(shop.pay(p1, 1500), 201).at("id");
  next_day();
  shop.reverse(bounced);
  // Day 7: L's installment 1 falls due (20,000); L pays 10,000 of it.
  next_day(3);
  shop.ok(shop.pay(l_id, 10000), 201);

  // By hand, days 0..7:
  //   lease expected:  day 0 deposit 20,000 + day 7 installment 20,000          = 40,000
  //   lease collected: 20,000 (day 0) + 10,000 (day 7)                          = 30,000
  //   PAYG expected:   P1 3,000 x days 1..7 (7 days) = 21,000
  //                    P2 2,000 x days 1..2 (2 days) =  4,000; Q nothing        = 25,000
  //   PAYG collected:  6,000 + 2,000 (day 0) + 3,000 (day 1) + 1,500 - 1,500    = 11,000
  //   unapplied:       X's 1,000 (day 0)
  //   received 20,000 + 6,000 + 2,000 + 1,000 + 3,000 + 1,500 + 10,000 = 43,500 (7 payments),
  //   reversed 1,500 (1), collected 42,000.
  //   Rates: lease 30,000 / 40,000 = 7,500 bp; PAYG 11,000 / 25,000 = 4,400 bp;
  //   all 42,000 / 65,000 = 6,461.5 -> 6,461 bp. (Counting top-ups against installments alone,
  //   as before, gave 42,000 / 40,000 = 10,500 bp.)
  const std::string path = "/v1/insights/collections?from=" + d0 + "&to=" + day(7);
  const auto col = shop.when(path, [](const json& j) {
    return j.at("totals").at("received_count") == 7 && j.at("totals").at("reversed_count") == 1 &&
           j.at("totals").at("expected") == 65000 &&
           j.at("totals").at("by_kind").at("lease_to_own").at("collected") == 30000 &&
           j.at("totals").at("by_kind").at("payg").at("collected") == 11000;
  });
  INFO(col.dump());
  const auto& totals = col.at("totals");
  CHECK(totals.at("received") == 43500);
  CHECK(totals.at("reversed") == 1500);
  CHECK(totals.at("collected") == 42000);
  CHECK(totals.at("unapplied") == 1000);
  CHECK(totals.at("by_kind") == json{{"lease_to_own", {{"expected", 40000}, {"collected", 30000}}},
                                     {"payg", {{"expected", 25000}, {"collected", 11000}}}});
  CHECK(col.at("collection_rate") ==
        json{{"collected", 42000},
             {"expected", 65000},
             {"bp", 6461},
             {"by_kind",
              {{"lease_to_own", {{"collected", 30000}, {"expected", 40000}, {"bp", 7500}}},
               {"payg", {{"collected", 11000}, {"expected", 25000}, {"bp", 4400}}}}}});

  // Day by day: {lease expected, lease collected, PAYG expected, PAYG collected, unapplied}.
  const std::vector<std::array<std::int64_t, 5>> by_hand = {
      {20000, 20000, 0, 8000, 1000},  // day 0: deposit; P1 and P2 activated today
      {0, 0, 5000, 3000, 0},          // day 1: P1 3,000 + P2 2,000 in force
      {0, 0, 5000, 0, 0},             // day 2: P2 cancelled today, still owes today
      {0, 0, 3000, 1500, 0},          // day 3: P1 alone
      {0, 0, 3000, -1500, 0},         // day 4: the reversal
      {0, 0, 3000, 0, 0},
      {0, 0, 3000, 0, 0},
      {20000, 10000, 3000, 0, 0}};  // day 7: installment 1
  const auto& days = col.at("days");
  REQUIRE(days.size() == by_hand.size());
  for (std::size_t i = 0; i < by_hand.size(); ++i) {
    INFO("day " << i);
    const auto& d = days[i];
    const auto& [le, lc, pe, pc, un] = by_hand[i];
    CHECK(d.at("date") == day(static_cast<int>(i)));
    CHECK(d.at("by_kind").at("lease_to_own").at("expected") == le);
    CHECK(d.at("by_kind").at("lease_to_own").at("collected") == lc);
    CHECK(d.at("by_kind").at("payg").at("expected") == pe);
    CHECK(d.at("by_kind").at("payg").at("collected") == pc);
    CHECK(d.at("unapplied") == un);
    CHECK(d.at("expected") == le + pe);
    CHECK(d.at("collected") == lc + pc + un);
  }
  CHECK(days[1].at("by_method").at("mobile_money").at("collected") == 3000);

  // A range starting later begins from the rent in force then: day 3 expects P1's 3,000 alone.
  const auto later = shop.get("/v1/insights/collections?from=" + day(3) + "&to=" + day(3));
  CHECK(later.at("totals").at("by_kind").at("payg").at("expected") == 3000);
  CHECK(later.at("collection_rate").at("by_kind").at("payg").at("bp") == 5000);
  // Nothing in force before day 1, nothing owed before day 0.
  const auto before = shop.get("/v1/insights/collections?from=" + day(-3) + "&to=" + d0);
  CHECK(before.at("totals").at("by_kind").at("payg").at("expected") == 0);
  CHECK(before.at("collection_rate").at("by_kind").at("payg").at("bp").is_null());

  // The rebuild from the contracts', payments' and packs' items gives every endpoint the same
  // answer, over the fixture's days and beyond.
  const json incremental = settled(shop, day(-3), day(10));
  CHECK(incremental.at("/v1/insights/collections?from=" + day(-3) + "&to=" + day(10))
            .at("totals")
            .at("received") == 43500);
  check_rebuild_equals(server, env, shop, incremental, day(-3), day(10));
}


TEST_CASE("incremental insights equal those rebuilt from the source items after a random "
          "scenario",
          "[integration][insights]") {
  auto backend = GENERATE(Backend::sqlite, Backend::dynamodb);
  INFO("backend " << backend_name(backend));
  const auto env = insights_env(backend);
  ServerProcess server({}, env);
  auto shop = open_desk(server, "rebuild");
  const std::string day0 = nairobi_date(shop.get("/v1/insights/portfolio").at("as_of"), -1);
  const std::string last_day = nairobi_date(day0 + "T00:00:00Z", 365);
  const std::vector<std::string> products = {shop.product(kLease), shop.product(kPayg)};

  std::mt19937 random(20261126);
  auto pick = [&random](std::size_t n) {
    return std::uniform_int_distribution<std::size_t>(0, n - 1)(random);
  };
  std::vector<std::string> contracts;
  std::vector<std::string> customers;
  std::vector<std::string> payments;
  int serial = 0;
  for (int step = 0; step < 120; ++step) {
    const auto action = pick(15);
    if (action < 3 || contracts.empty()) {
      const auto product = pick(3) == 0 ? 1 : 0;  // mostly leases
      const auto n = std::to_string(++serial);
      // A third of the contracts go to a customer who has one already: money paid beyond one
      // contract becomes credit the scheduler spends on the other's dues.
      if (customers.empty() || pick(3) != 0) {
        customers.push_back(shop.customer("+2547001" + std::string(5 - n.size(), '0') + n));
      } else {
        customers.push_back(customers[pick(customers.size())]);
      }
      contracts.push_back(
          shop.contract(customers.back(), shop.stocked_pack("RND-" + n), products[product])
              .at("id"));
      if (pick(2) == 0) shop.stocked_pack("SPARE-" + n);
    } else if (action < 7) {
      // Deposits, partial installments, PAYG top-ups: whatever the amount, some contracts
      // fall behind, some are paid beyond what they owe.
      const auto res = shop.pay(contracts[pick(contracts.size())],
                                1000 + static_cast<std::int64_t>(pick(40)) * 1000,
                                pick(3) == 0 ? "mobile_money" : "cash");
      if (res.status == 201) payments.push_back(res.json().at("id"));
    } else if (action == 7 && !payments.empty()) {
      shop.post("/v1/payments/" + payments[pick(payments.size())] + "/reverse",
                {{"reason", "random reversal"}});
    } else if (action < 10) {
      shop.advance(static_cast<std::int64_t>(1 + pick(12)) * 86400);
      std::this_thread::sleep_for(1200ms);  // a scheduler pass at the new time
    } else if (action == 10) {
      shop.post("/v1/contracts/" + contracts[pick(contracts.size())] + "/cancel",
                {{"reason", "random return"}});
    } else if (action == 11) {
      shop.post("/v1/contracts/" + contracts[pick(contracts.size())] + "/write-off",
                {{"reason", "random write-off"}});
    } else if (action == 14) {
      // A lease behind gets a new schedule: its announced, unpaid installments close (refused
      // for PAYG, closed contracts and leases with nothing outstanding).
      shop.post("/v1/contracts/" + contracts[pick(contracts.size())] + "/reschedule",
                {{"installments", 1 + static_cast<std::int64_t>(pick(4))},
                 {"reason", "random reschedule"}});
    } else {
      // For the customer alone: the loan module picks the contract most behind, or keeps it as
      // credit when none is open.
      const auto res = shop.post("/v1/payments", {{"customer_id", customers[pick(customers.size())]},
                                                  {"amount", 1000 + static_cast<std::int64_t>(pick(30)) * 1000},
                                                  {"currency", "KES"},
                                                  {"method", "mobile_money"}});
      if (res.status == 201) payments.push_back(res.json().at("id"));
    }
  }

  const json incremental = settled(shop, day0, last_day);
  INFO(incremental.dump());
  CHECK(incremental.at("/v1/insights/portfolio").at("contracts") == contracts.size());

  auto [status, out] =
      run_cellfleet({"insights", "rebuild", "--data-dir", server.data_dir().string()}, env);
  INFO(out);
  REQUIRE(status == 0);
  // Read from the items: every contract and payment of the scenario.
  CHECK(out.find(shop.org.id + ": generation 1: " + std::to_string(contracts.size()) +
                 " contracts, " + std::to_string(payments.size()) + " payments") !=
        std::string::npos);
  const json rebuilt = dashboards(shop, day0, last_day);
  for (const auto& [path, answer] : incremental.items()) {
    INFO(path);
    CHECK(rebuilt.at(path) == answer);
  }
  CHECK(rebuilt == incremental);

  // The live subscriber carries on in the new generation.
  const std::string after =
      shop.contract(shop.customer("+254700299999"), shop.stocked_pack("AFTER"), products[1])
          .at("id");
  shop.ok(shop.pay(after, 1000), 201);
  shop.when("/v1/insights/collections?from=" + day0 + "&to=" + last_day, [&](const json& j) {
    return j.at("totals").at("received_count") ==
           incremental.at("/v1/insights/collections?from=" + day0 + "&to=" + last_day)
                   .at("totals")
                   .at("received_count")
                   .get<std::int64_t>() +
               1;
  });
}
