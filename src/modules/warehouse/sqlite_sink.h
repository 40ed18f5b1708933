#pragma once
// The local warehouse: one SQLite file an analyst opens with sqlite3. Tables are created from
// rows.h's definitions with their primary keys, plus warehouse_checkpoint (source, position),
// written in the same transaction as the rows it covers.

#include <memory>
#include <string>

#include "sink.h"

struct sqlite3;

namespace cellfleet::warehouse {

class SqliteSink : public Sink {
 public:
  // Opens (creating) the file and its tables. Throws std::runtime_error.
  explicit SqliteSink(const std::string& path);
  ~SqliteSink() override;
  SqliteSink(const SqliteSink&) = delete;
  SqliteSink& operator=(const SqliteSink&) = delete;

  Checkpoints checkpoints() override;
  void write(const Batch& batch) override;

 private:
  struct Statements;
  void exec(const std::string& sql);
  sqlite3* db_ = nullptr;
  std::unique_ptr<Statements> statements_;
};

}  // namespace cellfleet::warehouse
