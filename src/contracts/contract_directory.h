#pragma once
// What the loan module tells billing about a contract before a payment for it is accepted: that
// it exists in the organization, whose it is, and whether it can still take money. Implemented by
// the loan module, wired in main.cpp.

#include <optional>
#include <string>

namespace cellfleet::contracts {

struct ContractInfo {
  std::string id;           // "con_..."
  std::string customer_id;  // "cus_..."
  std::string state;        // pending_deposit, active, overdue, paid_off, cancelled, written_off
  std::string currency;
  bool open = false;        // takes payments (not paid off, cancelled or written off)
};

class ContractDirectory {
 public:
  virtual ~ContractDirectory() = default;
  // The organization's contract, or nullopt when it has none with this id.
  virtual std::optional<ContractInfo> find_contract(const std::string& org_id,
                                                    const std::string& contract_id) = 0;
};

}  // namespace cellfleet::contracts
