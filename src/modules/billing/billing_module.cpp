#include "billing_module.h"

#include "billing_impl.h"
#include "core/error.h"
#include "core/item_view.h"
#include "customers.h"
#include "history.h"
#include "payment_facts.h"
#include "invoices.h"
#include "payments.h"
#include "webhooks.h"

namespace cellfleet::billing {

std::optional<storage::Item> Context::find_customer(const std::string& org_id,
                                                    const std::string& customer_id) const {
  if (!is_id(customer_id, "cus")) return std::nullopt;
  return store.get(kTable, {keys::customer(org_id, customer_id), keys::kCustomerSk});
}

storage::Item Context::require_customer(const std::string& org_id,
                                        const std::string& customer_id) const {
  auto customer = find_customer(org_id, customer_id);
  if (!customer) throw Error(ErrorKind::not_found, "no customer " + customer_id);
  return *customer;
}

storage::Item Context::customer_of(const http::Request& req) const {
  return require_customer(req.caller().org_id, req.param("customer_id"));
}

std::optional<std::string> Context::phone_holder(const std::string& org_id,
                                                 const std::string& phone) const {
  auto claim = store.get(kTable, {keys::phone(org_id, phone), keys::kPhoneSk});
  if (!claim) return std::nullopt;
  return claim->at("customer_id").get<std::string>();
}

contracts::ContractDirectory& Context::contracts() const {
  if (!contract_directory) throw std::logic_error("billing: use_contracts() was not called");
  return *contract_directory;
}

nlohmann::json customer_view(const storage::Item& customer) {
  return item_view(customer);
}

struct BillingModule::Impl {
  Impl(storage::Store& store, const Clock& clock, Logger& log, events::Publisher& events,
       contracts::OrganizationDirectory& organizations)
      : ctx(store, clock, log, events, organizations),
        customers(ctx),
        payments(ctx),
        webhooks(ctx, payments),
        invoices(ctx),
        history(ctx),
        payment_facts(ctx) {}

  Context ctx;
  Customers customers;
  Payments payments;
  Webhooks webhooks;
  Invoices invoices;
  History history;
  PaymentFacts payment_facts;
};

BillingModule::BillingModule(storage::Store& store, const Clock& clock, Logger& log,
                             events::Publisher& events,
                             contracts::OrganizationDirectory& organizations)
    : impl_(std::make_unique<Impl>(store, clock, log, events, organizations)) {}

BillingModule::~BillingModule() = default;

void BillingModule::register_routes(http::Router& router) {
  impl_->customers.register_routes(router);
  impl_->payments.register_routes(router);
  impl_->webhooks.register_routes(router);
  impl_->invoices.register_routes(router);
}

void BillingModule::subscribe(events::Dispatcher& dispatcher) {
  impl_->invoices.subscribe(dispatcher);
}

void BillingModule::use_contracts(contracts::ContractDirectory& contracts) {
  impl_->ctx.contract_directory = &contracts;
}

contracts::CustomerDirectory& BillingModule::customers() {
  return impl_->customers;
}

contracts::CustomerHistory& BillingModule::history() {
  return impl_->history;
}

contracts::PaymentSource& BillingModule::payments() {
  return impl_->payment_facts;
}

}  // namespace cellfleet::billing
