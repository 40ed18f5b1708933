#include "pack_cache.h"

namespace cellfleet::device {

namespace {
std::string key_of(const std::string& org_id, const std::string& name) {
  return org_id + "#" + name;
}
}  // namespace

std::uint64_t PackCache::generation() const {
  std::lock_guard lock(mutex_);
  return generation_;
}

std::optional<storage::Item> PackCache::find(const std::string& org_id,
                                             const std::string& device_id, SteadyTime now) const {
  if (!enabled()) return std::nullopt;
  std::lock_guard lock(mutex_);
  const auto found = packs_.find(key_of(org_id, device_id));
  if (found == packs_.end() || found->second.until <= now) return std::nullopt;
  const Pack& pack = found->second;
  storage::Item item = {{"id", device_id}, {"serial", pack.serial}, {"state", pack.state}};
  if (pack.nominal_voltage_mv) item["nominal_voltage_mv"] = *pack.nominal_voltage_mv;
  return item;
}

std::optional<std::string> PackCache::find_serial(const std::string& org_id,
                                                  const std::string& serial, SteadyTime now) const {
  if (!enabled()) return std::nullopt;
  std::lock_guard lock(mutex_);
  const auto found = serials_.find(key_of(org_id, serial));
  if (found == serials_.end() || found->second.second <= now) return std::nullopt;
  return found->second.first;
}

void PackCache::store(const std::string& org_id, const storage::Item& device,
                      std::uint64_t generation, SteadyTime now) {
  if (!enabled()) return;
  Pack pack;
  pack.serial = device.value("serial", "");
  pack.state = device.value("state", "");
  if (const auto nominal = device.find("nominal_voltage_mv"); nominal != device.end()) {
    pack.nominal_voltage_mv = nominal->get<std::int64_t>();
  }
  pack.until = now + ttl_;
  const std::string id = device.at("id");
  std::lock_guard lock(mutex_);
  if (generation != generation_) return;  // a change raced the read: what it read may be old
  if (packs_.size() >= max_packs_) {
    packs_.clear();
    serials_.clear();
    alerts_.clear();
  }
  if (!pack.serial.empty())
    serials_.insert_or_assign(key_of(org_id, pack.serial), std::pair(id, pack.until));
  packs_.insert_or_assign(key_of(org_id, id), std::move(pack));
}

void PackCache::forget(const std::string& org_id, const std::string& device_id) {
  std::lock_guard lock(mutex_);
  ++generation_;
  const auto found = packs_.find(key_of(org_id, device_id));
  if (found == packs_.end()) return;
  serials_.erase(key_of(org_id, found->second.serial));
  packs_.erase(found);
}

std::optional<std::vector<std::string>> PackCache::find_open_alerts(const std::string& org_id,
                                                                    const std::string& device_id,
                                                                    SteadyTime now) const {
  if (!enabled()) return std::nullopt;
  std::lock_guard lock(mutex_);
  const auto found = alerts_.find(key_of(org_id, device_id));
  if (found == alerts_.end() || found->second.second <= now) return std::nullopt;
  return found->second.first;
}

void PackCache::store_open_alerts(const std::string& org_id, const std::string& device_id,
                                  std::vector<std::string> kinds, std::uint64_t generation,
                                  SteadyTime now) {
  if (!enabled()) return;
  std::lock_guard lock(mutex_);
  if (generation != generation_) return;
  if (alerts_.size() >= max_packs_) alerts_.clear();
  alerts_.insert_or_assign(key_of(org_id, device_id), std::pair(std::move(kinds), now + ttl_));
}

void PackCache::forget_open_alerts(const std::string& org_id, const std::string& device_id) {
  std::lock_guard lock(mutex_);
  ++generation_;
  alerts_.erase(key_of(org_id, device_id));
}

}  // namespace cellfleet::device
