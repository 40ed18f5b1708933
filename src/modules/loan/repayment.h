#pragma once
// The repayment rules, as pure functions over a contract item (no store, no clock):
//
// Allocation. A payment settles installments oldest due first; within one installment it pays
// fees, then penalties, then interest, then principal. Money beyond the installments due is a
// prepayment of the next ones, in the same order.
//
// Standing of a lease-to-own contract at an instant, in the organization's time zone:
//   pending_deposit  the deposit installment (number 0: deposit + upfront fee) is not paid
//   active           no installment is more than grace_period_days past due
//   overdue          the oldest unpaid installment is more than grace_period_days past due
//   defaulted        overdue, and more than 90 days past due (kDefaultAfterDays)
//   paid_off         every installment is paid
// days_past_due counts local calendar days from the oldest unpaid installment's due date; the
// delinquency bucket is current (0), 1-30, 31-60, 61-90 or 90+. An installment that passes its
// grace period is charged the product's late fee, once.
//
// PAYG: credit_until (epoch seconds) is how long the battery may run; a payment buys
// amount x 86,400 / price_per_day seconds, the remainder of that division carried to the next
// payment (credit_remainder), so no fraction of a payment is lost. active while credit_until is
// in the future, overdue after, pending_deposit before the first payment.
//
// Early payoff: the remaining principal plus everything (fees, penalties, interest) of the
// installments due up to today; the interest and fees of installments not yet due are waived.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/calendar.h"

namespace cellfleet::loan {

inline constexpr std::int64_t kDefaultAfterDays = 90;

std::chrono::year_month_day parse_date(const std::string& text);  // "2026-03-29"; throws
std::optional<std::chrono::year_month_day> try_parse_date(const std::string& text);
std::string format_date(std::chrono::year_month_day d);
// An integer attribute of a stored installment or contract; 0 when absent.
std::int64_t int_field(const nlohmann::json& item, const char* name);

struct Allocation {
  std::int64_t fee = 0;
  std::int64_t penalty = 0;
  std::int64_t interest = 0;
  std::int64_t principal = 0;
  // What went to each installment: [{n, fee, penalty, interest, principal}] (allocate only).
  nlohmann::json per_installment = nlohmann::json::array();
  std::int64_t total() const { return fee + penalty + interest + principal; }
  nlohmann::json to_json() const;
};

// What is still owed of one installment, and of all of them.
std::int64_t installment_remaining(const nlohmann::json& installment);
std::int64_t outstanding(const nlohmann::json& installments);
std::int64_t outstanding_principal(const nlohmann::json& installments);

// Pays up to amount into installments (oldest first) and returns what was paid; amount minus
// the total is left over (everything is paid).
Allocation allocate(nlohmann::json& installments, std::int64_t amount, const std::string& paid_at);

// Undoes an allocation (a reversed payment): subtracts per_installment's amounts from what was
// paid of each installment; one no longer fully paid loses its paid_at.
void unallocate(nlohmann::json& installments, const nlohmann::json& per_installment);
// Undoes a PAYG payment of amount: moves credit_until back (and credit_remainder) by exactly what
// buy_credit() gave for it, whatever was bought since.
void take_back_credit(nlohmann::json& contract, std::int64_t amount);

struct Standing {
  std::string state;  // pending_deposit | active | overdue | defaulted | paid_off
  std::int64_t days_past_due = 0;
  std::string bucket = "current";
  std::string reason;
  std::optional<std::int64_t> next_check;  // epoch s when the standing may change by itself
};

std::string delinquency_bucket(std::int64_t days_past_due);

// Charges the late fee on each installment past its grace period at now_s that has none yet;
// returns the total charged.
std::int64_t charge_late_fees(nlohmann::json& contract, const OrgCalendar& calendar,
                              std::int64_t now_s);
Standing lease_standing(const nlohmann::json& contract, const OrgCalendar& calendar,
                        std::int64_t now_s);
Standing payg_standing(const nlohmann::json& contract, std::int64_t now_s);

// Adds a PAYG payment's credit: moves credit_until (from now_s when it already ran out) and
// credit_remainder. Returns the seconds bought.
std::int64_t buy_credit(nlohmann::json& contract, std::int64_t amount, std::int64_t now_s);

// Installments whose due day has begun at now_s and that were not announced yet (number greater
// than the contract's announced_through), and the first instant of the next unannounced
// installment's due day (when the scheduler must look again).
struct DueAnnouncements {
  std::vector<std::size_t> indexes;  // into installments
  std::optional<std::int64_t> next_due_start;
};
DueAnnouncements due_announcements(const nlohmann::json& contract, const OrgCalendar& calendar,
                                   std::int64_t now_s);

struct PayoffQuote {
  Allocation due;                   // what settles the contract today
  std::int64_t waived_interest = 0;  // interest of installments not yet due
  std::int64_t waived_fees = 0;      // their fees
};
PayoffQuote payoff_quote(const nlohmann::json& installments, std::chrono::year_month_day today);
// Settles every installment per the quote (waiving what it waives); returns the allocation.
Allocation settle_payoff(nlohmann::json& installments, std::chrono::year_month_day today,
                         const std::string& paid_at);

}  // namespace cellfleet::loan
