#include <catch2/catch.hpp>

#include <boost/multiprecision/cpp_dec_float.hpp>
#include <boost/multiprecision/cpp_int.hpp>
#include <chrono>
#include <cstdint>
#include <numeric>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "loan/amortization.h"

using namespace cellfleet::loan;
using namespace std::chrono;

namespace {

std::int64_t sum_principal(const std::vector<Installment>& s) {
  std::int64_t sum = 0;
  for (const auto& i : s) sum += i.principal;
  return sum;
}

std::int64_t sum_interest(const std::vector<Installment>& s) {
  std::int64_t sum = 0;
  for (const auto& i : s) sum += i.interest;
  return sum;
}

LoanTerms terms(std::int64_t principal, std::int64_t rate_bp, int n, Frequency f,
                InterestMethod m = InterestMethod::declining_balance, std::int64_t fee = 0) {
  LoanTerms t;
  t.principal = principal;
  t.annual_rate_bp = rate_bp;
  t.installments = n;
  t.frequency = f;
  t.method = m;
  t.fee_per_installment = fee;
  return t;
}

std::string invalid_argument_message(const LoanTerms& t) {
  try {
    build_schedule(t, 2026y / January / 1);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "no exception";
}

}  // namespace

TEST_CASE("a 1000.00 loan at 12 percent over 12 months pays 88.85 a month", "[amortization]") {
  // r = 1 % a month; 100000 x 0.01 / (1 - 1.01^-12) = 8884.88 -> 8885.
  CHECK(annuity_payment(100000, 1200, Frequency::monthly, 12) == 8885);
  const auto s = build_schedule(terms(100000, 1200, 12, Frequency::monthly), 2026y / January / 31);
  REQUIRE(s.size() == 12);
  // First month: interest 1 % of 100000 = 1000, principal 8885 - 1000.
  CHECK(s[0].number == 1);
  CHECK(s[0].interest == 1000);
  CHECK(s[0].principal == 7885);
  // Second: 1 % of 92115 = 921.15 -> 921.
  CHECK(s[1].interest == 921);
  CHECK(s[1].principal == 7964);
  for (int i = 0; i < 11; ++i) CHECK(s[static_cast<std::size_t>(i)].total() == 8885);
  // The last installment repays the remaining 8796 with 1 % of it, 87.96 -> 88: 8884 in all.
  CHECK(s[11].number == 12);
  CHECK(s[11].principal == 8796);
  CHECK(s[11].interest == 88);
  CHECK(s[11].total() == 8884);
  CHECK(sum_principal(s) == 100000);
  CHECK(sum_interest(s) == 6619);
  CHECK(s[1].due == 2026y / February / 28);
  CHECK(s[11].due == 2026y / December / 31);
}

TEST_CASE("a fee is added to every installment and changes nothing else", "[amortization]") {
  const auto s = build_schedule(
      terms(100000, 1200, 12, Frequency::monthly, InterestMethod::declining_balance, 150),
      2026y / January / 31);
  for (std::size_t i = 0; i < 11; ++i) {
    CHECK(s[i].fee == 150);
    CHECK(s[i].total() == 9035);
  }
  CHECK(s[11].total() == 8884 + 150);
  CHECK(sum_interest(s) == 6619);
}

TEST_CASE("an interest-free loan repays the principal in installments rounded up",
          "[amortization]") {
  // 100000 / 12 = 8333.33 -> 8334; eleven of them make 91674, the last is the other 8326.
  CHECK(annuity_payment(100000, 0, Frequency::monthly, 12) == 8334);
  const auto s = build_schedule(terms(100000, 0, 12, Frequency::monthly), 2026y / March / 1);
  for (std::size_t i = 0; i < 11; ++i) CHECK(s[i].principal == 8334);
  CHECK(s[11].principal == 8326);
  CHECK(sum_interest(s) == 0);
  CHECK(sum_principal(s) == 100000);
}

TEST_CASE("when rounded-up payments repay the loan early the rest carry only the fee",
          "[amortization]") {
  // 10 over 7 installments: 10 / 7 -> 2; five payments of 2 repay it and the last two carry no
  // principal and no interest, only the fee of the terms.
  const auto s =
      build_schedule(terms(10, 0, 7, Frequency::weekly, InterestMethod::declining_balance, 5),
                     2026y / January / 1);
  const std::vector<std::int64_t> principals{2, 2, 2, 2, 2, 0, 0};
  for (std::size_t i = 0; i < 7; ++i) {
    CHECK(s[i].principal == principals[i]);
    CHECK(s[i].interest == 0);
    CHECK(s[i].fee == 5);
  }
}

TEST_CASE("a single installment repays principal and one period's interest", "[amortization]") {
  // 100000 x 1.01 = 101000.
  CHECK(annuity_payment(100000, 1200, Frequency::monthly, 1) == 101000);
  auto s = build_schedule(terms(100000, 1200, 1, Frequency::monthly), 2026y / May / 15);
  REQUIRE(s.size() == 1);
  CHECK(s[0].principal == 100000);
  CHECK(s[0].interest == 1000);
  CHECK(s[0].due == 2026y / May / 15);
  // Half a minor unit rounds up: 50 x 1.01 = 50.5 -> 51, and its interest 0.5 -> 1.
  CHECK(annuity_payment(50, 1200, Frequency::monthly, 1) == 51);
  s = build_schedule(terms(50, 1200, 1, Frequency::monthly), 2026y / May / 15);
  CHECK(s[0].principal == 50);
  CHECK(s[0].interest == 1);
  // Below half rounds down: 49 x 1.01 = 49.49 -> 49, interest 0.49 -> 0.
  CHECK(annuity_payment(49, 1200, Frequency::monthly, 1) == 49);
}

TEST_CASE("a daily loan accrues a 365th of the annual rate a day", "[amortization]") {
  // 36500 at 10 %: r = 1/3650. Two installments: P (1+r)^2 / (2+r) = 36500 x 3651^2 / (3650 x
  // 7301) = 133298010 / 7301 = 18257.5003 -> 18258.
  CHECK(annuity_payment(36500, 1000, Frequency::daily, 2) == 18258);
  const auto s = build_schedule(terms(36500, 1000, 2, Frequency::daily), 2026y / December / 31);
  // Day 1: 36500 / 3650 = 10 interest, 18248 principal, 18252 left; day 2: 18252 / 3650 = 5.0005
  // -> 5 interest on the remaining 18252.
  CHECK(s[0].interest == 10);
  CHECK(s[0].principal == 18248);
  CHECK(s[1].interest == 5);
  CHECK(s[1].principal == 18252);
  CHECK(s[1].total() == 18257);
  CHECK(s[0].due == 2026y / December / 31);
  CHECK(s[1].due == 2027y / January / 1);
}

TEST_CASE("a weekly loan accrues a 52nd of the annual rate a week", "[amortization]") {
  // 52000 at 52 %: r = 1 % a week. 520 x 1.0201 / 0.0201 = 26390.65 -> 26391.
  CHECK(annuity_payment(52000, 5200, Frequency::weekly, 2) == 26391);
  const auto s = build_schedule(terms(52000, 5200, 2, Frequency::weekly), 2026y / January / 1);
  CHECK(s[0].interest == 520);
  CHECK(s[0].principal == 25871);
  // 1 % of 26129 = 261.29 -> 261.
  CHECK(s[1].interest == 261);
  CHECK(s[1].principal == 26129);
  CHECK(sum_interest(s) == 781);
  CHECK(s[1].due == 2026y / January / 8);
}

TEST_CASE("a flat loan charges interest on the original principal spread evenly",
          "[amortization]") {
  // 100000 x 12 % x 12 / 12 = 12000 interest, 1000 a month; principal 8333 a month and the last
  // takes the remainder 4.
  auto s = build_schedule(terms(100000, 1200, 12, Frequency::monthly, InterestMethod::flat, 150),
                          2026y / January / 31);
  for (std::size_t i = 0; i < 11; ++i) {
    CHECK(s[i].principal == 8333);
    CHECK(s[i].interest == 1000);
    CHECK(s[i].total() == 9483);
  }
  CHECK(s[11].principal == 8337);
  CHECK(s[11].interest == 1000);
  CHECK(sum_interest(s) == 12000);

  // 1000 x 10 % x 3 / 52 = 5.769 -> 6 interest, 2 a week; principal 333, 333, 334.
  s = build_schedule(terms(1000, 1000, 3, Frequency::weekly, InterestMethod::flat),
                     2026y / January / 1);
  CHECK(s[0].principal == 333);
  CHECK(s[2].principal == 334);
  CHECK(s[0].interest == 2);
  CHECK(s[2].interest == 2);

  // 1001 x 7.77 % x 7 / 365 = 1.4916 -> 1 interest, all of it in the last installment.
  s = build_schedule(terms(1001, 777, 7, Frequency::daily, InterestMethod::flat),
                     2026y / January / 1);
  for (std::size_t i = 0; i < 6; ++i) CHECK(s[i].interest == 0);
  CHECK(s[6].interest == 1);
  for (const auto& i : s) CHECK(i.principal == 143);

  // Half a minor unit of total interest rounds up: 1000 x 5 bp x 12 / (10000 x 12) = 0.5 -> 1.
  s = build_schedule(terms(1000, 5, 12, Frequency::monthly, InterestMethod::flat),
                     2026y / January / 1);
  CHECK(sum_interest(s) == 1);
}

TEST_CASE("terms out of range are refused naming the field", "[amortization]") {
  CHECK_THAT(invalid_argument_message(terms(0, 1200, 12, Frequency::monthly)),
             Catch::Contains("principal"));
  CHECK_THAT(invalid_argument_message(terms(kMaxPrincipal + 1, 1200, 12, Frequency::monthly)),
             Catch::Contains("principal"));
  CHECK_THAT(invalid_argument_message(terms(1000, -1, 12, Frequency::monthly)),
             Catch::Contains("annual_rate_bp"));
  CHECK_THAT(invalid_argument_message(terms(1000, 10001, 12, Frequency::monthly)),
             Catch::Contains("annual_rate_bp"));
  CHECK_THAT(invalid_argument_message(terms(1000, 1200, 0, Frequency::monthly)),
             Catch::Contains("installments"));
  CHECK_THAT(invalid_argument_message(terms(1000, 1200, 1001, Frequency::monthly)),
             Catch::Contains("installments"));
  CHECK_THAT(
      invalid_argument_message(terms(1000, 1200, 12, Frequency::monthly, InterestMethod::flat, -1)),
      Catch::Contains("fee_per_installment"));
  CHECK_THROWS_AS(build_schedule(terms(1000, 1200, 12, Frequency::monthly), 2026y / February / 29),
                  std::invalid_argument);
  CHECK_THROWS_AS(annuity_payment(1000, 1200, Frequency::monthly, 0), std::invalid_argument);
  // The extremes are accepted.
  CHECK(build_schedule(terms(kMaxPrincipal, 10000, 1000, Frequency::monthly), 2026y / January / 1)
            .size() == 1000);
  CHECK(build_schedule(terms(kMaxPrincipal, 10000, 1000, Frequency::daily, InterestMethod::flat),
                       2026y / January / 1)
            .size() == 1000);
}

TEST_CASE("monthly due dates keep the day of month and clamp to the month's end",
          "[amortization][due_dates]") {
  CHECK(due_dates(2026y / January / 31, Frequency::monthly, 4) ==
        std::vector<year_month_day>{2026y / January / 31, 2026y / February / 28, 2026y / March / 31,
                                    2026y / April / 30});
  // In a leap year February has 29 days.
  CHECK(
      due_dates(2024y / January / 31, Frequency::monthly, 3) ==
      std::vector<year_month_day>{2024y / January / 31, 2024y / February / 29, 2024y / March / 31});
  // A loan starting on a leap day falls due on the 29th, or on the 28th of a common February.
  const auto leap = due_dates(2024y / February / 29, Frequency::monthly, 49);
  CHECK(leap[1] == 2024y / March / 29);
  CHECK(leap[12] == 2025y / February / 28);
  CHECK(leap[13] == 2025y / March / 29);
  CHECK(leap[48] == 2028y / February / 29);
  // Across a year end.
  CHECK(due_dates(2025y / November / 30, Frequency::monthly, 3) ==
        std::vector<year_month_day>{2025y / November / 30, 2025y / December / 30,
                                    2026y / January / 30});
}

TEST_CASE("daily and weekly due dates step by 1 and 7 calendar days", "[amortization][due_dates]") {
  CHECK(
      due_dates(2024y / February / 28, Frequency::daily, 3) ==
      std::vector<year_month_day>{2024y / February / 28, 2024y / February / 29, 2024y / March / 1});
  CHECK(due_dates(2026y / December / 24, Frequency::weekly, 3) ==
        std::vector<year_month_day>{2026y / December / 24, 2026y / December / 31,
                                    2027y / January / 7});
  CHECK(due_dates(2026y / January / 1, Frequency::daily, 1000).back() ==
        sys_days{2026y / January / 1} + days{999});
  CHECK(due_dates(2026y / January / 1, Frequency::weekly, 0).empty());
  CHECK_THROWS_AS(due_dates(2026y / April / 31, Frequency::daily, 3), std::invalid_argument);
}

namespace {

namespace mp = boost::multiprecision;
using Decimal = mp::cpp_dec_float_50;

Decimal power(Decimal x, int n) {
  Decimal result = 1;
  for (; n > 0; n >>= 1) {
    if (n & 1) result *= x;
    x *= x;
  }
  return result;
}

int periods(Frequency f) {
  return f == Frequency::daily ? 365 : f == Frequency::weekly ? 52 : 12;
}

// The annuity formula in 50-digit decimal floating point, independent of the exact fractions of
// the implementation. Returns the range the half-up rounding may take: one value, or two when the
// decimal result is within 10^-30 of a half (where 50 digits cannot decide).
std::pair<std::int64_t, std::int64_t> expected_payment(std::int64_t p, std::int64_t bp, Frequency f,
                                                       int n) {
  if (bp == 0) return {(p + n - 1) / n, (p + n - 1) / n};
  const Decimal r = Decimal(bp) / (Decimal(10000) * periods(f));
  const Decimal a = Decimal(p) * r / (1 - 1 / power(1 + r, n)) + Decimal("0.5");
  const Decimal eps("1e-30");
  return {mp::floor(a - eps).convert_to<std::int64_t>(),
          mp::floor(a + eps).convert_to<std::int64_t>()};
}

// x / y rounded half-up by quotient and remainder.
std::int64_t half_up(mp::cpp_int x, mp::cpp_int y) {
  mp::cpp_int q = x / y;
  if (2 * (x % y) >= y) ++q;
  return q.convert_to<std::int64_t>();
}

// A plain re-simulation of the declining balance with a given payment.
std::vector<std::pair<std::int64_t, std::int64_t>> simulate(std::int64_t p, std::int64_t bp,
                                                            Frequency f, int n,
                                                            std::int64_t payment) {
  std::vector<std::pair<std::int64_t, std::int64_t>> out;  // (principal, interest)
  std::int64_t balance = p;
  for (int k = 1; k <= n; ++k) {
    const std::int64_t interest =
        half_up(mp::cpp_int(balance) * bp, mp::cpp_int(10000) * periods(f));
    std::int64_t principal = k == n ? balance : payment - interest;
    if (principal > balance) principal = balance;
    out.emplace_back(principal, interest);
    balance -= principal;
  }
  return out;
}

}  // namespace

TEST_CASE("1000 random schedules agree with an independent computation", "[amortization]") {
  std::mt19937_64 rng(20260101);
  std::uniform_int_distribution<int> digits(1, 9), n_dist(1, 1000), kind(0, 2), coin(0, 1),
      day_dist(0, 365 * 6);
  std::uniform_int_distribution<std::int64_t> rate_dist(0, 10000), fee_dist(0, 10000);
  for (int c = 0; c < 1000; ++c) {
    // Principals spread over every order of magnitude up to 10^9, some rates exactly 0.
    const int d = digits(rng);
    std::int64_t max = 1;
    for (int i = 0; i < d; ++i) max *= 10;
    const std::int64_t p = std::uniform_int_distribution<std::int64_t>(1, max)(rng);
    const std::int64_t bp = kind(rng) == 0 && coin(rng) == 0 ? 0 : rate_dist(rng);
    const int n = n_dist(rng);
    const auto f = static_cast<Frequency>(kind(rng));
    const auto m = coin(rng) == 0 ? InterestMethod::flat : InterestMethod::declining_balance;
    const std::int64_t fee = coin(rng) == 0 ? 0 : fee_dist(rng);
    const year_month_day first{sys_days{2024y / January / 1} + days{day_dist(rng)}};
    INFO("case " << c << ": P=" << p << " bp=" << bp << " n=" << n << " f=" << static_cast<int>(f)
                 << " method=" << static_cast<int>(m));

    const auto s = build_schedule(terms(p, bp, n, f, m, fee), first);
    REQUIRE(s.size() == static_cast<std::size_t>(n));
    CHECK(sum_principal(s) == p);
    CHECK(s.front().due == first);
    bool non_negative = true, increasing = true, fees = true, numbered = true;
    for (std::size_t i = 0; i < s.size(); ++i) {
      non_negative = non_negative && s[i].principal >= 0 && s[i].interest >= 0;
      fees = fees && s[i].fee == fee;
      numbered = numbered && s[i].number == static_cast<int>(i) + 1;
      if (i > 0) increasing = increasing && sys_days{s[i - 1].due} < sys_days{s[i].due};
    }
    CHECK(non_negative);
    CHECK(increasing);
    CHECK(fees);
    CHECK(numbered);

    if (m == InterestMethod::declining_balance) {
      const std::int64_t payment = annuity_payment(p, bp, f, n);
      const auto [low, high] = expected_payment(p, bp, f, n);
      CHECK(payment >= low);
      CHECK(payment <= high);
      const auto sim = simulate(p, bp, f, n, payment);
      std::int64_t sim_interest = 0, repaid = 0;
      bool same = true, level = true;
      for (std::size_t i = 0; i < s.size(); ++i) {
        sim_interest += sim[i].second;
        same = same && s[i].principal == sim[i].first && s[i].interest == sim[i].second;
        // Every installment but the last is the payment, except the one that repays the loan
        // early and those after it, which carry nothing but the fee.
        if (i + 1 < s.size()) {
          if (repaid == p) {
            level = level && s[i].principal == 0 && s[i].interest == 0;
          } else {
            level = level &&
                    (s[i].principal + s[i].interest == payment || repaid + s[i].principal == p);
          }
        }
        repaid += s[i].principal;
      }
      CHECK(sum_interest(s) == sim_interest);
      CHECK(same);
      CHECK(level);
    } else {
      const std::int64_t total = half_up(mp::cpp_int(p) * bp * n, mp::cpp_int(10000) * periods(f));
      CHECK(sum_interest(s) == total);
      bool even = true;
      for (std::size_t i = 0; i + 1 < s.size(); ++i) {
        even = even && s[i].principal == p / n && s[i].interest == total / n;
      }
      CHECK(even);
    }
  }
}
