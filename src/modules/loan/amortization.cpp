#include "amortization.h"

#include <boost/multiprecision/cpp_int.hpp>

#include <algorithm>
#include <numeric>
#include <stdexcept>
#include <string>

namespace cellfleet::loan {
namespace {

namespace sc = std::chrono;
using boost::multiprecision::cpp_int;

void require(bool ok, const char* field, const std::string& rule) {
  if (!ok) throw std::invalid_argument(std::string(field) + " must be " + rule);
}

void validate_rate_and_count(std::int64_t annual_rate_bp, Frequency f, int n) {
  require(annual_rate_bp >= 0 && annual_rate_bp <= kMaxRateBp, "annual_rate_bp",
          "between 0 and " + std::to_string(kMaxRateBp));
  require(n >= 1 && n <= kMaxInstallments, "installments",
          "between 1 and " + std::to_string(kMaxInstallments));
  require(f == Frequency::daily || f == Frequency::weekly || f == Frequency::monthly, "frequency",
          "daily, weekly or monthly");
}

void validate_principal(std::int64_t principal) {
  require(principal >= 1 && principal <= kMaxPrincipal, "principal",
          "between 1 and " + std::to_string(kMaxPrincipal));
}

// num / den rounded half-up, for num >= 0 and den > 0, without overflow as long as 2 * num does
// not overflow (num <= 10^18 here).
std::int64_t div_half_up(std::int64_t num, std::int64_t den) {
  return (2 * num + den) / (2 * den);
}

// balance x annual_rate_bp / (10000 x periods), rounded half-up: one period's interest.
std::int64_t period_interest(std::int64_t balance, std::int64_t annual_rate_bp, int periods) {
  return div_half_up(balance * annual_rate_bp, 10'000 * static_cast<std::int64_t>(periods));
}

std::vector<Installment> declining_balance(const LoanTerms& t,
                                           const std::vector<sc::year_month_day>& dues) {
  const int periods = periods_per_year(t.frequency);
  const std::int64_t payment =
      annuity_payment(t.principal, t.annual_rate_bp, t.frequency, t.installments);
  std::vector<Installment> out;
  out.reserve(dues.size());
  std::int64_t balance = t.principal;
  for (int i = 0; i < t.installments; ++i) {
    Installment in;
    in.number = i + 1;
    in.due = dues[static_cast<std::size_t>(i)];
    in.fee = t.fee_per_installment;
    in.interest = period_interest(balance, t.annual_rate_bp, periods);
    const bool last = i + 1 == t.installments;
    // The payment covers the interest: it is at least the first period's (the annuity exceeds
    // P x r and both round half-up) and the balance never grows; the max() is only a guard.
    in.principal =
        last ? balance : std::min(balance, std::max<std::int64_t>(0, payment - in.interest));
    balance -= in.principal;
    out.push_back(in);
  }
  return out;
}

std::vector<Installment> flat(const LoanTerms& t, const std::vector<sc::year_month_day>& dues) {
  const int n = t.installments;
  // P x bp x n reaches 10^21: computed in cpp_int, the result fits an int64 (< 10^16).
  const cpp_int num = cpp_int(t.principal) * t.annual_rate_bp * n;
  const cpp_int den = cpp_int(10'000) * periods_per_year(t.frequency);
  const auto total_interest = static_cast<std::int64_t>((2 * num + den) / (2 * den));
  const std::int64_t principal_each = t.principal / n;
  const std::int64_t interest_each = total_interest / n;
  std::vector<Installment> out;
  out.reserve(dues.size());
  for (int i = 0; i < n; ++i) {
    Installment in;
    in.number = i + 1;
    in.due = dues[static_cast<std::size_t>(i)];
    in.fee = t.fee_per_installment;
    in.principal = principal_each;
    in.interest = interest_each;
    if (i + 1 == n) {
      // The last installment absorbs both remainders, so the schedule sums to the principal and
      // the total interest exactly.
      in.principal += t.principal % n;
      in.interest += total_interest % n;
    }
    out.push_back(in);
  }
  return out;
}

}  // namespace

int periods_per_year(Frequency f) {
  switch (f) {
    case Frequency::daily:
      return 365;
    case Frequency::weekly:
      return 52;
    case Frequency::monthly:
      return 12;
  }
  throw std::invalid_argument("frequency must be daily, weekly or monthly");
}

std::vector<sc::year_month_day> due_dates(sc::year_month_day first_due, Frequency f, int count) {
  require(first_due.ok(), "first_due", "a valid calendar date");
  require(count >= 0, "count", "zero or more");
  std::vector<sc::year_month_day> out;
  out.reserve(static_cast<std::size_t>(count));
  if (f == Frequency::monthly) {
    const sc::year_month first_month = first_due.year() / first_due.month();
    for (int i = 0; i < count; ++i) {
      const sc::year_month ym = first_month + sc::months{i};
      const sc::day last_day =
          sc::year_month_day_last{ym.year(), sc::month_day_last{ym.month()}}.day();
      out.push_back(ym / std::min(first_due.day(), last_day));
    }
    return out;
  }
  const int step = periods_per_year(f) == 365 ? 1 : 7;
  const sc::sys_days first{first_due};
  for (int i = 0; i < count; ++i) {
    out.emplace_back(first + sc::days{static_cast<std::int64_t>(i) * step});
  }
  return out;
}

std::int64_t annuity_payment(std::int64_t principal, std::int64_t annual_rate_bp, Frequency f,
                             int n) {
  validate_principal(principal);
  validate_rate_and_count(annual_rate_bp, f, n);
  if (annual_rate_bp == 0) return (principal + n - 1) / n;
  // r = bp / q with q = 10000 x periods, reduced to a / b. Then
  //   P r / (1 - (1+r)^-n) = P a (a+b)^n / (b ((a+b)^n - b^n)),
  // an exact fraction of integers, rounded half-up as floor((2 num + den) / (2 den)).
  std::int64_t a = annual_rate_bp;
  std::int64_t b = 10'000 * static_cast<std::int64_t>(periods_per_year(f));
  const std::int64_t g = std::gcd(a, b);
  a /= g;
  b /= g;
  const auto un = static_cast<unsigned>(n);
  const cpp_int grown = boost::multiprecision::pow(cpp_int(a + b), un);
  const cpp_int num = cpp_int(principal) * a * grown;
  const cpp_int den = cpp_int(b) * (grown - boost::multiprecision::pow(cpp_int(b), un));
  return static_cast<std::int64_t>((2 * num + den) / (2 * den));
}

std::vector<Installment> build_schedule(const LoanTerms& terms, sc::year_month_day first_due) {
  validate_principal(terms.principal);
  validate_rate_and_count(terms.annual_rate_bp, terms.frequency, terms.installments);
  require(terms.method == InterestMethod::flat || terms.method == InterestMethod::declining_balance,
          "method", "flat or declining_balance");
  require(terms.fee_per_installment >= 0 && terms.fee_per_installment <= kMaxFeePerInstallment,
          "fee_per_installment", "between 0 and " + std::to_string(kMaxFeePerInstallment));
  require(first_due.ok(), "first_due", "a valid calendar date");
  const auto dues = due_dates(first_due, terms.frequency, terms.installments);
  return terms.method == InterestMethod::flat ? flat(terms, dues) : declining_balance(terms, dues);
}

}  // namespace cellfleet::loan
