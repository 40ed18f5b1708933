#include "money_facts.h"

#include "contracts/history_sources.h"
#include "settlement.h"

namespace cellfleet::loan {

contracts::ContractMoneyPage MoneyFacts::contracts(const std::string& org_id,
                                                   const std::string& cursor) {
  auto page = contracts::gsi1_page(ctx_.store, kTable, keys::contracts(org_id), cursor, 200);
  contracts::ContractMoneyPage out;
  out.next_cursor = std::move(page.next_cursor);
  for (const auto& listed : page.items) {
    // The index copy may lag on DynamoDB: the contract item itself is what counts.
    auto c = ctx_.find_contract(org_id, listed.at("id"));
    if (!c) continue;
    contracts::ContractMoneyFacts facts;
    facts.id = c->at("id").get<std::string>();
    facts.snapshot = contract_snapshot(*c);
    if (c->contains("installments")) {
      const std::int64_t announced = c->value("announced_through", std::int64_t{-1});
      for (const auto& inst : c->at("installments")) {
        // One a reschedule closed counts as announced, below (reschedule.cpp).
        if (inst.value("n", std::int64_t{0}) > announced || inst.value("rescheduled", false)) {
          continue;
        }
        facts.announced.push_back({inst.at("due").get<std::string>(),
                                   inst.value("principal", std::int64_t{0}) +
                                       inst.value("interest", std::int64_t{0}) +
                                       inst.value("fee", std::int64_t{0})});
      }
    }
    for (const auto& closed : c->value("closed_announcements", nlohmann::json::array())) {
      facts.announced.push_back(
          {closed.at("due").get<std::string>(), closed.value("amount", std::int64_t{0})});
    }
    storage::Query ledger;
    ledger.table = kTable;
    ledger.partition = c->at("pk");
    ledger.sort = storage::SortCondition{storage::SortCondition::Op::begins_with, "ledger#", ""};
    ledger.limit = 1000;
    do {
      auto entries = ctx_.store.query(ledger);
      for (const auto& entry : entries.items) {
        const std::string kind = entry.value("kind", "");
        if (kind != "payment" && kind != "reversal") continue;
        const auto detail = entry.value("detail", nlohmann::json::object());
        contracts::ContractMoneyFacts::Movement m{detail.value("payment_id", ""),
                                                  entry.value("amount", std::int64_t{0}),
                                                  entry.value("at", "")};
        if (kind == "payment") {
          m.amount = -m.amount;  // a payment lowers the balance
          facts.applied.push_back(std::move(m));
        } else {
          facts.reversed.push_back(std::move(m));
        }
      }
      ledger.cursor = entries.next_cursor;
    } while (!ledger.cursor.empty());
    out.contracts.push_back(std::move(facts));
  }
  return out;
}

}  // namespace cellfleet::loan
