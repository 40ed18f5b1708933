#pragma once
// The loan module's products and contracts for the warehouse export
// (contracts/history_sources.h). Which contracts closed, the warehouse learns from the event log.

#include "contracts/history_sources.h"
#include "loan_impl.h"

namespace cellfleet::loan {

class History : public contracts::LoanHistory {
 public:
  explicit History(Context& ctx) : ctx_(ctx) {}
  contracts::RecordPage products(const std::string& org_id, const std::string& cursor) override;
  std::optional<nlohmann::json> contract(const std::string& org_id,
                                         const std::string& contract_id) override;

 private:
  Context& ctx_;
};

}  // namespace cellfleet::loan
