#pragma once
// DynamoDB Local's ceiling measured in the same run: PutItem and BatchWriteItem sent straight
// through the backend's wire client (SigV4, keep-alive HTTP) with requests built beforehand, no
// Store in between. On a shared machine the emulator's speed moves with the load, so the fixed
// figures of ARCHITECTURE.md §8 alone do not say how much of a gap is the Store's.

#include <string>

#include "measure.h"
#include "storage/dynamodb/dynamodb_client.h"

namespace cellfleet::bench {

inline constexpr const char* kRawPutItemOperation = "client PutItem";
inline constexpr const char* kRawBatchWriteOperation = "client BatchWriteItem(25)";
// put_many keeps this many BatchWriteItem requests in flight per call (dynamodb_put_many.cpp);
// the ceiling row uses as many threads per benchmark thread, so both offer the same concurrency.
inline constexpr int kBatchWritesInFlight = 4;

// One unconditional PutItem of a reading per call, on options.threads threads.
Measurement measure_client_put_item(const std::string& backend,
                                    const storage::dynamodb::ClientOptions& client,
                                    const std::string& physical_table, const RunOptions& options);

// One BatchWriteItem of 25 readings per call, on kBatchWritesInFlight * options.threads threads.
// Unprocessed items (throttling) count as an error of that call.
Measurement measure_client_batch_write(const std::string& backend,
                                       const storage::dynamodb::ClientOptions& client,
                                       const std::string& physical_table,
                                       const RunOptions& options);

}  // namespace cellfleet::bench
