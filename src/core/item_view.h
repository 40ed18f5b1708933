#pragma once
// The API's view of a stored item: every attribute but the store's keys (pk, sk), the owning
// organization (implied by the caller) and the index attributes (gsi*). Modules answer with it
// instead of each filtering its items.

#include <nlohmann/json.hpp>

namespace cellfleet {

inline nlohmann::json item_view(const nlohmann::json& item) {
  nlohmann::json view = nlohmann::json::object();
  for (const auto& [name, value] : item.items()) {
    if (name == "pk" || name == "sk" || name == "org_id" || name.rfind("gsi", 0) == 0) continue;
    view[name] = value;
  }
  return view;
}

}  // namespace cellfleet
