#include "history.h"

namespace cellfleet::loan {

contracts::RecordPage History::products(const std::string& org_id, const std::string& cursor) {
  storage::Query q;
  q.table = kTable;
  q.index = "gsi1";
  q.partition = keys::products(org_id);
  q.limit = 1000;
  q.cursor = cursor;
  auto page = ctx_.store.query(q);
  contracts::RecordPage out;
  out.next_cursor = std::move(page.next_cursor);
  for (const auto& item : page.items) out.records.push_back(public_view(item));
  return out;
}

std::optional<nlohmann::json> History::contract(const std::string& org_id,
                                                const std::string& contract_id) {
  auto c = ctx_.find_contract(org_id, contract_id);
  if (!c) return std::nullopt;
  return public_view(*c);
}

}  // namespace cellfleet::loan
