#pragma once
// The device module's records for the warehouse export (contracts/history_sources.h): packs by
// id from their list index, readings of one pack by time from its telemetry partition.

#include "contracts/history_sources.h"
#include "device_impl.h"

namespace cellfleet::device {

class History : public contracts::DeviceHistory {
 public:
  explicit History(Context& ctx) : ctx_(ctx) {}
  contracts::RecordPage devices(const std::string& org_id, const std::string& cursor) override;
  contracts::RecordPage readings(const std::string& org_id, const std::string& device_id,
                                 std::int64_t after_ms, std::int64_t until_ms, std::size_t limit,
                                 const std::string& cursor) override;

 private:
  Context& ctx_;
};

}  // namespace cellfleet::device
