#pragma once
// Listing an organization's packs with filters, a page at a time.
//
// The most selective indexed filter picks the index: last seen (gsi1 of the latest-reading
// items, a time range), else state (gsi2), else every pack (gsi1, by id). The other filters are
// applied to what the index returns, as a DynamoDB filter expression would be: a page reads at
// most kListReadBudget items, so a rare match may come back as a short (even empty) page with a
// next_cursor to continue. The cursor is the last sort key examined, so no item is skipped or
// repeated between pages.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/http/paging.h"
#include "device_impl.h"

namespace cellfleet::device {

inline constexpr std::size_t kListReadBudget = 1000;

struct DeviceFilter {
  std::optional<std::string> state;
  std::optional<std::string> model;
  std::optional<std::string> tag;
  std::optional<std::string> depot;
  std::optional<std::int64_t> seen_after_ms;   // last reading at or after (packs that reported)
  std::optional<std::int64_t> seen_before_ms;  // last reading before
};

// From ?state=&model=&tag=&depot=&last_seen_after=&last_seen_before= (RFC 3339); 400 when bad.
DeviceFilter read_device_filter(const http::Request& req);

struct DeviceList {
  std::vector<storage::Item> devices;
  std::string next_cursor;  // "" on the last page
};

DeviceList list_devices(const Context& ctx, const std::string& org_id, const DeviceFilter& filter,
                        const http::PageRequest& page);

}  // namespace cellfleet::device
