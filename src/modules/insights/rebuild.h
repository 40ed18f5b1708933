#pragma once
// `cellfleet insights rebuild`, money part: recomputes an organization's money and utilisation
// figures (money_aggregates.h) into a new generation, switches to it in one conditional write,
// then deletes the old generation's items.
//
// Computed from the owning modules' items, handed over page by page (contracts/
// money_sources.h, contracts/fleet_source.h), not from the event log, so it is an independent
// check of what the subscriber kept and exact whatever the log's retention:
//   - per contract (loan): its copy (the snapshot its events carry) and its share of the shard
//     figures (by_state, outstanding principal, delinquency buckets, PAYG rent in force);
//     revenue by product and the daily by_kind applied / reversed from its ledger's "payment" and
//     "reversal" entries (on the local day the payment was received / reversed, as billing
//     holds them); expected from the installments it announced, by due date;
//   - per payment (billing): its copy and the daily received and reversed figures by method;
//   - per pack (device): deployed / in stock now.
// The utilisation and PAYG rent series are levels over time that no source item keeps the
// history of: those two partitions alone are replayed from the retained event log with the
// subscriber's handler, and are exact only while the log holds the organization's whole history
// (events.retention_days).
//
// Run it while the dispatcher is idle (server stopped, or nothing happening): an event the
// subscriber applies to the old generation after the sources were read is not in the new one.
// An event applied during the switch fails its generation check and is retried against the new
// generation.

#include <cstddef>
#include <cstdint>
#include <string>

#include "contracts/fleet_source.h"
#include "contracts/money_sources.h"
#include "money_aggregates.h"
#include "storage/store.h"

namespace cellfleet::insights {

struct MoneySources {
  contracts::ContractMoneySource& contracts;
  contracts::PaymentSource& payments;
  contracts::FleetSource& fleet;
};

struct RebuildReport {
  std::int64_t generation = 0;  // the generation now in use
  std::size_t contracts = 0;    // contracts read
  std::size_t payments = 0;     // payments read
  std::size_t packs = 0;        // packs read
  std::size_t events = 0;       // events replayed for the utilisation and rent series
  std::size_t items = 0;        // items written
  std::size_t removed = 0;      // items of the previous generation deleted
};

// Throws storage::ConditionFailed when another rebuild switched the generation meanwhile.
RebuildReport rebuild_money(storage::Store& store, const std::string& org_id,
                            const CalendarOf& calendar_of, const MoneySources& sources);

}  // namespace cellfleet::insights
