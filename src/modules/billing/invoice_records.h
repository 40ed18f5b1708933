#pragma once
// Invoices as stored items: their keys, lines and totals, the gapless numbering, the API view and
// the payloads of their events. Used by the routes (invoices.cpp) and the subscriber
// (invoice_events.cpp) alike, so an invoice is built one way whoever makes it.
//
// Items (table entities):
//   org#<org>#invoice#<inv>            sk invoice        the invoice
//       gsi1 org#<org>#invoices / <inv>                  the organization's list, by id
//       gsi2 org#<org>#customer#<cus>#invoices / <inv>   one customer's, by id
//   org#<org>#invoice_counter#<year>   sk counter        {year, last, version}: the last number
//                                                        given in that local year
//   org#<org>#invoice_claim#<con>#<n>  sk invoice_claim  {invoice_id}: installment n of contract
//                                                        con has its invoice (one get finds it)
//
// Numbering: a number is taken by incrementing the year's counter, version-checked, in the same
// write as the invoice that carries it. Two writers that read the same counter cannot both
// commit, and a write that fails takes no number, so numbers are never skipped or reused, across
// instances too. A voided invoice keeps its number.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "billing_impl.h"
#include "core/calendar.h"

namespace cellfleet::billing {

namespace invoice_keys {
inline std::string invoice(const std::string& org_id, const std::string& invoice_id) {
  return "org#" + org_id + "#invoice#" + invoice_id;
}
inline constexpr const char* kInvoiceSk = "invoice";
inline std::string all(const std::string& org_id) {
  return "org#" + org_id + "#invoices";
}
inline std::string of_customer(const std::string& org_id, const std::string& customer_id) {
  return "org#" + org_id + "#customer#" + customer_id + "#invoices";
}
inline std::string counter(const std::string& org_id, int year) {
  return "org#" + org_id + "#invoice_counter#" + std::to_string(year);
}
inline constexpr const char* kCounterSk = "counter";
inline std::string claim(const std::string& org_id, const std::string& contract_id,
                         std::int64_t n) {
  return "org#" + org_id + "#invoice_claim#" + contract_id + "#" + std::to_string(n);
}
inline constexpr const char* kClaimSk = "invoice_claim";
}  // namespace invoice_keys

// Largest total (and largest line amount) an invoice may have, in minor units; as a payment.
inline constexpr std::int64_t kMaxInvoiceAmount = 1'000'000'000'000;

bool is_invoice_status(const std::string& status);  // draft | open | paid | void

struct InvoiceLine {
  std::string description;
  std::int64_t quantity = 1;
  std::int64_t unit_amount = 0;  // minor units; negative for a discount
  std::string kind;              // principal | interest | fee | top_up | "" (manual)
};

// Σ quantity × unit_amount, or nullopt when a product or the sum leaves int64.
std::optional<std::int64_t> lines_total(const std::vector<InvoiceLine>& lines);

struct NewInvoice {
  std::string kind;    // installment | receipt | manual
  std::string status;  // draft (manual), open (installment), paid
  std::string customer_id;
  std::optional<std::string> contract_id;
  std::optional<std::int64_t> installment;  // n, for kind installment
  std::optional<std::string> payment_id;    // for kind receipt
  std::string currency;
  std::vector<InvoiceLine> lines;
  std::optional<std::string> due_date;  // local date, YYYY-MM-DD
  std::optional<std::string> notes;
  std::optional<std::string> paid_at;  // RFC 3339, for status paid
  std::string created_by;              // an actor, or the subscriber's name
};

// The item of a new invoice (version 1) without a number. Throws std::invalid_argument when the
// total overflows or exceeds kMaxInvoiceAmount (the routes check it first).
storage::Item new_invoice_item(const std::string& org_id, const std::string& invoice_id,
                               const NewInvoice& invoice, std::int64_t now);

struct InvoiceNumber {
  int year = 0;
  std::int64_t seq = 0;
  std::string text;  // INV-2026-000123 (more digits after 999,999)
};

// Takes the next number of the organization's local year at now: reads the year's counter and
// appends its version-checked increment to batch. The batch must also write the invoice that
// carries the number; when another writer took the number first, write() throws ConditionFailed
// on this operation and nothing is taken.
InvoiceNumber take_number(storage::Store& store, storage::WriteBatch& batch,
                          const std::string& org_id, const OrgCalendar& calendar, std::int64_t now);

// What issuing sets on an invoice: status open (or kept paid), the number, issued_at.
nlohmann::json issue_fields(const InvoiceNumber& number, std::int64_t now);

// The calendar of an organization's zone; 404 Error when there is no such organization.
OrgCalendar organization_calendar(const Context& ctx, const std::string& org_id);

// The organization's invoice, or nullopt (also for a malformed id).
std::optional<storage::Item> find_invoice(const Context& ctx, const std::string& org_id,
                                          const std::string& invoice_id);

// The API's view of an invoice: the item without its keys.
nlohmann::json invoice_view(const storage::Item& invoice);

// Payloads of invoice.issued, invoice.paid and invoice.voided.
nlohmann::json issued_event_data(const storage::Item& invoice);
nlohmann::json paid_event_data(const storage::Item& invoice);
nlohmann::json voided_event_data(const storage::Item& invoice, const std::string& previous,
                                 const std::string& reason, const std::string& actor);

// "YYYY-MM-DD" as a valid date from 1970 to 9999, or nullopt.
std::optional<std::chrono::year_month_day> parse_local_date(const std::string& text);
std::string format_local_date(std::chrono::year_month_day d);

}  // namespace cellfleet::billing
