#pragma once
// Files for an object store's query engines (Athena, Redshift Spectrum, BigQuery): newline-
// delimited JSON, gzip-compressed, one file per table, organization and UTC date of each batch:
//   <dir>/table=<t>/org=<org>/date=<YYYY-MM-DD>/part-<batch>.ndjson.gz
// and <dir>/_checkpoint.json. Each file is written to a temporary name, fsync'd and renamed; the
// checkpoint file the same way, only after every file it covers is durable (at the latest every
// 256 batches and at the end of a run, so thousands of packs do not rewrite it thousands of times).
// A batch re-read after a crash has the same part name (its source and start position), so it
// replaces its files rather than adding a second copy. Dimensions are a snapshot per day:
// part-dimensions, replaced by each run of that day.

#include <string>

#include "sink.h"

namespace cellfleet::warehouse {

class FilesSink : public Sink {
 public:
  // Creates dir when missing. Throws std::runtime_error.
  explicit FilesSink(std::string dir);
  Checkpoints checkpoints() override;
  void write(const Batch& batch) override;
  void flush() override;

 private:
  std::string dir_;
  Checkpoints checkpoints_;  // the checkpoint file's content, read once
  bool loaded_ = false;
  std::size_t unsaved_ = 0;  // batches whose checkpoints are not in the file yet
};

// The gzip (RFC 1952) compression of data. Throws std::runtime_error.
std::string gzip(const std::string& data);

}  // namespace cellfleet::warehouse
