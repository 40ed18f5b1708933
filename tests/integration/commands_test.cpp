// Lock and unlock commands, end to end on both backends: operators queue them, the pack fetches
// them (long-poll) with its device credential and acknowledges them.
#include <signal.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <future>
#include <optional>
#include <thread>

#include "support/api.h"

using namespace cellfleet::testing;
using namespace std::chrono_literals;
using nlohmann::json;
using steady = std::chrono::steady_clock;

namespace {

struct Pack {
  std::string id;
  std::string credential;
};

// A pack in stock, with a device credential.
Pack make_pack(const Api& api, const std::string& key, const std::string& serial) {
  const std::string id =
      create_pack(api, key, pack_fields(serial, {{"model", "CF-48V-30Ah"}, {"capacity_wh", 1440}}));
  auto stocked = api.call("POST", "/v1/devices/" + id + "/transitions", key,
                          json{{"to", "in_stock"}, {"reason", "received at depot"}}.dump());
  REQUIRE(stocked.status == 200);
  return {id, issue_credential(api, key, id)};
}

int next_key = 0;

HttpResponse queue(const Api& api, const std::string& key, const std::string& device_id,
                   const std::string& command, const std::string& idempotency_key = "") {
  return api.call("POST", "/v1/devices/" + device_id + "/commands", key,
                  json{{"command", command}, {"reason", "customer " + command}}.dump(),
                  {{"Idempotency-Key", idempotency_key.empty() ? "k-" + std::to_string(++next_key)
                                                               : idempotency_key}});
}

std::string queued_id(const HttpResponse& res) {
  INFO(res.body);
  REQUIRE(res.status == 201);
  return res.json().at("id");
}

// GET /v1/device/commands?wait=N on its own connection, read with room for the wait; nullopt when
// no complete answer came. It asserts nothing, so other threads may call it (Catch's assertions
// are not thread-safe: ThreadSanitizer reported them when this asserted from a waiting thread).
std::optional<HttpResponse> read_commands(const Api& api, const Pack& pack, int wait) {
  Connection c(api.port);
  c.send("GET /v1/device/commands?wait=" + std::to_string(wait) +
         " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + pack.credential + "\r\n\r\n");
  return c.read_response(std::chrono::seconds(wait + 15));
}

HttpResponse fetch(const Api& api, const Pack& pack, int wait = 0) {
  auto res = read_commands(api, pack, wait);
  REQUIRE(res);
  return *res;
}

json fetched(const Api& api, const Pack& pack, int wait = 0) {
  auto res = fetch(api, pack, wait);
  INFO(res.body);
  REQUIRE(res.status == 200);
  return res.json().at("items");
}

HttpResponse ack(const Api& api, const Pack& pack, const std::string& command_id,
                 const std::string& result) {
  return api.call("POST", "/v1/device/commands/" + command_id + "/ack", pack.credential,
                  json{{"result", result}, {"message", "done"}}.dump());
}

json listed(const Api& api, const std::string& key, const std::string& device_id,
            const std::string& query = "") {
  auto res = api.call("GET", "/v1/devices/" + device_id + "/commands" + query, key);
  INFO(res.body);
  REQUIRE(res.status == 200);
  return res.json().at("items");
}

std::vector<std::string> event_types(const Api& api, const std::string& key) {
  auto res = api.call("GET", "/v1/events?limit=200", key);
  REQUIRE(res.status == 200);
  const auto events = res.json();
  std::vector<std::string> types;
  for (const auto& e : events.at("items")) {
    const std::string type = e.at("type");
    if (type.rfind("device.command", 0) == 0 || type == "device.locked" ||
        type == "device.unlocked" || type == "device.permanently_unlocked") {
      types.push_back(type);
    }
  }
  return types;
}

}  // namespace

TEST_CASE("a lock queued by an operator reaches the pack and is acknowledged",
          "[integration][commands]") {
  auto backend = GENERATE(Backend::sqlite, Backend::dynamodb);
  INFO(backend_name(backend));
  auto server = start_server(backend);
  Api api{server.port()};
  auto org = create_test_org(api, "lockers");
  const auto& op = org.role_keys["operator"];
  auto pack = make_pack(api, op, "SN-1");

  auto queued = queue(api, op, pack.id, "lock");
  const std::string id = queued_id(queued);
  CHECK(queued.json().at("status") == "pending");
  CHECK(queued.json().at("source").at("type") == "operator");
  CHECK(queued.json().at("source").at("actor").get<std::string>().rfind("key_", 0) == 0);
  CHECK(listed(api, org.role_keys["viewer"], pack.id).at(0).at("status") == "pending");

  auto items = fetched(api, pack);
  REQUIRE(items.size() == 1);
  CHECK(items[0].at("id") == id);
  CHECK(items[0].at("command") == "lock");
  CHECK(fetched(api, pack).empty());  // handed out once
  auto delivered = listed(api, op, pack.id).at(0);
  CHECK(delivered.at("status") == "delivered");
  CHECK(delivered.at("deliveries") == 1);

  auto acked = ack(api, pack, id, "ok");
  INFO(acked.body);
  REQUIRE(acked.status == 200);
  CHECK(acked.json().at("status") == "acknowledged");
  CHECK(acked.json().at("result_message") == "done");
  CHECK(ack(api, pack, id, "ok").status == 200);      // a repeat is harmless
  CHECK(ack(api, pack, id, "failed").status == 409);  // a contradiction is not
  CHECK(listed(api, op, pack.id).at(0).at("status") == "acknowledged");
  CHECK(event_types(api, op) ==
        std::vector<std::string>{"device.command_queued", "device.command_delivered",
                                 "device.command_acknowledged", "device.locked"});
  // The pack's own view carries its lock state (an item of its own, read with the pack).
  auto viewed = api.call("GET", "/v1/devices/" + pack.id, op);
  REQUIRE(viewed.status == 200);
  const auto view = viewed.json();
  CHECK(view.at("id") == pack.id);
  CHECK_FALSE(view.contains("latest"));  // it never reported
  CHECK(view.at("lock").at("reported").at("state") == "locked");
  CHECK(view.at("lock").at("latest").at("command_id") == id);
  CHECK(view.at("lock").at("latest").at("status") == "acknowledged");
  CHECK(view.at("lock").at("permanently_unlocked") == false);

  // A failed unlock is recorded as failed and changes no reported state.
  const std::string unlock = queued_id(queue(api, op, pack.id, "unlock"));
  REQUIRE(fetched(api, pack).size() == 1);
  auto failed = ack(api, pack, unlock, "failed");
  REQUIRE(failed.status == 200);
  CHECK(failed.json().at("status") == "failed");
  CHECK(event_types(api, op).back() == "device.command_failed");
  CHECK(listed(api, op, pack.id, "?status=failed").size() == 1);
  const auto after = api.call("GET", "/v1/devices/" + pack.id, op).json();
  CHECK(after.at("lock").at("latest").at("command_id") == unlock);
  CHECK(after.at("lock").at("latest").at("status") == "failed");
  CHECK(after.at("lock").at("reported").at("state") == "locked");
}

TEST_CASE("a newer command supersedes one the pack has not fetched, so it gets only the latest",
          "[integration][commands]") {
  auto backend = GENERATE(Backend::sqlite, Backend::dynamodb);
  INFO(backend_name(backend));
  auto server = start_server(backend);
  Api api{server.port()};
  auto org = create_test_org(api, "supersede");
  const auto& op = org.role_keys["admin"];
  auto pack = make_pack(api, op, "SN-1");

  const std::string lock = queued_id(queue(api, op, pack.id, "lock"));
  const std::string unlock = queued_id(queue(api, op, pack.id, "unlock"));
  auto items = fetched(api, pack);
  REQUIRE(items.size() == 1);
  CHECK(items[0].at("id") == unlock);
  CHECK(items[0].at("command") == "unlock");

  auto all = listed(api, op, pack.id);  // newest first
  REQUIRE(all.size() == 2);
  CHECK(all[0].at("id") == unlock);
  CHECK(all[0].at("status") == "delivered");
  CHECK(all[1].at("id") == lock);
  CHECK(all[1].at("status") == "superseded");
  CHECK(all[1].at("superseded_by") == unlock);
  auto superseded = listed(api, op, pack.id, "?status=superseded");
  REQUIRE(superseded.size() == 1);
  CHECK(superseded[0].at("id") == lock);
  CHECK(ack(api, pack, lock, "ok").status == 409);

  // A delivered command is not superseded: it waits for its ack, and the newer one is fetched.
  const std::string relock = queued_id(queue(api, op, pack.id, "lock"));
  CHECK(fetched(api, pack).at(0).at("id") == relock);
  CHECK(listed(api, op, pack.id, "?status=delivered").size() == 2);

  // Pages of one, newest first, visit every command once.
  std::vector<std::string> seen;
  std::string cursor;
  do {
    auto res = api.call("GET",
                        "/v1/devices/" + pack.id + "/commands?limit=1" +
                            (cursor.empty() ? "" : "&cursor=" + cursor),
                        op);
    REQUIRE(res.status == 200);
    const auto page = res.json();
    for (const auto& c : page.at("items")) seen.push_back(c.at("id"));
    cursor = page.value("next_cursor", "");
  } while (!cursor.empty());
  CHECK(seen == std::vector<std::string>{relock, unlock, lock});
}

TEST_CASE("a waiting pack gets a command queued during its wait well before the deadline",
          "[integration][commands][long_poll]") {
  auto backend = GENERATE(Backend::sqlite, Backend::dynamodb);
  INFO(backend_name(backend));
  // Re-checks are rarer than the wait, so only the notify can end it early.
  auto server = start_server(backend, {{"CELLFLEET_SERVER_LONG_POLL_RECHECK_MS", "60000"}});
  Api api{server.port()};
  auto org = create_test_org(api, "waiting");
  const auto& op = org.role_keys["operator"];
  auto pack = make_pack(api, op, "SN-1");

  const auto start = steady::now();
  auto waiting = std::async(std::launch::async, [&] { return read_commands(api, pack, 25); });
  std::this_thread::sleep_for(1s);
  const std::string id = queued_id(queue(api, op, pack.id, "unlock"));
  const auto answer = waiting.get();
  const auto waited = steady::now() - start;
  REQUIRE(answer);
  const auto& res = *answer;
  INFO(res.body);
  REQUIRE(res.status == 200);
  REQUIRE(res.json().at("items").size() == 1);
  CHECK(res.json().at("items")[0].at("id") == id);
  CHECK(waited < 10s);
}

TEST_CASE("a wait with nothing to deliver ends empty at its deadline",
          "[integration][commands][long_poll]") {
  auto backend = GENERATE(Backend::sqlite, Backend::dynamodb);
  INFO(backend_name(backend));
  auto server = start_server(backend);
  Api api{server.port()};
  auto org = create_test_org(api, "quiet");
  auto pack = make_pack(api, org.role_keys["operator"], "SN-1");

  const auto start = steady::now();
  CHECK(fetched(api, pack, 2).empty());
  const auto waited = steady::now() - start;
  CHECK(waited >= 2s);
  CHECK(waited < 8s);
  CHECK(fetch(api, pack, 31).status == 400);
  CHECK(api.call("GET", "/v1/device/commands?wait=soon", pack.credential).status == 400);
}

TEST_CASE("a pack can fetch and acknowledge only its own commands", "[integration][commands]") {
  auto backend = GENERATE(Backend::sqlite, Backend::dynamodb);
  INFO(backend_name(backend));
  auto server = start_server(backend);
  Api api{server.port()};
  auto alpha = create_test_org(api, "alpha");
  auto bravo = create_test_org(api, "bravo");
  const auto& op = alpha.role_keys["operator"];
  auto mine = make_pack(api, op, "SN-1");
  auto neighbour = make_pack(api, op, "SN-2");
  auto stranger = make_pack(api, bravo.role_keys["operator"], "SN-1");

  const std::string id = queued_id(queue(api, op, mine.id, "lock"));
  CHECK(fetched(api, neighbour).empty());
  CHECK(fetched(api, stranger).empty());
  CHECK(ack(api, neighbour, id, "ok").status == 404);
  CHECK(ack(api, stranger, id, "ok").status == 404);
  CHECK(ack(api, mine, "cmd_nonsense", "ok").status == 404);
  CHECK(listed(api, op, mine.id).at(0).at("status") == "pending");  // untouched

  // Operators use the operator routes, packs the pack routes.
  CHECK(api.call("GET", "/v1/device/commands", op).status == 403);
  CHECK(api.call("POST", "/v1/device/commands/" + id + "/ack", op, R"({"result":"ok"})").status ==
        403);
  CHECK(api.call("GET", "/v1/devices/" + mine.id + "/commands", mine.credential).status == 403);
  CHECK(queue(api, mine.credential, mine.id, "unlock").status == 403);
  CHECK(api.call("GET", "/v1/devices/" + mine.id + "/commands", bravo.owner_key).status == 404);
  CHECK(queue(api, bravo.owner_key, mine.id, "unlock").status == 404);
  CHECK(queue(api, alpha.role_keys["viewer"], mine.id, "unlock").status == 403);

  REQUIRE(fetched(api, mine).size() == 1);
  CHECK(ack(api, mine, id, "ok").status == 200);
}

TEST_CASE(
    "a repeated Idempotency-Key replays the first answer, and reusing it for another request "
    "is refused",
    "[integration][commands]") {
  auto backend = GENERATE(Backend::sqlite, Backend::dynamodb);
  INFO(backend_name(backend));
  auto server = start_server(backend);
  Api api{server.port()};
  auto org = create_test_org(api, "idem");
  const auto& op = org.role_keys["operator"];
  auto pack = make_pack(api, op, "SN-1");
  auto other = make_pack(api, op, "SN-2");

  auto missing = api.call("POST", "/v1/devices/" + pack.id + "/commands", op,
                          json{{"command", "lock"}, {"reason", "overdue"}}.dump());
  CHECK(missing.status == 400);
  CHECK(missing.header("content-type") == "application/problem+json");

  auto first = queue(api, op, pack.id, "lock", "order-77");
  REQUIRE(first.status == 201);
  auto again = queue(api, op, pack.id, "lock", "order-77");
  CHECK(again.status == 201);
  CHECK(again.body == first.body);
  CHECK(again.header("idempotent-replayed") == "true");
  CHECK(listed(api, op, pack.id).size() == 1);

  CHECK(queue(api, op, pack.id, "unlock", "order-77").status == 422);
  CHECK(queue(api, op, other.id, "lock", "order-77").status == 422);
  CHECK(listed(api, op, other.id).empty());
  // Keys belong to one organization: another may use the same key.
  auto bravo = create_test_org(api, "idem-bravo");
  auto theirs = make_pack(api, bravo.role_keys["operator"], "SN-1");
  CHECK(queue(api, bravo.role_keys["operator"], theirs.id, "lock", "order-77").status == 201);
}

TEST_CASE("a retired pack takes no commands, and a permanently unlocked one is never locked again",
          "[integration][commands]") {
  auto backend = GENERATE(Backend::sqlite, Backend::dynamodb);
  INFO(backend_name(backend));
  auto server = start_server(backend);
  Api api{server.port()};
  auto org = create_test_org(api, "owned");
  const auto& op = org.role_keys["operator"];
  auto pack = make_pack(api, op, "SN-1");
  auto old = make_pack(api, op, "SN-2");

  REQUIRE(api.call("POST", "/v1/devices/" + old.id + "/transitions", op,
                   json{{"to", "retired"}, {"reason", "end of life"}}.dump())
              .status == 200);
  CHECK(queue(api, op, old.id, "lock").status == 409);

  const std::string id = queued_id(queue(api, op, pack.id, "permanent_unlock"));
  REQUIRE(fetched(api, pack).size() == 1);
  REQUIRE(ack(api, pack, id, "ok").status == 200);
  auto lock = queue(api, op, pack.id, "lock");
  CHECK(lock.status == 409);
  CHECK(lock.json().at("detail").get<std::string>().find("permanently unlocked") !=
        std::string::npos);
  CHECK(queue(api, op, pack.id, "unlock").status == 201);
  CHECK(event_types(api, op).back() == "device.command_queued");
  auto types = event_types(api, op);
  CHECK(std::find(types.begin(), types.end(), "device.permanently_unlocked") != types.end());
}

TEST_CASE("a command the pack fetched but did not acknowledge is delivered again later",
          "[integration][commands]") {
  auto backend = GENERATE(Backend::sqlite, Backend::dynamodb);
  INFO(backend_name(backend));
  auto server = start_server(backend, {{"CELLFLEET_DEVICES_COMMAND_REDELIVERY_SECONDS", "1"}});
  Api api{server.port()};
  auto org = create_test_org(api, "redeliver");
  const auto& op = org.role_keys["operator"];
  auto pack = make_pack(api, op, "SN-1");

  const std::string id = queued_id(queue(api, op, pack.id, "lock"));
  REQUIRE(fetched(api, pack).size() == 1);
  // Lost on the way: the pack asks again, and gets it once the redelivery period has passed.
  auto items = fetched(api, pack, 5);
  REQUIRE(items.size() == 1);
  CHECK(items[0].at("id") == id);
  CHECK(listed(api, op, pack.id).at(0).at("deliveries") == 2);
  CHECK(ack(api, pack, id, "ok").status == 200);
  CHECK(fetched(api, pack, 2).empty());
}

TEST_CASE("SIGTERM during a long-poll answers it and the server exits 0 promptly",
          "[integration][commands][long_poll]") {
  auto backend = GENERATE(Backend::sqlite, Backend::dynamodb);
  INFO(backend_name(backend));
  auto server = start_server(backend);
  Api api{server.port()};
  auto org = create_test_org(api, "drain");
  auto pack = make_pack(api, org.role_keys["operator"], "SN-1");

  steady::time_point answered;
  auto waiting = std::async(std::launch::async, [&] {
    auto res = read_commands(api, pack, 25);
    answered = steady::now();
    return res;
  });
  std::this_thread::sleep_for(1s);
  const auto start = steady::now();
  CHECK(server.signal_and_wait(SIGTERM, 10s) == 0);
  const auto answer = waiting.get();
  REQUIRE(answer);
  const auto& res = *answer;
  CHECK(answered - start < 5s);  // answered by the drain, not at the end of its 25 s wait
  CHECK(res.status == 200);
  CHECK(res.json().at("items").empty());
  CHECK(res.header("connection") == "close");
}
