#pragma once
// What the commit-then-crash test (events_crash_test.cpp) and its helper process
// (events_crash_helper.cpp) agree on: which store the helper opens, told on its command line, and
// the items the two sides write and read.
//
// The helper's "publish" mode commits, again and again, one state item
//   pk "crash#state", sk <n, 8 digits>          {n}
// together with one event of type "crash.state_committed", subject "st_<n, 8 digits>", data {n},
// published through events::Publisher without a dispatcher (so nothing is delivered), and prints
// n once the commit returned. Its "deliver" mode runs a Dispatcher whose one subscriber writes
//   pk "crash#effect", sk <event subject>       {n, event_id, applied_by, applied_at}
// with must_not_exist per event, until the outbox is empty.

#include <cstdio>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "storage/dynamodb/dynamodb_store.h"
#include "storage/sqlite/sqlite_store.h"
#include "storage/store.h"

namespace cellfleet::events::testing::crash {

inline const std::string kOrg = "org_01JDCRASHTEST0000000000000";
inline const std::string kEventType = "crash.state_committed";
inline const std::string kSubscriber = "crash.effects";
inline const std::string kStatePartition = "crash#state";
inline const std::string kEffectPartition = "crash#effect";

inline std::string padded(long long n) {
  char text[32];
  std::snprintf(text, sizeof text, "%08lld", n);
  return text;
}
inline std::string state_sk(long long n) {
  return padded(n);
}
inline std::string subject(long long n) {
  return "st_" + padded(n);
}

// The store the helper opens: a SQLite file, or DynamoDB (Local) tables under a prefix that the
// test has created with migrate_dynamodb.
struct StoreSpec {
  std::string backend;  // "sqlite" | "dynamodb"
  std::string sqlite_path;
  std::string endpoint;
  std::string table_prefix;

  // As the helper's command line takes it: --sqlite PATH | --dynamodb ENDPOINT PREFIX.
  std::vector<std::string> args() const {
    if (backend == "sqlite") return {"--sqlite", sqlite_path};
    return {"--dynamodb", endpoint, table_prefix};
  }

  // Parses what args() made, from argv[first]. Throws std::invalid_argument otherwise.
  static StoreSpec parse(int argc, char** argv, int first) {
    const std::vector<std::string> rest(argv + first, argv + argc);
    StoreSpec spec;
    if (rest.size() == 2 && rest[0] == "--sqlite") {
      spec.backend = "sqlite";
      spec.sqlite_path = rest[1];
    } else if (rest.size() == 3 && rest[0] == "--dynamodb") {
      spec.backend = "dynamodb";
      spec.endpoint = rest[1];
      spec.table_prefix = rest[2];
    } else {
      throw std::invalid_argument("expected --sqlite PATH or --dynamodb ENDPOINT PREFIX");
    }
    return spec;
  }

  storage::DynamoDbOptions dynamodb_options() const {
    storage::DynamoDbOptions options;
    options.client.endpoint = endpoint;
    options.client.region = "us-east-1";
    // DynamoDB Local accepts any keys of letters and digits; fixed ones need no environment.
    options.client.credentials = {"cellfleettest", "cellfleettest", ""};
    options.table_prefix = table_prefix;
    options.streams = false;  // the emulator slows with every stream record it keeps
    return options;
  }

  // SQLite with its default options (synchronous=full), as a server opens it.
  std::unique_ptr<storage::Store> open() const {
    if (backend == "sqlite") {
      storage::SqliteOptions options;
      options.path = sqlite_path;
      return storage::open_sqlite(options);
    }
    return storage::open_dynamodb(dynamodb_options());
  }
};

}  // namespace cellfleet::events::testing::crash
