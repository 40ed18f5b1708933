#pragma once
// The loan module: products (the terms an operator offers), contracts that bind a customer and a
// battery to a product (PAYG rental or lease-to-own), their schedules, the allocation of payments
// and the ledger, delinquency, and the contract events that decide whether a battery may run.

#include <cstdint>
#include <memory>

#include "contracts/customer_directory.h"
#include "contracts/device_binding.h"
#include "contracts/organization_directory.h"
#include "contracts/contract_directory.h"
#include "contracts/history_sources.h"
#include "contracts/money_sources.h"
#include "core/clock.h"
#include "core/events/dispatcher.h"
#include "core/events/publisher.h"
#include "core/http/router.h"
#include "core/log.h"
#include "storage/store.h"

namespace cellfleet::loan {

struct LoanOptions {
  // How often the scheduler re-evaluates contracts whose credit ran out or whose installment
  // passed a due date, grace period or delinquency bucket boundary.
  std::int64_t check_interval_seconds = 60;
};

struct LoanDeps {
  storage::Store& store;
  const Clock& clock;
  Logger& log;
  events::Publisher& events;
  contracts::OrganizationDirectory& organizations;
  contracts::CustomerDirectory& customers;
  contracts::DeviceBinding& devices;
};

class LoanModule {
 public:
  LoanModule(LoanDeps deps, LoanOptions options);
  ~LoanModule();  // stop()
  LoanModule(const LoanModule&) = delete;
  LoanModule& operator=(const LoanModule&) = delete;

  void register_routes(http::Router& router);
  // Subscribes "loan.payments" to payment.received: each payment is applied to its contract.
  void subscribe(events::Dispatcher& dispatcher);
  // What billing asks before it accepts a payment for a contract.
  contracts::ContractDirectory& directory();
  // Products and contracts for the warehouse export.
  contracts::LoanHistory& history();
  // Contracts' snapshots, ledgers and announced installments for `cellfleet insights rebuild`.
  contracts::ContractMoneySource& money();

  // Starts and stops the scheduler. Idempotent.
  void start();
  void stop();
  // One scheduler pass over every organization, on the calling thread; returns how many
  // contracts changed.
  std::size_t check_due_contracts();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace cellfleet::loan
