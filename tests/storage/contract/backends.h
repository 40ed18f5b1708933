#pragma once
// The backends the contract suite runs against. Each test opens a fresh store through a factory,
// giving it a clock the test can move (TTL tests need "now" under their control).

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "storage/store.h"

namespace cellfleet::storage::testing {

struct OpenedBackend {
  // Whatever the store needs to outlive it (a temp dir, a client); destroyed after the store.
  std::shared_ptr<void> resources;
  std::unique_ptr<Store> store;
};

struct BackendFactory {
  std::string name;  // shown as the section name in test output
  std::function<OpenedBackend(std::function<std::int64_t()> now_epoch_seconds)> open;
};

// Every backend available in this environment: SQLite always; DynamoDB only when
// CELLFLEET_TEST_DYNAMODB_ENDPOINT is set (see backends.cpp).
std::vector<BackendFactory> contract_backends();

}  // namespace cellfleet::storage::testing
