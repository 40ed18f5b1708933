#pragma once
// The stored shape of commands and of the pack's lock item (layout in commands.h), shared by
// commands.cpp (the routes) and command_queue.cpp (queueing, delivery, acknowledgement).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "device_impl.h"

namespace cellfleet::device::command_items {

inline constexpr const char* kLockSk = "lock";
inline constexpr std::string_view kCommandSkPrefix = "cmd#";

inline std::string command_sk(const std::string& command_id) {
  return std::string(kCommandSkPrefix) + command_id;
}

// What a pack's waiting fetch is parked on (http::Notifier key).
inline std::string wait_key(const std::string& org_id, const std::string& device_id) {
  return "device-commands/" + org_id + "/" + device_id;
}

inline bool is_open(std::string_view status) {
  return status == "pending" || status == "delivered";
}

// A stored command's (or the lock item's "latest" copy's) status as of now_s: a pending or
// delivered command whose expiry has passed is expired.
inline std::string status_at(const nlohmann::json& command, std::int64_t now_s) {
  std::string status = command.at("status");
  if (is_open(status) && now_s >= command.at("expiry_s").get<std::int64_t>()) return "expired";
  return status;
}

// Adds to batch the write of set onto the pack's lock item as it was read (absent: created),
// guarded by the version read, so any other write to the pack's commands in between fails it.
inline void write_lock(storage::WriteBatch& batch, const std::string& pk,
                       const std::optional<storage::Item>& lock, nlohmann::json set) {
  if (!lock) {
    storage::Item item = std::move(set);
    item["pk"] = pk;
    item["sk"] = kLockSk;
    item["version"] = 1;
    batch.ops.push_back(
        storage::Put{kTable, std::move(item), storage::Condition::must_not_exist()});
    return;
  }
  const std::int64_t version = lock->at("version").get<std::int64_t>();
  set["version"] = version + 1;
  batch.ops.push_back(storage::Update{
      kTable, {pk, kLockSk}, std::move(set), {}, storage::Condition::version_is(version)});
}

}  // namespace cellfleet::device::command_items
