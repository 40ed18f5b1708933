#include "core/config.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <fstream>
#include <functional>
#include <sstream>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/toml_lite.h"

extern char** environ;

namespace cellfleet {

namespace {

// One key: where it lives, how to read and write it, what it means.
struct Setting {
  std::string section;
  std::string key;
  std::string doc;
  std::function<void(Config&, const toml_lite::Value&)> set;  // throws std::invalid_argument
  std::function<toml_lite::Value(const Config&)> get;
  bool is_int;
  bool secret = false;  // never printed: `cellfleet config` shows "<redacted>"
};

template <typename Section>
Setting int_setting(std::string section, std::string key, Section Config::*sec,
                    std::int64_t Section::*field, std::int64_t min, std::int64_t max,
                    std::string doc) {
  return Setting{
      section,
      key,
      std::move(doc) + fmt::format(" ({}..{})", min, max),
      [sec, field, min, max](Config& c, const toml_lite::Value& v) {
        const auto* n = std::get_if<std::int64_t>(&v);
        if (!n) throw std::invalid_argument("must be an integer");
        if (*n < min || *n > max) {
          throw std::invalid_argument(fmt::format("must be between {} and {}", min, max));
        }
        c.*sec.*field = *n;
      },
      [sec, field](const Config& c) { return toml_lite::Value(c.*sec.*field); },
      true};
}

template <typename Section>
Setting string_setting(std::string section, std::string key, Section Config::*sec,
                       std::string Section::*field, std::vector<std::string> allowed,
                       std::string doc) {
  if (!allowed.empty()) {
    doc += fmt::format(" (one of: {})", fmt::join(allowed, ", "));
  }
  return Setting{
      section,
      key,
      std::move(doc),
      [sec, field, allowed](Config& c, const toml_lite::Value& v) {
        const auto* s = std::get_if<std::string>(&v);
        if (!s) throw std::invalid_argument("must be a string");
        if (!allowed.empty() && std::find(allowed.begin(), allowed.end(), *s) == allowed.end()) {
          throw std::invalid_argument(fmt::format("must be one of: {}", fmt::join(allowed, ", ")));
        }
        c.*sec.*field = *s;
      },
      [sec, field](const Config& c) { return toml_lite::Value(c.*sec.*field); },
      false};
}

void validate_listen(const std::string& listen);

const std::vector<Setting>& settings() {
  using C = Config;
  static const std::vector<Setting> table = [] {
    std::vector<Setting> t;
    const std::int64_t big = 1LL << 40;
    auto listen = string_setting("server", "listen", &C::server, &C::Server::listen, {},
                                 "Address and port to listen on, HOST:PORT with an IP address "
                                 "([::1]:8080 for IPv6); port 0 picks a free port");
    auto set_listen = listen.set;
    listen.set = [set_listen](Config& c, const toml_lite::Value& v) {
      if (const auto* s = std::get_if<std::string>(&v)) validate_listen(*s);
      set_listen(c, v);
    };
    t.push_back(std::move(listen));
    t.push_back(int_setting("server", "io_threads", &C::server, &C::Server::io_threads, 1, 64,
                            "Threads reading and writing sockets"));
    t.push_back(int_setting("server", "worker_threads", &C::server, &C::Server::worker_threads, 1,
                            256,
                            "Threads running the handlers of requests other than GET and HEAD "
                            "(store calls block these)"));
    t.push_back(int_setting("server", "read_threads", &C::server, &C::Server::read_threads, 1, 256,
                            "Threads running the handlers of GET and HEAD requests"));
    t.push_back(int_setting("server", "worker_queue", &C::server, &C::Server::worker_queue, 1,
                            1000000,
                            "Requests that may wait for a worker, per lane, before the server "
                            "answers 503"));
    t.push_back(int_setting("server", "max_body_bytes", &C::server, &C::Server::max_body_bytes, 1,
                            1LL << 30, "Largest request body accepted; larger gets 413"));
    t.push_back(int_setting("server", "max_header_bytes", &C::server, &C::Server::max_header_bytes,
                            1024, 1LL << 20,
                            "Largest request header block accepted; larger gets 431"));
    t.push_back(int_setting("server", "max_connections", &C::server, &C::Server::max_connections, 1,
                            1000000,
                            "Open connections allowed; one more is answered 503 and closed"));
    t.push_back(int_setting("server", "read_timeout_ms", &C::server, &C::Server::read_timeout_ms,
                            100, big,
                            "Time allowed to receive one request, and idle keep-alive time"));
    t.push_back(int_setting("server", "drain_timeout_ms", &C::server, &C::Server::drain_timeout_ms,
                            0, big, "On SIGTERM, how long in-flight requests may take to finish"));
    t.push_back(int_setting("server", "shutdown_delay_ms", &C::server,
                            &C::Server::shutdown_delay_ms, 0, 120000,
                            "On SIGTERM, how long /readyz answers 503 while requests are still "
                            "served, before the drain starts: time for a load balancer to stop "
                            "sending new ones"));
    t.push_back(int_setting("server", "retry_after_seconds", &C::server,
                            &C::Server::retry_after_seconds, 1, 3600,
                            "Retry-After sent with 503 when overloaded"));
    t.push_back(int_setting("server", "long_poll_recheck_ms", &C::server,
                            &C::Server::long_poll_recheck_ms, 100, 60000,
                            "How often a waiting long-poll request looks again for what it waits "
                            "for, to see changes made by other instances"));
    t.push_back(string_setting("storage", "backend", &C::storage, &C::Storage::backend,
                               {"sqlite", "dynamodb"}, "Where data lives"));
    t.push_back(string_setting("storage", "data_dir", &C::storage, &C::Storage::data_dir, {},
                               "Directory of the SQLite database (cellfleet.db) and local files"));
    t.push_back(int_setting("sqlite", "readers", &C::sqlite, &C::Sqlite::readers, 1, 64,
                            "Reader connections in the pool (the single writer is extra)"));
    t.push_back(int_setting("sqlite", "busy_timeout_ms", &C::sqlite, &C::Sqlite::busy_timeout_ms, 0,
                            big, "How long a connection waits for a lock held by another process"));
    t.push_back(string_setting(
        "sqlite", "synchronous", &C::sqlite, &C::Sqlite::synchronous, {"full", "normal"},
        "fsync on every commit (full) or at WAL checkpoints only (normal: "
        "survives a process crash, may lose the last commits on power loss)"));
    t.push_back(int_setting("sqlite", "cache_mib", &C::sqlite, &C::Sqlite::cache_mib, 1, 4096,
                            "Page cache of each connection (writer and each reader), MiB; "
                            "filled only as pages are read"));
    t.push_back(int_setting("sqlite", "mmap_mib", &C::sqlite, &C::Sqlite::mmap_mib, 0, 1 << 20,
                            "Memory-mapped reads of the database file, MiB (0: off)"));
    t.push_back(int_setting(
        "sqlite", "checkpoint_pages", &C::sqlite, &C::Sqlite::checkpoint_pages, 100, 1000000,
        "New WAL pages that start a background checkpoint; the writer finishes one itself at 4 "
        "times as many in the WAL (its bound); a page written many times in between is copied "
        "once"));
    t.push_back(int_setting(
        "sqlite", "telemetry_log_rows", &C::sqlite, &C::Sqlite::telemetry_log_rows, 0, 10000000,
        "Readings appended to the telemetry log before a pass moves them into the telemetry "
        "table, each pack's together (0: readings go straight to the table)"));
    t.push_back(int_setting("sqlite", "ttl_purge_interval_seconds", &C::sqlite,
                            &C::Sqlite::ttl_purge_interval_seconds, 1, 86400,
                            "How often expired items are deleted"));
    t.push_back(string_setting("dynamodb", "region", &C::dynamodb, &C::Dynamodb::region, {},
                               "AWS region of the tables"));
    t.push_back(string_setting("dynamodb", "endpoint", &C::dynamodb, &C::Dynamodb::endpoint, {},
                               "Endpoint URL; empty means the region's AWS endpoint "
                               "(set it for DynamoDB Local: http://127.0.0.1:8000)"));
    t.push_back(
        string_setting("dynamodb", "table_prefix", &C::dynamodb, &C::Dynamodb::table_prefix, {},
                       "Prefix of every table name, so one account holds several installations"));
    t.push_back(string_setting(
        "dynamodb", "streams", &C::dynamodb, &C::Dynamodb::streams, {"on", "off"},
        "Whether migrate creates tables with DynamoDB Streams (new and old images); off only for "
        "test runs on DynamoDB Local, which slows down with every stream record it keeps"));
    t.push_back(string_setting("log", "level", &C::log, &C::Log::level,
                               {"debug", "info", "warn", "error"}, "Lowest level written"));
    t.push_back(int_setting("events", "max_attempts", &C::events, &C::Events::max_attempts, 1, 100,
                            "Handler attempts before an event becomes a dead letter"));
    t.push_back(int_setting("events", "sweep_interval_ms", &C::events,
                            &C::Events::sweep_interval_ms, 10, 600000,
                            "How often the outbox is re-read (other instances' events, crash "
                            "recovery); commits on this instance are delivered at once"));
    t.push_back(int_setting("events", "lease_ms", &C::events, &C::Events::lease_ms, 1000, 3600000,
                            "How long an instance's claim on an outbox shard lasts unrenewed; a "
                            "crashed instance's shards are taken over after this"));
    t.push_back(int_setting("events", "delivery_threads", &C::events, &C::Events::delivery_threads,
                            0, 16,
                            "Outbox shards delivered at the same time, each by its own thread; "
                            "events of one subject stay in order (0: 4 on SQLite, 1 on DynamoDB)"));
    t.push_back(int_setting("events", "delivery_group", &C::events, &C::Events::delivery_group, 1,
                            256,
                            "Deliveries to the insights counters written as one batch (one SQLite "
                            "commit, one DynamoDB transaction); 1 turns groups off"));
    t.push_back(int_setting("events", "retention_days", &C::events, &C::Events::retention_days, 1,
                            3650,
                            "How long GET /v1/events can replay an event (the event log's TTL); "
                            "applies to events published from now on"));
    t.push_back(int_setting("events", "stream_heartbeat_seconds", &C::events,
                            &C::Events::stream_heartbeat_seconds, 1, 3600,
                            "A live event stream writes a heartbeat comment after this long "
                            "without an event"));
    t.push_back(int_setting("events", "stream_max_per_org", &C::events,
                            &C::Events::stream_max_per_org, 1, 100000,
                            "Live event streams one organization may hold open on one instance; "
                            "the next is answered 429"));
    t.push_back(int_setting("events", "stream_max_unsent_bytes", &C::events,
                            &C::Events::stream_max_unsent_bytes, 4096, 1073741824,
                            "Bytes of a live event stream its client has not taken yet beyond "
                            "which the server closes the connection (a slow client)"));
    t.push_back(int_setting("events", "stream_poll_ms", &C::events, &C::Events::stream_poll_ms, 100,
                            60000,
                            "How often a live event stream re-reads the log without a commit on "
                            "this instance (events other instances committed)"));
    t.push_back(int_setting("events", "stream_settle_ms", &C::events, &C::Events::stream_settle_ms,
                            0, 10000,
                            "How old an event (by its id's time) must be before a live stream "
                            "writes it, so a slower commit of an earlier-stamped event is not "
                            "passed over"));
    auto token =
        string_setting("platform", "admin_token", &C::platform, &C::Platform::admin_token, {},
                       "Bearer token of the platform administrator, who creates and "
                       "suspends organizations; at least 32 characters. Empty (the "
                       "default) disables the platform routes: there is no default secret");
    auto set_token = token.set;
    token.set = [set_token](Config& c, const toml_lite::Value& v) {
      const auto* s = std::get_if<std::string>(&v);
      if (s && !s->empty() && s->size() < 32) {
        throw std::invalid_argument("must be empty or at least 32 characters");
      }
      set_token(c, v);
    };
    token.secret = true;
    t.push_back(std::move(token));
    t.push_back(int_setting("auth", "session_idle_seconds", &C::auth,
                            &C::Auth::session_idle_seconds, 1, 90LL * 86400,
                            "A login session ends after this long unused"));
    t.push_back(int_setting("auth", "session_max_seconds", &C::auth, &C::Auth::session_max_seconds,
                            60, 365LL * 86400,
                            "A login session ends this long after login, used or not"));
    t.push_back(int_setting("auth", "password_min_length", &C::auth, &C::Auth::password_min_length,
                            8, 128, "Shortest password accepted"));
    t.push_back(int_setting("auth", "login_window_seconds", &C::auth,
                            &C::Auth::login_window_seconds, 1, 86400,
                            "Window in which failed logins are counted"));
    t.push_back(int_setting("auth", "login_max_failures_per_account", &C::auth,
                            &C::Auth::login_max_failures_per_account, 1, 1000,
                            "Failed logins for one email in a window before 429"));
    t.push_back(int_setting("auth", "login_max_failures_per_address", &C::auth,
                            &C::Auth::login_max_failures_per_address, 1, 100000,
                            "Failed logins from one client address in a window before 429"));
    t.push_back(int_setting("auth", "audit_retention_days", &C::auth,
                            &C::Auth::audit_retention_days, 0, 36500,
                            "Days an audit entry is kept; 0 keeps entries forever"));
    t.push_back(int_setting("auth", "key_cache_ms", &C::auth, &C::Auth::key_cache_ms, 0, 60000,
                            "How long a verified API key is reused without reading it again; "
                            "another instance sees a revocation within this; 0 turns it off"));
    t.push_back(int_setting("devices", "telemetry_retention_days", &C::devices,
                            &C::Devices::telemetry_retention_days, 1, 3650,
                            "Days a raw telemetry reading is kept in the operational store "
                            "(its time to live); applies to readings stored from now on"));
    t.push_back(int_setting("devices", "check_interval_seconds", &C::devices,
                            &C::Devices::check_interval_seconds, 1, 3600,
                            "How often the scheduled device checks run (the no-report alerts)"));
    t.push_back(int_setting("devices", "command_expiry_hours", &C::devices,
                            &C::Devices::command_expiry_hours, 1, 8760,
                            "A lock/unlock command not acknowledged this long after it was "
                            "queued expires"));
    t.push_back(int_setting("devices", "command_redelivery_seconds", &C::devices,
                            &C::Devices::command_redelivery_seconds, 1, 86400,
                            "A delivered command the pack has not acknowledged is delivered again "
                            "after this long (once per period)"));
    t.push_back(int_setting("devices", "pack_cache_ms", &C::devices, &C::Devices::pack_cache_ms, -1,
                            86'400'000,
                            "How long telemetry ingest keeps a pack's serial, state, nominal "
                            "voltage and open alerts before reading them again (0: every "
                            "request; -1: 1 hour on SQLite, 1 minute on DynamoDB); another "
                            "instance's changes apply within this time"));
    t.push_back(int_setting("loans", "check_interval_seconds", &C::loans,
                            &C::Loans::check_interval_seconds, 1, 3600,
                            "How often the scheduler looks for credit that ran out and "
                            "installments past their grace period, so a battery locks on time "
                            "even when no request arrives"));
    t.push_back(int_setting("insights", "online_minutes", &C::insights,
                            &C::Insights::online_minutes, 1, 7 * 24 * 60,
                            "A pack counts as online on the fleet dashboard while its newest "
                            "reading is younger than this; the scheduled device check turns it "
                            "offline (within devices.check_interval_seconds)"));
    t.push_back(string_setting("warehouse", "sink", &C::warehouse, &C::Warehouse::sink,
                               {"auto", "off", "sqlite", "files"},
                               "Where the history export goes (docs/warehouse.md): a SQLite "
                               "file, gzip NDJSON files, or nowhere; auto is sqlite on the "
                               "SQLite backend and off on DynamoDB"));
    t.push_back(string_setting("warehouse", "sqlite_path", &C::warehouse,
                               &C::Warehouse::sqlite_path, {},
                               "The SQLite warehouse file; empty means <data_dir>/warehouse.db"));
    t.push_back(string_setting("warehouse", "files_dir", &C::warehouse, &C::Warehouse::files_dir,
                               {},
                               "Directory of the files sink (table=/org=/date= partitions); "
                               "empty means <data_dir>/warehouse"));
    t.push_back(int_setting("warehouse", "hot_window_hours", &C::warehouse,
                            &C::Warehouse::hot_window_hours, 1, 24 * 365,
                            "Telemetry younger than this stays out of the warehouse (late "
                            "readings may still arrive)"));
    t.push_back(int_setting("warehouse", "interval_seconds", &C::warehouse,
                            &C::Warehouse::interval_seconds, 0, 7 * 86400,
                            "How often serve exports to the warehouse; 0 exports only on "
                            "demand (cellfleet warehouse export)"));
    t.push_back(int_setting("warehouse", "settle_seconds", &C::warehouse,
                            &C::Warehouse::settle_seconds, 0, 3600,
                            "Events younger than this wait for the next export (a write "
                            "in flight may still commit an older event id)"));
    t.push_back(string_setting("testing", "clock", &C::testing, &C::Testing::clock,
                               {"system", "adjustable"},
                               "\"adjustable\" lets the platform administrator move the "
                               "server's clock forward (POST /v1/testing/clock) for scenario "
                               "tests; never on a production server"));
    return t;
  }();
  return table;
}

void validate_listen(const std::string& listen) {
  auto colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0) throw std::invalid_argument("must be HOST:PORT");
  auto port_text = listen.substr(colon + 1);
  unsigned port = 0;
  auto [p, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc() || p != port_text.data() + port_text.size() || port > 65535) {
    throw std::invalid_argument("port must be a number from 0 to 65535");
  }
}

const Setting* find_setting(const std::string& section, const std::string& key) {
  for (const auto& s : settings()) {
    if (s.section == section && s.key == key) return &s;
  }
  return nullptr;
}

std::string render_value(const toml_lite::Value& v) {
  if (const auto* s = std::get_if<std::string>(&v)) return toml_lite::quote(*s);
  if (const auto* n = std::get_if<std::int64_t>(&v)) return std::to_string(*n);
  return std::get<bool>(v) ? "true" : "false";
}

// Text from an environment variable or a flag, typed as the setting expects.
toml_lite::Value typed(const Setting& s, const std::string& text) {
  if (!s.is_int) return text;
  std::int64_t n = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (text.empty() || ec != std::errc() || p != text.data() + text.size()) {
    throw std::invalid_argument("must be an integer");
  }
  return n;
}

std::string upper(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

std::string SettingInfo::env_name() const {
  return "CELLFLEET_" + upper(section) + "_" + upper(key);
}

std::vector<SettingInfo> config_settings() {
  Config defaults;
  std::vector<SettingInfo> out;
  for (const auto& s : settings()) {
    out.push_back({s.section, s.key, render_value(s.get(defaults)), s.doc});
  }
  return out;
}

std::string Config::warehouse_sink() const {
  if (warehouse.sink != "auto") return warehouse.sink;
  return storage.backend == "sqlite" ? "sqlite" : "off";
}

std::string Config::warehouse_sqlite_path() const {
  return warehouse.sqlite_path.empty() ? storage.data_dir + "/warehouse.db" : warehouse.sqlite_path;
}

std::string Config::warehouse_files_dir() const {
  return warehouse.files_dir.empty() ? storage.data_dir + "/warehouse" : warehouse.files_dir;
}

std::string Config::listen_host() const {
  auto host = server.listen.substr(0, server.listen.rfind(':'));
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  return host;
}

std::uint16_t Config::listen_port() const {
  return static_cast<std::uint16_t>(std::stoi(server.listen.substr(server.listen.rfind(':') + 1)));
}

void set_config_value(Config& config, const std::string& dotted_key, const std::string& value) {
  auto dot = dotted_key.find('.');
  const Setting* s = dot == std::string::npos
                         ? nullptr
                         : find_setting(dotted_key.substr(0, dot), dotted_key.substr(dot + 1));
  if (!s) throw ConfigError("unknown configuration key " + dotted_key);
  try {
    s->set(config, typed(*s, value));
  } catch (const std::invalid_argument& e) {
    throw ConfigError(fmt::format("{}: {} (got \"{}\")", dotted_key, e.what(), value));
  }
}

Config load_config(const std::string& file_path, const std::map<std::string, std::string>& env) {
  Config config;
  if (!file_path.empty()) {
    std::ifstream in(file_path);
    if (!in) throw ConfigError("cannot read config file " + file_path);
    std::stringstream text;
    text << in.rdbuf();
    std::vector<toml_lite::Entry> entries;
    try {
      entries = toml_lite::parse(text.str());
    } catch (const toml_lite::ParseError& e) {
      throw ConfigError(fmt::format("{}: {}", file_path, e.what()));
    }
    for (const auto& e : entries) {
      const Setting* s = find_setting(e.section, e.key);
      std::string name = e.section.empty() ? e.key : e.section + "." + e.key;
      if (!s) throw ConfigError(fmt::format("{}:{}: unknown key {}", file_path, e.line, name));
      try {
        s->set(config, e.value);
      } catch (const std::invalid_argument& err) {
        throw ConfigError(fmt::format("{}:{}: {} {}", file_path, e.line, name, err.what()));
      }
    }
  }
  for (const auto& [name, value] : env) {
    if (name.rfind("CELLFLEET_", 0) != 0) continue;
    const Setting* match = nullptr;
    for (const auto& s : settings()) {
      if (SettingInfo{s.section, s.key, {}, {}}.env_name() == name) match = &s;
    }
    // A misspelt variable would otherwise be silently ignored, and the default used instead.
    if (!match) throw ConfigError("unknown configuration variable " + name);
    try {
      match->set(config, typed(*match, value));
    } catch (const std::invalid_argument& err) {
      throw ConfigError(fmt::format("{}: {} (got \"{}\")", name, err.what(), value));
    }
  }
  return config;
}

std::string render_config(const Config& config) {
  std::string out;
  std::string section;
  for (const auto& s : settings()) {
    if (s.section != section) {
      section = s.section;
      out += fmt::format("{}[{}]\n", out.empty() ? "" : "\n", section);
    }
    auto value = s.get(config);
    if (s.secret && !std::get<std::string>(value).empty()) value = std::string("<redacted>");
    out += fmt::format("{} = {}\n", s.key, render_value(value));
  }
  return out;
}

std::map<std::string, std::string> process_environment() {
  std::map<std::string, std::string> env;
  for (char** e = environ; e && *e; ++e) {
    std::string entry(*e);
    auto eq = entry.find('=');
    if (eq != std::string::npos) env.emplace(entry.substr(0, eq), entry.substr(eq + 1));
  }
  return env;
}

}  // namespace cellfleet
