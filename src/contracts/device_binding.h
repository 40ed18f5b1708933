#pragma once
// What the device module does for the loan module inside the loan module's own write: a contract
// is signed for a pack that is in stock, and the pack becomes deployed in the same atomic batch,
// so two contracts can never take one pack and a contract never names a pack that stayed on the
// shelf. Ending a contract with the pack's return works the same way. Implemented by the device
// module, wired in main.cpp.

#include <string>

#include "storage/store.h"

namespace cellfleet::contracts {

class DeviceBinding {
 public:
  virtual ~DeviceBinding() = default;
  // Reads the pack and appends to batch its move in_stock -> deployed bound to contract_id
  // (version-checked) with its device.state_changed event. Throws a 404 Error when the
  // organization has no such pack, and a 409 Error naming the pack's state when it is not
  // in_stock. The batch fails with ConditionFailed if the pack changes before it is written.
  virtual void deploy_for_contract(storage::WriteBatch& batch, const std::string& org_id,
                                   const std::string& device_id, const std::string& contract_id,
                                   const std::string& actor) = 0;
  // Appends the pack's move deployed -> returned, releasing contract_id. Does nothing when the
  // pack is no longer deployed under that contract (it was already returned).
  virtual void return_from_contract(storage::WriteBatch& batch, const std::string& org_id,
                                    const std::string& device_id, const std::string& contract_id,
                                    const std::string& actor) = 0;
};

}  // namespace cellfleet::contracts
