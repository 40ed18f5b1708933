#include <catch2/catch.hpp>
#include <fstream>
#include <set>

#include "core/config.h"
#include "core/toml_lite.h"
#include "support/server_process.h"

using namespace cellfleet;

namespace {
std::string write_file(const testing::TempDir& dir, const std::string& text) {
  auto path = (dir.path() / "test.toml").string();
  std::ofstream(path) << text;
  return path;
}

std::string load_error(const std::string& file, const std::map<std::string, std::string>& env) {
  try {
    load_config(file, env);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST_CASE("the defaults are SQLite in ./data on 127.0.0.1:8080", "[config]") {
  Config c = load_config("", {});
  CHECK(c.storage.backend == "sqlite");
  CHECK(c.sqlite_path() == "./data/cellfleet.db");
  CHECK(c.listen_host() == "127.0.0.1");
  CHECK(c.listen_port() == 8080);
  CHECK(c.server.max_body_bytes == 1048576);
  CHECK(c.server.max_header_bytes == 16384);
  CHECK(c.server.read_timeout_ms == 30000);
  CHECK(c.server.max_connections == 10000);
}

TEST_CASE("the contract scheduler looks every 60 s unless configured, and the clock is the system's",
          "[config]") {
  Config c = load_config("", {});
  CHECK(c.loans.check_interval_seconds == 60);
  CHECK(c.testing.clock == "system");  // clock control is off unless a test asks for it
  testing::TempDir dir;
  auto file = write_file(dir, "[loans]\ncheck_interval_seconds = 15\n");
  CHECK(load_config(file, {}).loans.check_interval_seconds == 15);
  CHECK(load_config(file, {{"CELLFLEET_LOANS_CHECK_INTERVAL_SECONDS", "1"}})
            .loans.check_interval_seconds == 1);
  CHECK_THAT(
      load_error("", {{"CELLFLEET_LOANS_CHECK_INTERVAL_SECONDS", "0"}}),
      Catch::Contains("CELLFLEET_LOANS_CHECK_INTERVAL_SECONDS") && Catch::Contains("between"));
  CHECK_THAT(load_error(write_file(dir, "[loans]\ncheck_interval_seconds = 3601\n"), {}),
             Catch::Contains("check_interval_seconds") && Catch::Contains("between"));
}

TEST_CASE("the environment overrides the file, which overrides the defaults", "[config]") {
  testing::TempDir dir;
  auto file = write_file(dir, "[server]\nlisten = \"0.0.0.0:9000\"\nworker_threads = 8\n");
  Config c = load_config(file, {{"CELLFLEET_SERVER_WORKER_THREADS", "3"}, {"HOME", "/root"}});
  CHECK(c.server.listen == "0.0.0.0:9000");
  CHECK(c.server.worker_threads == 3);
}

TEST_CASE("an unknown key stops loading with a message naming it", "[config]") {
  testing::TempDir dir;
  auto file = write_file(dir, "[server]\nlisten = \"127.0.0.1:1\"\nmax_body = 5\n");
  auto message = load_error(file, {});
  CHECK_THAT(message, Catch::Contains("server.max_body") && Catch::Contains(":3"));
  CHECK_THAT(load_error("", {{"CELLFLEET_SERVER_LISTN", "x"}}),
             Catch::Contains("CELLFLEET_SERVER_LISTN"));
}

TEST_CASE("a bad value stops loading with a message naming the key and the rule", "[config]") {
  testing::TempDir dir;
  CHECK_THAT(load_error(write_file(dir, "[server]\nio_threads = \"two\"\n"), {}),
             Catch::Contains("server.io_threads") && Catch::Contains("integer"));
  CHECK_THAT(load_error("", {{"CELLFLEET_SERVER_MAX_CONNECTIONS", "0"}}),
             Catch::Contains("CELLFLEET_SERVER_MAX_CONNECTIONS") && Catch::Contains("between"));
  CHECK_THAT(load_error("", {{"CELLFLEET_STORAGE_BACKEND", "postgres"}}),
             Catch::Contains("sqlite, dynamodb"));
  CHECK_THAT(load_error("", {{"CELLFLEET_SERVER_LISTEN", "localhost"}}),
             Catch::Contains("HOST:PORT"));
  CHECK_THAT(load_error(write_file(dir, "[log\nlevel = 1\n"), {}), Catch::Contains("line 1"));
  CHECK_THAT(load_error("/nonexistent/cellfleet.toml", {}), Catch::Contains("cannot read"));
}

TEST_CASE("config/cellfleet.toml documents every key with its default", "[config]") {
  std::ifstream in(std::string(CELLFLEET_SOURCE_DIR) + "/config/cellfleet.toml");
  REQUIRE(in);
  std::stringstream text;
  text << in.rdbuf();
  std::set<std::string> in_file;
  for (const auto& e : toml_lite::parse(text.str())) {
    std::string rendered = std::visit(
        [](const auto& v) -> std::string {
          using T = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<T, std::string>)
            return toml_lite::quote(v);
          else if constexpr (std::is_same_v<T, bool>)
            return v ? "true" : "false";
          else
            return std::to_string(v);
        },
        e.value);
    in_file.insert(e.section + "." + e.key + " = " + rendered);
  }
  std::set<std::string> declared;
  for (const auto& s : config_settings())
    declared.insert(s.section + "." + s.key + " = " + s.default_value);
  CHECK(in_file == declared);
  // And every key's comment is there: the file mentions each environment variable.
  for (const auto& s : config_settings()) CHECK_THAT(text.str(), Catch::Contains(s.env_name()));
}

TEST_CASE("the TOML subset reads strings with escapes, integers and booleans", "[config]") {
  auto entries = toml_lite::parse(
      "top = 1\n[a]\ns = \"x\\\"y\\u00e9\" # comment\nn = 1_000_000\nb = true\nneg = -5\n");
  REQUIRE(entries.size() == 5);
  CHECK(std::get<std::int64_t>(entries[0].value) == 1);
  CHECK(std::get<std::string>(entries[1].value) == "x\"y\xc3\xa9");
  CHECK(std::get<std::int64_t>(entries[2].value) == 1000000);
  CHECK(std::get<bool>(entries[3].value));
  CHECK(std::get<std::int64_t>(entries[4].value) == -5);
  CHECK_THROWS_AS(toml_lite::parse("[a]\nx = 1\nx = 2\n"), toml_lite::ParseError);
  CHECK_THROWS_AS(toml_lite::parse("x = [1, 2]\n"), toml_lite::ParseError);
  CHECK_THROWS_AS(toml_lite::parse("x = \"open\n"), toml_lite::ParseError);
  CHECK_THROWS_AS(toml_lite::parse("x = 99999999999999999999\n"), toml_lite::ParseError);
}
