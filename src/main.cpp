// Wiring only: read the config, open the store, build the routes, run.
#include <pthread.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli.h"
#include "core/clock_routes.h"
#include "core/config.h"
#include "core/error.h"
#include "core/events/dispatcher.h"
#include "core/events/event_routes.h"
#include "core/events/event_stream.h"
#include "core/events/publisher.h"
#include "core/http/dispatcher.h"
#include "core/http/probe.h"
#include "core/http/router.h"
#include "core/http/server.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/system_routes.h"
#include "storage/dynamodb/dynamodb_store.h"
#include "storage/sqlite/sqlite_store.h"
#include "billing/billing_module.h"
#include "device/device_module.h"
#include "insights/insights_module.h"
#include "loan/loan_module.h"
#include "tenant/tenant_module.h"
#include "warehouse/warehouse_module.h"

#ifdef CELLFLEET_JEMALLOC
#include <jemalloc/jemalloc.h>
#endif

namespace cellfleet::embedded {
extern const std::string_view openapi_json;
}

namespace cellfleet {
namespace {

constexpr std::string_view kVersion = CELLFLEET_VERSION;

// The allocator serving this process, as jemalloc itself reports it when the build links it
// (CMake option CELLFLEET_JEMALLOC), else "system".
std::string allocator_name() {
#ifdef CELLFLEET_JEMALLOC
  const char* version = nullptr;
  std::size_t size = sizeof(version);
  if (mallctl("version", static_cast<void*>(&version), &size, nullptr, 0) == 0 && version) {
    return std::string("jemalloc ") + version;
  }
#endif
  return "system";
}

const std::string kConfigFlags =
    "  --config FILE        configuration file (TOML); see config/cellfleet.toml\n"
    "  --data-dir DIR       directory of the SQLite database (storage.data_dir)\n";

const std::vector<cli::Command>& commands() {
  static const std::vector<cli::Command> list = {
      {"serve",
       "run the HTTP API server",
       "Usage: cellfleet serve [--config FILE] [--listen HOST:PORT] [--data-dir DIR]\n\n"
       "Runs the API server until SIGTERM or SIGINT, then drains in-flight requests and exits 0.\n"
       "Settings come from defaults, then FILE, then CELLFLEET_<SECTION>_<KEY> environment\n"
       "variables, then these flags.\n\n" +
           kConfigFlags + "  --listen HOST:PORT   address to listen on (server.listen)\n",
       {"--config", "--listen", "--data-dir"},
       {},
       0},
      {"migrate",
       "create or upgrade the store's schema, then exit",
       "Usage: cellfleet migrate [--config FILE] [--data-dir DIR]\n\n"
       "SQLite: applies pending schema migrations (safe while a server runs on the same\n"
       "store) and reports the schema version before and after. DynamoDB: creates the tables\n"
       "that do not exist (on-demand, streams, TTL, indexes, point-in-time recovery) and waits\n"
       "until they are ACTIVE. Both are safe to run from several processes at once.\n\n" +
           kConfigFlags,
       {"--config", "--data-dir"},
       {},
       0},
      {"routes",
       "list every HTTP route the server answers",
       "Usage: cellfleet routes [--json]\n\nPrints METHOD PATH ACCESS for every route, in "
       "registration order\n(ACCESS: anyone, platform_admin, or the roles admitted); --json "
       "prints\n[{\"method\":...,\"path\":...,\"access\":...}].\n",
       {},
       {"--json"},
       0},
      {"config",
       "print the effective configuration, or every key with its documentation",
       "Usage: cellfleet config [--config FILE] [--data-dir DIR] [--listen HOST:PORT] [--keys]\n\n"
       "Prints the configuration that `serve` would use, as TOML. --keys lists every key with\n"
       "its environment variable, default and meaning.\n\n" +
           kConfigFlags,
       {"--config", "--data-dir", "--listen"},
       {"--keys"},
       0},
      {"create-org",
       "create an organization and print its first owner API key",
       "Usage: cellfleet create-org --name NAME --slug SLUG --owner-email EMAIL\n"
       "                            [--currency CODE] [--time-zone ZONE] [--owner-name NAME]\n"
       "                            [--config FILE] [--data-dir DIR]\n\n"
       "Creates the organization and its first owner in the configured store (safe while a\n"
       "server runs on it) and prints the owner's API key. The key is shown only this once.\n"
       "Defaults: --currency USD, --time-zone UTC.\n\n" +
           kConfigFlags,
       {"--config", "--data-dir", "--name", "--slug", "--owner-email", "--owner-name", "--currency",
        "--time-zone"},
       {},
       0},
      {"healthcheck",
       "exit 0 when the server answers GET /healthz with 200 (the image's HEALTHCHECK)",
       "Usage: cellfleet healthcheck [--config FILE] [--listen HOST:PORT] [--path PATH]\n"
       "                             [--timeout-ms N]\n\n"
       "GETs http://HOST:PORT/PATH (default /healthz) and exits 0 on 200, 1 otherwise. HOST:PORT\n"
       "is server.listen (from FILE, CELLFLEET_SERVER_LISTEN or --listen); a wildcard address\n"
       "(0.0.0.0, ::) is reached over loopback. Default timeout 3000 ms. For container\n"
       "HEALTHCHECKs: the image carries no curl.\n",
       {"--config", "--listen", "--path", "--timeout-ms"},
       {},
       0},
      {"schema",
       "print the DynamoDB tables `migrate` creates, as JSON",
       "Usage: cellfleet schema --dynamodb [--config FILE] [--table-prefix PREFIX]\n\n"
       "Prints one JSON object per table: the CreateTable request `cellfleet migrate` sends\n"
       "(names with dynamodb.table_prefix, or PREFIX), plus TimeToLiveSpecification and\n"
       "PointInTimeRecoverySpecification. deploy/cloudformation.yaml must declare the same\n"
       "tables; tests/deploy/cloudformation_tables_test.py checks it.\n",
       {"--config", "--table-prefix"},
       {"--dynamodb"},
       0},
      {"backup",
       "copy the SQLite database, consistently, while the server runs",
       "Usage: cellfleet backup PATH [--config FILE] [--data-dir DIR]\n\n"
       "Copies the SQLite database (storage.data_dir/cellfleet.db) to PATH, a new file, with\n"
       "SQLite's online backup API: a consistent copy as of one commit, taken while a server\n"
       "keeps serving. The copy is checked with PRAGMA integrity_check. To restore, stop the\n"
       "server and put the copy in place as cellfleet.db (docs/self-host.md). DynamoDB is backed\n"
       "up by point-in-time recovery instead (docs/deploy-aws.md).\n\n" +
           kConfigFlags,
       {"--config", "--data-dir"},
       {},
       1},
      {"insights",
       "recompute the insights dashboards' figures (insights rebuild)",
       "Usage: cellfleet insights rebuild [--config FILE] [--data-dir DIR]\n\n"
       "Recomputes every organization's money figures (GET /v1/insights/portfolio,\n"
       "collections) from the contracts' items and ledgers, the payments and the packs into a\n"
       "new generation of items, switches to it, and deletes the old one. The utilisation and\n"
       "PAYG rent series (levels over time that no item keeps) are replayed from the retained\n"
       "event log: exact only while the log holds the organization's whole history. Run it\n"
       "while the server is stopped or idle: events delivered meanwhile may be missing.\n"
       "Also recomputes the fleet dashboard (GET /v1/insights/fleet) from the packs' own items\n"
       "(state, depot, model, latest state, confirmed lock, open alerts) into a new generation.\n\n" +
           kConfigFlags,
       {"--config", "--data-dir"},
       {},
       1},
      {"warehouse",
       "export history to the analysts' warehouse now (warehouse export)",
       "Usage: cellfleet warehouse export [--sink sqlite|files] [--out PATH] [--config FILE]\n"
       "                                  [--data-dir DIR]\n\n"
       "Moves what is new since the last export out of the operational store: telemetry older\n"
       "than warehouse.hot_window_hours, payments and reversals, the installments of closed\n"
       "contracts, events, and the devices, customers and products they refer to. Incremental\n"
       "and idempotent (a checkpoint in the sink). --sink defaults to warehouse.sink (sqlite\n"
       "when that is off or auto); --out is the SQLite file or the files directory (default\n"
       "warehouse.sqlite_path / warehouse.files_dir). Prints rows, seconds and rows/s per\n"
       "table. Tables and example queries: docs/warehouse.md.\n\n" +
           kConfigFlags,
       {"--config", "--data-dir", "--sink", "--out"},
       {},
       1},
      {"version", "print the version", "Usage: cellfleet version\n", {}, {}, 0},
  };
  return list;
}

Config load(const cli::Invocation& inv) {
  Config config = load_config(inv.value("--config") ? *inv.value("--config") : std::string(),
                              process_environment());
  if (auto v = inv.value("--listen")) set_config_value(config, "server.listen", *v);
  if (auto v = inv.value("--data-dir")) set_config_value(config, "storage.data_dir", *v);
  return config;
}

storage::SqliteOptions sqlite_options(const Config& config, Logger* log) {
  storage::SqliteOptions o;
  o.path = config.sqlite_path();
  o.readers = static_cast<int>(config.sqlite.readers);
  o.busy_timeout_ms = static_cast<int>(config.sqlite.busy_timeout_ms);
  o.synchronous = config.sqlite.synchronous;
  o.cache_mib = static_cast<int>(config.sqlite.cache_mib);
  o.mmap_mib = static_cast<int>(config.sqlite.mmap_mib);
  o.checkpoint_pages = static_cast<int>(config.sqlite.checkpoint_pages);
  o.telemetry_log_rows = static_cast<std::size_t>(config.sqlite.telemetry_log_rows);
  if (log) {
    o.ttl_purge_interval = std::chrono::seconds(config.sqlite.ttl_purge_interval_seconds);
    o.on_purge_error = [log](const std::exception& e) {
      log->error("ttl purge failed", {{"error", e.what()}});
    };
    o.on_log_error = [log](const std::exception& e) {
      log->error("telemetry log pass failed", {{"error", e.what()}});
    };
    o.on_checkpoint_report = [log](const std::string& what) {
      log->warn("sqlite checkpoint", {{"message", what}});
    };
  }
  return o;
}

storage::DynamoDbOptions dynamodb_options(const Config& config) {
  storage::DynamoDbOptions o;
  o.client.endpoint = config.dynamodb.endpoint;
  o.client.region = config.dynamodb.region;
  o.table_prefix = config.dynamodb.table_prefix;
  o.streams = config.dynamodb.streams == "on";
  return o;
}

// serving: the server, the one process that appends to the SQLite telemetry log and moves it;
// a CLI command run beside it writes telemetry straight into the table (SqliteOptions).
std::unique_ptr<storage::Store> open_store(const Config& config, Logger& log,
                                           bool serving = false) {
  if (config.storage.backend == "dynamodb") return storage::open_dynamodb(dynamodb_options(config));
  auto options = sqlite_options(config, &log);
  options.telemetry_log_owner = serving;
  return storage::open_sqlite(options);
}

tenant::TenantOptions tenant_options(const Config& c) {
  return tenant::TenantOptions{c.platform.admin_token, c.auth};
}

device::DeviceOptions device_options(const Config& c) {
  device::DeviceOptions o;
  o.telemetry_retention_days = c.devices.telemetry_retention_days;
  o.check_interval_seconds = c.devices.check_interval_seconds;
  o.online_minutes = c.insights.online_minutes;
  o.command_expiry_hours = c.devices.command_expiry_hours;
  o.command_redelivery_seconds = c.devices.command_redelivery_seconds;
  // Changes made on this instance apply at once whatever the setting; the time bounds only how long
  // another instance's changes go unseen. SQLite has one serving process, so it can be long: a
  // pack reporting every minute then finds what was kept of it; DynamoDB may have many instances.
  o.pack_cache_ms = c.devices.pack_cache_ms >= 0 ? c.devices.pack_cache_ms
                    : c.storage.backend == "sqlite" ? 3'600'000
                                                    : 60'000;
  return o;
}

loan::LoanOptions loan_options(const Config& c) {
  loan::LoanOptions o;
  o.check_interval_seconds = c.loans.check_interval_seconds;
  return o;
}

warehouse::WarehouseOptions warehouse_options(const Config& c) {
  warehouse::WarehouseOptions o;
  o.sink = c.warehouse_sink();
  o.sqlite_path = c.warehouse_sqlite_path();
  o.files_dir = c.warehouse_files_dir();
  o.hot_window_hours = c.warehouse.hot_window_hours;
  o.interval_seconds = c.warehouse.interval_seconds;
  o.settle_seconds = c.warehouse.settle_seconds;
  return o;
}

events::DispatcherOptions dispatcher_options(const Config& c) {
  events::DispatcherOptions o;
  o.max_attempts = static_cast<int>(c.events.max_attempts);
  o.sweep_interval = std::chrono::milliseconds(c.events.sweep_interval_ms);
  o.lease_duration = std::chrono::milliseconds(c.events.lease_ms);
  // SQLite: concurrent deliveries share the group commit's flushes. DynamoDB: one thread, since
  // parallel passes multiply the per-pass shard queries (on DynamoDB Local they starved the API's
  // own requests); docs/decisions.md.
  const std::int64_t threads = c.events.delivery_threads != 0 ? c.events.delivery_threads
                               : c.storage.backend == "sqlite" ? 4
                                                               : 1;
  o.delivery_threads = static_cast<std::size_t>(threads);
  // Fewer when a group's merged batch reaches 100 operations (dispatcher.h).
  o.group_deliveries = static_cast<std::size_t>(c.events.delivery_group);
  // An inbox marker must outlive any redelivery of its event, which the event log's retention
  // bounds.
  o.inbox_ttl = std::chrono::days(c.events.retention_days + 5);
  return o;
}

events::StreamOptions stream_options(const Config& c) {
  events::StreamOptions o;
  o.heartbeat = std::chrono::seconds(c.events.stream_heartbeat_seconds);
  o.max_per_org = static_cast<std::size_t>(c.events.stream_max_per_org);
  o.max_unsent_bytes = static_cast<std::size_t>(c.events.stream_max_unsent_bytes);
  o.poll_interval = std::chrono::milliseconds(c.events.stream_poll_ms);
  o.settle = std::chrono::milliseconds(c.events.stream_settle_ms);
  return o;
}

// Everything `serve` runs, built the same way for `routes` and `create-org`. Only `serve`
// starts the event dispatcher.
struct App {
  App(const Config& config, std::unique_ptr<storage::Store> s, Logger& log)
      : clock(config.testing.clock == "adjustable"),
        store(std::move(s)),
        events(*store, clock, log, metrics, dispatcher_options(config)),
        publisher(*store, clock, &events, std::chrono::days(config.events.retention_days)),
        streams(*store, clock, notifier, log, metrics, stream_options(config)),
        tenant(*store, clock, tenant_options(config), log, publisher),
        devices(*store, clock, device_options(config), log, publisher, tenant.directory(),
                notifier),
        billing(*store, clock, log, publisher, tenant.directory()),
        loans({*store, clock, log, publisher, tenant.directory(), billing.customers(),
               devices.binding()},
              loan_options(config)),
        insights(*store, clock, log, events, tenant.directory()),
        warehouse({*store, clock, log, metrics, tenant.directory(), devices.history(),
                   billing.history(), loans.history()},
                  warehouse_options(config)),
        credentials(tenant.authenticator()) {
    add_system_routes(router,
                      {*store, metrics, embedded::openapi_json, kVersion, &shutting_down});
    add_clock_routes(router, clock);
    if (const auto* sqlite = dynamic_cast<const storage::SqliteStore*>(store.get())) {
      metrics.gauge_callback("sqlite_wal_pages", "Pages in the SQLite WAL after the last commit",
                             [sqlite] { return sqlite->wal_status().wal_pages; });
      metrics.gauge_callback(
          "sqlite_checkpoints", "WAL checkpoints that copied pages into the database since start",
          [sqlite] { return static_cast<std::int64_t>(sqlite->wal_status().checkpoints); });
      metrics.gauge_callback("sqlite_checkpoint_failing",
                             "1 while WAL checkpoints fail (the WAL grows until one succeeds)",
                             [sqlite] { return sqlite->wal_status().failing ? 1 : 0; });
      metrics.gauge_callback(
          "sqlite_telemetry_log_rows",
          "Readings in the telemetry log, not yet moved into the telemetry table",
          [sqlite] { return static_cast<std::int64_t>(sqlite->telemetry_log_rows()); });
    }
    events::add_event_routes(router, *store, events);
    streams.add_routes(router);
    events.set_publish_listener([this](const std::string& org_id) { streams.published(org_id); });
    tenant.register_routes(router);
    devices.register_routes(router);
    billing.register_routes(router);
    billing.use_contracts(loans.directory());
    devices.subscribe(events);
    loans.register_routes(router);
    loans.subscribe(events);
    billing.subscribe(events);
    insights.register_routes(router);
    credentials.add("cfd_", devices.authenticator());
  }
  AdjustableClock clock;
  std::atomic<bool> shutting_down{false};  // set on SIGTERM: /readyz answers 503
  http::Notifier notifier;  // wakes parked long-polls; shared by the server and the modules
  std::unique_ptr<storage::Store> store;
  MetricsRegistry metrics;
  http::Router router;
  events::Dispatcher events;
  events::Publisher publisher;
  events::EventStreams streams;  // GET /v1/events/stream
  tenant::TenantModule tenant;
  device::DeviceModule devices;
  billing::BillingModule billing;
  loan::LoanModule loans;
  insights::InsightsModule insights;
  warehouse::WarehouseModule warehouse;
  CredentialRouter credentials;  // device credentials to the device module, the rest to tenant
};

http::ServerOptions server_options(const Config& c) {
  http::ServerOptions o;
  o.host = c.listen_host();
  o.port = c.listen_port();
  o.io_threads = static_cast<std::size_t>(c.server.io_threads);
  o.worker_threads = static_cast<std::size_t>(c.server.worker_threads);
  o.read_threads = static_cast<std::size_t>(c.server.read_threads);
  o.worker_queue = static_cast<std::size_t>(c.server.worker_queue);
  o.max_body_bytes = static_cast<std::size_t>(c.server.max_body_bytes);
  o.max_header_bytes = static_cast<std::size_t>(c.server.max_header_bytes);
  o.max_connections = static_cast<std::size_t>(c.server.max_connections);
  o.read_timeout = std::chrono::milliseconds(c.server.read_timeout_ms);
  o.drain_timeout = std::chrono::milliseconds(c.server.drain_timeout_ms);
  o.retry_after_seconds = static_cast<int>(c.server.retry_after_seconds);
  o.long_poll_recheck = std::chrono::milliseconds(c.server.long_poll_recheck_ms);
  return o;
}

int serve(const cli::Invocation& inv) {
  // SIGTERM/SIGINT are taken by one thread with sigwait, so every thread started below inherits
  // the blocked mask and no handler runs in the middle of a request.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  Config config = load(inv);
  LogLevel level = LogLevel::info;
  parse_log_level(config.log.level, level);
  Logger log(level);

  App app(config, open_store(config, log, true), log);
  http::Dispatcher dispatcher(app.router, log, app.metrics, &app.credentials,
                              &app.tenant.auditor());
  http::Server server(
      server_options(config), [&dispatcher](http::Request& r) { return dispatcher.handle(r); }, log,
      app.metrics, &app.notifier);
  auto port = server.listen();
  log.info("listening", {{"host", config.listen_host()},
                         {"port", port},
                         {"version", kVersion},
                         {"allocator", allocator_name()},
                         {"storage", config.storage.backend},
                         {"data_dir", config.storage.data_dir}});

  std::thread signal_waiter([&] {
    int sig = 0;
    sigwait(&stop_signals, &sig);
    // Not ready from now on, so a load balancer polling /readyz sends no new requests; still
    // serving for server.shutdown_delay_ms while it notices, then the drain.
    app.shutting_down = true;
    log.info("shutting down", {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"},
                               {"shutdown_delay_ms", config.server.shutdown_delay_ms}});
    std::this_thread::sleep_for(std::chrono::milliseconds(config.server.shutdown_delay_ms));
    server.stop();
  });
  app.events.start();
  app.devices.start();
  app.loans.start();
  app.warehouse.start();
  server.run();
  signal_waiter.join();
  // An export in progress stops at its next page; what it wrote stays, checkpointed.
  app.warehouse.stop();
  app.loans.stop();
  app.devices.stop();
  // After the drain: every request's events are committed; deliver what is in hand and stop.
  // What is still in the outbox is delivered by the next instance to start.
  app.events.stop();
  log.info("stopped");
  return 0;
}

int migrate(const cli::Invocation& inv) {
  Config config = load(inv);
  if (config.storage.backend == "dynamodb") {
    storage::migrate_dynamodb(dynamodb_options(config));
    fmt::print("DynamoDB tables with prefix \"{}\" exist and are ACTIVE\n",
               config.dynamodb.table_prefix);
    return 0;
  }
  auto report = storage::migrate_sqlite(sqlite_options(config, nullptr));
  if (report.from_version == report.to_version) {
    fmt::print("{}: schema is up to date (version {})\n", config.sqlite_path(), report.to_version);
  } else {
    fmt::print("{}: migrated schema from version {} to {}\n", config.sqlite_path(),
               report.from_version, report.to_version);
  }
  return 0;
}

int routes(const cli::Invocation& inv) {
  // Routes are registered against a throwaway store in a temp directory: listing them touches
  // no real data.
  auto dir = std::filesystem::temp_directory_path() /
             fmt::format("cellfleet-routes-{}", static_cast<long>(::getpid()));
  storage::SqliteOptions o;
  o.path = (dir / "routes.db").string();
  Logger log(LogLevel::error, stderr);
  auto app = std::make_unique<App>(Config{}, storage::open_sqlite(o), log);
  auto list = nlohmann::json::array();
  for (const auto& r : app->router.routes()) {
    if (inv.switches.contains("--json")) {
      list.push_back({{"method", r.method}, {"path", r.path}, {"access", r.access.describe()}});
    } else {
      fmt::print("{:<7} {:<50} {}\n", r.method, r.path, r.access.describe());
    }
  }
  if (inv.switches.contains("--json")) fmt::print("{}\n", list.dump(2));
  app.reset();
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
  return 0;
}

int create_org(const cli::Invocation& inv) {
  Config config = load(inv);
  auto required = [&inv](const std::string& flag) {
    auto v = inv.value(flag);
    if (!v || v->empty()) throw cli::UsageError("create-org: " + flag + " is required");
    return *v;
  };
  tenant::NewOrganization request;
  request.name = required("--name");
  request.slug = required("--slug");
  request.owner_email = required("--owner-email");
  request.owner_name = inv.value("--owner-name") ? *inv.value("--owner-name") : "";
  request.currency = inv.value("--currency") ? *inv.value("--currency") : "USD";
  request.time_zone = inv.value("--time-zone") ? *inv.value("--time-zone") : "UTC";
  Logger log(LogLevel::warn, stderr);
  App app(config, open_store(config, log), log);
  try {
    auto created = app.tenant.create_organization(request);
    fmt::print(
        "organization {} ({}) created\nowner {} <{}>\n\nowner API key (shown only now):\n{}\n",
        created.organization.at("id").get<std::string>(), request.slug, created.owner_user_id,
        request.owner_email, created.owner_api_key);
    return 0;
  } catch (const Error& e) {
    fmt::print(stderr, "cellfleet: create-org: {}\n", e.detail());
    for (const auto& f : e.fields()) {
      std::string flag = f.field;
      std::replace(flag.begin(), flag.end(), '_', '-');
      fmt::print(stderr, "  --{}: {}\n", flag, f.message);
    }
    return 2;
  }
}

int healthcheck(const cli::Invocation& inv) {
  Config config = load(inv);
  std::string host = config.listen_host();
  if (host == "0.0.0.0") host = "127.0.0.1";
  if (host == "::") host = "::1";
  const std::string path = inv.value("--path") ? *inv.value("--path") : "/healthz";
  int timeout_ms = 3000;
  if (auto v = inv.value("--timeout-ms")) {
    try {
      timeout_ms = std::stoi(*v);
    } catch (const std::exception&) {
      throw cli::UsageError("healthcheck: --timeout-ms must be a number of milliseconds");
    }
  }
  auto result = http::probe(host, config.listen_port(), path, std::chrono::milliseconds(timeout_ms));
  const std::string url = fmt::format("http://{}:{}{}", host.find(':') != std::string::npos
                                                            ? "[" + host + "]"
                                                            : host,
                                      config.listen_port(), path);
  if (result.status == 200) {
    fmt::print("{}: 200\n", url);
    return 0;
  }
  if (result.status != 0) {
    fmt::print(stderr, "cellfleet: healthcheck: {} answered {}\n", url, result.status);
  } else {
    fmt::print(stderr, "cellfleet: healthcheck: {}: {}\n", url, result.error);
  }
  return 1;
}

int schema(const cli::Invocation& inv) {
  if (!inv.switches.contains("--dynamodb")) {
    throw cli::UsageError("schema: --dynamodb is required (the only physical schema printed)");
  }
  Config config = load(inv);
  const std::string prefix =
      inv.value("--table-prefix") ? *inv.value("--table-prefix") : config.dynamodb.table_prefix;
  fmt::print("{}\n", storage::dynamodb_table_definitions(prefix).dump(2));
  return 0;
}

int backup(const cli::Invocation& inv) {
  if (inv.arguments.size() != 1) throw cli::UsageError("backup: PATH is required");
  Config config = load(inv);
  if (config.storage.backend != "sqlite") {
    fmt::print(stderr,
               "cellfleet: backup copies a SQLite database; DynamoDB tables are backed up by "
               "point-in-time recovery (docs/deploy-aws.md)\n");
    return 2;
  }
  const auto started = std::chrono::steady_clock::now();
  auto report = storage::backup_sqlite(sqlite_options(config, nullptr), inv.arguments[0]);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - started)
                      .count();
  fmt::print("{} -> {}: {} pages, {} bytes, schema version {}, integrity ok, {} ms\n",
             config.sqlite_path(), inv.arguments[0], report.pages, report.bytes,
             report.schema_version, ms);
  return 0;
}

int insights_command(const cli::Invocation& inv) {
  if (inv.arguments.size() != 1 || inv.arguments[0] != "rebuild") {
    throw cli::UsageError("insights: a subcommand is required: rebuild");
  }
  Config config = load(inv);
  Logger log(LogLevel::warn, stderr);
  App app(config, open_store(config, log), log);
  for (const auto& org : app.tenant.directory().organizations()) {
    const auto report = app.insights.rebuild(
        org.id, {app.loans.money(), app.billing.payments(), app.devices.fleet()});
    fmt::print(
        "{}: generation {}: {} contracts, {} payments, {} packs read, {} events replayed (the "
        "utilisation and rent series), {} items written, {} old items deleted\n",
        org.id, report.generation, report.contracts, report.payments, report.packs,
        report.events, report.items, report.removed);
    const auto fleet = app.insights.rebuild_fleet(org.id, app.devices.fleet());
    fmt::print("{}: fleet generation {}: {} packs read, {} items written, {} old items deleted\n",
               org.id, fleet.generation, fleet.packs, fleet.items, fleet.removed);
  }
  return 0;
}

int warehouse_command(const cli::Invocation& inv) {
  if (inv.arguments.size() != 1 || inv.arguments[0] != "export") {
    throw cli::UsageError("warehouse: a subcommand is required: export");
  }
  Config config = load(inv);
  std::string sink = config.warehouse_sink() == "files" ? "files" : "sqlite";
  if (auto v = inv.value("--sink")) sink = *v;
  if (sink != "sqlite" && sink != "files") {
    throw cli::UsageError("warehouse: --sink must be sqlite or files");
  }
  Logger log(LogLevel::warn, stderr);
  App app(config, open_store(config, log), log);
  warehouse::ExportReport report;
  try {
    report = app.warehouse.export_now(sink, inv.value("--out") ? *inv.value("--out") : "");
  } catch (const warehouse::ExportBusy& e) {
    fmt::print(stderr, "cellfleet: warehouse: {}; try again later\n", e.what());
    return 1;
  }
  fmt::print("{:<18} {:>10} {:>9} {:>12}\n", "table", "rows", "seconds", "rows/s");
  for (const auto& [table, t] : report.tables) {
    if (table == "dim_date") continue;  // derived by the SQLite sink from the facts' dates
    fmt::print("{:<18} {:>10} {:>9.3f} {:>12.0f}\n", table, t.rows, t.seconds,
               t.seconds > 0 ? static_cast<double>(t.rows) / t.seconds : 0.0);
  }
  const auto facts = report.fact_rows();
  fmt::print("{:<18} {:>10} {:>9.3f} {:>12.0f}\n", "facts total", facts, report.seconds,
             report.seconds > 0 ? static_cast<double>(facts) / report.seconds : 0.0);
  return 0;
}

int print_config(const cli::Invocation& inv) {
  if (inv.switches.contains("--keys")) {
    for (const auto& s : config_settings()) {
      fmt::print("{}.{} = {}\n    env {}\n    {}\n", s.section, s.key, s.default_value,
                 s.env_name(), s.doc);
    }
    return 0;
  }
  fmt::print("{}", render_config(load(inv)));
  return 0;
}

int run(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  try {
    auto inv = cli::parse(args, commands());
    if (inv.command == "help") {
      fmt::print("{}", cli::overview(commands()));
      return 0;
    }
    if (inv.help) {
      for (const auto& c : commands()) {
        if (c.name == inv.command) fmt::print("{}", c.usage);
      }
      return 0;
    }
    if (inv.command == "serve") return serve(inv);
    if (inv.command == "migrate") return migrate(inv);
    if (inv.command == "routes") return routes(inv);
    if (inv.command == "config") return print_config(inv);
    if (inv.command == "create-org") return create_org(inv);
    if (inv.command == "healthcheck") return healthcheck(inv);
    if (inv.command == "schema") return schema(inv);
    if (inv.command == "backup") return backup(inv);
    if (inv.command == "insights") return insights_command(inv);
    if (inv.command == "warehouse") return warehouse_command(inv);
    fmt::print("cellfleet {}\nallocator {}\n", kVersion, allocator_name());
    return 0;
  } catch (const cli::UsageError& e) {
    fmt::print(stderr, "cellfleet: {}\n\n{}", e.what(), cli::overview(commands()));
    return 2;
  } catch (const ConfigError& e) {
    fmt::print(stderr, "cellfleet: configuration error: {}\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    fmt::print(stderr, "cellfleet: {}\n", e.what());
    return 1;
  }
}

}  // namespace
}  // namespace cellfleet

int main(int argc, char** argv) {
  return cellfleet::run(argc, argv);
}
