#include "device_list.h"

#include <algorithm>

#include "core/error.h"
#include "core/json_input.h"
#include "core/timestamp.h"
#include "reading.h"
#include "registry.h"

namespace cellfleet::device {

namespace {

enum class Mode : char { by_id = 'i', by_state = 's', by_last_seen = 't' };

// Cursors name the mode and the last sort key examined; "#" becomes "." so the cursor needs no
// escaping in a query string.
std::string make_cursor(Mode mode, std::string key) {
  std::replace(key.begin(), key.end(), '#', '.');
  return std::string(1, static_cast<char>(mode)) + "." + key;
}

std::string read_cursor(Mode mode, const std::string& cursor) {
  if (cursor.empty()) return "";
  if (cursor.size() < 3 || cursor[0] != static_cast<char>(mode) || cursor[1] != '.') {
    throw http::foreign_cursor();
  }
  std::string key = cursor.substr(2);
  const bool ok = std::all_of(key.begin(), key.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' ||
           c == '.';
  });
  if (!ok) throw http::foreign_cursor();
  std::replace(key.begin(), key.end(), '.', '#');
  return key;
}

std::optional<std::int64_t> time_param(const http::Request& req, const char* name,
                                       std::vector<FieldError>& errors) {
  auto text = req.query(name);
  if (!text) return std::nullopt;
  auto ms = parse_utc_ms(*text);
  if (!ms) {
    errors.push_back({std::string("query.") + name, "must be an RFC 3339 time"});
    return std::nullopt;
  }
  return *ms;
}

bool matches(const storage::Item& device, const DeviceFilter& f) {
  if (f.state && device.value("state", "") != *f.state) return false;
  if (f.model && device.value("model", "") != *f.model) return false;
  if (f.depot && device.value("depot", "") != *f.depot) return false;
  if (f.tag) {
    auto tags = device.value("tags", nlohmann::json::array());
    if (std::find(tags.begin(), tags.end(), *f.tag) == tags.end()) return false;
  }
  return true;
}

}  // namespace

DeviceFilter read_device_filter(const http::Request& req) {
  DeviceFilter f;
  std::vector<FieldError> errors;
  f.state = req.query("state");
  if (f.state && !is_state(*f.state)) {
    errors.push_back({"query.state",
                      "must be one of registered, in_stock, deployed, returned, maintenance, "
                      "retired"});
  }
  f.model = req.query("model");
  f.tag = req.query("tag");
  f.depot = req.query("depot");
  f.seen_after_ms = time_param(req, "last_seen_after", errors);
  f.seen_before_ms = time_param(req, "last_seen_before", errors);
  if (!errors.empty()) throw validation_error(std::move(errors));
  return f;
}

DeviceList list_devices(const Context& ctx, const std::string& org_id, const DeviceFilter& f,
                        const http::PageRequest& page) {
  storage::Query q;
  q.table = kTable;
  Mode mode = Mode::by_id;
  std::string upper;  // by_last_seen: the highest sort key in range
  if (f.seen_after_ms || f.seen_before_ms) {
    mode = Mode::by_last_seen;
    q.index = "gsi1";
    q.partition = keys::devices_by_last_seen(org_id);
    // "<ms>#<device>": "$" sorts after "#", so every device of the last millisecond is in.
    const std::string lower = keys::time_key(f.seen_after_ms.value_or(0));
    upper = f.seen_before_ms ? keys::time_key(*f.seen_before_ms - 1) + "$" : "9999999999999$";
    if (f.seen_before_ms && *f.seen_before_ms <= f.seen_after_ms.value_or(0)) return {};
    q.sort = storage::SortCondition{storage::SortCondition::Op::between, lower, upper};
  } else if (f.state) {
    mode = Mode::by_state;
    q.index = "gsi2";
    q.partition = keys::devices_in_state(org_id, *f.state);
  } else {
    q.index = "gsi1";
    q.partition = keys::devices(org_id);
  }
  const std::string sort_attribute = mode == Mode::by_state ? "gsi2sk" : "gsi1sk";

  DeviceList out;
  std::string last = read_cursor(mode, page.cursor);
  std::size_t read = 0;
  while (true) {
    if (!last.empty()) {
      q.sort = storage::SortCondition{storage::SortCondition::Op::gt, last, ""};
    }
    q.limit = std::min<std::size_t>(200, kListReadBudget - read);
    auto batch = ctx.store.query(q);
    for (const auto& item : batch.items) {
      const std::string key = item.at(sort_attribute);
      if (mode == Mode::by_last_seen && key > upper) return out;
      ++read;
      last = key;
      std::optional<storage::Item> device = item;
      if (mode == Mode::by_last_seen) device = ctx.find_device(org_id, item.at("device_id"));
      if (device && matches(*device, f)) out.devices.push_back(std::move(*device));
      if (out.devices.size() == page.limit) {
        out.next_cursor = make_cursor(mode, last);
        return out;
      }
    }
    if (batch.next_cursor.empty()) return out;
    if (read >= kListReadBudget) {
      out.next_cursor = make_cursor(mode, last);
      return out;
    }
  }
}

}  // namespace cellfleet::device
