#include "history.h"

namespace cellfleet::loan {

contracts::RecordPage History::products(const std::string& org_id, const std::string& cursor) {
  return contracts::index_list_page(ctx_.store, kTable, keys::products(org_id), cursor,
                                    [](const storage::Item& item) { return public_view(item); });
}

std::optional<nlohmann::json> History::contract(const std::string& org_id,
                                                const std::string& contract_id) {
  auto c = ctx_.find_contract(org_id, contract_id);
  if (!c) return std::nullopt;
  return public_view(*c);
}

}  // namespace cellfleet::loan
