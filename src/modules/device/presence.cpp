#include "presence.h"

#include <algorithm>

#include "reading.h"

namespace cellfleet::device {

namespace {
storage::Key cursor_key(const std::string& org_id) {
  return {"org#" + org_id + "#presence", "check"};
}
}  // namespace

void Presence::check_all() {
  for (const auto& org : ctx_.organizations.organizations()) {
    if (org.status != "active") continue;
    check_org(org.id);
  }
}

void Presence::check_org(const std::string& org_id) {
  const std::int64_t cutoff_ms = ctx_.clock.epoch_millis() - ctx_.options.online_minutes * 60'000;
  const auto cursor = ctx_.store.get(kTable, cursor_key(org_id));
  const std::int64_t from_ms =
      cursor ? std::max<std::int64_t>(0, cursor->value("cutoff_ms", std::int64_t{0}) -
                                             kPresenceMarginMs)
             : 0;
  if (cutoff_ms > from_ms) {
    storage::Query q;
    q.table = kTable;
    q.index = "gsi1";
    q.partition = keys::devices_by_last_seen(org_id);
    // Sort keys are "<ms:13>#<dev>": every reading at from_ms or later and before cutoff_ms.
    q.sort = storage::SortCondition{storage::SortCondition::Op::between, keys::time_key(from_ms),
                                    keys::time_key(cutoff_ms)};
    q.limit = 500;
    do {
      auto page = ctx_.store.query(q);
      for (const auto& latest : page.items) {
        if (!latest.value("online", false)) continue;
        const std::int64_t version = latest.at("version").get<std::int64_t>();
        const std::string device_id = latest.at("device_id");
        storage::WriteBatch batch;
        batch.ops.push_back(storage::Update{kTable,
                                            {latest.at("pk"), keys::kLatestSk},
                                            {{"online", false}, {"version", version + 1}},
                                            {},
                                            storage::Condition::version_is(version)});
        ctx_.events.publish(
            batch, org_id, "device.offline", device_id,
            {{"last_seen", format_utc_ms(latest.value("last_seen_ms", std::int64_t{0}))}});
        try {
          ctx_.events.commit(batch);
        } catch (const storage::ConditionFailed&) {
          // A newer reading moved the pack meanwhile; its ingest decided the flag.
        }
      }
      q.cursor = page.next_cursor;
    } while (!q.cursor.empty());
  }
  // Several instances may run the check: the cursor only ever saves work, a stale one re-walks.
  ctx_.store.write({{storage::Put{
      kTable,
      {{"pk", cursor_key(org_id).pk}, {"sk", cursor_key(org_id).sk}, {"cutoff_ms", cutoff_ms}},
      storage::Condition::none()}}});
}

}  // namespace cellfleet::device
