#include "invoice_list.h"

#include <algorithm>

#include "core/error.h"
#include "core/ids.h"
#include "core/json_input.h"
#include "invoice_records.h"

namespace cellfleet::billing {

namespace {

// Cursors are "<list>.<last invoice id>": 'o' the organization's list, 'c' a customer's. Ids are
// plain ASCII, so the cursor needs no escaping.
constexpr char kOrgList = 'o';
constexpr char kCustomerList = 'c';

std::string read_cursor(char list, const std::string& cursor) {
  if (cursor.empty()) return "";
  if (cursor.size() < 3 || cursor[0] != list || cursor[1] != '.' ||
      !is_id(std::string_view(cursor).substr(2), "inv")) {
    throw http::foreign_cursor();
  }
  return cursor.substr(2);
}

bool matches(const storage::Item& invoice, const InvoiceFilter& f) {
  if (f.status && invoice.value("status", "") != *f.status) return false;
  if (f.contract_id && invoice.value("contract_id", "") != *f.contract_id) return false;
  return true;
}

}  // namespace

InvoiceFilter read_invoice_filter(const http::Request& req) {
  InvoiceFilter f;
  std::vector<FieldError> errors;
  f.customer_id = req.query("customer_id");
  if (f.customer_id && !is_id(*f.customer_id, "cus")) {
    errors.push_back({"query.customer_id", "must be a customer id (cus_...)"});
  }
  f.contract_id = req.query("contract_id");
  if (f.contract_id && !is_id(*f.contract_id, "con")) {
    errors.push_back({"query.contract_id", "must be a contract id (con_...)"});
  }
  f.status = req.query("status");
  if (f.status && !is_invoice_status(*f.status)) {
    errors.push_back({"query.status", "must be draft, open, paid or void"});
  }
  if (!errors.empty()) throw validation_error(std::move(errors));
  return f;
}

InvoiceList list_invoices(const Context& ctx, const std::string& org_id, const InvoiceFilter& f,
                          const http::PageRequest& page) {
  InvoiceList out;
  std::optional<std::string> customer_id = f.customer_id;
  if (f.contract_id) {
    // A contract of another organization, or of another customer than the one named, has no
    // invoices in this list.
    auto contract = ctx.contracts().find_contract(org_id, *f.contract_id);
    if (!contract || (customer_id && *customer_id != contract->customer_id)) {
      read_cursor(kCustomerList, page.cursor);  // still refuse a cursor of another list
      return out;
    }
    customer_id = contract->customer_id;
  }
  const char list = customer_id ? kCustomerList : kOrgList;
  const std::string last = read_cursor(list, page.cursor);
  storage::Query q;
  q.table = kTable;
  if (customer_id) {
    q.index = "gsi2";
    q.partition = invoice_keys::of_customer(org_id, *customer_id);
  } else {
    q.index = "gsi1";
    q.partition = invoice_keys::all(org_id);
  }
  if (!last.empty()) q.sort = storage::SortCondition{storage::SortCondition::Op::gt, last, ""};

  const bool filtered = f.status || f.contract_id;
  std::size_t read = 0;
  while (true) {
    // Unfiltered, a page needs as many invoices as it lacks and one more to tell whether another
    // page follows; filtered, read ahead in larger steps.
    const std::size_t want = filtered ? 200 : page.limit - out.invoices.size() + 1;
    q.limit = std::max<std::size_t>(1, std::min(want, kInvoiceReadBudget - read));
    auto batch = ctx.store.query(q);
    for (std::size_t i = 0; i < batch.items.size(); ++i) {
      const auto& item = batch.items[i];
      const std::string id = item.at("id");
      ++read;
      if (matches(item, f)) out.invoices.push_back(item);
      if (out.invoices.size() == page.limit) {
        const bool more = i + 1 < batch.items.size() || !batch.next_cursor.empty();
        if (more) out.next_cursor = std::string{list, '.'} + id;
        return out;
      }
      if (read >= kInvoiceReadBudget) {
        const bool more = i + 1 < batch.items.size() || !batch.next_cursor.empty();
        if (more) out.next_cursor = std::string{list, '.'} + id;
        return out;
      }
    }
    if (batch.next_cursor.empty()) return out;
    q.cursor = batch.next_cursor;
  }
}

}  // namespace cellfleet::billing
