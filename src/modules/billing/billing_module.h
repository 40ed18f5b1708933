#pragma once
// The billing module: customers (the renters), payments recorded by operators and reported by
// providers' signed webhooks, and invoices (manual ones, and those contracts make: installments
// and PAYG receipts), numbered per organization without gaps.

#include <memory>

#include "contracts/contract_directory.h"
#include "contracts/customer_directory.h"
#include "contracts/history_sources.h"
#include "contracts/money_sources.h"
#include "contracts/organization_directory.h"
#include "core/clock.h"
#include "core/events/dispatcher.h"
#include "core/events/publisher.h"
#include "core/http/router.h"
#include "core/log.h"
#include "storage/store.h"

namespace cellfleet::billing {

class BillingModule {
 public:
  BillingModule(storage::Store& store, const Clock& clock, Logger& log, events::Publisher& events,
                contracts::OrganizationDirectory& organizations);
  ~BillingModule();
  BillingModule(const BillingModule&) = delete;
  BillingModule& operator=(const BillingModule&) = delete;

  void register_routes(http::Router& router);
  // Subscribes "billing.invoices" to the contract events that make invoices (installment due and
  // paid, PAYG payments applied).
  void subscribe(events::Dispatcher& dispatcher);
  // What other modules may ask about customers (the loan module, before a contract is signed).
  contracts::CustomerDirectory& customers();
  // Customers for the warehouse export.
  contracts::CustomerHistory& history();
  // Payments (method, amount, received and reversed when) for `cellfleet insights rebuild`.
  contracts::PaymentSource& payments();
  // What billing asks the loan module before it takes a payment for a contract. Set once, before
  // the server starts (the loan module is built after billing, which it asks about customers).
  void use_contracts(contracts::ContractDirectory& contracts);

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace cellfleet::billing
