// What the server promises to tooling: its API document matches its routes, its metrics parse
// with Prometheus' own checker, and its command line refuses bad configuration clearly.
#include <catch2/catch.hpp>
#include <fstream>
#include <set>
#include <sstream>

#include "support/http_client.h"
#include "support/server_process.h"

using namespace cellfleet::testing;

namespace {
std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::set<std::string> document_operations(const nlohmann::json& doc) {
  std::set<std::string> ops;
  for (const auto& [path, item] : doc.at("paths").items()) {
    for (const auto& [method, op] : item.items()) {
      static const std::set<std::string> kMethods = {"get",   "put",  "post",    "delete",
                                                     "patch", "head", "options", "trace"};
      if (!kMethods.contains(method)) continue;  // path-level "parameters", "summary", ...
      std::string upper = method;
      for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      ops.insert(upper + " " + path);
    }
  }
  return ops;
}
}  // namespace

TEST_CASE("every route is in the OpenAPI document and every documented route exists",
          "[integration][openapi]") {
  auto [status, out] = run_cellfleet({"routes", "--json"});
  REQUIRE(status == 0);
  std::set<std::string> routes;
  for (const auto& r : nlohmann::json::parse(out)) {
    routes.insert(r.at("method").get<std::string>() + " " + r.at("path").get<std::string>());
  }
  auto doc =
      nlohmann::json::parse(read_file(std::string(CELLFLEET_SOURCE_DIR) + "/docs/openapi.json"));
  CHECK(doc.at("openapi").get<std::string>().rfind("3.1", 0) == 0);
  CHECK(routes == document_operations(doc));
  CHECK(routes.size() >= 4);
}

TEST_CASE("the server serves the OpenAPI document of the repository", "[integration][openapi]") {
  ServerProcess server;
  auto res = http_request(server.port(), "GET", "/v1/openapi.json");
  REQUIRE(res.status == 200);
  auto served = res.json();
  auto file =
      nlohmann::json::parse(read_file(std::string(CELLFLEET_SOURCE_DIR) + "/docs/openapi.json"));
  CHECK(served == file);
}

TEST_CASE("/metrics passes promtool check metrics", "[integration][metrics]") {
  ServerProcess server;
  http_request(server.port(), "GET", "/healthz");
  http_request(server.port(), "GET", "/nope");
  http_request(server.port(), "DELETE", "/readyz");
  auto res = http_request(server.port(), "GET", "/metrics");
  REQUIRE(res.status == 200);
  CHECK(res.header("content-type").rfind("text/plain; version=0.0.4", 0) == 0);
  CHECK_THAT(res.body, Catch::Contains(
                           R"(http_requests_total{route="/healthz",method="GET",status="200"} 1)"));
  CHECK_THAT(res.body, Catch::Contains("http_request_duration_seconds_bucket"));
  CHECK_THAT(res.body, Catch::Contains("http_requests_in_flight"));
  CHECK_THAT(res.body, Catch::Contains("http_worker_queue_depth"));
  CHECK_THAT(res.body, Catch::Contains("sqlite_checkpoint_failing 0"));
  CHECK_THAT(res.body, Catch::Contains("sqlite_wal_pages "));
  CHECK_THAT(res.body, Catch::Contains("sqlite_telemetry_log_rows 0"));

  TempDir dir;
  auto path = (dir.path() / "metrics.txt").string();
  std::ofstream(path) << res.body;
  std::string command = "promtool check metrics < " + path + " 2>&1";
  FILE* p = popen(command.c_str(), "r");
  REQUIRE(p);
  std::string output;
  char buf[512];
  while (fgets(buf, sizeof buf, p)) output += buf;
  int rc = pclose(p);
  INFO("promtool said: " << output << " (install Debian's prometheus package if it is missing)");
  CHECK(rc == 0);
}

TEST_CASE("one connection over the limit is answered 503 with Retry-After", "[integration]") {
  ServerProcess server({}, {{"CELLFLEET_SERVER_MAX_CONNECTIONS", "2"},
                            {"CELLFLEET_SERVER_RETRY_AFTER_SECONDS", "7"}});
  Connection a(server.port());
  Connection b(server.port());
  REQUIRE(a.request("GET", "/healthz").status == 200);
  REQUIRE(b.request("GET", "/healthz").status == 200);
  Connection c(server.port());
  auto refused = c.read_response();
  REQUIRE(refused);
  CHECK(refused->status == 503);
  CHECK(refused->header("retry-after") == "7");
  CHECK(refused->header("content-type") == "application/problem+json");
  CHECK(c.closed_by_server());
  CHECK(a.request("GET", "/healthz").status == 200);  // the two admitted still work
}

TEST_CASE("start-up stops on a bad configuration, naming the key", "[integration][config]") {
  TempDir dir;
  auto file = (dir.path() / "bad.toml").string();
  std::ofstream(file) << "[server]\nlisten = \"127.0.0.1:0\"\nworker_thread = 4\n";
  auto [status, out] = run_cellfleet({"serve", "--config", file});
  CHECK(status == 2);
  CHECK_THAT(out, Catch::Contains("server.worker_thread"));

  auto [env_status, env_out] = run_cellfleet({"serve"}, {{"CELLFLEET_SERVER_IO_THREADS", "lots"}});
  CHECK(env_status == 2);
  CHECK_THAT(env_out, Catch::Contains("CELLFLEET_SERVER_IO_THREADS"));

  auto [flag_status, flag_out] = run_cellfleet({"serve", "--lsiten", "127.0.0.1:1"});
  CHECK(flag_status == 2);
  CHECK_THAT(flag_out, Catch::Contains("--lsiten"));
}

TEST_CASE("every command answers --help", "[integration][cli]") {
  for (std::string command : {"serve", "migrate", "routes", "config", "version"}) {
    auto [status, out] = run_cellfleet({command, "--help"});
    CHECK(status == 0);
    CHECK_THAT(out, Catch::Contains("Usage: cellfleet " + command));
  }
  auto [status, out] = run_cellfleet({"--help"});
  CHECK(status == 0);
  CHECK_THAT(out, Catch::Contains("migrate"));
}

TEST_CASE("cellfleet version names the version and the allocator the build links",
          "[integration][cli]") {
  auto [status, out] = run_cellfleet({"version"});
  CHECK(status == 0);
  CHECK_THAT(out, Catch::Contains("cellfleet 0."));
  CHECK_THAT(out, Catch::Contains(std::string("allocator ") + CELLFLEET_EXPECTED_ALLOCATOR));
}

TEST_CASE("cellfleet config prints the effective settings but never the admin token",
          "[integration][cli][config]") {
  const std::string token = "a-platform-token-that-must-stay-secret-42";
  auto [status, out] = run_cellfleet({"config", "--listen", "0.0.0.0:9999"},
                                     {{"CELLFLEET_PLATFORM_ADMIN_TOKEN", token}});
  REQUIRE(status == 0);
  CHECK_THAT(out, Catch::Contains("listen = \"0.0.0.0:9999\""));
  CHECK_THAT(out, Catch::Contains("admin_token = \"<redacted>\""));
  CHECK(out.find(token) == std::string::npos);
  auto [short_status, short_out] =
      run_cellfleet({"config"}, {{"CELLFLEET_PLATFORM_ADMIN_TOKEN", "too-short"}});
  CHECK(short_status == 2);
  CHECK_THAT(short_out, Catch::Contains("at least 32 characters"));
}
