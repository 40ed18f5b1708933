// The command routes: operators queue and list a pack's commands; the pack fetches (long-poll)
// and acknowledges its own.
#include "commands.h"

#include <algorithm>
#include <array>
#include <chrono>

#include "command_items.h"
#include "core/error.h"
#include "core/http/idempotency.h"
#include "core/http/paging.h"
#include "core/ids.h"
#include "core/json_input.h"
#include "core/timestamp.h"

namespace cellfleet::device {

using namespace command_items;

namespace {
constexpr std::int64_t kMaxWaitSeconds = 30;
// A filtered page reads at most this many commands (like a DynamoDB filter expression), so a
// rare status may come back as a short page with a cursor to continue.
constexpr std::size_t kListReadBudget = 500;

constexpr std::array<std::string_view, 6> kStatuses = {"pending", "delivered", "acknowledged",
                                                       "failed",  "expired",   "superseded"};

// What the pack is told: the command, not who asked or why.
nlohmann::json pack_view(const storage::Item& command) {
  return {{"id", command.at("id")},
          {"command", command.at("command")},
          {"created_at", command.at("created_at")},
          {"expires_at", format_utc(command.at("expiry_s").get<std::int64_t>())}};
}

// ?wait= seconds, 0..30; 0 (the default) answers at once.
std::int64_t wait_seconds(const http::Request& req) {
  auto text = req.query("wait");
  if (!text) return 0;
  const bool digits =
      !text->empty() && text->size() <= 2 &&
      std::all_of(text->begin(), text->end(), [](char c) { return c >= '0' && c <= '9'; });
  const std::int64_t wait = digits ? std::stoll(*text) : -1;
  if (wait < 0 || wait > kMaxWaitSeconds) {
    throw bad_request("wait must be a whole number of seconds from 0 to 30",
                      {{"query.wait", "must be an integer from 0 to 30"}});
  }
  return wait;
}

std::optional<std::string> status_filter(const http::Request& req) {
  auto status = req.query("status");
  if (status && std::find(kStatuses.begin(), kStatuses.end(), *status) == kStatuses.end()) {
    throw bad_request("status is not a command status",
                      {{"query.status",
                        "must be one of pending, delivered, acknowledged, failed, expired, "
                        "superseded"}});
  }
  return status;
}
}  // namespace

http::Response Commands::queue(http::Request& req) {
  const auto& caller = req.caller();
  ctx_.device_of(req);  // another organization's pack is a 404 before anything else is said
  http::Idempotency idempotency(ctx_.store, req, caller.org_id);
  if (auto earlier = idempotency.replay()) return *earlier;

  auto body = parse_json_object(req);
  JsonFields in(body);
  const auto name = in.required_string("command", 1, 32);
  auto reason = in.required_string("reason", 1, 500);
  const auto kind = parse_command(name);
  if (!name.empty() && !kind) in.error("command", "must be one of lock, unlock, permanent_unlock");
  in.finish();

  for (int attempt = 1;; ++attempt) {
    const auto device = ctx_.device_of(req);
    storage::WriteBatch batch;
    auto queued = append_command(batch, caller.org_id, device, *kind, reason,
                                 CommandSource::operator_(caller.actor()));
    const std::int64_t now = ctx_.clock.epoch_seconds();
    auto res = http::Response::json(201, command_view(queued.command, now));
    batch.ops.push_back(idempotency.record(res, now));
    try {
      ctx_.events.commit(batch);
    } catch (const storage::ConditionFailed& e) {
      if (auto winner = idempotency.after_conflict(e)) return *winner;
      if (attempt < 3) continue;  // the pack's commands changed meanwhile: read them again
      throw Error(ErrorKind::conflict, "the pack's commands changed meanwhile; retry");
    }
    notify_queued(caller.org_id, device.at("id"));
    return res;
  }
}

http::Response Commands::list(http::Request& req) {
  const auto status = status_filter(req);
  const auto page = http::page_request(req);
  if (!page.cursor.empty() && !is_id(page.cursor, "cmd")) throw http::foreign_cursor();
  const auto device = ctx_.device_of(req);

  storage::Query q;
  q.table = kTable;
  q.partition = device.at("pk");
  q.forward = false;  // newest first
  std::string last = page.cursor;
  const std::int64_t now = ctx_.clock.epoch_seconds();
  auto items = nlohmann::json::array();
  std::size_t read = 0;
  while (true) {
    q.sort = last.empty()
                 ? storage::SortCondition{storage::SortCondition::Op::begins_with,
                                          std::string(kCommandSkPrefix), ""}
                 : storage::SortCondition{storage::SortCondition::Op::lt, command_sk(last), ""};
    q.limit = std::min<std::size_t>(200, kListReadBudget - read);
    auto batch = ctx_.store.query(q);
    for (const auto& command : batch.items) {
      // Reading down from a cursor runs past the commands into the partition's other items.
      if (command.at("sk").get<std::string>().rfind(kCommandSkPrefix, 0) != 0) {
        return http::page_response(std::move(items), "");
      }
      ++read;
      last = command.at("id");
      auto view = command_view(command, now);
      if (!status || view.at("status") == *status) items.push_back(std::move(view));
      if (items.size() == page.limit) return http::page_response(std::move(items), last);
    }
    if (batch.next_cursor.empty()) return http::page_response(std::move(items), "");
    if (read >= kListReadBudget) return http::page_response(std::move(items), last);
  }
}

http::Response Commands::fetch(http::Request& req) {
  const auto& caller = req.caller();
  const std::int64_t wait = wait_seconds(req);
  auto items = nlohmann::json::array();
  if (auto command = take_for_delivery(caller.org_id, caller.actor_id)) {
    items.push_back(pack_view(*command));
    return http::Response::json(200, {{"items", std::move(items)}});
  }
  const auto now = std::chrono::steady_clock::now();
  const auto deadline = req.poll.deadline.value_or(now + std::chrono::seconds(wait));
  if (wait > 0 && !req.poll.must_answer && now < deadline) {
    return http::Response::wait(wait_key(caller.org_id, caller.actor_id), deadline);
  }
  return http::Response::json(200, {{"items", std::move(items)}});
}

http::Response Commands::ack(http::Request& req) {
  const auto& caller = req.caller();
  const std::string& id = req.param("command_id");
  if (!is_id(id, "cmd")) throw not_found("this pack has no command " + id);
  auto body = parse_json_object(req);
  JsonFields in(body);
  const auto result = in.required_string("result", 1, 16);
  const auto message = in.optional_string("message", 0, 500);
  if (!result.empty() && result != "ok" && result != "failed") {
    in.error("result", "must be ok or failed");
  }
  in.finish();
  auto command = acknowledge(caller.org_id, caller.actor_id, id, result == "ok", message);
  return http::Response::json(200, command_view(command, ctx_.clock.epoch_seconds()));
}

void Commands::register_routes(http::Router& r) {
  auto bind = [this](auto method) { return http::member_handler(this, method); };
  const Access operators = Access::members({Role::owner, Role::admin, Role::operator_});
  r.add("POST", "/v1/devices/{device_id}/commands", operators, bind(&Commands::queue));
  r.add("GET", "/v1/devices/{device_id}/commands", Access::any_member(), bind(&Commands::list));
  r.add("GET", "/v1/device/commands", Access::device(), bind(&Commands::fetch));
  r.add("POST", "/v1/device/commands/{command_id}/ack", Access::device(), bind(&Commands::ack));
}

}  // namespace cellfleet::device
