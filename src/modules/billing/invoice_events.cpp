// The invoices that contracts make by themselves: the subscriber "billing.invoices".
//
// Each handler reads what it needs and appends its effects; the dispatcher commits them with its
// inbox marker, so a redelivered event changes nothing twice. A number is taken in the same
// batch (take_number): when another writer took it first, the write fails, the dispatcher calls
// the handler again later, and the handler reads the counter anew.
#include <stdexcept>

#include <fmt/format.h>

#include "core/timestamp.h"
#include "invoice_records.h"
#include "invoices.h"

namespace cellfleet::billing {

namespace {

constexpr const char* kSubscriber = "billing.invoices";

std::int64_t amount_of(const nlohmann::json& data, const char* name) {
  return data.value(name, std::int64_t{0});
}

// Lines of an installment invoice: always the three parts, so every installment invoice reads the
// same way (a part that is zero shows as zero).
std::vector<InvoiceLine> installment_lines(const nlohmann::json& data, std::int64_t n) {
  const std::string of = n == 0 ? "deposit" : fmt::format("installment {}", n);
  return {{"Principal, " + of, 1, amount_of(data, "principal"), "principal"},
          {"Interest, " + of, 1, amount_of(data, "interest"), "interest"},
          {"Fee, " + of, 1, amount_of(data, "fee"), "fee"}};
}

NewInvoice installment_invoice(const events::Event& event, const std::string& status) {
  const auto& data = event.data;
  const std::int64_t n = data.at("n").get<std::int64_t>();
  NewInvoice inv;
  inv.kind = "installment";
  inv.status = status;
  inv.customer_id = data.at("customer_id").get<std::string>();
  inv.contract_id = event.subject;
  inv.installment = n;
  inv.currency = data.at("currency").get<std::string>();
  inv.lines = installment_lines(data, n);
  inv.due_date = data.at("due").get<std::string>();
  inv.created_by = kSubscriber;
  return inv;
}

// The calendar of the event's organization; nullopt when the organization was deleted meanwhile
// (its contracts need no more invoices, and retrying would only make a dead letter).
std::optional<OrgCalendar> calendar_of(const Context& ctx, const std::string& org_id) {
  auto org = ctx.organizations.find_organization(org_id);
  if (!org) {
    ctx.log.info("no invoice for a deleted organization", {{"org_id", org_id}});
    return std::nullopt;
  }
  return OrgCalendar(org->time_zone);
}

}  // namespace

std::optional<std::string> Invoices::claimed_invoice(const std::string& org_id,
                                                     const std::string& contract_id,
                                                     std::int64_t n) const {
  auto claim =
      ctx_.store.get(kTable, {invoice_keys::claim(org_id, contract_id, n), invoice_keys::kClaimSk});
  if (!claim) return std::nullopt;
  return claim->at("invoice_id").get<std::string>();
}

void Invoices::subscribe(events::Dispatcher& dispatcher) {
  dispatcher.register_subscriber(
      kSubscriber,
      {"contract.installment_due", "contract.installment_paid", "contract.payment_applied",
       "contract.rescheduled", "contract.cancelled", "contract.written_off"},
      [this](const events::Event& event, storage::WriteBatch& effects) {
        if (event.type == "contract.rescheduled") {
          const auto& closed = event.data.value("closed_installments", nlohmann::json::array());
          for (const auto& n : closed) {
            void_open_invoice(event, n.get<std::int64_t>(), "the installment was rescheduled",
                              effects);
          }
        } else if (event.type == "contract.cancelled" || event.type == "contract.written_off") {
          // Every installment invoice still open stops being owed with the contract.
          // Only installments announced due have invoices that can be open.
          const std::int64_t last = event.data.value("contract", nlohmann::json::object())
                                        .value("announced_through", std::int64_t{-1});
          for (std::int64_t n = 0; n <= last; ++n) {
            void_open_invoice(event, n, "contract " + event.type.substr(9), effects);
          }
        } else if (event.type == "contract.installment_due") {
          on_installment_due(event, effects);
        } else if (event.type == "contract.installment_paid") {
          on_installment_paid(event, effects);
        } else if (event.type == "contract.payment_applied") {
          on_payment_applied(event, effects);
        }
      });
}

void Invoices::void_open_invoice(const events::Event& event, std::int64_t n,
                                 const std::string& reason, storage::WriteBatch& effects) {
  // Each void costs 3 of the batch's operations (the invoice, the event's two items).
  if (effects.ops.size() + 3 > storage::kMaxBatchOps - 2) {
    ctx_.log.warn("too many open invoices to void with one contract event; the rest stay open",
                  {{"org_id", event.org_id}, {"contract_id", event.subject}, {"n", n}});
    return;
  }
  auto invoice_id = claimed_invoice(event.org_id, event.subject, n);
  if (!invoice_id) return;
  auto invoice = find_invoice(ctx_, event.org_id, *invoice_id);
  if (!invoice || invoice->at("status") != "open") return;
  const std::int64_t now = ctx_.clock.epoch_seconds();
  const std::int64_t version = invoice->at("version").get<std::int64_t>();
  nlohmann::json set = {{"status", "void"},
                        {"void_reason", reason},
                        {"voided_at", format_utc(now)},
                        {"voided_by", "system"},
                        {"updated_at", format_utc(now)},
                        {"version", version + 1}};
  effects.ops.push_back(storage::Update{kTable,
                                        {invoice->at("pk"), invoice_keys::kInvoiceSk},
                                        set,
                                        {},
                                        storage::Condition::version_is(version)});
  invoice->update(set);
  ctx_.events.publish(effects, event.org_id, "invoice.voided", *invoice_id,
                      voided_event_data(*invoice, "open", reason, "system"));
}

void Invoices::on_installment_due(const events::Event& event, storage::WriteBatch& effects) {
  const std::string& org_id = event.org_id;
  const std::int64_t n = event.data.at("n").get<std::int64_t>();
  // Already invoiced: it was paid before its due day (on_installment_paid made it paid).
  if (claimed_invoice(org_id, event.subject, n)) return;

  const std::int64_t now = ctx_.clock.epoch_seconds();
  const auto calendar = calendar_of(ctx_, org_id);
  if (!calendar) return;
  const std::string id = ctx_.ids.next("inv");
  auto item = new_invoice_item(org_id, id, installment_invoice(event, "open"), now);
  effects.ops.push_back(storage::Put{kTable,
                                     {{"pk", invoice_keys::claim(org_id, event.subject, n)},
                                      {"sk", invoice_keys::kClaimSk},
                                      {"invoice_id", id}},
                                     storage::Condition::must_not_exist()});
  const auto number = take_number(ctx_.store, effects, org_id, *calendar, now);
  item.update(issue_fields(number, now));
  effects.ops.push_back(storage::Put{kTable, item, storage::Condition::must_not_exist()});
  ctx_.events.publish(effects, org_id, "invoice.issued", id, issued_event_data(item));
}

void Invoices::on_installment_paid(const events::Event& event, storage::WriteBatch& effects) {
  const std::string& org_id = event.org_id;
  const std::int64_t n = event.data.at("n").get<std::int64_t>();
  const std::string paid_at = event.data.at("paid_at").get<std::string>();
  const std::int64_t now = ctx_.clock.epoch_seconds();

  if (auto invoice_id = claimed_invoice(org_id, event.subject, n)) {
    auto invoice = find_invoice(ctx_, org_id, *invoice_id);
    if (!invoice) {
      throw std::runtime_error("invoice " + *invoice_id + " of a claim is missing");
    }
    const std::string status = invoice->at("status");
    if (status != "open") {
      // Paid already, or voided by an operator: a void invoice stays void (the money is in the
      // contract's ledger either way).
      if (status == "void") {
        ctx_.log.info("installment paid on a void invoice",
                      {{"org_id", org_id}, {"invoice_id", *invoice_id}});
      }
      return;
    }
    const std::int64_t version = invoice->at("version").get<std::int64_t>();
    nlohmann::json set = {{"status", "paid"},
                          {"paid_at", paid_at},
                          {"updated_at", format_utc(now)},
                          {"version", version + 1}};
    effects.ops.push_back(storage::Update{kTable,
                                          {invoice->at("pk"), invoice_keys::kInvoiceSk},
                                          set,
                                          {},
                                          storage::Condition::version_is(version)});
    invoice->update(set);
    ctx_.events.publish(effects, org_id, "invoice.paid", *invoice_id, paid_event_data(*invoice));
    return;
  }

  // Paid before it fell due (a prepayment, a payoff): it is invoiced now, as paid.
  const auto calendar = calendar_of(ctx_, org_id);
  if (!calendar) return;
  const std::string id = ctx_.ids.next("inv");
  auto inv = installment_invoice(event, "paid");
  inv.paid_at = paid_at;
  auto item = new_invoice_item(org_id, id, inv, now);
  effects.ops.push_back(storage::Put{kTable,
                                     {{"pk", invoice_keys::claim(org_id, event.subject, n)},
                                      {"sk", invoice_keys::kClaimSk},
                                      {"invoice_id", id}},
                                     storage::Condition::must_not_exist()});
  const auto number = take_number(ctx_.store, effects, org_id, *calendar, now);
  item.update(issue_fields(number, now));
  effects.ops.push_back(storage::Put{kTable, item, storage::Condition::must_not_exist()});
  ctx_.events.publish(effects, org_id, "invoice.issued", id, issued_event_data(item));
  ctx_.events.publish(effects, org_id, "invoice.paid", id, paid_event_data(item));
}

void Invoices::on_payment_applied(const events::Event& event, storage::WriteBatch& effects) {
  const auto& data = event.data;
  if (data.value("kind", "") != "payg") return;  // lease-to-own money settles installments
  const std::int64_t amount = amount_of(data, "amount");
  if (amount <= 0) return;  // nothing reached the contract (it all became customer credit)

  const std::string& org_id = event.org_id;
  const std::int64_t now = ctx_.clock.epoch_seconds();
  const auto calendar = calendar_of(ctx_, org_id);
  if (!calendar) return;
  NewInvoice inv;
  inv.kind = "receipt";
  inv.status = "paid";
  inv.customer_id = data.at("customer_id").get<std::string>();
  inv.contract_id = event.subject;
  inv.payment_id = data.at("payment_id").get<std::string>();
  inv.currency = data.at("currency").get<std::string>();
  inv.lines = {{"Credit top-up", 1, amount, "top_up"}};
  inv.paid_at = format_utc(event.occurred_at / 1000);
  inv.created_by = kSubscriber;
  const std::string id = ctx_.ids.next("inv");
  auto item = new_invoice_item(org_id, id, inv, now);
  const auto number = take_number(ctx_.store, effects, org_id, *calendar, now);
  item.update(issue_fields(number, now));
  effects.ops.push_back(storage::Put{kTable, item, storage::Condition::must_not_exist()});
  ctx_.events.publish(effects, org_id, "invoice.issued", id, issued_event_data(item));
  ctx_.events.publish(effects, org_id, "invoice.paid", id, paid_event_data(item));
}

}  // namespace cellfleet::billing
