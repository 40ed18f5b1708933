#pragma once
// The loan module's events that decide whether a battery may run (payment-gated access). The
// device module turns them into lock / unlock / permanent_unlock commands; insights counts them.
// Every one has subject = the contract id, so one contract's events arrive in order, and data:
//   {"contract_id", "customer_id", "device_id", "kind": "lease_to_own" | "payg",
//    "state": the contract's state after the change,
//    "reason": a sentence for the operator ("installment 3 is 8 days past due"),
//    "credit_until": RFC 3339 (PAYG only),
//    "days_past_due": integer (lease-to-own only; 0 when nothing is late),
//    "contract": the snapshot below}
// Every contract.* event published with a change of the contract (these, and signed,
// payment_applied, payment_reversed, installment_due, installment_paid, delinquency_changed,
// rescheduled) carries data.contract, the contract as it stands after the change:
//   {"state", "kind", "product_id", "customer_id", "currency", "balance" (what is owed), and for
//    leases "financed_principal", "outstanding_principal", "days_past_due",
//    "delinquency_bucket" (current, 1-30, 31-60, 61-90, 90+), "announced_through" (the last
//    installment announced due)}
// so a module that keeps figures about contracts (insights) needs nothing but the events.

#include <optional>
#include <string_view>

namespace cellfleet::contracts::loan_events {

inline constexpr std::string_view kActivated = "contract.activated";        // deposit paid: runs
inline constexpr std::string_view kCreditExtended = "contract.credit_extended";  // may run
inline constexpr std::string_view kOverdue = "contract.overdue";           // past grace: lock
inline constexpr std::string_view kDefaulted = "contract.defaulted";  // 90+ days past due: lock
inline constexpr std::string_view kCreditExpired = "contract.credit_expired";  // PAYG: lock
inline constexpr std::string_view kPaidOff = "contract.paid_off";  // the customer owns it
inline constexpr std::string_view kCancelled = "contract.cancelled";       // pack returned: lock
inline constexpr std::string_view kWrittenOff = "contract.written_off";    // lock

// What the battery should do after an event of this type; nullopt for types that do not decide
// access.
enum class Access { unlocked, locked, permanently_unlocked };
inline std::optional<Access> access_after(std::string_view type) {
  if (type == kActivated || type == kCreditExtended) return Access::unlocked;
  if (type == kOverdue || type == kDefaulted || type == kCreditExpired || type == kCancelled ||
      type == kWrittenOff) {
    return Access::locked;
  }
  if (type == kPaidOff) return Access::permanently_unlocked;
  return std::nullopt;
}

inline std::string_view access_name(Access a) {
  switch (a) {
    case Access::unlocked:
      return "unlocked";
    case Access::locked:
      return "locked";
    case Access::permanently_unlocked:
      return "permanently_unlocked";
  }
  return "locked";
}

}  // namespace cellfleet::contracts::loan_events
