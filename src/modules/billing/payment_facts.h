#pragma once
// The billing module's payments for `cellfleet insights rebuild` (contracts/money_sources.h):
// method, amount, when received and when reversed, read from the payment items.

#include "billing_impl.h"
#include "contracts/money_sources.h"

namespace cellfleet::billing {

class PaymentFacts : public contracts::PaymentSource {
 public:
  explicit PaymentFacts(Context& ctx) : ctx_(ctx) {}
  contracts::PaymentPage payments(const std::string& org_id, const std::string& cursor) override;

 private:
  Context& ctx_;
};

}  // namespace cellfleet::billing
