#include "history.h"

#include <algorithm>

namespace cellfleet::device {

contracts::RecordPage History::devices(const std::string& org_id, const std::string& cursor) {
  return contracts::index_list_page(ctx_.store, kTable, keys::devices(org_id), cursor,
                                    [](const storage::Item& item) { return device_view(item); });
}

contracts::RecordPage History::readings(const std::string& org_id, const std::string& device_id,
                                        std::int64_t after_ms, std::int64_t until_ms,
                                        std::size_t limit, const std::string& cursor) {
  contracts::RecordPage out;
  if (until_ms <= after_ms) return out;
  storage::Query q;
  q.table = kTelemetryTable;
  q.partition = keys::device(org_id, device_id);
  // Sort keys are 13-digit milliseconds: (after, until] is [after + 1, until].
  q.sort = storage::SortCondition{storage::SortCondition::Op::between,
                                  keys::time_key(std::max<std::int64_t>(after_ms + 1, 0)),
                                  keys::time_key(until_ms)};
  q.limit = std::clamp<std::size_t>(limit, 1, 1000);
  q.cursor = cursor;
  auto page = ctx_.store.query(q);
  out.next_cursor = std::move(page.next_cursor);
  for (auto& item : page.items) {
    item.erase("pk");
    item.erase("sk");
    item.erase("expires_at");
    out.records.push_back(std::move(item));
  }
  return out;
}

}  // namespace cellfleet::device
