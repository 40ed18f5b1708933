#pragma once
// What the billing module tells other modules about customers, synchronously: the loan module
// must know that a contract's customer exists (and may sign) before it writes the contract.
// Implemented by the billing module, wired in main.cpp.

#include <optional>
#include <string>

namespace cellfleet::contracts {

struct CustomerInfo {
  std::string id;      // "cus_..."
  std::string status;  // "active" or "blocked" (a blocked customer may not sign new contracts)
  std::string name;
  std::string phone;   // E.164
};

class CustomerDirectory {
 public:
  virtual ~CustomerDirectory() = default;
  // The organization's customer, or nullopt when it has none with this id (a malformed id too).
  virtual std::optional<CustomerInfo> find_customer(const std::string& org_id,
                                                    const std::string& customer_id) = 0;
};

}  // namespace cellfleet::contracts
