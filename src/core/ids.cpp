#include "core/ids.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <mutex>
#include <random>

namespace cellfleet {

namespace {
constexpr std::string_view kAlphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
constexpr std::size_t kUlidChars = 26;
__extension__ typedef unsigned __int128 uint128;  // GCC/Clang builtin; pedantic-clean

// State shared by every generator of the process, so two generators never hand out one id.
struct UlidState {
  std::mutex mutex;
  std::uint64_t last_ms = 0;
  std::uint16_t rand_hi = 0;  // 16 of the 80 random bits
  std::uint64_t rand_lo = 0;  // the other 64
  std::mt19937_64 rng{std::random_device{}()};
};

UlidState& state() {
  static UlidState s;
  return s;
}
}  // namespace

IdGenerator::IdGenerator(const Clock& clock) : clock_(clock) {}

std::string IdGenerator::next(std::string_view prefix) {
  auto& s = state();
  std::uint64_t ms;
  std::uint16_t hi;
  std::uint64_t lo;
  {
    std::lock_guard lock(s.mutex);
    ms = static_cast<std::uint64_t>(clock_.epoch_millis());
    if (ms <= s.last_ms) {
      // Same (or an earlier, if the clock stepped back) millisecond: keep the last timestamp and
      // increment the random part, so ids stay strictly increasing (monotonic ULID).
      ms = s.last_ms;
      if (++s.rand_lo == 0) ++s.rand_hi;
    } else {
      s.last_ms = ms;
      s.rand_lo = s.rng();
      s.rand_hi = static_cast<std::uint16_t>(s.rng());
    }
    hi = s.rand_hi;
    lo = s.rand_lo;
  }
  // 128 bits: 48 time | 16 hi | 64 lo, written as 26 base32 digits (130 bits, top 2 zero).
  std::array<char, kUlidChars> out{};
  uint128 value =
      (static_cast<uint128>(ms & 0xFFFFFFFFFFFFULL) << 80) | (static_cast<uint128>(hi) << 64) | lo;
  for (std::size_t i = kUlidChars; i-- > 0;) {
    out[i] = kAlphabet[static_cast<std::size_t>(value & 31)];
    value >>= 5;
  }
  std::string id;
  id.reserve(prefix.size() + 1 + kUlidChars);
  id.append(prefix).push_back('_');
  id.append(out.data(), out.size());
  return id;
}

std::string last_id_at(std::string_view prefix, std::int64_t epoch_ms) {
  // The 10 time digits (48 bits in 50: the top digit holds 3 bits), then the largest random part.
  std::uint64_t ms = static_cast<std::uint64_t>(std::max<std::int64_t>(0, epoch_ms));
  std::string id(prefix);
  id.push_back('_');
  std::array<char, 10> time{};
  for (std::size_t i = time.size(); i-- > 0;) {
    time[i] = kAlphabet[ms & 31];
    ms >>= 5;
  }
  id.append(time.data(), time.size());
  id.append(kUlidChars - time.size(), 'Z');
  return id;
}

std::int64_t id_millis(std::string_view id) {
  const auto ulid = id.substr(id.size() - kUlidChars);
  std::uint64_t ms = 0;
  for (char c : ulid.substr(0, 10)) ms = ms * 32 + kAlphabet.find(c);
  return static_cast<std::int64_t>(ms);
}

bool is_id(std::string_view text, std::string_view prefix) {
  if (text.size() != prefix.size() + 1 + kUlidChars) return false;
  if (text.substr(0, prefix.size()) != prefix || text[prefix.size()] != '_') return false;
  for (char c : text.substr(prefix.size() + 1)) {
    if (kAlphabet.find(c) == std::string_view::npos) return false;
  }
  return true;
}

}  // namespace cellfleet
