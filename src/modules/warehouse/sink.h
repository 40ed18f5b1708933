#pragma once
// Where the export's rows go. A batch is the unit of progress: its rows and the checkpoints that
// say how far they reach are made durable together (SQLite: one transaction; files: the part
// files, then the checkpoint file), so a run that stops anywhere resumes without losing or
// repeating rows.

#include <map>
#include <string>
#include <vector>

#include "rows.h"

namespace cellfleet::warehouse {

// Source -> how far it was exported: "telemetry/<org>/<device>" -> last reading's epoch ms,
// "events/<org>" -> last event id.
using Checkpoints = std::map<std::string, std::string>;

struct Batch {
  std::vector<Row> rows;
  Checkpoints checkpoints;  // the positions these rows reach; empty for dimensions
  // Names the batch's files: derived from the source and the position it starts from, so a
  // batch re-read after a crash lands in the same files instead of beside them.
  std::string part;
};

class Sink {
 public:
  virtual ~Sink() = default;
  // Every checkpoint written so far (empty for a new warehouse).
  virtual Checkpoints checkpoints() = 0;
  // Stores the rows and then the checkpoints; a fact row already stored is not stored twice, a
  // dimension row replaces the stored one. Throws std::runtime_error on failure (then the
  // checkpoints are unchanged).
  virtual void write(const Batch& batch) = 0;
  // Makes every checkpoint written so far durable (a sink may hold them back while the rows they
  // cover are already durable: a crash then only repeats those batches, into the same place).
  virtual void flush() {}
};

}  // namespace cellfleet::warehouse
