// GET /v1/events/stream: an organization's events live, as Server-Sent Events, over a real
// socket read incrementally (support/sse_client.h).
#include <signal.h>

#include <catch2/catch.hpp>

#include "support/api.h"
#include "support/sse_client.h"

using namespace cellfleet::testing;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

std::map<std::string, std::string> bearer(const std::string& key,
                                          std::map<std::string, std::string> more = {}) {
  more["Authorization"] = "Bearer " + key;
  return more;
}

// Registers n packs; returns their ids in order. Each publishes one device.registered.
std::vector<std::string> register_packs(const Api& api, const std::string& key,
                                        const std::string& prefix, int n) {
  std::vector<std::string> ids;
  for (int i = 0; i < n; ++i) {
    ids.push_back(create_pack(api, key, pack_fields(prefix + "-" + std::to_string(i))));
  }
  return ids;
}

std::vector<std::string> subjects_of(const std::vector<SseEvent>& events) {
  std::vector<std::string> out;
  for (const auto& e : events) out.push_back(json::parse(e.data)["subject"]);
  return out;
}

std::vector<std::string> ids_of(const json& page) {
  std::vector<std::string> out;
  for (const auto& e : page["items"]) out.push_back(e["id"]);
  return out;
}

// The organization's whole log as GET /v1/events lists it.
json event_log(const Api& api, const std::string& key) {
  auto res = api.call("GET", "/v1/events?limit=100", key);
  REQUIRE(res.status == 200);
  return res.json();
}

}  // namespace

TEST_CASE("events published while a stream is open arrive on it in order with their ids",
          "[integration][events][stream]") {
  auto backend = GENERATE(Backend::sqlite, Backend::dynamodb);
  INFO("backend " << backend_name(backend));
  auto server = start_server(backend);
  Api api{server.port()};
  auto org = create_test_org(api, "stream-live");

  SseClient stream(server.port(), "/v1/events/stream", bearer(org.owner_key));
  REQUIRE(stream.head().status == 200);
  CHECK(stream.head().header("content-type") == "text/event-stream");
  CHECK(stream.head().header("cache-control") == "no-cache");
  CHECK(stream.head().header("content-length").empty());

  auto packs = register_packs(api, org.owner_key, "live", 5);
  auto got = stream.events(5, 10s);
  REQUIRE(got.size() == 5);
  CHECK(subjects_of(got) == packs);  // nothing from before the stream opened, then in order

  // Each event is what GET /v1/events shows, with its id and type as SSE fields.
  auto log = event_log(api, org.owner_key);
  const auto& last = log["items"].back();
  CHECK(got.back().id == last["id"]);
  CHECK(got.back().type == "device.registered");
  CHECK(json::parse(got.back().data) == last);
}

TEST_CASE("a stream resumed with Last-Event-ID gets exactly the missed events then live ones",
          "[integration][events][stream]") {
  const auto backend = GENERATE(Backend::sqlite, Backend::dynamodb);
  INFO(backend_name(backend));
  auto server = start_server(backend);
  Api api{server.port()};
  auto org = create_test_org(api, "stream-resume");

  std::string last_seen;
  std::vector<std::string> received;
  {
    SseClient first(server.port(), "/v1/events/stream", bearer(org.owner_key));
    REQUIRE(first.head().status == 200);
    auto packs = register_packs(api, org.owner_key, "before", 3);
    auto got = first.events(3, 10s);
    REQUIRE(got.size() == 3);
    CHECK(subjects_of(got) == packs);
    for (const auto& e : got) received.push_back(e.id);
    last_seen = got.back().id;
  }  // disconnected

  auto missed = register_packs(api, org.owner_key, "missed", 4);
  SseClient second(server.port(), "/v1/events/stream",
                   bearer(org.owner_key, {{"Last-Event-ID", last_seen}}));
  REQUIRE(second.head().status == 200);
  auto caught_up = second.events(4, 10s);
  REQUIRE(caught_up.size() == 4);
  CHECK(subjects_of(caught_up) == missed);
  auto live = register_packs(api, org.owner_key, "after", 2);
  auto got_live = second.events(2, 10s);
  REQUIRE(got_live.size() == 2);
  CHECK(subjects_of(got_live) == live);
  for (const auto& e : caught_up) received.push_back(e.id);
  for (const auto& e : got_live) received.push_back(e.id);
  // No gaps, no duplicates: exactly the log's events since the first stream opened.
  CHECK_FALSE(second.next_event(1s));

  auto log = ids_of(event_log(api, org.owner_key));
  auto from = std::find(log.begin(), log.end(), received.front());
  REQUIRE(from != log.end());
  CHECK(std::vector<std::string>(from, log.end()) == received);

  // ?after= resumes the same way for a client that cannot set headers.
  SseClient by_query(server.port(), "/v1/events/stream?after=" + last_seen, bearer(org.owner_key));
  REQUIRE(by_query.head().status == 200);
  auto again = by_query.events(6, 10s);
  REQUIRE(again.size() == 6);
  CHECK(again.front().id == caught_up.front().id);
  CHECK(again.back().id == got_live.back().id);
}

TEST_CASE("a stream filtered by type carries only the listed types",
          "[integration][events][stream]") {
  auto backend = GENERATE(Backend::sqlite, Backend::dynamodb);
  INFO("backend " << backend_name(backend));
  auto server = start_server(backend);
  Api api{server.port()};
  auto org = create_test_org(api, "stream-types");
  SseClient packs_only(server.port(), "/v1/events/stream?type=device.updated",
                       bearer(org.owner_key));
  SseClient two_types(server.port(), "/v1/events/stream?type=device.updated,user.created",
                      bearer(org.owner_key));
  REQUIRE(packs_only.head().status == 200);
  REQUIRE(two_types.head().status == 200);

  auto id = register_packs(api, org.owner_key, "typed", 1).front();
  auto user = api.call(
      "POST", "/v1/users", org.owner_key,
      R"({"email":"ops@types.example","role":"operator","password":"long enough secret"})");
  REQUIRE(user.status == 201);
  auto patched =
      api.call("PATCH", "/v1/devices/" + id, org.owner_key, json{{"depot", "Kilimani"}}.dump());
  REQUIRE(patched.status == 200);

  auto one = packs_only.events(1, 10s);
  REQUIRE(one.size() == 1);
  CHECK(one[0].type == "device.updated");
  CHECK_FALSE(packs_only.next_event(1s));
  auto both = two_types.events(2, 10s);
  REQUIRE(both.size() == 2);
  CHECK(both[0].type == "user.created");
  CHECK(both[1].type == "device.updated");
  CHECK_FALSE(two_types.next_event(1s));
}

TEST_CASE("a stream never carries another organization's events", "[integration][events][stream]") {
  auto backend = GENERATE(Backend::sqlite, Backend::dynamodb);
  INFO("backend " << backend_name(backend));
  auto server = start_server(backend);
  Api api{server.port()};
  auto alpha = create_test_org(api, "stream-alpha");
  auto bravo = create_test_org(api, "stream-bravo");
  SseClient bravo_stream(server.port(), "/v1/events/stream", bearer(bravo.owner_key));
  SseClient alpha_stream(server.port(), "/v1/events/stream", bearer(alpha.owner_key));
  REQUIRE(bravo_stream.head().status == 200);

  register_packs(api, alpha.owner_key, "alpha", 3);
  REQUIRE(alpha_stream.events(3, 10s).size() == 3);  // they were published and streamed
  auto bravo_pack = register_packs(api, bravo.owner_key, "bravo", 1);
  auto got = bravo_stream.next_event(10s);
  REQUIRE(got);
  // Bravo's first event is its own: alpha's three were never written to it.
  CHECK(json::parse(got->data)["subject"] == bravo_pack.front());

  // Nor can bravo resume from one of alpha's ids.
  auto alpha_log = event_log(api, alpha.owner_key);
  std::string alpha_id = alpha_log["items"][0]["id"];
  SseClient foreign(server.port(), "/v1/events/stream",
                    bearer(bravo.owner_key, {{"Last-Event-ID", alpha_id}}));
  CHECK(foreign.head().status == 400);
}

TEST_CASE("an organization's streams beyond the limit are refused with 429",
          "[integration][events][stream]") {
  auto server = start_server(Backend::sqlite, {{"CELLFLEET_EVENTS_STREAM_MAX_PER_ORG", "2"}});
  Api api{server.port()};
  auto org = create_test_org(api, "stream-limit");
  auto other = create_test_org(api, "stream-limit-other");
  auto a = std::make_unique<SseClient>(server.port(), "/v1/events/stream", bearer(org.owner_key));
  SseClient b(server.port(), "/v1/events/stream", bearer(org.owner_key));
  REQUIRE(a->head().status == 200);
  REQUIRE(b.head().status == 200);

  SseClient c(server.port(), "/v1/events/stream", bearer(org.owner_key));
  CHECK(c.head().status == 429);
  CHECK(c.head().header("content-type") == "application/problem+json");
  CHECK_FALSE(c.head().header("retry-after").empty());
  // The limit is per organization.
  SseClient elsewhere(server.port(), "/v1/events/stream", bearer(other.owner_key));
  CHECK(elsewhere.head().status == 200);

  // A closed stream gives its place back (once the server noticed the close).
  a.reset();
  int status = 0;
  for (int i = 0; i < 100 && status != 200; ++i) {
    SseClient retry(server.port(), "/v1/events/stream", bearer(org.owner_key));
    status = retry.head().status;
    if (status != 200) std::this_thread::sleep_for(50ms);
  }
  CHECK(status == 200);
}

TEST_CASE("an idle stream sends heartbeat comments", "[integration][events][stream]") {
  auto server = start_server(Backend::sqlite, {{"CELLFLEET_EVENTS_STREAM_HEARTBEAT_SECONDS", "1"}});
  Api api{server.port()};
  auto org = create_test_org(api, "stream-heartbeat");
  SseClient stream(server.port(), "/v1/events/stream", bearer(org.owner_key));
  REQUIRE(stream.head().status == 200);
  CHECK(stream.wait_for_comment("heartbeat", 30s));
}

TEST_CASE("a stream client that does not read is disconnected and the server stays healthy",
          "[integration][events][stream]") {
  auto server =
      start_server(Backend::sqlite, {{"CELLFLEET_EVENTS_STREAM_MAX_UNSENT_BYTES", "4096"}});
  Api api{server.port()};
  auto org = create_test_org(api, "stream-slow");
  // Publish first, then have the stalled client ask for all of it from the start of the log.
  register_packs(api, org.owner_key, "slow", 150);
  std::string first_id = event_log(api, org.owner_key)["items"][0]["id"];
  SseClient stalled(server.port(), "/v1/events/stream?after=" + first_id, bearer(org.owner_key),
                    /*receive_buffer=*/1024, /*read_head=*/false);
  // Live events keep coming too; the server gives up on the client rather than buffering.
  std::string closed;
  for (int round = 0; round < 20 && closed.empty(); ++round) {
    register_packs(api, org.owner_key, "more" + std::to_string(round), 5);
    closed = server.wait_for_log("stream closed: the client does not keep up", 500ms);
  }
  REQUIRE_FALSE(closed.empty());
  CHECK(closed.find("\"limit\":4096") != std::string::npos);

  // Healthy: answers, and a reading client still gets everything from the same start.
  CHECK(api.call("GET", "/healthz", "").status == 200);
  SseClient reader(server.port(), "/v1/events/stream?after=" + first_id, bearer(org.owner_key));
  REQUIRE(reader.head().status == 200);
  CHECK(reader.events(100, 10s).size() == 100);
}

TEST_CASE("a malformed or unknown Last-Event-ID is refused with 400",
          "[integration][events][stream]") {
  auto backend = GENERATE(Backend::sqlite, Backend::dynamodb);
  INFO("backend " << backend_name(backend));
  auto server = start_server(backend);
  Api api{server.port()};
  auto org = create_test_org(api, "stream-bad");
  for (const std::string& bad :
       {std::string("not-an-id"), std::string("dev_01JD3K6W7M8N9P0Q1R2S3T4V5W"),
        std::string("evt_01JD3K6W7M8N9P0Q1R2S3T4V5W")}) {
    INFO(bad);
    SseClient stream(server.port(), "/v1/events/stream",
                     bearer(org.owner_key, {{"Last-Event-ID", bad}}));
    CHECK(stream.head().status == 400);
    CHECK(stream.head().header("content-type") == "application/problem+json");
    CHECK(stream.head().body.find("Last-Event-ID") != std::string::npos);
  }
  SseClient bad_query(server.port(), "/v1/events/stream?after=x", bearer(org.owner_key));
  CHECK(bad_query.head().status == 400);
  SseClient bad_type(server.port(), "/v1/events/stream?type=a,,b", bearer(org.owner_key));
  CHECK(bad_type.head().status == 400);
  SseClient anonymous(server.port(), "/v1/events/stream", {});
  CHECK(anonymous.head().status == 401);
}

TEST_CASE("SIGTERM closes open streams so the drain finishes", "[integration][events][stream]") {
  auto server = start_server(Backend::sqlite, {{"CELLFLEET_SERVER_SHUTDOWN_DELAY_MS", "0"}});
  Api api{server.port()};
  auto org = create_test_org(api, "stream-drain");
  SseClient stream(server.port(), "/v1/events/stream", bearer(org.owner_key));
  REQUIRE(stream.head().status == 200);
  kill(server.pid(), SIGTERM);
  CHECK(stream.closed_by_server(10s));
  CHECK(server.signal_and_wait(0, 10s) == 0);
}
