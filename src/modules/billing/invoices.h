#pragma once
// Invoices: what a customer is asked to pay, numbered per organization and local calendar year
// without gaps (INV-2026-000123; invoice_records.h says how).
//
//   POST /v1/invoices                        Idempotency-Key required; 201 with a draft (no
//                                            number): customer_id, contract_id?, lines
//                                            [{description, quantity, unit_amount}], due_date,
//                                            notes?
//   POST /v1/invoices/{invoice_id}/issue     draft -> open, with the next number
//   POST /v1/invoices/{invoice_id}/void      {reason}: draft or open -> void (paid: 409)
//   GET  /v1/invoices/{invoice_id}
//   GET  /v1/invoices/{invoice_id}/html      a printable page (text/html)
//   GET  /v1/invoices?customer_id=&contract_id=&status=&limit=&cursor=
//
// Reads: any member. Writes: owner, admin, finance (invoices are the finance side's documents;
// operators record payments, which make receipts by themselves). issue and void take If-Match.
//
// The subscriber "billing.invoices" makes the invoices of contracts (invoice_events.cpp):
//   contract.installment_due   -> an open installment invoice (lines principal, interest, fee)
//   contract.installment_paid  -> that invoice paid (made paid at once when the installment was
//                                 paid before it fell due, so it has none yet)
//   contract.payment_applied   -> for PAYG, a receipt: paid at once, one line "credit top-up"
// Events: invoice.issued (every invoice when it gets its number), invoice.paid, invoice.voided.

#include <optional>
#include <string>

#include "billing_impl.h"
#include "core/events/dispatcher.h"
#include "core/http/router.h"

namespace cellfleet::billing {

class Invoices {
 public:
  explicit Invoices(Context& context) : ctx_(context) {}
  void register_routes(http::Router& router);
  // Subscribes "billing.invoices" to the contract events above.
  void subscribe(events::Dispatcher& dispatcher);

 private:
  http::Response create(http::Request& req);
  http::Response issue(http::Request& req);
  http::Response void_invoice(http::Request& req);
  http::Response get(http::Request& req);
  http::Response html(http::Request& req);
  http::Response list(http::Request& req);

  // The {invoice_id} of a request, in the caller's organization; 404 when there is none.
  storage::Item invoice_of(const http::Request& req) const;

  // invoice_events.cpp
  void on_installment_due(const events::Event& event, storage::WriteBatch& effects);
  void on_installment_paid(const events::Event& event, storage::WriteBatch& effects);
  void on_payment_applied(const events::Event& event, storage::WriteBatch& effects);
  // Voids the open invoice of the event's contract's installment n, if there is one.
  void void_open_invoice(const events::Event& event, std::int64_t n, const std::string& reason,
                         storage::WriteBatch& effects);
  // The invoice claimed for installment n of a contract, when there is one.
  std::optional<std::string> claimed_invoice(const std::string& org_id,
                                             const std::string& contract_id, std::int64_t n) const;

  Context& ctx_;
};

}  // namespace cellfleet::billing
