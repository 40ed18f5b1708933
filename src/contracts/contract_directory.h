#pragma once
// What the loan module tells billing about a contract before a payment for it is accepted: that
// it exists in the organization, whose it is, and whether it can still take money. Implemented by
// the loan module, wired in main.cpp.

#include <cstdint>
#include <optional>
#include <string>

namespace cellfleet::contracts {

struct ContractInfo {
  std::string id;           // "con_..."
  std::string customer_id;  // "cus_..."
  std::string state;        // pending_deposit, active, overdue, paid_off, cancelled, written_off
  std::string currency;
  bool open = false;        // takes payments (not paid off, cancelled or written off)
  // PAYG: the product's minimum top-up, and the most a payment may be without buying credit
  // beyond the product's maximum_credit_days (nullopt: no limit). A provider's webhook reports
  // money already taken, so only payments an operator records are held to these.
  std::int64_t minimum_payment = 1;
  std::optional<std::int64_t> maximum_payment;
};

class ContractDirectory {
 public:
  virtual ~ContractDirectory() = default;
  // The organization's contract, or nullopt when it has none with this id.
  virtual std::optional<ContractInfo> find_contract(const std::string& org_id,
                                                    const std::string& contract_id) = 0;
  // Why the payment cannot be reversed now, as a sentence for the operator (it is not applied
  // yet, or the contract it paid is closed), or nullopt when it can.
  virtual std::optional<std::string> reversal_blocker(const std::string& org_id,
                                                      const std::string& payment_id) = 0;
};

}  // namespace cellfleet::contracts
