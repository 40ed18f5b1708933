#pragma once
// Products: the terms an operator offers. A contract copies its product's terms when it is
// signed, so editing a product later changes no signed contract.
//
//   kind "payg"          terms {price_per_day, minimum_top_up, maximum_credit_days}
//   kind "lease_to_own"  terms {cash_price, deposit, installments, frequency (daily | weekly |
//                        monthly), interest_method (flat | declining_balance), annual_rate_bp,
//                        fee_per_installment, upfront_fee, late_fee, grace_period_days}
// Amounts are integers in minor units of the organization's currency; annual_rate_bp is the
// nominal annual rate in basis points (1200 = 12 %). status "active" | "retired" (a retired
// product cannot be signed).

#include <nlohmann/json.hpp>

#include "core/http/router.h"
#include "core/json_input.h"
#include "loan_impl.h"

namespace cellfleet::loan {

// Reads and checks the terms of a product of kind into a clean object; field errors go to in
// under "terms/...".
nlohmann::json read_terms(JsonFields& in, const std::string& kind);

class Products {
 public:
  explicit Products(Context& context) : ctx_(context) {}
  void register_routes(http::Router& router);
  // The product, or a 404 Error (a malformed id too).
  storage::Item require(const std::string& org_id, const std::string& product_id) const;

 private:
  http::Response create(http::Request& req);
  http::Response get(http::Request& req);
  http::Response update(http::Request& req);
  http::Response list(http::Request& req);

  Context& ctx_;
};

}  // namespace cellfleet::loan
