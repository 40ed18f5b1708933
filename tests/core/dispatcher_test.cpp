// The edge, without a socket: a real Router and Dispatcher, handlers that read JSON.
#include <catch2/catch.hpp>
#include <cstdio>

#include "core/http/dispatcher.h"
#include "core/json_input.h"

using namespace cellfleet;
using http::Request;
using http::Response;

namespace {
struct Edge {
  std::FILE* sink = std::tmpfile();
  Logger log{LogLevel::info, sink};
  MetricsRegistry metrics;
  http::Router router;
  http::Dispatcher dispatcher{router, log, metrics};

  Edge() {
    router.add("POST", "/v1/widgets", Access::anyone(), [](Request& req) {
      auto body = parse_json_object(req);
      JsonFields in(body);
      auto name = in.required_string("name", 1, 20);
      auto count = in.optional_int("count", 0, 100);
      in.finish();
      return Response::json(201, {{"name", name}, {"count", count.value_or(0)}});
    });
    router.add("GET", "/v1/crash", Access::anyone(),
               [](Request&) -> Response { throw std::runtime_error("secret internal detail"); });
  }
  ~Edge() { std::fclose(sink); }

  Response post(const std::string& body, const std::string& type = "application/json") {
    Request req;
    req.method = "POST";
    req.path = req.target = "/v1/widgets";
    req.headers = {{"content-type", type}};
    req.body = body;
    req.request_id = "req_test";
    return dispatcher.handle(req);
  }
};

nlohmann::json problem(const Response& res) {
  REQUIRE(res.content_type == "application/problem+json");
  return nlohmann::json::parse(res.body);
}

std::vector<std::string> error_fields(const Response& res) {
  std::vector<std::string> out;
  auto body = problem(res);
  for (const auto& e : body.at("errors")) out.push_back(e.at("field"));
  return out;
}
}  // namespace

TEST_CASE("valid JSON reaches the handler", "[dispatcher]") {
  Edge edge;
  auto res = edge.post(R"({"name":"pack","count":3})");
  CHECK(res.status == 201);
  CHECK(nlohmann::json::parse(res.body).at("count") == 3);
}

TEST_CASE("malformed JSON is a 400 problem naming the byte, not the parser's text",
          "[dispatcher]") {
  Edge edge;
  auto res = edge.post(R"({"name": "pack",)");
  REQUIRE(res.status == 400);
  auto p = problem(res);
  CHECK_THAT(p.at("detail").get<std::string>(), Catch::Contains("not valid JSON"));
  CHECK_THAT(res.body, !Catch::Contains("parse_error"));
  CHECK(error_fields(res) == std::vector<std::string>{"body"});
}

TEST_CASE("wrong types, missing and unknown fields are reported together", "[dispatcher]") {
  Edge edge;
  auto res = edge.post(R"({"count":"three","colour":"red"})");
  REQUIRE(res.status == 400);
  auto fields = error_fields(res);
  std::sort(fields.begin(), fields.end());
  CHECK(fields == std::vector<std::string>{"colour", "count", "name"});
}

TEST_CASE("out-of-range values and non-object bodies are 400s", "[dispatcher]") {
  Edge edge;
  CHECK(error_fields(edge.post(R"({"name":"","count":101})")) ==
        std::vector<std::string>{"name", "count"});
  CHECK(edge.post(R"([1,2])").status == 400);
  CHECK(edge.post("").status == 400);
  CHECK(edge.post(R"({"name":"x"})", "text/plain").status == 400);
  CHECK(edge.post(R"({"name":"x"})", "application/merge-patch+json").status == 201);
  CHECK(edge.post(R"({"name":"x","count":18446744073709551615})").status == 400);
}

TEST_CASE("an unexpected exception is a generic 500 that leaks nothing", "[dispatcher]") {
  Edge edge;
  Request req;
  req.method = "GET";
  req.path = req.target = "/v1/crash";
  auto res = edge.dispatcher.handle(req);
  REQUIRE(res.status == 500);
  CHECK_THAT(res.body, !Catch::Contains("secret"));
}

TEST_CASE("requests are counted by route template, never by raw path", "[dispatcher][metrics]") {
  Edge edge;
  edge.post(R"({"name":"a"})");
  Request probe;
  probe.method = "BREW";
  probe.path = probe.target = "/random/scanner/path";
  CHECK(edge.dispatcher.handle(probe).status == 404);
  auto text = edge.metrics.render();
  CHECK_THAT(text, Catch::Contains(
                       R"(http_requests_total{route="/v1/widgets",method="POST",status="201"} 1)"));
  CHECK_THAT(text,
             Catch::Contains(
                 R"x(http_requests_total{route="(unmatched)",method="other",status="404"} 1)x"));
  CHECK_THAT(text, !Catch::Contains("scanner"));
}

namespace {
// Credentials of the form "Bearer <role>" for an organization "org_a"; anything else is invalid.
struct RoleFromToken : Authenticator {
  Principal authenticate(const Request& req) override {
    auto header = req.header("Authorization");
    if (!header || header->rfind("Bearer ", 0) != 0) {
      throw Error(ErrorKind::unauthorized, "credentials are required");
    }
    auto name = header->substr(7);
    if (name == "platform")
      return Principal{Principal::Kind::platform_admin, "", "platform", Role::owner, ""};
    auto role = parse_role(name);
    if (!role) throw Error(ErrorKind::unauthorized, "unknown credentials");
    return Principal{Principal::Kind::api_key, "org_a", "key_1", *role, ""};
  }
};

struct Recorder : RequestAuditor {
  std::vector<std::string> entries;
  void record(const Request& req, const Response& res) noexcept override {
    entries.push_back(req.caller().actor() + " " + req.method + " " + req.route + " " +
                      std::to_string(res.status));
  }
};

Response call(http::Dispatcher& d, const std::string& method, const std::string& path,
              const std::string& token) {
  Request req;
  req.method = method;
  req.path = req.target = path;
  if (!token.empty()) req.headers = {{"Authorization", "Bearer " + token}};
  return d.handle(req);
}
}  // namespace

TEST_CASE("routes admit exactly the callers their access names", "[dispatcher][auth]") {
  std::FILE* sink = std::tmpfile();
  Logger log(LogLevel::info, sink);
  MetricsRegistry metrics;
  http::Router router;
  auto who = [](Request& req) { return Response::json(200, {{"org", req.caller().org_id}}); };
  router.add("POST", "/v1/things", Access::members({Role::owner, Role::admin}), who);
  router.add("GET", "/v1/things", Access::any_member(), who);
  router.add("GET", "/v1/platform/things", Access::platform_admin(), who);
  RoleFromToken auth;
  Recorder audit;
  http::Dispatcher d(router, log, metrics, &auth, &audit);

  CHECK(call(d, "GET", "/v1/things", "").status == 401);
  CHECK(call(d, "GET", "/v1/things", "nobody").status == 401);
  for (Role r : kAllRoles) {
    CHECK(call(d, "GET", "/v1/things", std::string(role_name(r))).status == 200);
    bool may_post = r == Role::owner || r == Role::admin;
    CHECK(call(d, "POST", "/v1/things", std::string(role_name(r))).status ==
          (may_post ? 200 : 403));
    CHECK(call(d, "GET", "/v1/platform/things", std::string(role_name(r))).status == 403);
  }
  CHECK(call(d, "GET", "/v1/platform/things", "platform").status == 200);
  CHECK(call(d, "GET", "/v1/things", "platform").status == 403);
  // Every state-changing call with credentials is audited, allowed or not; reads are not.
  CHECK(audit.entries.size() == 5);
  CHECK(audit.entries.front() == "key_1 POST /v1/things 200");
  CHECK(audit.entries.back() == "key_1 POST /v1/things 403");
  std::fclose(sink);
}
