#pragma once
// Contracts: signing (a customer, an in-stock battery and a product's terms), reading, listing,
// the ledger, the early-payoff quote, cancellation with the battery's return, and write-off.
//
// States: pending_deposit -> active <-> overdue -> paid_off; active | overdue | pending_deposit
// -> cancelled (the battery comes back); overdue -> written_off. Settlement (settlement.h)
// moves the first four; operators move the last two.
//
// A lease-to-own schedule is stored on the contract: installment 0 is the deposit plus the
// upfront fee, due on the start date; installments 1..n come from amortization.h, the first
// one period after the start date. Dates are local dates of the organization's time zone.

#include "contracts/contract_directory.h"
#include "core/http/router.h"
#include "loan_impl.h"
#include "products.h"

namespace cellfleet::loan {

class Contracts final : public contracts::ContractDirectory {
 public:
  Contracts(Context& context, Products& products) : ctx_(context), products_(products) {}
  void register_routes(http::Router& router);

  std::optional<contracts::ContractInfo> find_contract(const std::string& org_id,
                                                       const std::string& contract_id) override;

 private:
  http::Response sign(http::Request& req);
  http::Response get(http::Request& req);
  http::Response list(http::Request& req);
  http::Response ledger(http::Request& req);
  http::Response payoff(http::Request& req);
  http::Response cancel(http::Request& req);
  http::Response write_off(http::Request& req);
  // cancel and write_off: closes the contract with a ledger entry that clears its balance.
  http::Response close(http::Request& req, const std::string& to);

  Context& ctx_;
  Products& products_;
};

}  // namespace cellfleet::loan
