#pragma once
// Contracts: signing (a customer, an in-stock battery and a product's terms), reading, listing,
// the ledger, the early-payoff quote, cancellation with the battery's return, and write-off.
//
// States: pending_deposit -> active <-> overdue -> paid_off; overdue <-> defaulted (90+ days
// past due); any open state -> cancelled (the battery comes back); overdue | defaulted ->
// written_off. Settlement (settlement.h) moves the first five; operators the last two.
//
// Rescheduling (POST /v1/contracts/{id}/reschedule, an open lease-to-own contract) replaces
// the installments not fully paid by a new schedule of the outstanding principal at the
// contract's rate: each open installment is closed at what was paid of it, its unpaid fees and
// penalties are carried into the first new installment's fee, and its unpaid interest is dropped
// (the new schedule charges interest on the principal from now on). A ledger entry
// "reschedule" records the difference in what is owed.
//
// A lease-to-own schedule is stored on the contract: installment 0 is the deposit plus the
// upfront fee, due on the start date; installments 1..n come from amortization.h, the first
// one period after the start date. Dates are local dates of the organization's time zone.

#include <chrono>

#include "amortization.h"
#include "contracts/contract_directory.h"
#include "core/http/router.h"
#include "loan_impl.h"
#include "products.h"

namespace cellfleet::loan {

// Schedule pieces shared by signing and rescheduling.
Frequency frequency_of(const std::string& name);
// The amortization terms of a lease product's terms for principal over installments.
LoanTerms loan_terms(const nlohmann::json& terms, std::int64_t principal, int installments);
// A stored installment: number n, due date, nothing owed or paid yet; or one from a schedule.
nlohmann::json installment_item(int n, std::chrono::year_month_day due);
nlohmann::json installment_item(const Installment& inst, int n);

class Contracts final : public contracts::ContractDirectory {
 public:
  Contracts(Context& context, Products& products) : ctx_(context), products_(products) {}
  void register_routes(http::Router& router);

  std::optional<contracts::ContractInfo> find_contract(const std::string& org_id,
                                                       const std::string& contract_id) override;
  std::optional<std::string> reversal_blocker(const std::string& org_id,
                                              const std::string& payment_id) override;

 private:
  http::Response sign(http::Request& req);
  http::Response get(http::Request& req);
  http::Response list(http::Request& req);
  http::Response ledger(http::Request& req);
  http::Response payoff(http::Request& req);
  http::Response cancel(http::Request& req);
  http::Response write_off(http::Request& req);
  http::Response reschedule(http::Request& req);        // reschedule.cpp
  http::Response customer_balance(http::Request& req);  // reschedule.cpp
  // cancel and write_off: closes the contract with a ledger entry that clears its balance.
  http::Response close(http::Request& req, const std::string& to);

  Context& ctx_;
  Products& products_;
};

}  // namespace cellfleet::loan
