#pragma once
// cellfleet's configuration: compiled-in defaults, then the config file (TOML), then environment
// variables CELLFLEET_<SECTION>_<KEY>, then command-line flags. Every key is declared once, in
// config.cpp's table, with its default and documentation; config/cellfleet.toml shows them all.
// An unknown key or a bad value stops start-up with a ConfigError naming the key.

#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace cellfleet {

struct Config {
  struct Server {
    std::string listen = "127.0.0.1:8080";
    std::int64_t io_threads = 1;
    std::int64_t worker_threads = 4;
    std::int64_t read_threads = 4;
    std::int64_t worker_queue = 1024;
    std::int64_t max_body_bytes = 1024 * 1024;
    std::int64_t max_header_bytes = 16 * 1024;
    std::int64_t max_connections = 10000;
    std::int64_t read_timeout_ms = 30000;
    std::int64_t drain_timeout_ms = 10000;
    std::int64_t shutdown_delay_ms = 0;
    std::int64_t retry_after_seconds = 1;
    std::int64_t long_poll_recheck_ms = 2000;
  } server;
  struct Storage {
    std::string backend = "sqlite";
    std::string data_dir = "./data";
  } storage;
  struct Sqlite {
    std::int64_t readers = 4;
    std::int64_t busy_timeout_ms = 5000;
    std::string synchronous = "full";
    std::int64_t ttl_purge_interval_seconds = 60;
    std::int64_t cache_mib = 32;
    std::int64_t mmap_mib = 0;
    std::int64_t checkpoint_pages = 1000;
    std::int64_t telemetry_log_rows = 500000;
  } sqlite;
  struct Dynamodb {
    std::string region = "us-east-1";
    std::string endpoint;
    std::string table_prefix = "cellfleet_";
    std::string streams = "on";
  } dynamodb;
  struct Log {
    std::string level = "info";
  } log;
  struct Events {
    std::int64_t max_attempts = 5;
    std::int64_t sweep_interval_ms = 1000;
    std::int64_t lease_ms = 10000;
    std::int64_t delivery_threads = 0;  // 0: 4 on SQLite, 1 on DynamoDB
    std::int64_t delivery_group = 32;   // deliveries per write for grouped subscribers
    std::int64_t retention_days = 30;
    // GET /v1/events/stream (docs/events.md "Live stream").
    std::int64_t stream_heartbeat_seconds = 15;
    std::int64_t stream_max_per_org = 20;
    std::int64_t stream_max_unsent_bytes = 1024 * 1024;
    std::int64_t stream_poll_ms = 2000;
    std::int64_t stream_settle_ms = 200;
  } events;
  struct Platform {
    std::string admin_token;  // empty: no platform administrator
  } platform;
  struct Auth {
    std::int64_t session_idle_seconds = 12 * 3600;
    std::int64_t session_max_seconds = 30 * 24 * 3600;
    std::int64_t password_min_length = 12;
    std::int64_t login_window_seconds = 900;
    std::int64_t login_max_failures_per_account = 5;
    std::int64_t login_max_failures_per_address = 20;
    std::int64_t audit_retention_days = 400;
    std::int64_t key_cache_ms = 1000;
  } auth;
  struct Devices {
    std::int64_t telemetry_retention_days = 90;
    std::int64_t check_interval_seconds = 60;
    std::int64_t command_expiry_hours = 7 * 24;
    std::int64_t command_redelivery_seconds = 60;
    std::int64_t pack_cache_ms = -1;  // -1: 1 hour on SQLite (one process), 1 minute on DynamoDB
  } devices;
  struct Loans {
    std::int64_t check_interval_seconds = 60;
  } loans;
  struct Insights {
    std::int64_t online_minutes = 15;
  } insights;
  struct Warehouse {
    std::string sink = "auto";  // auto: sqlite on the SQLite backend, off on DynamoDB
    std::string sqlite_path;    // empty: <data_dir>/warehouse.db
    std::string files_dir;      // empty: <data_dir>/warehouse
    std::int64_t hot_window_hours = 48;
    std::int64_t interval_seconds = 3600;
    std::int64_t settle_seconds = 60;
  } warehouse;
  struct Testing {
    std::string clock = "system";
  } testing;

  // "host:port" split; valid after load_config.
  std::string listen_host() const;
  std::uint16_t listen_port() const;
  std::string sqlite_path() const { return storage.data_dir + "/cellfleet.db"; }
  // warehouse.sink with "auto" resolved: "off", "sqlite" or "files".
  std::string warehouse_sink() const;
  std::string warehouse_sqlite_path() const;
  std::string warehouse_files_dir() const;
};

class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// One documented key, for `cellfleet config` and for the test that keeps config/cellfleet.toml
// complete.
struct SettingInfo {
  std::string section;
  std::string key;
  std::string default_value;  // as written in TOML: "\"sqlite\"", "1024"
  std::string doc;
  std::string env_name() const;  // CELLFLEET_SECTION_KEY
};
std::vector<SettingInfo> config_settings();

// Loads the file (none when file_path is empty) over the defaults, then the CELLFLEET_* entries
// of env. Throws ConfigError naming the key (and file line) for an unknown key or a bad value.
Config load_config(const std::string& file_path, const std::map<std::string, std::string>& env);

// Applies one override by dotted name ("server.listen"), as flags do. Throws ConfigError.
void set_config_value(Config& config, const std::string& dotted_key, const std::string& value);

// The effective configuration as TOML.
std::string render_config(const Config& config);

// The process environment as a map (for load_config).
std::map<std::string, std::string> process_environment();

}  // namespace cellfleet
