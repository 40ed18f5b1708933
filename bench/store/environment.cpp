#include "environment.h"

#include <fmt/format.h>
#include <stdlib.h>

#include <ctime>
#include <fstream>
#include <stdexcept>

#include "storage/dynamodb/dynamodb_client.h"
#include "storage/dynamodb/http_client.h"
#include "storage/schema.h"

namespace fs = std::filesystem;

namespace cellfleet::bench {

std::string utc_now() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%d %H:%M UTC", &tm);
  return text;
}

std::string load_average() {
  std::ifstream in("/proc/loadavg");
  std::string one, five, fifteen;
  if (!(in >> one >> five >> fifteen)) return "unknown";
  return one + " " + five + " " + fifteen;
}

TempDir::TempDir(const std::string& prefix) {
  std::string pattern = (fs::temp_directory_path() / (prefix + "XXXXXX")).string();
  if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ignored;
  fs::remove_all(path_, ignored);
}

bool is_loopback(const std::string& host) {
  return host == "localhost" || host == "::1" || host == "[::1]" || host.starts_with("127.");
}

storage::DynamoDbOptions local_dynamodb_options(const std::string& endpoint,
                                                const std::string& table_prefix) {
  if (!is_loopback(storage::dynamodb::parse_endpoint(endpoint).host)) {
    throw std::invalid_argument("the benchmark only talks to a loopback DynamoDB (Local), not " +
                                endpoint);
  }
  storage::DynamoDbOptions options;
  options.client.endpoint = endpoint;
  options.client.region = "us-east-1";
  // DynamoDB Local checks the signature's shape, not the keys; it does insist on an access key id
  // of letters and digits only.
  options.client.credentials = {"cellfleetbench", "cellfleetbench", ""};
  options.table_prefix = table_prefix;
  // DynamoDB Local slows down with every stream record it keeps, even of deleted tables; the
  // benchmark measures cellfleet, and nothing in it reads the streams.
  options.streams = false;
  return options;
}

void delete_tables(const storage::DynamoDbOptions& options) {
  storage::dynamodb::DynamoDbClient client(options.client);
  for (const auto& table : storage::logical_schema()) {
    try {
      client.call("DeleteTable", {{"TableName", options.table_prefix + table.name}});
    } catch (const std::exception& error) {
      fmt::print(stderr, "could not delete table {}{}: {}\n", options.table_prefix, table.name,
                 error.what());
    }
  }
}

}  // namespace cellfleet::bench
