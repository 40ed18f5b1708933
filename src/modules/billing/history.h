#pragma once
// The billing module's customers for the warehouse export (contracts/history_sources.h), by id
// from their list index. Payments reach the warehouse through the event log.

#include "billing_impl.h"
#include "contracts/history_sources.h"

namespace cellfleet::billing {

class History : public contracts::CustomerHistory {
 public:
  explicit History(Context& ctx) : ctx_(ctx) {}
  contracts::RecordPage customers(const std::string& org_id, const std::string& cursor) override;

 private:
  Context& ctx_;
};

}  // namespace cellfleet::billing
