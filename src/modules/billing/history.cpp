#include "history.h"

#include "core/item_view.h"

namespace cellfleet::billing {

contracts::RecordPage History::customers(const std::string& org_id, const std::string& cursor) {
  return contracts::index_list_page(ctx_.store, kTable, keys::customers(org_id), cursor,
                                    [](const storage::Item& item) { return item_view(item); });
}

}  // namespace cellfleet::billing
