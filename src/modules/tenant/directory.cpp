// The tenant module's answers to other modules (contracts/organization_directory.h).
#include "tenant_impl.h"

namespace cellfleet::tenant {

namespace {
contracts::OrganizationInfo info(const storage::Item& org) {
  return {org.at("id"), org.value("status", "active"), org.value("currency", ""),
          org.value("time_zone", "UTC"), org.value("name", "")};
}
}  // namespace

std::optional<contracts::OrganizationInfo> TenantModule::Impl::find_organization(
    const std::string& org_id) {
  auto org = store.get("entities", {keys::org(org_id), "org"});
  if (!org || org->value("status", "") == "deleted") return std::nullopt;
  return info(*org);
}

std::vector<contracts::OrganizationInfo> TenantModule::Impl::organizations() {
  // Deleted organizations leave the gsi1 listing (platform_delete_org removes its keys).
  std::vector<contracts::OrganizationInfo> all;
  storage::Query q;
  q.table = "entities";
  q.index = "gsi1";
  q.partition = keys::kAllOrgs;
  q.limit = 1000;
  do {
    auto page = store.query(q);
    for (const auto& org : page.items) {
      if (org.value("status", "") != "deleted") all.push_back(info(org));
    }
    q.cursor = page.next_cursor;
  } while (!q.cursor.empty());
  return all;
}

}  // namespace cellfleet::tenant
