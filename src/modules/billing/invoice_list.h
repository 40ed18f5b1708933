#pragma once
// Listing an organization's invoices, a page at a time, oldest first (by id).
//
//   neither id      every invoice, through gsi1 (org#<org>#invoices / <inv>)
//   ?customer_id=   one customer's, through gsi2 (org#<org>#customer#<cus>#invoices / <inv>)
//   ?contract_id=   the contract's customer's list (one get of the contract, then gsi2), keeping
//                   the contract's invoices: a customer has a handful of contracts, so little is
//                   read in vain, and no third index is needed
//   ?status=        applied to what the index returns, as a DynamoDB filter expression would be
// Filtered lists read at most kInvoiceReadBudget invoices per page, so a page may come back short
// (even empty) with a next_cursor to continue. The cursor is the last invoice id examined
// (keyset pagination): nothing is skipped or repeated between pages.

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "billing_impl.h"
#include "core/http/paging.h"

namespace cellfleet::billing {

inline constexpr std::size_t kInvoiceReadBudget = 1000;

struct InvoiceFilter {
  std::optional<std::string> customer_id;
  std::optional<std::string> contract_id;
  std::optional<std::string> status;
};

// From ?customer_id=&contract_id=&status=; 400 naming query.<param> when one is malformed.
InvoiceFilter read_invoice_filter(const http::Request& req);

struct InvoiceList {
  std::vector<storage::Item> invoices;
  std::string next_cursor;  // "" on the last page
};

InvoiceList list_invoices(const Context& ctx, const std::string& org_id,
                          const InvoiceFilter& filter, const http::PageRequest& page);

}  // namespace cellfleet::billing
