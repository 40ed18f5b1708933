#pragma once
// What every benchmark program needs around its measurements: the time and load average to
// print with the figures (on a shared machine they mean little without them), a scratch
// directory, and the guards and clean-up of a run against DynamoDB Local.

#include <filesystem>
#include <string>

#include "storage/dynamodb/dynamodb_store.h"

namespace cellfleet::bench {

// "2026-11-26 01:13 UTC".
std::string utc_now();

// The first three fields of /proc/loadavg, or "unknown".
std::string load_average();

// A new directory <system temp dir>/<prefix>XXXXXX, removed with everything in it.
class TempDir {
 public:
  explicit TempDir(const std::string& prefix);
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// True for localhost, 127.x.y.z and ::1: benchmarks only load a DynamoDB Local, never AWS.
bool is_loopback(const std::string& host);

// Options for DynamoDB Local at endpoint (loopback only: throws std::invalid_argument otherwise),
// with fixed dummy credentials and the given table prefix.
storage::DynamoDbOptions local_dynamodb_options(const std::string& endpoint,
                                                const std::string& table_prefix);

// Drops every table of the logical schema under options.table_prefix, so a long-lived DynamoDB
// Local does not keep a benchmark's items. Failures are printed, not thrown.
void delete_tables(const storage::DynamoDbOptions& options);

}  // namespace cellfleet::bench
