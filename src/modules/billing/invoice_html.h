#pragma once
// The printable page of an invoice (GET /v1/invoices/{invoice_id}/html): one self-contained HTML
// document with its own print style, no scripts and nothing fetched from elsewhere. Every string
// that came from a client (customer name, phone, address, line descriptions, notes, organization
// name) is escaped; amounts are integers in minor units, formatted with the currency's minor
// digits (KES 1,234.50, UGX 15,000, KWD 1.250) without floating point.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/calendar.h"
#include "storage/store.h"

namespace cellfleet::billing {

// & < > " ' as character references: safe in element content and in quoted attributes.
std::string html_escape(std::string_view text);

// "KES 1,234.50", "-KES 5.00"; an unknown currency code is shown with 2 digits.
std::string format_money(std::int64_t minor_units, std::string_view currency);

struct InvoicePage {
  const storage::Item& invoice;
  std::string organization;               // its name, or its id when it has none
  std::optional<storage::Item> customer;  // absent: the page names the customer id only
  const OrgCalendar& calendar;            // dates are shown as local dates of the organization
};

std::string render_invoice_html(const InvoicePage& page);

}  // namespace cellfleet::billing
