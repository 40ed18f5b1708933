#pragma once
// The loan module's contracts for `cellfleet insights rebuild` (contracts/money_sources.h): each
// contract's snapshot, the payments its ledger applied and took back, and the installments it
// announced, read from its own items.

#include "contracts/money_sources.h"
#include "loan_impl.h"

namespace cellfleet::loan {

class MoneyFacts : public contracts::ContractMoneySource {
 public:
  explicit MoneyFacts(Context& ctx) : ctx_(ctx) {}
  contracts::ContractMoneyPage contracts(const std::string& org_id,
                                         const std::string& cursor) override;

 private:
  Context& ctx_;
};

}  // namespace cellfleet::loan
