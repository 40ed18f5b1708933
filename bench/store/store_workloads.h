#pragma once
// The five Store operations the benchmark times, on whichever backend it is given.

#include <functional>
#include <string>
#include <vector>

#include "measure.h"
#include "storage/store.h"

namespace cellfleet::bench {

inline constexpr std::size_t kBatchPuts = 10;       // puts per write(batch)
inline constexpr std::size_t kPutManyItems = 1000;  // items per put_many
inline constexpr std::size_t kQueryPartitionItems = 100;
inline constexpr std::size_t kQueryLimit = 50;

// Operation names as the report prints them.
inline constexpr const char* kPutOperation = "put";
inline constexpr const char* kGetOperation = "get";
inline constexpr const char* kQueryOperation = "query (limit 50)";
inline constexpr const char* kBatchOperation = "write(batch of 10)";
inline constexpr const char* kPutManyOperation = "put_many(1000)";

enum class Operations { all, writes_only };

// Loads what get and query read (when reads are measured), then measures in turn put, get, query,
// write(batch) and put_many, passing each result to report as soon as it is known.
void run_store_operations(const std::string& backend, storage::Store& store,
                          const RunOptions& options, Operations operations,
                          const std::function<void(const Measurement&)>& report);

}  // namespace cellfleet::bench
