#pragma once
// Settlement: everything that changes a signed contract's money or standing goes through
// ContractChange::commit_into, which re-evaluates the standing (repayment.h) at the injected
// clock's now, charges late fees that fell due, appends the ledger entries (numbered without
// gaps; the running balance is the sum of the entries), moves the scheduler's check item,
// publishes the events the change causes and writes the contract back version-checked. So a
// payment, the scheduler and an operator's action can race without losing or doubling money:
// the loser re-reads and tries again.
//
// Events (subject: the contract): contract.activated, contract.credit_extended,
// contract.overdue, contract.credit_expired, contract.paid_off (contracts/loan_events.h), and
// contract.payment_applied {payment_id, customer_id, kind, amount, currency, method, received_at
// (the payment's), allocation, balance},
// contract.delinquency_changed {from, to, days_past_due},
// contract.installment_due {customer_id, n, due, principal, interest, fee, currency} once per
// installment when its due day begins (installment 0, the deposit, when the contract is signed),
// contract.installment_paid {customer_id, n, due, paid_at, principal, interest, fee, currency}
// when the last of it is paid (the amounts as settled: interest and fee waived by a payoff are
// not in them).

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/calendar.h"
#include "core/events/dispatcher.h"
#include "loan_impl.h"

namespace cellfleet::loan {

struct LedgerLine {
  std::string kind;     // schedule | payment | late_fee | interest_waived | cancellation | write_off
  std::int64_t amount;  // what the customer owes more (> 0) or less (< 0)
  nlohmann::json detail = nlohmann::json::object();
};

struct ContractChange {
  explicit ContractChange(storage::Item contract);
  storage::Item contract;  // the contract as it will be written
  std::optional<std::int64_t> read_version;  // nullopt: a new contract (must not exist)
  std::optional<std::string> read_check_sk;   // the check item to delete
  std::string read_state;
  std::string read_bucket;
  std::set<std::int64_t> read_paid;  // numbers of the installments already paid when read
  std::vector<LedgerLine> lines;
  bool payment_applied = false;  // a payment extended credit: say so even when the state stays
  // The customer's credit (overpayments) pays what is due, when the change does not itself write
  // the customer's credit item (the scheduler's re-evaluation and signing set it).
  bool use_customer_credit = false;
  std::vector<std::pair<std::string, nlohmann::json>> events;  // extra events, type and data

  // Re-evaluates, appends everything to batch. Returns false when nothing changed at all.
  bool commit_into(Context& ctx, const OrgCalendar& calendar, storage::WriteBatch& batch);

 private:
  void apply_customer_credit(Context& ctx, const OrgCalendar& calendar, std::int64_t now,
                             storage::WriteBatch& batch);
  // Queues the installment_due and installment_paid events; moves next_check to the next due day
  // when that comes first.
  void announce_installments(const OrgCalendar& calendar, std::int64_t now,
                             std::optional<std::int64_t>& next_check);
};

// The payload of the access events (contracts/loan_events.h).
nlohmann::json contract_event_data(const storage::Item& contract);
// The contract as it stands, carried by every contract event as data.contract: state, kind,
// product_id, customer_id, currency, balance, and for leases financed_principal,
// outstanding_principal, days_past_due, delinquency_bucket, announced_through.
nlohmann::json contract_snapshot(const storage::Item& contract);

class Settlement {
 public:
  explicit Settlement(Context& context) : ctx_(context) {}
  // Subscribes "loan.payments" to payment.received and payment.reversed.
  void subscribe(events::Dispatcher& dispatcher);
  // One scheduler pass; returns how many contracts changed.
  std::size_t check_due_contracts();

 private:
  void apply_payment(const events::Event& event, storage::WriteBatch& effects);
  void reverse_payment(const events::Event& event, storage::WriteBatch& effects);
  std::optional<storage::Item> target_contract(const std::string& org_id,
                                               const nlohmann::json& payment);
  void credit_customer(const std::string& org_id, const std::string& customer_id,
                       std::int64_t amount, const nlohmann::json& detail,
                       storage::WriteBatch& effects);
  bool recheck(const std::string& org_id, const OrgCalendar& calendar,
               const std::string& contract_id);

  Context& ctx_;
};

}  // namespace cellfleet::loan
