#pragma once
// The loan module's inside, shared by its files:
//   products.cpp     the terms an operator offers: create, read, update, list     (Products)
//   contracts.cpp    signing, reading, listing, cancel, write-off, ledger, payoff (Contracts)
//   repayment.cpp    pure rules: allocation, standing (days past due, state), payoff
//   settlement.cpp   applying payments and the scheduler's re-evaluation          (Settlement)
//
// Item layout (table entities; every partition key starts with "org#<org>"):
//   org#<org>#product#<prd>    sk product    terms; gsi1 org#<org>#products / <prd>
//   org#<org>#contract#<con>   sk contract   the contract with its product snapshot, schedule
//                                            (installments with what was paid of each), credit
//                                            (PAYG), standing and access decision;
//                                            gsi1 org#<org>#contracts / <con>,
//                                            gsi2 org#<org>#customer#<cus>#contracts / <con>
//   org#<org>#contract#<con>   sk ledger#<seq:8>   one ledger entry (never edited)
//   org#<org>#loan_checks      sk <epoch s:11>#<con>  when the scheduler must look at the contract
//                                            next (credit expiry, a grace period or bucket ending)
//   org#<org>#customer_credit#<cus>  sk credit   overpayment kept for the customer's next dues
//   org#<org>#payment_applied#<pay>  sk applied  where a payment went (contract, the amounts per
//                                            installment or the PAYG credit, what became customer
//                                            credit): what a reversal undoes

#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "contracts/customer_directory.h"
#include "contracts/device_binding.h"
#include "contracts/organization_directory.h"
#include "core/clock.h"
#include "core/events/publisher.h"
#include "core/http/message.h"
#include "core/ids.h"
#include "core/log.h"
#include "loan_module.h"
#include "storage/store.h"

namespace cellfleet::loan {

inline constexpr const char* kTable = "entities";

namespace keys {
inline std::string product(const std::string& org, const std::string& id) {
  return "org#" + org + "#product#" + id;
}
inline std::string products(const std::string& org) {
  return "org#" + org + "#products";
}
inline std::string contract(const std::string& org, const std::string& id) {
  return "org#" + org + "#contract#" + id;
}
inline std::string contracts(const std::string& org) {
  return "org#" + org + "#contracts";
}
inline std::string customer_contracts(const std::string& org, const std::string& customer) {
  return "org#" + org + "#customer#" + customer + "#contracts";
}
inline std::string checks(const std::string& org) {
  return "org#" + org + "#loan_checks";
}
std::string check_sk(std::int64_t epoch_s, const std::string& contract_id);
std::string ledger_sk(std::int64_t seq);
inline std::string customer_credit(const std::string& org, const std::string& customer) {
  return "org#" + org + "#customer_credit#" + customer;
}
inline std::string payment_applied(const std::string& org, const std::string& payment) {
  return "org#" + org + "#payment_applied#" + payment;
}
}  // namespace keys

struct Context {
  Context(LoanDeps deps, LoanOptions options)
      : store(deps.store),
        clock(deps.clock),
        log(deps.log),
        events(deps.events),
        organizations(deps.organizations),
        customers(deps.customers),
        devices(deps.devices),
        options(options),
        ids(deps.clock) {}

  storage::Store& store;
  const Clock& clock;
  Logger& log;
  events::Publisher& events;
  contracts::OrganizationDirectory& organizations;
  contracts::CustomerDirectory& customers;
  contracts::DeviceBinding& devices;
  LoanOptions options;
  IdGenerator ids;

  // The caller's organization (currency, time zone); a 404 when it vanished meanwhile.
  contracts::OrganizationInfo organization(const std::string& org_id) const;
  std::optional<storage::Item> find_contract(const std::string& org_id,
                                             const std::string& contract_id) const;
  // The contract, or a 404 Error naming it (a malformed id too).
  storage::Item require_contract(const std::string& org_id, const std::string& contract_id) const;
};

// The API's view of a stored item: without keys and index attributes.
nlohmann::json public_view(const storage::Item& item);

}  // namespace cellfleet::loan
