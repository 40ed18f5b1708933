#pragma once
// Battery packs: the registry (create, read, update, list with filters, bulk import) and their
// lifecycle state machine.
//
//   registered -> in_stock | retired
//   in_stock   -> deployed | maintenance | retired
//   deployed   -> returned
//   returned   -> in_stock | maintenance | retired
//   maintenance-> in_stock | retired
//   retired    (final)
//
// A pack enters "deployed" bound to the contract that deployed it (contract_id) and leaves it
// with that binding cleared. Every change publishes an event: device.registered,
// device.updated, device.state_changed.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "core/http/router.h"
#include "device_impl.h"

namespace cellfleet::device {

// The states a pack in state from may move to next; empty for "retired" and unknown states.
const std::vector<std::string>& allowed_next_states(std::string_view from);
bool is_state(std::string_view state);

// Pieces of creating packs, shared by create and import.
storage::Item new_device_item(const Context& ctx, const std::string& org_id,
                              const std::string& device_id, nlohmann::json fields);
// Claims serial for device_id within the organization (must_not_exist).
storage::Put serial_claim(const std::string& org_id, const std::string& serial,
                          const std::string& device_id);
Error serial_taken(const std::string& serial);  // the 409
// Appends the pack's move to state `to` (version-checked against device as read) with its
// device.state_changed event, and applies the change to device. contract_id binds the pack (to
// "deployed"); any other move clears the binding. The caller has checked the move is allowed.
void append_state_change(const Context& ctx, storage::WriteBatch& batch, const std::string& org_id,
                         storage::Item& device, const std::string& to, const std::string& reason,
                         const std::string& actor, const std::optional<std::string>& contract_id);

class Registry {
 public:
  explicit Registry(Context& context) : ctx_(context) {}
  void register_routes(http::Router& router);

 private:
  http::Response create(http::Request& req);
  http::Response get(http::Request& req);
  http::Response update(http::Request& req);
  http::Response list(http::Request& req);
  http::Response import(http::Request& req);
  http::Response transition(http::Request& req);

  Context& ctx_;
};

}  // namespace cellfleet::device
