#include "invoice_records.h"

#include <cstdio>
#include <stdexcept>

#include <fmt/format.h>

#include "core/error.h"
#include "core/ids.h"
#include "core/item_view.h"
#include "core/timestamp.h"

namespace cellfleet::billing {

bool is_invoice_status(const std::string& status) {
  return status == "draft" || status == "open" || status == "paid" || status == "void";
}

std::optional<std::int64_t> lines_total(const std::vector<InvoiceLine>& lines) {
  std::int64_t total = 0;
  for (const auto& line : lines) {
    std::int64_t amount = 0;
    if (__builtin_mul_overflow(line.quantity, line.unit_amount, &amount)) return std::nullopt;
    if (__builtin_add_overflow(total, amount, &total)) return std::nullopt;
  }
  return total;
}

storage::Item new_invoice_item(const std::string& org_id, const std::string& invoice_id,
                               const NewInvoice& inv, std::int64_t now) {
  const auto total = lines_total(inv.lines);
  if (!total || *total < 0 || *total > kMaxInvoiceAmount) {
    throw std::invalid_argument("invoice total out of range");
  }
  auto lines = nlohmann::json::array();
  for (const auto& line : inv.lines) {
    nlohmann::json l = {{"description", line.description},
                        {"quantity", line.quantity},
                        {"unit_amount", line.unit_amount},
                        {"amount", line.quantity * line.unit_amount}};
    if (!line.kind.empty()) l["kind"] = line.kind;
    lines.push_back(std::move(l));
  }
  const std::string at = format_utc(now);
  storage::Item item = {{"pk", invoice_keys::invoice(org_id, invoice_id)},
                        {"sk", invoice_keys::kInvoiceSk},
                        {"id", invoice_id},
                        {"org_id", org_id},
                        {"kind", inv.kind},
                        {"status", inv.status},
                        {"customer_id", inv.customer_id},
                        {"currency", inv.currency},
                        {"lines", std::move(lines)},
                        {"total", *total},
                        {"created_at", at},
                        {"created_by", inv.created_by},
                        {"updated_at", at},
                        {"version", 1},
                        {"gsi1pk", invoice_keys::all(org_id)},
                        {"gsi1sk", invoice_id},
                        {"gsi2pk", invoice_keys::of_customer(org_id, inv.customer_id)},
                        {"gsi2sk", invoice_id}};
  if (inv.contract_id) item["contract_id"] = *inv.contract_id;
  if (inv.installment) item["installment"] = *inv.installment;
  if (inv.payment_id) item["payment_id"] = *inv.payment_id;
  if (inv.due_date) item["due_date"] = *inv.due_date;
  if (inv.notes) item["notes"] = *inv.notes;
  if (inv.paid_at) item["paid_at"] = *inv.paid_at;
  return item;
}

InvoiceNumber take_number(storage::Store& store, storage::WriteBatch& batch,
                          const std::string& org_id, const OrgCalendar& calendar,
                          std::int64_t now) {
  InvoiceNumber number;
  number.year = static_cast<int>(calendar.local_date(now).year());
  const storage::Key key{invoice_keys::counter(org_id, number.year), invoice_keys::kCounterSk};
  auto counter = store.get(kTable, key);
  if (!counter) {
    number.seq = 1;
    batch.ops.push_back(storage::Put{
        kTable,
        {{"pk", key.pk}, {"sk", key.sk}, {"year", number.year}, {"last", 1}, {"version", 1}},
        storage::Condition::must_not_exist()});
  } else {
    const std::int64_t version = counter->at("version").get<std::int64_t>();
    number.seq = counter->at("last").get<std::int64_t>() + 1;
    batch.ops.push_back(storage::Update{kTable,
                                        key,
                                        {{"last", number.seq}, {"version", version + 1}},
                                        {},
                                        storage::Condition::version_is(version)});
  }
  number.text = fmt::format("INV-{:04}-{:06}", number.year, number.seq);
  return number;
}

nlohmann::json issue_fields(const InvoiceNumber& number, std::int64_t now) {
  return {{"number", number.text},
          {"number_year", number.year},
          {"number_seq", number.seq},
          {"issued_at", format_utc(now)}};
}

OrgCalendar organization_calendar(const Context& ctx, const std::string& org_id) {
  auto org = ctx.organizations.find_organization(org_id);
  if (!org) throw Error(ErrorKind::not_found, "no organization " + org_id);
  return OrgCalendar(org->time_zone);
}

std::optional<storage::Item> find_invoice(const Context& ctx, const std::string& org_id,
                                          const std::string& invoice_id) {
  if (!is_id(invoice_id, "inv")) return std::nullopt;
  return ctx.store.get(kTable,
                       {invoice_keys::invoice(org_id, invoice_id), invoice_keys::kInvoiceSk});
}

nlohmann::json invoice_view(const storage::Item& invoice) {
  return item_view(invoice);
}

namespace {
// What every invoice event says about the invoice.
nlohmann::json event_base(const storage::Item& invoice) {
  nlohmann::json data = {{"invoice_id", invoice.at("id")},
                         {"kind", invoice.at("kind")},
                         {"customer_id", invoice.at("customer_id")},
                         {"total", invoice.at("total")},
                         {"currency", invoice.at("currency")}};
  for (const char* optional : {"number", "contract_id", "installment", "payment_id"}) {
    if (invoice.contains(optional)) data[optional] = invoice.at(optional);
  }
  return data;
}
}  // namespace

nlohmann::json issued_event_data(const storage::Item& invoice) {
  auto data = event_base(invoice);
  data["status"] = invoice.at("status");
  data["issued_at"] = invoice.at("issued_at");
  if (invoice.contains("due_date")) data["due_date"] = invoice.at("due_date");
  return data;
}

nlohmann::json paid_event_data(const storage::Item& invoice) {
  auto data = event_base(invoice);
  data["paid_at"] = invoice.at("paid_at");
  return data;
}

nlohmann::json voided_event_data(const storage::Item& invoice, const std::string& previous,
                                 const std::string& reason, const std::string& actor) {
  auto data = event_base(invoice);
  data["previous"] = previous;
  data["reason"] = reason;
  data["actor"] = actor;
  return data;
}

std::optional<std::chrono::year_month_day> parse_local_date(const std::string& text) {
  int y = 0;
  unsigned m = 0;
  unsigned d = 0;
  char tail = 0;
  if (text.size() != 10 || text[4] != '-' || text[7] != '-' ||
      std::sscanf(text.c_str(), "%4d-%2u-%2u%c", &y, &m, &d, &tail) != 3) {
    return std::nullopt;
  }
  for (std::size_t i : {0u, 1u, 2u, 3u, 5u, 6u, 8u, 9u}) {
    if (text[i] < '0' || text[i] > '9') return std::nullopt;
  }
  std::chrono::year_month_day ymd{std::chrono::year(y), std::chrono::month(m), std::chrono::day(d)};
  if (!ymd.ok() || y < 1970 || y > 9999) return std::nullopt;
  return ymd;
}

std::string format_local_date(std::chrono::year_month_day d) {
  return fmt::format("{:04}-{:02}-{:02}", static_cast<int>(d.year()),
                     static_cast<unsigned>(d.month()), static_cast<unsigned>(d.day()));
}

}  // namespace cellfleet::billing
