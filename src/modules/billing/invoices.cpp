// Invoices over HTTP: manual drafts, issue (numbering), void, read, list, and the printable page.
#include "invoices.h"

#include <fmt/format.h>

#include "core/error.h"
#include "core/http/etag.h"
#include "core/http/idempotency.h"
#include "core/ids.h"
#include "core/json_input.h"
#include "core/timestamp.h"
#include "invoice_html.h"
#include "invoice_list.h"
#include "invoice_records.h"

namespace cellfleet::billing {

namespace {

constexpr std::size_t kMaxLines = 100;
constexpr std::int64_t kMaxQuantity = 1'000'000;
// How often issue re-reads the counter when other issuers keep taking the next number first.
constexpr int kNumberAttempts = 8;

const Access kWriters = Access::members({Role::owner, Role::admin, Role::finance});

std::vector<InvoiceLine> read_lines(JsonFields& in) {
  std::vector<InvoiceLine> lines;
  const auto* array = in.optional_array("lines");
  if (!array) {
    if (in.ok()) in.error("lines", "is required");
    return lines;
  }
  if (array->empty() || array->size() > kMaxLines) {
    in.error("lines", fmt::format("must hold 1 to {} lines", kMaxLines));
    return lines;
  }
  for (std::size_t i = 0; i < array->size(); ++i) {
    const std::string prefix = fmt::format("lines/{}/", i);
    if (!(*array)[i].is_object()) {
      in.error(prefix.substr(0, prefix.size() - 1), "must be an object");
      continue;
    }
    JsonFields line((*array)[i], prefix);
    InvoiceLine l;
    l.description = line.required_string("description", 1, 500);
    l.quantity = line.required_int("quantity", 1, kMaxQuantity);
    l.unit_amount = line.required_int("unit_amount", -kMaxInvoiceAmount, kMaxInvoiceAmount);
    try {
      line.finish();
      lines.push_back(std::move(l));
    } catch (const Error& e) {
      for (const auto& f : e.fields()) in.error(f.field, f.message);
    }
  }
  if (in.ok()) {
    // Each product fits (|quantity × unit_amount| <= 10^6 × 10^12 < 2^63), the sum may not.
    const auto total = lines_total(lines);
    if (!total || *total < 0 || *total > kMaxInvoiceAmount) {
      in.error("lines",
               fmt::format("the total must be from 0 to {} minor units", kMaxInvoiceAmount));
    }
  }
  return lines;
}

http::Response invoice_response(int status, const storage::Item& invoice) {
  return http::with_etag(http::Response::json(status, invoice_view(invoice)), invoice);
}

}  // namespace

storage::Item Invoices::invoice_of(const http::Request& req) const {
  const std::string& id = req.param("invoice_id");
  auto invoice = find_invoice(ctx_, req.caller().org_id, id);
  if (!invoice) throw Error(ErrorKind::not_found, "no invoice " + id);
  return *invoice;
}

http::Response Invoices::create(http::Request& req) {
  const auto& caller = req.caller();
  http::Idempotency idempotency(ctx_.store, req, caller.org_id);
  if (auto earlier = idempotency.replay()) return *earlier;

  auto body = parse_json_object(req);
  JsonFields in(body);
  NewInvoice inv;
  inv.kind = "manual";
  inv.status = "draft";
  inv.customer_id = in.required_string("customer_id", 1, 64);
  inv.contract_id = in.optional_string("contract_id", 1, 64);
  inv.lines = read_lines(in);
  inv.due_date = in.required_string("due_date", 10, 10);
  if (inv.due_date->size() == 10 && !parse_local_date(*inv.due_date)) {
    in.error("due_date", "must be a date, YYYY-MM-DD");
  }
  inv.notes = in.optional_string("notes", 0, 2000);
  in.finish();

  const std::string& org_id = caller.org_id;
  auto org = ctx_.organizations.find_organization(org_id);
  if (!org) throw Error(ErrorKind::not_found, "no organization " + org_id);
  if (!ctx_.find_customer(org_id, inv.customer_id)) {
    throw unprocessable("customer_id", "no customer " + inv.customer_id);
  }
  if (inv.contract_id) {
    auto contract = ctx_.contracts().find_contract(org_id, *inv.contract_id);
    if (!contract) throw unprocessable("contract_id", "no contract " + *inv.contract_id);
    if (contract->customer_id != inv.customer_id) {
      throw unprocessable("contract_id",
                          fmt::format("contract {} belongs to another customer", *inv.contract_id));
    }
  }
  inv.currency = org->currency;
  inv.created_by = caller.actor();

  const std::int64_t now = ctx_.clock.epoch_seconds();
  const std::string id = ctx_.ids.next("inv");
  auto item = new_invoice_item(org_id, id, inv, now);
  auto res = invoice_response(201, item);
  res.headers.emplace_back("Location", "/v1/invoices/" + id);
  storage::WriteBatch batch;
  batch.ops.push_back(storage::Put{kTable, item, storage::Condition::must_not_exist()});
  batch.ops.push_back(idempotency.record(res, now));
  try {
    ctx_.events.commit(batch);
  } catch (const storage::ConditionFailed& e) {
    if (auto winner = idempotency.after_conflict(e)) return *winner;
    throw;
  }
  return res;
}

http::Response Invoices::issue(http::Request& req) {
  const auto& caller = req.caller();
  auto invoice = invoice_of(req);
  http::check_if_match(req, invoice);
  const std::string id = invoice.at("id");
  const auto calendar = organization_calendar(ctx_, caller.org_id);

  for (int attempt = 0; attempt < kNumberAttempts; ++attempt) {
    const std::string status = invoice.at("status");
    if (status != "draft") {
      throw Error(
          ErrorKind::conflict,
          fmt::format(
              "invoice {} is {}{}; only a draft can be issued", id, status,
              invoice.contains("number") ? " as " + invoice.at("number").get<std::string>() : ""),
          {{"status", "is " + status}});
    }
    const std::int64_t now = ctx_.clock.epoch_seconds();
    const std::int64_t version = invoice.at("version").get<std::int64_t>();
    storage::WriteBatch batch;
    const auto number = take_number(ctx_.store, batch, caller.org_id, calendar, now);
    nlohmann::json set = issue_fields(number, now);
    set["status"] = "open";
    set["issued_by"] = caller.actor();
    set["updated_at"] = format_utc(now);
    set["version"] = version + 1;
    batch.ops.push_back(storage::Update{kTable,
                                        {invoice.at("pk"), invoice_keys::kInvoiceSk},
                                        set,
                                        {},
                                        storage::Condition::version_is(version)});
    auto issued = invoice;
    issued.update(set);
    ctx_.events.publish(batch, caller.org_id, "invoice.issued", id, issued_event_data(issued));
    try {
      ctx_.events.commit(batch);
      return invoice_response(200, issued);
    } catch (const storage::ConditionFailed& e) {
      // The counter moved (another invoice took the number): take the next one. The invoice
      // moved (issued or voided meanwhile): read it again, and say so if it is no draft now.
      if (e.op_index != 0) {
        auto now_stored = find_invoice(ctx_, caller.org_id, id);
        if (!now_stored) throw Error(ErrorKind::not_found, "no invoice " + id);
        invoice = std::move(*now_stored);
      }
    }
  }
  throw Error(ErrorKind::unavailable, "invoices are being issued too fast to number; try again")
      .with_header("Retry-After", "1");
}

http::Response Invoices::void_invoice(http::Request& req) {
  const auto& caller = req.caller();
  auto invoice = invoice_of(req);  // another organization's invoice is a 404 whatever the body
  auto body = parse_json_object(req);
  JsonFields in(body);
  const auto reason = in.required_string("reason", 1, 500);
  in.finish();
  http::check_if_match(req, invoice);

  const std::string id = invoice.at("id");
  const std::string status = invoice.at("status");
  if (status == "paid") {
    throw Error(
        ErrorKind::conflict,
        fmt::format("invoice {} is paid and cannot be voided; refund the payment instead", id),
        {{"status", "is paid"}});
  }
  if (status == "void") {
    throw Error(ErrorKind::conflict, fmt::format("invoice {} is already void", id),
                {{"status", "is void"}});
  }
  const std::int64_t now = ctx_.clock.epoch_seconds();
  const std::int64_t version = invoice.at("version").get<std::int64_t>();
  nlohmann::json set = {{"status", "void"},
                        {"void_reason", reason},
                        {"voided_at", format_utc(now)},
                        {"voided_by", caller.actor()},
                        {"updated_at", format_utc(now)},
                        {"version", version + 1}};
  storage::WriteBatch batch;
  batch.ops.push_back(storage::Update{kTable,
                                      {invoice.at("pk"), invoice_keys::kInvoiceSk},
                                      set,
                                      {},
                                      storage::Condition::version_is(version)});
  invoice.update(set);
  ctx_.events.publish(batch, caller.org_id, "invoice.voided", id,
                      voided_event_data(invoice, status, reason, caller.actor()));
  try {
    ctx_.events.commit(batch);
  } catch (const storage::ConditionFailed&) {
    throw Error(ErrorKind::conflict,
                "the invoice changed meanwhile (issued or paid); read it again and retry");
  }
  return invoice_response(200, invoice);
}

http::Response Invoices::get(http::Request& req) {
  return invoice_response(200, invoice_of(req));
}

http::Response Invoices::html(http::Request& req) {
  const std::string& org_id = req.caller().org_id;
  auto invoice = invoice_of(req);
  auto org = ctx_.organizations.find_organization(org_id);
  if (!org) throw Error(ErrorKind::not_found, "no organization " + org_id);
  const OrgCalendar calendar(org->time_zone);
  const InvoicePage page{invoice, org->name.empty() ? org->id : org->name,
                         ctx_.find_customer(org_id, invoice.at("customer_id")), calendar};
  auto res = http::Response::text(200, render_invoice_html(page), "text/html; charset=utf-8");
  // The page runs nothing and loads nothing: even an escaping bug could not run a script.
  res.headers.emplace_back("Content-Security-Policy",
                           "default-src 'none'; style-src 'unsafe-inline'");
  res.headers.emplace_back("X-Content-Type-Options", "nosniff");
  return res;
}

http::Response Invoices::list(http::Request& req) {
  auto filter = read_invoice_filter(req);
  auto page = http::page_request(req);
  auto found = list_invoices(ctx_, req.caller().org_id, filter, page);
  auto items = nlohmann::json::array();
  for (const auto& invoice : found.invoices) items.push_back(invoice_view(invoice));
  return http::page_response(std::move(items), found.next_cursor);
}

void Invoices::register_routes(http::Router& r) {
  auto bind = [this](auto method) { return http::member_handler(this, method); };
  const Access members = Access::any_member();
  r.add("POST", "/v1/invoices", kWriters, bind(&Invoices::create));
  r.add("GET", "/v1/invoices", members, bind(&Invoices::list));
  r.add("GET", "/v1/invoices/{invoice_id}", members, bind(&Invoices::get));
  r.add("GET", "/v1/invoices/{invoice_id}/html", members, bind(&Invoices::html));
  r.add("POST", "/v1/invoices/{invoice_id}/issue", kWriters, bind(&Invoices::issue));
  r.add("POST", "/v1/invoices/{invoice_id}/void", kWriters, bind(&Invoices::void_invoice));
}

}  // namespace cellfleet::billing
