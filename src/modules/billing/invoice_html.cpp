#include "invoice_html.h"

#include <fmt/format.h>

#include "core/currency.h"
#include "core/timestamp.h"
#include "invoice_records.h"

namespace cellfleet::billing {

std::string html_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

std::string format_money(std::int64_t minor_units, std::string_view currency) {
  const int digits = currency_minor_digits(currency).value_or(2);
  // The magnitude as unsigned, so even INT64_MIN has one.
  const std::uint64_t magnitude = minor_units < 0
                                      ? static_cast<std::uint64_t>(-(minor_units + 1)) + 1
                                      : static_cast<std::uint64_t>(minor_units);
  std::uint64_t scale = 1;
  for (int i = 0; i < digits; ++i) scale *= 10;
  const std::string whole = std::to_string(magnitude / scale);
  std::string grouped;
  for (std::size_t i = 0; i < whole.size(); ++i) {
    if (i > 0 && (whole.size() - i) % 3 == 0) grouped.push_back(',');
    grouped.push_back(whole[i]);
  }
  std::string out = minor_units < 0 ? "-" : "";
  out += std::string(currency) + " " + grouped;
  if (digits > 0) out += fmt::format(".{:0{}}", magnitude % scale, digits);
  return out;
}

namespace {

// An RFC 3339 instant as the organization's local date; the text itself when it is not one.
std::string local_day(const OrgCalendar& calendar, const std::string& instant) {
  auto t = parse_utc(instant);
  if (!t) return instant;
  return format_local_date(calendar.local_date(*t));
}

std::string title_of(const storage::Item& invoice) {
  const std::string kind = invoice.value("kind", "");
  const std::string what = kind == "receipt" ? "Receipt" : "Invoice";
  if (invoice.contains("number")) return what + " " + invoice.at("number").get<std::string>();
  return "Draft " + std::string(kind == "receipt" ? "receipt" : "invoice");
}

constexpr std::string_view kStyle = R"(
  body { font-family: "Helvetica Neue", Arial, sans-serif; color: #222; margin: 2rem; }
  h1 { font-size: 1.6rem; margin: 0 0 .25rem; }
  .org { font-size: 1.1rem; font-weight: bold; }
  .status { display: inline-block; padding: .1rem .5rem; border: 1px solid #888; }
  .status-void { color: #a00; border-color: #a00; }
  .status-paid { color: #060; border-color: #060; }
  .parties { display: flex; justify-content: space-between; margin: 1.5rem 0; }
  .address { white-space: pre-line; }
  table { width: 100%; border-collapse: collapse; margin-top: 1rem; }
  th, td { padding: .4rem; border-bottom: 1px solid #ccc; text-align: left; }
  td.num, th.num { text-align: right; white-space: nowrap; }
  tfoot td { font-weight: bold; border-bottom: none; }
  .notes { margin-top: 1.5rem; white-space: pre-line; }
  @media print { body { margin: 0; } }
)";

void add_row(std::string& out, std::string_view label, const std::string& value) {
  out += fmt::format("<tr><th>{}</th><td>{}</td></tr>\n", label, html_escape(value));
}

}  // namespace

std::string render_invoice_html(const InvoicePage& page) {
  const auto& inv = page.invoice;
  const std::string currency = inv.value("currency", "");
  const std::string status = inv.value("status", "");
  const std::string title = title_of(inv);
  std::string out;
  out += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  out +=
      fmt::format("<title>{} - {}</title>\n", html_escape(title), html_escape(page.organization));
  out += fmt::format("<style>{}</style>\n</head>\n<body>\n", kStyle);
  out += fmt::format("<header>\n<div class=\"org\">{}</div>\n<h1>{}</h1>\n",
                     html_escape(page.organization), html_escape(title));
  out +=
      fmt::format("<span class=\"status status-{0}\">{0}</span>\n</header>\n", html_escape(status));

  out += "<section class=\"parties\">\n<div class=\"customer\">\n<h2>Bill to</h2>\n";
  if (page.customer) {
    const auto& c = *page.customer;
    out += fmt::format("<div class=\"name\">{}</div>\n", html_escape(c.value("name", "")));
    out += fmt::format("<div class=\"phone\">{}</div>\n", html_escape(c.value("phone", "")));
    if (c.contains("address")) {
      out += fmt::format("<div class=\"address\">{}</div>\n",
                         html_escape(c.at("address").get<std::string>()));
    }
  }
  out += fmt::format("<div class=\"customer-id\">Customer {}</div>\n</div>\n",
                     html_escape(inv.value("customer_id", "")));
  auto text = [&inv](const char* name) { return inv.at(name).get<std::string>(); };
  out += "<table class=\"facts\">\n";
  if (inv.contains("issued_at"))
    add_row(out, "Issued", local_day(page.calendar, text("issued_at")));
  if (inv.contains("due_date")) add_row(out, "Due", text("due_date"));
  if (inv.contains("paid_at")) add_row(out, "Paid", local_day(page.calendar, text("paid_at")));
  if (inv.contains("voided_at"))
    add_row(out, "Voided", local_day(page.calendar, text("voided_at")));
  if (inv.contains("contract_id")) add_row(out, "Contract", text("contract_id"));
  if (inv.contains("installment")) {
    add_row(out, "Installment", std::to_string(inv.at("installment").get<std::int64_t>()));
  }
  if (inv.contains("payment_id")) add_row(out, "Payment", text("payment_id"));
  out += "</table>\n</section>\n";

  out +=
      "<table class=\"lines\">\n<thead><tr><th>Description</th><th class=\"num\">Quantity</th>"
      "<th class=\"num\">Unit price</th><th class=\"num\">Amount</th></tr></thead>\n<tbody>\n";
  const nlohmann::json lines = inv.value("lines", nlohmann::json::array());
  for (const auto& line : lines) {
    out += fmt::format(
        "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>"
        "<td class=\"num\">{}</td></tr>\n",
        html_escape(line.value("description", "")), line.value("quantity", std::int64_t{0}),
        html_escape(format_money(line.value("unit_amount", std::int64_t{0}), currency)),
        html_escape(format_money(line.value("amount", std::int64_t{0}), currency)));
  }
  out += fmt::format(
      "</tbody>\n<tfoot><tr><td colspan=\"3\">Total</td><td class=\"num\">{}</td></tr></tfoot>\n"
      "</table>\n",
      html_escape(format_money(inv.value("total", std::int64_t{0}), currency)));
  if (inv.contains("void_reason")) {
    out +=
        fmt::format("<p class=\"void-reason\">Voided: {}</p>\n", html_escape(text("void_reason")));
  }
  if (inv.contains("notes")) {
    out += fmt::format("<div class=\"notes\">{}</div>\n", html_escape(text("notes")));
  }
  out += "</body>\n</html>\n";
  return out;
}

}  // namespace cellfleet::billing
