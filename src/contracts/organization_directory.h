#pragma once
// What the tenant module tells other modules about organizations, synchronously: whether one may
// act (a device credential of a suspended organization is refused like a user's), and which
// organizations a scheduled job must visit. Implemented by the tenant module, wired in main.cpp.

#include <optional>
#include <string>
#include <vector>

namespace cellfleet::contracts {

struct OrganizationInfo {
  std::string id;
  std::string status;     // "active" or "suspended" (deleted organizations are not found)
  std::string currency;   // ISO 4217, e.g. "KES"
  std::string time_zone;  // IANA, e.g. "Africa/Nairobi"
  std::string name;       // as the operator named it, e.g. "Jua Energy" (documents show it)
};

class OrganizationDirectory {
 public:
  virtual ~OrganizationDirectory() = default;
  // The organization, or nullopt when there is none or it was deleted.
  virtual std::optional<OrganizationInfo> find_organization(const std::string& org_id) = 0;
  // Every organization that is not deleted, in id order.
  virtual std::vector<OrganizationInfo> organizations() = 0;
};

}  // namespace cellfleet::contracts
