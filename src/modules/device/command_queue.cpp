// Commands in the store: queueing (with supersession), handing out to the pack, and its
// acknowledgement. The rules are in commands.h.
#include <fmt/format.h>

#include "command_items.h"
#include "commands.h"
#include "core/error.h"
#include "core/timestamp.h"

namespace cellfleet::device {

using namespace command_items;

namespace {
// How often a write that lost a race with another write to the same pack's commands is retried
// against a fresh read.
constexpr int kAttempts = 3;

// The lock state a pack reports by acknowledging command with result ok.
std::string state_after(const std::string& command) {
  if (command == "lock") return "locked";
  if (command == "unlock") return "unlocked";
  return "permanently_unlocked";
}

nlohmann::json source_json(const CommandSource& source) {
  return {{"type", source.type}, {source.type == "operator" ? "actor" : "ref", source.ref}};
}
}  // namespace

std::string_view command_name(CommandKind kind) {
  switch (kind) {
    case CommandKind::lock:
      return "lock";
    case CommandKind::unlock:
      return "unlock";
    case CommandKind::permanent_unlock:
      return "permanent_unlock";
  }
  return "lock";
}

std::optional<CommandKind> parse_command(std::string_view name) {
  for (auto kind : {CommandKind::lock, CommandKind::unlock, CommandKind::permanent_unlock}) {
    if (command_name(kind) == name) return kind;
  }
  return std::nullopt;
}

nlohmann::json command_view(const storage::Item& command, std::int64_t now_s) {
  nlohmann::json view = {{"id", command.at("id")},
                         {"device_id", command.at("device_id")},
                         {"command", command.at("command")},
                         {"reason", command.at("reason")},
                         {"source", command.at("source")},
                         {"status", status_at(command, now_s)},
                         {"created_at", command.at("created_at")},
                         {"expires_at", format_utc(command.at("expiry_s").get<std::int64_t>())},
                         {"deliveries", command.value("deliveries", 0)}};
  for (const char* name :
       {"delivered_at", "acknowledged_at", "result", "result_message", "superseded_by"}) {
    if (command.contains(name)) view[name] = command.at(name);
  }
  return view;
}

std::optional<nlohmann::json> lock_view(const Context& ctx, const std::string& org_id,
                                        const std::string& device_id) {
  auto lock = ctx.store.get(kTable, {keys::device(org_id, device_id), kLockSk});
  if (!lock) return std::nullopt;
  return lock_view(ctx, *lock);
}

std::optional<nlohmann::json> lock_view(const Context& ctx, const storage::Item& lock) {
  if (!lock.contains("latest")) return std::nullopt;
  const auto& latest = lock.at("latest");
  nlohmann::json view = {{"latest",
                          {{"command_id", latest.at("id")},
                           {"command", latest.at("command")},
                           {"status", status_at(latest, ctx.clock.epoch_seconds())},
                           {"created_at", latest.at("created_at")}}},
                         {"permanently_unlocked", lock.value("permanently_unlocked", false)}};
  if (lock.contains("reported")) view["reported"] = lock.at("reported");
  return view;
}

QueuedCommand Commands::append_command(storage::WriteBatch& batch, const std::string& org_id,
                                       const storage::Item& device, CommandKind kind,
                                       std::string reason, CommandSource source) {
  if (device.at("state") == "retired") {
    throw Error(ErrorKind::conflict, "a retired pack takes no commands");
  }
  const std::string device_id = device.at("id");
  const std::string pk = keys::device(org_id, device_id);
  const auto lock = ctx_.store.get(kTable, {pk, kLockSk});
  if (kind == CommandKind::lock && lock && lock->value("permanently_unlocked", false)) {
    throw Error(ErrorKind::conflict,
                "this pack was permanently unlocked (it belongs to its customer) and cannot be "
                "locked again");
  }
  const std::int64_t now = ctx_.clock.epoch_seconds();
  const std::string id = ctx_.ids.next("cmd");
  const std::string name(command_name(kind));
  const std::string created_at = format_utc(now);
  const std::int64_t expiry = now + ctx_.options.command_expiry_hours * 3600;
  const nlohmann::json from = source_json(source);
  storage::Item command = {{"pk", pk},
                           {"sk", command_sk(id)},
                           {"id", id},
                           {"device_id", device_id},
                           {"command", name},
                           {"reason", reason},
                           {"source", from},
                           {"status", "pending"},
                           {"created_at", created_at},
                           {"expiry_s", expiry},
                           {"deliveries", 0}};
  batch.ops.push_back(storage::Put{kTable, command, storage::Condition::must_not_exist()});

  QueuedCommand out{command, std::nullopt};
  // Only the newest command can be pending: each queueing settles the one before.
  if (lock && lock->contains("latest") && lock->at("latest").at("status") == "pending") {
    const auto& previous = lock->at("latest");
    nlohmann::json set = {{"status", "expired"}};
    if (status_at(previous, now) == "pending") {
      set = {{"status", "superseded"}, {"superseded_by", id}};
      out.superseded = previous.at("id").get<std::string>();
    }
    batch.ops.push_back(storage::Update{kTable,
                                        {pk, command_sk(previous.at("id"))},
                                        std::move(set),
                                        {},
                                        storage::Condition::must_exist()});
  }
  write_lock(batch, pk, lock,
             {{"latest",
               {{"id", id},
                {"command", name},
                {"status", "pending"},
                {"created_at", created_at},
                {"expiry_s", expiry}}}});
  nlohmann::json data = {
      {"command_id", id}, {"command", name}, {"reason", std::move(reason)}, {"source", from}};
  if (out.superseded) data["supersedes"] = *out.superseded;
  ctx_.events.publish(batch, org_id, "device.command_queued", device_id, std::move(data));
  return out;
}

void Commands::notify_queued(const std::string& org_id, const std::string& device_id) {
  notifier_.notify(wait_key(org_id, device_id));
}

std::optional<storage::Item> Commands::take_for_delivery(const std::string& org_id,
                                                         const std::string& device_id) {
  const std::string pk = keys::device(org_id, device_id);
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    const auto lock = ctx_.store.get(kTable, {pk, kLockSk});
    if (!lock || !lock->contains("latest")) return std::nullopt;
    nlohmann::json latest = lock->at("latest");
    const std::int64_t now = ctx_.clock.epoch_seconds();
    const std::string status = status_at(latest, now);
    const bool first = status == "pending";
    const bool again =
        status == "delivered" && now - latest.value("delivered_s", std::int64_t{0}) >=
                                     ctx_.options.command_redelivery_seconds;
    if (!first && !again) return std::nullopt;
    const std::string id = latest.at("id");
    auto command = ctx_.store.get(kTable, {pk, command_sk(id)});
    if (!command) return std::nullopt;

    nlohmann::json set = {{"status", "delivered"},
                          {"deliveries", command->value("deliveries", 0) + 1}};
    if (first) set["delivered_at"] = format_utc(now);
    storage::WriteBatch batch;
    batch.ops.push_back(
        storage::Update{kTable, {pk, command_sk(id)}, set, {}, storage::Condition::must_exist()});
    latest["status"] = "delivered";
    latest["delivered_s"] = now;
    write_lock(batch, pk, lock, {{"latest", latest}});
    if (first) {
      ctx_.events.publish(batch, org_id, "device.command_delivered", device_id,
                          {{"command_id", id}, {"command", latest.at("command")}});
    }
    try {
      ctx_.events.commit(batch);
    } catch (const storage::ConditionFailed&) {
      continue;  // another fetch, queueing or ack came first: look again
    }
    for (auto& [name, value] : set.items()) (*command)[name] = value;
    return command;
  }
  return std::nullopt;  // busy pack: its next fetch will find the command
}

storage::Item Commands::acknowledge(const std::string& org_id, const std::string& device_id,
                                    const std::string& command_id, bool ok,
                                    const std::optional<std::string>& message) {
  const std::string pk = keys::device(org_id, device_id);
  const std::string done = ok ? "acknowledged" : "failed";
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    auto command = ctx_.store.get(kTable, {pk, command_sk(command_id)});
    if (!command) throw not_found("this pack has no command " + command_id);
    const std::int64_t now = ctx_.clock.epoch_seconds();
    const std::string status = status_at(*command, now);
    if (status == "acknowledged" || status == "failed") {
      if (status == done) return *command;  // a repeat of the same ack
      throw Error(ErrorKind::conflict,
                  fmt::format("the command was already acknowledged with result {}",
                              command->value("result", "")));
    }
    if (!is_open(status)) {
      throw Error(ErrorKind::conflict,
                  fmt::format("the command is {}; it can no longer be acknowledged", status));
    }
    const auto lock = ctx_.store.get(kTable, {pk, kLockSk});
    const std::string name = command->at("command");
    nlohmann::json set = {
        {"status", done}, {"result", ok ? "ok" : "failed"}, {"acknowledged_at", format_utc(now)}};
    if (message) set["result_message"] = *message;
    storage::WriteBatch batch;
    batch.ops.push_back(storage::Update{
        kTable, {pk, command_sk(command_id)}, set, {}, storage::Condition::must_exist()});

    nlohmann::json lock_set = nlohmann::json::object();
    if (lock && lock->contains("latest") && lock->at("latest").at("id") == command_id) {
      auto latest = lock->at("latest");
      latest["status"] = done;
      lock_set["latest"] = std::move(latest);
    }
    // Acks may arrive out of order: the newest acknowledged command (ids sort by time) sets the
    // reported state.
    const bool reports =
        ok && (!lock || !lock->contains("reported") ||
               lock->at("reported").at("command_id").get<std::string>() < command_id);
    if (reports) {
      lock_set["reported"] = {
          {"state", state_after(name)}, {"command_id", command_id}, {"at", format_utc(now)}};
    }
    if (ok && name == "permanent_unlock") lock_set["permanently_unlocked"] = true;
    write_lock(batch, pk, lock, std::move(lock_set));

    nlohmann::json data = {{"command_id", command_id}, {"command", name}};
    if (message) data["message"] = *message;
    ctx_.events.publish(batch, org_id, ok ? "device.command_acknowledged" : "device.command_failed",
                        device_id, data);
    if (reports) {
      ctx_.events.publish(batch, org_id,
                          name == "lock"     ? "device.locked"
                          : name == "unlock" ? "device.unlocked"
                                             : "device.permanently_unlocked",
                          device_id,
                          {{"command_id", command_id},
                           {"reason", command->at("reason")},
                           {"source", command->at("source")}});
    }
    try {
      ctx_.events.commit(batch);
    } catch (const storage::ConditionFailed&) {
      continue;
    }
    for (auto& [key, value] : set.items()) (*command)[key] = value;
    return *command;
  }
  throw Error(ErrorKind::conflict, "the pack's commands changed meanwhile; retry");
}

}  // namespace cellfleet::device
