#pragma once
// The telemetry log's rows not yet moved into the telemetry table (docs/decisions.md, "Telemetry
// written as a log"), by partition: what a read of one pack must merge, and what the next
// compaction pass moves. Memory only: the store rebuilds it from the log when it opens. The
// store adds a row only once its commit is durable and removes one only once the commit that
// moved it is, so a reader that takes a partition's list before it reads the database finds
// every row either in the log or already in the table. Thread-safe.

#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace cellfleet::storage::sqlite {

class LogTail {
 public:
  // A pass starts once the tail holds this many rows, or one partition holds kLongestTail.
  explicit LogTail(std::size_t compact_rows) : compact_rows_(compact_rows) {}

  // A partition's tail is read in full by every query of it, so a pass starts once one reaches
  // this many rows (it may grow meanwhile: a pass of the whole log takes seconds).
  static constexpr std::size_t kLongestTail = 1000;

  struct Change {
    std::string pk;
    std::int64_t seq;
    bool added;  // false: the row left the log (moved into the table)
  };
  // Applies a commit's changes, in order. Removing a row the tail does not hold does nothing.
  void apply(const std::vector<Change>& changes);

  // The partition's rows, oldest first.
  std::vector<std::int64_t> seqs(const std::string& pk) const;

  struct Part {
    std::string pk;
    std::vector<std::int64_t> seqs;  // oldest first
  };
  // The next part of a pass: partitions after `after` (all when nullopt), in key order, with
  // their rows up to seq `through`, until at least `rows` rows are taken. Empty at the end.
  std::vector<Part> parts(const std::optional<std::string>& after, std::int64_t through,
                          std::size_t rows) const;

  std::size_t rows() const;
  // A pass begins: the newest row it moves (0 when there is none). A long tail seen before counts
  // as handled by it.
  std::int64_t begin_pass();
  // Whether a pass should run: a threshold above is reached.
  bool due() const;

 private:
  mutable std::mutex mutex_;
  std::map<std::string, std::vector<std::int64_t>> by_pk_;
  std::size_t rows_ = 0;
  std::int64_t newest_ = 0;
  std::size_t compact_rows_;
  bool long_tail_ = false;  // a partition reached kLongestTail since the last pass began
};

}  // namespace cellfleet::storage::sqlite
