#pragma once
// Payments: money received from a customer, recorded once and never edited.
//
//   POST /v1/payments            Idempotency-Key required; 201 with the payment
//   GET  /v1/payments/{payment_id}
//   GET  /v1/payments?customer_id=&limit=&cursor=
//   POST /v1/payments/{payment_id}/reverse   {reason}: owner, admin, finance. The payment is kept
//        (status "reversed") and payment.reversed undoes what it paid: a "reversal" entry in the
//        contract's ledger, the installments or PAYG credit it paid taken back (which may lock
//        the battery). 409 when already reversed, not applied yet, or its contract is closed.
//
// A payment names a contract (its customer is the contract's) or only a customer (the loan
// module applies it to the customer's open contract that is most behind, or keeps it as the
// customer's credit). The amount is in minor units of the organization's currency; another
// currency is refused (422). A reference (the provider's or bank's transaction id) is unique per
// method within the organization: the same reference again is 409 naming the first payment.
//
// Recording writes the payment, its reference claim and the payment.received event in one
// atomic batch; the loan module's subscriber applies it to the contract (settlement), effectively
// once. So a payment is either recorded and applied, or not recorded at all.
//
// Items (table entities):
//   org#<org>#payment#<pay>            sk payment   gsi1 org#<org>#payments / <pay>,
//                                                   gsi2 org#<org>#customer#<cus>#payments / <pay>
//   org#<org>#payref#<method>#<ref>    sk payref    {payment_id}: the reference's claim

#include <optional>
#include <string>

#include "billing_impl.h"
#include "core/http/router.h"

namespace cellfleet::billing {

struct NewPayment {
  std::int64_t amount = 0;
  std::string currency;
  std::optional<std::string> customer_id;
  std::optional<std::string> contract_id;
  std::string method;  // cash | mobile_money | card | bank
  std::optional<std::string> reference;
  std::optional<std::string> provider;  // set for payments reported by a provider's webhook
  std::optional<std::int64_t> received_at;  // epoch s; now when unset
  std::optional<std::string> notes;
  // An operator's payment is held to the contract's PAYG limits (minimum top-up, maximum credit
  // days); a provider's is not: that money was already taken from the customer.
  bool within_limits = true;
};

bool is_payment_method(const std::string& method);

class Payments {
 public:
  explicit Payments(Context& context) : ctx_(context) {}
  void register_routes(http::Router& router);

  // Checks p against the organization (currency, customer, contract) and appends the payment,
  // its reference claim and its payment.received event to batch; returns the payment item.
  // Throws 422 Errors naming the field for a customer or contract the organization does not have
  // (or that does not take payments), a currency not the organization's.
  storage::Item append(storage::WriteBatch& batch, const std::string& org_id, const NewPayment& p,
                       const std::string& actor);
  // The payment holding method + reference, if any.
  std::optional<storage::Item> by_reference(const std::string& org_id, const std::string& method,
                                            const std::string& reference) const;

 private:
  http::Response create(http::Request& req);
  http::Response get(http::Request& req);
  http::Response list(http::Request& req);
  http::Response reverse(http::Request& req);
  // The payment a request names ({payment_id}), in the caller's organization; 404 otherwise.
  storage::Item payment_of(const http::Request& req) const;

  Context& ctx_;
};

// The API's view of a payment.
nlohmann::json payment_view(const storage::Item& payment);

}  // namespace cellfleet::billing
