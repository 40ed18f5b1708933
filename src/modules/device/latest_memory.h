#pragma once
// What telemetry last read or wrote of each pack's stored latest state (the "latest" item), so a
// pack reporting steadily costs its ingest no read of that item: the read was a third of an
// ingest request's store work.
//
// Why a remembered state can be trusted without a time limit, even with several instances:
// - The stored reading time only moves forward: every writer of the item (ingest, the presence
//   check) bumps its version, and ingest never writes an older reading over a newer one.
// - So a reading older than the remembered one is older than the stored one too: skipping it is
//   right whatever happened since.
// - Every other decision ends in a write conditioned on the remembered version. If anything
//   changed the item since, that condition fails; ingest then forgets the pack, reads the item
//   and decides again, as it did before this memory existed.
// - A reading of the same time as the remembered one is decided on a fresh read (it replaces
//   the stored one only when its values differ, and only the item holds those values).
//
// Bounded: at most max_packs entries (about 100 bytes each); past that it starts over.
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

namespace cellfleet::device {

class LatestMemory {
 public:
  struct Facts {
    std::int64_t version = 0;             // the item's version
    std::int64_t at_ms = 0;               // its reading's time (last_seen)
    std::optional<std::int64_t> soh_pct;  // its whole-percent state of health
    bool online = false;                  // its presence flag
  };

  explicit LatestMemory(std::size_t max_packs = 250'000) : max_packs_(max_packs) {}

  // The facts remembered of the pack's latest item (key: its partition key), if any.
  std::optional<Facts> find(const std::string& pack_pk) const;
  void remember(const std::string& pack_pk, const Facts& facts);
  void forget(const std::string& pack_pk);

 private:
  const std::size_t max_packs_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Facts> packs_;
};

}  // namespace cellfleet::device
