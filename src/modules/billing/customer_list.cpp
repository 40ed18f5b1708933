#include "customer_list.h"

#include <algorithm>

#include "core/error.h"
#include "core/json_input.h"
#include "customer_fields.h"
#include "name_key.h"

namespace cellfleet::billing {

namespace {

enum class Mode : char { by_id = 'i', by_name = 'n' };

// Cursors are "<mode>.<hex of the last sort key>": name keys hold any character, and hex needs no
// escaping in a query string. The longest name key (200 four-byte characters) and its id stay
// under the 2048 characters a cursor may have.
std::string make_cursor(Mode mode, const std::string& key) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = {static_cast<char>(mode), '.'};
  for (unsigned char c : key) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 0x0F]);
  }
  return out;
}

std::string read_cursor(Mode mode, const std::string& cursor) {
  if (cursor.empty()) return "";
  if (cursor.size() < 4 || cursor.size() % 2 != 0 || cursor[0] != static_cast<char>(mode) ||
      cursor[1] != '.') {
    throw http::foreign_cursor();
  }
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  std::string key;
  for (std::size_t i = 2; i < cursor.size(); i += 2) {
    const int hi = nibble(cursor[i]);
    const int lo = nibble(cursor[i + 1]);
    if (hi < 0 || lo < 0) throw http::foreign_cursor();
    key.push_back(static_cast<char>(hi * 16 + lo));
  }
  return key;
}

std::size_t utf8_length(std::string_view s) {
  return static_cast<std::size_t>(
      std::count_if(s.begin(), s.end(), [](char c) { return (c & 0xC0) != 0x80; }));
}

bool matches(const storage::Item& customer, const CustomerFilter& f) {
  if (f.status && customer.value("status", "") != *f.status) return false;
  if (f.name_prefix) {
    if (!name_key(customer.value("name", "")).starts_with(*f.name_prefix)) return false;
  }
  return true;
}

CustomerList find_by_phone(const Context& ctx, const std::string& org_id, const CustomerFilter& f,
                           const http::PageRequest& page) {
  // A phone lookup is one page; there is nothing a cursor could continue.
  if (!page.cursor.empty()) throw http::foreign_cursor();
  CustomerList out;
  auto holder = ctx.phone_holder(org_id, *f.phone);
  if (!holder) return out;
  auto customer = ctx.find_customer(org_id, *holder);
  if (customer && matches(*customer, f)) out.customers.push_back(std::move(*customer));
  return out;
}

}  // namespace

CustomerFilter read_customer_filter(const http::Request& req) {
  CustomerFilter f;
  std::vector<FieldError> errors;
  if (auto phone = req.query("phone")) {
    if (!phone->empty() && phone->front() == ' ') phone->front() = '+';
    f.phone = normalized_phone(*phone);
    if (!f.phone) errors.push_back({"query.phone", kPhoneRule});
  }
  if (auto name = req.query("name")) {
    auto key = name_prefix_key(*name);
    if (key.empty()) {
      errors.push_back({"query.name", "must not be blank"});
    } else if (utf8_length(*name) > 200) {
      errors.push_back({"query.name", "must be at most 200 characters long"});
    } else {
      f.name_prefix = std::move(key);
    }
  }
  f.status = req.query("status");
  if (f.status && !is_customer_status(*f.status)) {
    errors.push_back({"query.status", "must be active or blocked"});
  }
  if (!errors.empty()) throw validation_error(std::move(errors));
  return f;
}

CustomerList list_customers(const Context& ctx, const std::string& org_id, const CustomerFilter& f,
                            const http::PageRequest& page) {
  if (f.phone) return find_by_phone(ctx, org_id, f, page);

  const Mode mode = f.name_prefix ? Mode::by_name : Mode::by_id;
  const std::string last = read_cursor(mode, page.cursor);
  storage::Query q;
  q.table = kTable;
  std::string sort_attribute;
  if (mode == Mode::by_name) {
    const std::string& prefix = *f.name_prefix;
    if (!last.empty() && !last.starts_with(prefix)) throw http::foreign_cursor();
    q.index = "gsi2";
    q.partition = keys::customers_by_name(org_id);
    // Every key that begins with the prefix lies in [prefix, prefix + 0xFF]: no UTF-8 text has
    // the byte 0xFF. From a cursor the range starts at the last key seen, which is skipped.
    q.sort = storage::SortCondition{storage::SortCondition::Op::between,
                                    last.empty() ? prefix : last, prefix + "\xff"};
    sort_attribute = "gsi2sk";
  } else {
    if (!last.empty() && !is_id(last, "cus")) throw http::foreign_cursor();
    q.index = "gsi1";
    q.partition = keys::customers(org_id);
    if (!last.empty()) q.sort = storage::SortCondition{storage::SortCondition::Op::gt, last, ""};
    sort_attribute = "gsi1sk";
  }

  CustomerList out;
  std::size_t read = 0;
  while (true) {
    // Unfiltered, a page needs as many items as it lacks, and one more to tell whether another
    // page follows (by name, one more again: the range starts at the cursor's own key; and a name
    // key may begin with the prefix while the name does not, "ab#cus_..." for the prefix "ab#c",
    // which matches() drops). Filtered by status, read ahead in larger steps.
    const std::size_t want =
        f.status ? 200 : page.limit - out.customers.size() + (mode == Mode::by_name ? 2 : 1);
    q.limit = std::max<std::size_t>(1, std::min(want, kListReadBudget - read));
    auto batch = ctx.store.query(q);
    for (std::size_t i = 0; i < batch.items.size(); ++i) {
      const auto& item = batch.items[i];
      const std::string key = item.at(sort_attribute);
      if (key == last) continue;
      ++read;
      if (matches(item, f)) out.customers.push_back(item);
      if (out.customers.size() == page.limit) {
        const bool more = i + 1 < batch.items.size() || !batch.next_cursor.empty();
        if (more) out.next_cursor = make_cursor(mode, key);
        return out;
      }
      if (read >= kListReadBudget) {
        out.next_cursor = make_cursor(mode, key);
        return out;
      }
    }
    if (batch.next_cursor.empty()) return out;
    q.cursor = batch.next_cursor;
  }
}

}  // namespace cellfleet::billing
