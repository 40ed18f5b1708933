#pragma once
// What the loan and billing modules hand `cellfleet insights rebuild` to recompute the money
// figures from (insights/rebuild.h): each contract's and each payment's facts as their own items
// state them, a page at a time, so the insights module never reads those modules' keys.
// Implemented by loan (loan/money_facts.cpp) and billing (billing/payment_facts.cpp), wired in
// main.cpp, as contracts::FleetSource is for the fleet.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace cellfleet::contracts {

struct ContractMoneyFacts {
  std::string id;
  // The contract as it now stands, in the form every loan event carries as data.contract
  // (state, kind, product_id, outstanding_principal, delinquency_bucket, price_per_day, ...).
  nlohmann::json snapshot;
  // From its ledger: the payments applied to it ("payment" entries, amount > 0 as applied) and
  // taken back ("reversal" entries), in ledger order.
  struct Movement {
    std::string payment_id;
    std::int64_t amount = 0;
    std::string at;  // the ledger entry's time (RFC 3339 UTC)
  };
  std::vector<Movement> applied;
  std::vector<Movement> reversed;
  // The installments whose due date has been announced (contract.installment_due published:
  // n <= announced_through), as the schedule now holds them.
  struct Due {
    std::string due;             // local date, YYYY-MM-DD
    std::int64_t amount = 0;     // principal + interest + fee
  };
  std::vector<Due> announced;
};

struct ContractMoneyPage {
  std::vector<ContractMoneyFacts> contracts;
  std::string next_cursor;  // "" after the last page
};

class ContractMoneySource {
 public:
  virtual ~ContractMoneySource() = default;
  // The organization's contracts in id order, up to 200 a page.
  virtual ContractMoneyPage contracts(const std::string& org_id, const std::string& cursor) = 0;
};

struct PaymentFacts {
  std::string id;
  std::string method;
  std::int64_t amount = 0;
  std::string received_at;                 // RFC 3339 UTC
  std::optional<std::string> reversed_at;  // RFC 3339 UTC, when it was reversed
};

struct PaymentPage {
  std::vector<PaymentFacts> payments;
  std::string next_cursor;  // "" after the last page
};

class PaymentSource {
 public:
  virtual ~PaymentSource() = default;
  // The organization's payments in id order, up to 1,000 a page.
  virtual PaymentPage payments(const std::string& org_id, const std::string& cursor) = 0;
};

}  // namespace cellfleet::contracts
