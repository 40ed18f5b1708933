#pragma once
// The billing module's inside, shared by its files. Context is what every part needs (the store,
// the clock, the publisher, customer lookup); each part of the module is a class of its own file:
//   customers.cpp       customers: create, read, update, list; the CustomerDirectory (Customers)
//   customer_fields.cpp a customer's fields read from client JSON, with field errors
//   customer_list.cpp   listing and searching customers a page at a time
//   name_key.cpp        the case-folded name the name search is served by
//   payments.cpp        payments: record (Idempotency-Key), read, list          (Payments)
//   webhooks.cpp        providers' signed payment callbacks, and their secrets  (Webhooks)
//   invoices.cpp        invoices over HTTP: drafts, issue, void, read, list      (Invoices)
//   invoice_events.cpp  the invoices contracts make: the "billing.invoices" subscriber
//   invoice_records.cpp invoice items, gapless numbering, views, event payloads
//   invoice_list.cpp    listing invoices a page at a time
//   invoice_html.cpp    the printable page of an invoice
//
// Item layout. Everything sits under partition keys that start with "org#<org id>".
//   entities  org#<org>#customer#<cus>          sk customer   the customer
//               gsi1 org#<org>#customers / <cus>                  (list, by id)
//               gsi2 org#<org>#customers#name / <name key>#<cus>  (name prefix search)
//   entities  org#<org>#customers#phone#<phone> sk phone      claims a phone (E.164) within the
//                                                              organization: {customer_id}
// The name key is the name trimmed, its whitespace runs collapsed to one space and its letters
// folded to lower case (name_key.h). The phone claim is written with must_not_exist in the same
// batch as the customer, and swapped (new claim put, old one deleted) in the batch that changes
// the phone, so two customers of one organization never share a phone, even under races.
// Payments' items are listed in payments.h, invoices' in invoice_records.h.

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "contracts/contract_directory.h"
#include "contracts/organization_directory.h"
#include "core/clock.h"
#include "core/events/publisher.h"
#include "core/http/message.h"
#include "core/ids.h"
#include "core/log.h"
#include "storage/store.h"

namespace cellfleet::billing {

namespace keys {
inline std::string customer(const std::string& org_id, const std::string& customer_id) {
  return "org#" + org_id + "#customer#" + customer_id;
}
inline constexpr const char* kCustomerSk = "customer";
inline std::string customers(const std::string& org_id) {
  return "org#" + org_id + "#customers";
}
inline std::string customers_by_name(const std::string& org_id) {
  return "org#" + org_id + "#customers#name";
}
// The gsi2 sort key of a customer: its name key, then its id so equal names stay distinct.
inline std::string customer_name_sort(const std::string& name_key, const std::string& customer_id) {
  return name_key + "#" + customer_id;
}
inline std::string phone(const std::string& org_id, const std::string& phone) {
  return "org#" + org_id + "#customers#phone#" + phone;
}
inline constexpr const char* kPhoneSk = "phone";
inline std::string payment(const std::string& org_id, const std::string& payment_id) {
  return "org#" + org_id + "#payment#" + payment_id;
}
inline constexpr const char* kPaymentSk = "payment";
// The gsi1 partition listing every payment of the organization in id order.
inline std::string payments(const std::string& org_id) {
  return "org#" + org_id + "#payments";
}
}  // namespace keys

inline constexpr const char* kTable = "entities";

struct Context {
  Context(storage::Store& store, const Clock& clock, Logger& log, events::Publisher& events,
          contracts::OrganizationDirectory& organizations)
      : store(store),
        clock(clock),
        log(log),
        events(events),
        organizations(organizations),
        ids(clock) {}

  storage::Store& store;
  const Clock& clock;
  Logger& log;
  events::Publisher& events;
  contracts::OrganizationDirectory& organizations;
  contracts::ContractDirectory* contract_directory = nullptr;  // BillingModule::use_contracts
  IdGenerator ids;

  contracts::ContractDirectory& contracts() const;

  std::optional<storage::Item> find_customer(const std::string& org_id,
                                             const std::string& customer_id) const;
  // The customer, or a 404 Error naming it. A malformed id is a 404 too: there is no such
  // customer.
  storage::Item require_customer(const std::string& org_id, const std::string& customer_id) const;
  // The customer a request is about: the {customer_id} path parameter, in the caller's
  // organization.
  storage::Item customer_of(const http::Request& req) const;
  // The id of the organization's customer holding phone, or nullopt when none does.
  std::optional<std::string> phone_holder(const std::string& org_id,
                                          const std::string& phone) const;
};

// The API's view of a customer: the item without its keys.
nlohmann::json customer_view(const storage::Item& customer);

}  // namespace cellfleet::billing
