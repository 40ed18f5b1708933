#pragma once
// The editable fields of a battery pack, read from a client's JSON object (create, update, and
// each row of a bulk import) with every problem reported as a field error.

#include <nlohmann/json.hpp>

#include "core/json_input.h"

namespace cellfleet::device {

// Reads the pack fields present in the object behind in and returns them as item attributes.
// When creating, serial, model, chemistry, capacity_wh and nominal_voltage_mv are required and
// "state" may be given (registered or in_stock). Field errors are added to in; the caller calls
// in.finish() (or collects in.errors()).
nlohmann::json read_device_fields(JsonFields& in, bool creating);

}  // namespace cellfleet::device
