#pragma once
// Listing and searching an organization's customers, a page at a time.
//
//   ?phone=   exact, through the phone's claim item: one get, then the customer (0 or 1 item)
//   ?name=    case-insensitive prefix of the name, through gsi2 (name key, then id): results in
//             name order
//   neither   every customer, through gsi1, in id (creation) order
//   ?status=  applied to what the index returns, as a DynamoDB filter expression would be: a
//             page reads at most kListReadBudget customers, so it may come back short (even
//             empty) with a next_cursor to continue
// The cursor is the last index sort key examined (keyset pagination), so no customer is skipped
// or repeated between pages; it names its mode, and a cursor of another list is a 400.

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "billing_impl.h"
#include "core/http/paging.h"

namespace cellfleet::billing {

inline constexpr std::size_t kListReadBudget = 1000;

struct CustomerFilter {
  std::optional<std::string> phone;        // E.164
  std::optional<std::string> name_prefix;  // a name_prefix_key, never empty
  std::optional<std::string> status;
};

// From ?phone=&name=&status=; 400 naming query.<param> when one is malformed. A phone's "+" sent
// unencoded arrives as a space and is taken for the "+" it was.
CustomerFilter read_customer_filter(const http::Request& req);

struct CustomerList {
  std::vector<storage::Item> customers;
  std::string next_cursor;  // "" on the last page
};

CustomerList list_customers(const Context& ctx, const std::string& org_id,
                            const CustomerFilter& filter, const http::PageRequest& page);

}  // namespace cellfleet::billing
