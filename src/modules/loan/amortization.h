#pragma once
// Installment schedules of a lease-to-own loan, in integer minor units. No floating point: every
// amount is exact integer or rational arithmetic, rounded half-up to the minor unit where the
// rule says so (docs/decisions.md, "Schedule rounding").

#include <chrono>
#include <cstdint>
#include <vector>

namespace cellfleet::loan {

enum class Frequency { daily, weekly, monthly };  // periods per year 365, 52, 12
enum class InterestMethod { flat, declining_balance };

// Periods per year: 365, 52 or 12. The periodic rate is the annual nominal rate divided by it.
int periods_per_year(Frequency f);

// The bounds build_schedule and annuity_payment accept. The principal's bound (10^14 minor units,
// a trillion in a currency with cents) keeps balance x rate (up to 10^18) inside an int64.
inline constexpr std::int64_t kMaxPrincipal = 100'000'000'000'000;
inline constexpr std::int64_t kMaxRateBp = 10'000;
inline constexpr int kMaxInstallments = 1000;
inline constexpr std::int64_t kMaxFeePerInstallment = 100'000'000'000'000;

struct LoanTerms {
  std::int64_t principal = 0;       // minor units financed, 1..kMaxPrincipal
  std::int64_t annual_rate_bp = 0;  // annual nominal rate in basis points, 0..10000 (1200 = 12 %)
  int installments = 0;             // 1..1000
  Frequency frequency = Frequency::monthly;
  InterestMethod method = InterestMethod::declining_balance;
  std::int64_t fee_per_installment = 0;  // minor units added to every installment, >= 0
};

struct Installment {
  int number = 0;  // 1-based
  std::chrono::year_month_day due;
  std::int64_t principal = 0, interest = 0, fee = 0;
  std::int64_t total() const { return principal + interest + fee; }
};

// The due dates: first_due, then one per period. Daily and weekly add 1 and 7 days; monthly keeps
// first_due's day of month, clamped to the month's last day (Jan 31 -> Feb 28/29 -> Mar 31).
// Throws std::invalid_argument when first_due is not a valid date or count is negative.
std::vector<std::chrono::year_month_day> due_dates(std::chrono::year_month_day first_due,
                                                   Frequency f, int count);

// The schedule of terms.installments installments, the first due on first_due.
//
// Declining balance: every installment but the last is annuity_payment() (+ fee); each period's
// interest is the outstanding balance x periodic rate, rounded half-up, and the principal is the
// rest of the payment. The last installment's principal is the whole remaining balance (it absorbs
// the rounding, so the principals sum exactly to the principal) and its interest is computed the
// same way. A principal never exceeds the balance: when the rounded-up payment repays the loan
// before the last installment, the installments after that carry no principal and no interest
// (their fee stays, the contract having that many installments). The payment always covers the
// first period's interest and the balance never grows, so no principal is negative.
//
// Flat: total interest = principal x rate x installments / periods per year, rounded half-up;
// each installment carries floor(principal / n) and floor(interest / n), and the last one also
// both remainders.
//
// Throws std::invalid_argument, naming the field, for terms out of range or an invalid first_due.
std::vector<Installment> build_schedule(const LoanTerms& terms,
                                        std::chrono::year_month_day first_due);

// The equal installment (before fees) of a declining-balance loan: the annuity formula
// P*r / (1 - (1+r)^-n), r = rate / periods per year, computed exactly and rounded half-up to the
// minor unit; P/n rounded up when the rate is 0. Throws std::invalid_argument, naming the
// argument, when one is out of the bounds above.
std::int64_t annuity_payment(std::int64_t principal, std::int64_t annual_rate_bp, Frequency f,
                             int n);

}  // namespace cellfleet::loan
