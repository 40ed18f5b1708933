#include "history.h"

#include "core/item_view.h"

namespace cellfleet::billing {

contracts::RecordPage History::customers(const std::string& org_id, const std::string& cursor) {
  storage::Query q;
  q.table = kTable;
  q.index = "gsi1";
  q.partition = keys::customers(org_id);
  q.limit = 1000;
  q.cursor = cursor;
  auto page = ctx_.store.query(q);
  contracts::RecordPage out;
  out.next_cursor = std::move(page.next_cursor);
  for (const auto& item : page.items) out.records.push_back(item_view(item));
  return out;
}

}  // namespace cellfleet::billing
