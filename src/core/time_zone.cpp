#include "core/time_zone.h"

#include <filesystem>
#include <fstream>
#include <string>

namespace cellfleet {

bool is_time_zone(std::string_view name) {
  if (name.empty() || name.size() > 64 || name.front() == '/' ||
      name.find("..") != std::string_view::npos) {
    return false;
  }
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '/' || c == '_' || c == '-' || c == '+';
    if (!ok) return false;
  }
  // A compiled zone file starts with the magic "TZif"; directories and other files are not zones.
  std::ifstream in("/usr/share/zoneinfo/" + std::string(name), std::ios::binary);
  char magic[4] = {};
  return in.read(magic, 4) && std::string_view(magic, 4) == "TZif";
}

}  // namespace cellfleet
