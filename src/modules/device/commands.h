#pragma once
// Commands: lock / unlock / permanent_unlock queued per pack, fetched and acknowledged by it.
//
// A command states the pack's desired state, so the pack is only ever told the latest one:
// queueing a command supersedes the pack's pending (not yet delivered) command, and the pack's
// fetch (GET /v1/device/commands) hands out at most one command, the newest.
//
//   pending ──► delivered ──► acknowledged | failed        (the pack's ack, result ok | failed)
//      │            └───────► expired
//      ├──► superseded    (a newer command was queued before this one was delivered)
//      └──► expired       (not acknowledged within command_expiry_hours of being queued)
//
// "expired" is decided when read: a pending or delivered command past its expiry shows as
// expired everywhere (lists, fetch, ack). A pending one's stored status becomes "expired" when
// the pack's next command is queued; a delivered one keeps "delivered" in the store. No event
// reports an expiry.
//
// Delivery is at least once. A fetch marks the newest pending command delivered with a
// conditional write, so two concurrent fetches do not both take it; a delivered command the pack
// has not acknowledged within command_redelivery_seconds is handed out again (once per period),
// so an answer lost on the way to the pack heals itself. Commands are desired states, so doing
// one twice is harmless, and a repeated ack with the same result is answered 200.
//
// Item layout (table entities, under the pack's partition keys::device(org, dev)):
//   sk cmd#<cmd id>   one command: id, device_id, command, reason, source {type: "operator",
//                     actor} | {type: "access_policy", ref}, status, created_at (RFC 3339),
//                     expiry_s (epoch seconds), deliveries, delivered_at (the first), and when
//                     settled acknowledged_at, result, result_message or superseded_by. Ids are
//                     ULIDs, so reading the partition backwards lists newest first.
//   sk lock           the pack's lock: "latest", a copy of the newest command's id, command,
//                     status, created_at, expiry_s and last hand-out (delivered_s); "reported",
//                     the state the pack last acknowledged doing (state, command_id, at);
//                     "permanently_unlocked", true for good once a permanent unlock was
//                     acknowledged; version. Every command write also writes this item with
//                     version_is, so queueing, fetching and acknowledging one pack's commands are
//                     serialised and a race costs a re-read, never a double delivery or a lost
//                     supersession. It is not the device item, whose version guards operators'
//                     If-Match updates.
// The Idempotency-Key records of POST /v1/devices/{id}/commands are core/http/idempotency.h's.

#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/http/notifier.h"
#include "core/http/router.h"
#include "device_impl.h"

namespace cellfleet::device {

enum class CommandKind { lock, unlock, permanent_unlock };
std::string_view command_name(CommandKind kind);
std::optional<CommandKind> parse_command(std::string_view name);

// Who asked: an operator (actor: "usr_..." or "key_...") or the access policy (ref: what decided
// it, e.g. the contract id).
struct CommandSource {
  std::string type;  // "operator" | "access_policy"
  std::string ref;
  static CommandSource operator_(std::string actor) { return {"operator", std::move(actor)}; }
  static CommandSource access_policy(std::string ref) { return {"access_policy", std::move(ref)}; }
};

struct QueuedCommand {
  storage::Item command;                  // the stored command item (command_view shows it)
  std::optional<std::string> superseded;  // the pending command it superseded
};

// The API's view of a stored command, with its status as of now_s (epoch seconds).
nlohmann::json command_view(const storage::Item& command, std::int64_t now_s);

// The pack's lock, for GET /v1/devices/{id} to show: nullopt when no command was ever queued for
// it, else
//   {"latest": {"command_id", "command", "status", "created_at"},   (the newest command)
//    "reported": {"state": "locked" | "unlocked" | "permanently_unlocked",
//                 "command_id": "cmd_...", "at": "2026-..Z"},      (absent until an ok ack)
//    "permanently_unlocked": bool}                     (a permanent unlock was acknowledged)
// One strongly consistent item read.
std::optional<nlohmann::json> lock_view(const Context& ctx, const std::string& org_id,
                                        const std::string& device_id);
// The same view of a lock item already read.
std::optional<nlohmann::json> lock_view(const Context& ctx, const storage::Item& lock);

class Commands {
 public:
  Commands(Context& context, http::Notifier& notifier) : ctx_(context), notifier_(notifier) {}
  void register_routes(http::Router& router);

  // For the access policy: appends a new command for the pack (its item as read) to batch,
  // superseding the pack's pending command, with its device.command_queued event (at most 6
  // operations). Reads the pack's lock item: when the batch is written after another write to the
  // pack's commands, it fails with ConditionFailed; read the pack and call again. Throws a 409
  // Error for a retired pack, and for a lock after the pack acknowledged a permanent unlock.
  QueuedCommand append_command(storage::WriteBatch& batch, const std::string& org_id,
                               const storage::Item& device, CommandKind kind, std::string reason,
                               CommandSource source);
  // Wakes the pack's waiting fetch at once; call after the batch was written. (Without it the
  // fetch finds the command at its next re-check, within server.long_poll_recheck_ms.)
  void notify_queued(const std::string& org_id, const std::string& device_id);

 private:
  http::Response queue(http::Request& req);
  http::Response list(http::Request& req);
  http::Response fetch(http::Request& req);
  http::Response ack(http::Request& req);

  // The command to hand the pack now (marked delivered), if any.
  std::optional<storage::Item> take_for_delivery(const std::string& org_id,
                                                 const std::string& device_id);
  // Records the pack's result for one of its commands; returns the command as stored. 404 when
  // the pack has no such command, 409 when it is closed otherwise (superseded, expired, or
  // acknowledged with the other result).
  storage::Item acknowledge(const std::string& org_id, const std::string& device_id,
                            const std::string& command_id, bool ok,
                            const std::optional<std::string>& message);

  Context& ctx_;
  http::Notifier& notifier_;
};

}  // namespace cellfleet::device
