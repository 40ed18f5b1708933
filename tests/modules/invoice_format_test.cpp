// The invoice's arithmetic and printing (billing/invoice_records.h, billing/invoice_html.h):
// totals that refuse to overflow, amounts in each currency's minor digits, and escaping.
#include <catch2/catch.hpp>
#include <limits>

#include "billing/invoice_html.h"
#include "billing/invoice_records.h"

using namespace cellfleet::billing;

TEST_CASE("amounts print with the currency's minor digits and thousands separators",
          "[invoices][unit]") {
  CHECK(format_money(123450, "KES") == "KES 1,234.50");
  CHECK(format_money(5, "KES") == "KES 0.05");
  CHECK(format_money(0, "USD") == "USD 0.00");
  CHECK(format_money(-450, "KES") == "-KES 4.50");
  CHECK(format_money(1500000, "UGX") == "UGX 1,500,000");  // no minor unit
  CHECK(format_money(1250, "KWD") == "KWD 1.250");         // three digits
  CHECK(format_money(100, "XYZ") == "XYZ 1.00");           // unknown: two digits
  CHECK(format_money(std::numeric_limits<std::int64_t>::min(), "USD") ==
        "-USD 92,233,720,368,547,758.08");
  CHECK(format_money(std::numeric_limits<std::int64_t>::max(), "USD") ==
        "USD 92,233,720,368,547,758.07");
}

TEST_CASE("html escaping leaves no markup of its own", "[invoices][unit]") {
  CHECK(html_escape(R"(<a href="x">Tom & 'Jerry'</a>)") ==
        "&lt;a href=&quot;x&quot;&gt;Tom &amp; &#39;Jerry&#39;&lt;/a&gt;");
  CHECK(html_escape("Wanjiků") == "Wanjiků");
}

TEST_CASE("an invoice total that leaves int64 is refused rather than wrapped", "[invoices][unit]") {
  const std::int64_t big = 1'000'000'000'000;
  CHECK(lines_total({{"a", 3, 100, ""}, {"b", 2, -50, ""}}) == 200);
  CHECK(lines_total({{"a", 1'000'000, big, ""}}) == 1'000'000 * big);
  std::vector<InvoiceLine> many(10, InvoiceLine{"a", 1'000'000, big, ""});
  CHECK_FALSE(lines_total(many).has_value());
  CHECK_FALSE(lines_total({{"a", std::numeric_limits<std::int64_t>::max(), 2, ""}}).has_value());
}

TEST_CASE("local dates are read strictly", "[invoices][unit]") {
  CHECK(parse_local_date("2028-02-29").has_value());
  CHECK_FALSE(parse_local_date("2027-02-29").has_value());
  CHECK_FALSE(parse_local_date("2027-1-011").has_value());
  CHECK_FALSE(parse_local_date("2027-01-0x").has_value());
  CHECK_FALSE(parse_local_date("+027-01-01").has_value());
  CHECK(format_local_date(*parse_local_date("2027-03-09")) == "2027-03-09");
}
