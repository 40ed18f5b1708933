#include "payment_facts.h"

#include "contracts/history_sources.h"

namespace cellfleet::billing {

contracts::PaymentPage PaymentFacts::payments(const std::string& org_id,
                                              const std::string& cursor) {
  auto page = contracts::gsi1_page(ctx_.store, kTable, keys::payments(org_id), cursor, 1000);
  contracts::PaymentPage out;
  out.next_cursor = std::move(page.next_cursor);
  out.payments.reserve(page.items.size());
  for (const auto& listed : page.items) {
    // The index copy may lag a reversal on DynamoDB: read the payment item itself.
    const std::string id = listed.at("id");
    auto p = ctx_.store.get(kTable, {keys::payment(org_id, id), keys::kPaymentSk});
    if (!p) continue;
    contracts::PaymentFacts facts;
    facts.id = p->at("id").get<std::string>();
    facts.method = p->value("method", "unknown");
    facts.amount = p->value("amount", std::int64_t{0});
    facts.received_at = p->value("received_at", "");
    if (p->value("status", "") == "reversed") facts.reversed_at = p->value("reversed_at", "");
    out.payments.push_back(std::move(facts));
  }
  return out;
}

}  // namespace cellfleet::billing
