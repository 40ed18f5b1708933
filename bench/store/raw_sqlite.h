#pragma once
// The ceiling for SQLite writes: plain sqlite3, a prepared INSERT bound column by column, 1,000
// rows per transaction, into a WITHOUT ROWID table of the readings' own shape (pk, sk and ten
// INTEGER columns), with the same journal mode and key spread as the store. No JSON, no encoding,
// no Store: what is left is SQLite's B-tree and the disk.

#include <string>

#include "measure.h"

namespace cellfleet::bench {

inline constexpr std::size_t kRawRowsPerTransaction = 1000;
inline constexpr const char* kRawOperation = "raw SQLite batched insert";

// Measures batched inserts into a new database file at path (WAL, the given PRAGMA synchronous),
// on one thread whatever options.threads says: SQLite has one writer.
Measurement measure_raw_sqlite_insert(const std::string& backend, const std::string& path,
                                      const std::string& synchronous, const RunOptions& options);

}  // namespace cellfleet::bench
