// Invoices, end to end: the installments of lease-to-own contracts are invoiced when they fall due
// and marked paid when paid, PAYG top-ups get receipts, operators draft, issue and void invoices,
// and every number of an organization's year is taken exactly once, without gaps.
#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <future>
#include <map>
#include <regex>
#include <set>
#include <thread>

#include "support/api.h"
#include "support/shop.h"

using namespace cellfleet::testing;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

// The shop, with the invoice routes.
struct Books : Shop {
  // A manual draft for customer with these lines, due on due_date.
  json draft(const std::string& customer, const json& lines,
             const std::string& due_date = "2026-12-31") const {
    return ok(
        post("/v1/invoices", {{"customer_id", customer}, {"lines", lines}, {"due_date", due_date}}),
        201);
  }
  json issue(const std::string& id) const {
    return ok(api.call("POST", "/v1/invoices/" + id + "/issue", key));
  }
  HttpResponse void_(const std::string& id, const json& body) const {
    return api.call("POST", "/v1/invoices/" + id + "/void", key, body.dump());
  }
  // Every invoice of a list (query: "&customer_id=..." and the like), paging three at a time.
  std::vector<json> invoices(const std::string& query = "") const {
    std::vector<json> out;
    std::string cursor;
    do {
      const json page =
          get("/v1/invoices?limit=3" + query + (cursor.empty() ? "" : "&cursor=" + cursor));
      for (const auto& invoice : page.at("items")) out.push_back(invoice);
      cursor = page.value("next_cursor", "");
    } while (!cursor.empty());
    return out;
  }
  // Polls the list until pred(list) holds (up to 60 s: a slow build on DynamoDB Local).
  template <typename Pred>
  std::vector<json> invoices_when(const std::string& query, Pred pred) const {
    std::vector<json> list;
    for (int i = 0; i < 600; ++i) {
      list = invoices(query);
      if (pred(list)) return list;
      std::this_thread::sleep_for(100ms);
    }
    INFO(json(list).dump());
    FAIL("the invoices never reached the expected state");
    return list;
  }
};

ServerProcess invoice_server(Backend backend) {
  return money_server(backend);
}

Books open_books(const ServerProcess& server, const std::string& slug) {
  return Books{open_shop(server, slug)};
}

const json kLease = {{"name", "Lease 4 weeks"},
                     {"kind", "lease_to_own"},
                     {"terms",
                      {{"cash_price", 100000},
                       {"deposit", 20000},
                       {"installments", 4},
                       {"frequency", "weekly"},
                       {"interest_method", "declining_balance"},
                       {"annual_rate_bp", 2600},
                       {"fee_per_installment", 150},
                       {"grace_period_days", 3}}}};

const json kDaily = {{"name", "Daily rental"},
                     {"kind", "payg"},
                     {"terms", {{"price_per_day", 3000}, {"minimum_top_up", 1000}}}};

std::size_t count_status(const std::vector<json>& list, const std::string& status) {
  return static_cast<std::size_t>(std::count_if(
      list.begin(), list.end(), [&](const json& i) { return i.at("status") == status; }));
}

const json* installment_invoice(const std::vector<json>& list, std::int64_t n) {
  for (const auto& i : list) {
    if (i.value("installment", std::int64_t{-1}) == n) return &i;
  }
  return nullptr;
}

// The invoice's lines are the installment's principal, interest and fee, and add up to its total.
void check_installment_lines(const json& invoice, const json& installment) {
  const auto& lines = invoice.at("lines");
  REQUIRE(lines.size() == 3);
  CHECK(lines[0].at("kind") == "principal");
  CHECK(lines[0].at("amount") == installment.at("principal"));
  CHECK(lines[1].at("kind") == "interest");
  CHECK(lines[1].at("amount") == installment.at("interest"));
  CHECK(lines[2].at("kind") == "fee");
  CHECK(lines[2].at("amount") == installment.at("fee"));
  CHECK(invoice.at("total") == installment.at("principal").get<std::int64_t>() +
                                   installment.at("interest").get<std::int64_t>() +
                                   installment.at("fee").get<std::int64_t>());
  CHECK(invoice.at("due_date") == installment.at("due"));
}

const std::regex kNumber(R"(INV-(\d{4})-(\d{6,}))");

}  // namespace

TEST_CASE("a lease contract's installments are invoiced when due and marked paid when paid",
          "[integration][invoices]") {
  auto backend = GENERATE(Backend::sqlite, Backend::dynamodb);
  INFO("backend " << backend_name(backend));
  auto server = invoice_server(backend);
  auto shop = open_books(server, "lease");
  const auto customer = shop.customer("Amina Njeri", "+254700000001");
  const auto pack = shop.stocked_pack("INV-LTO-1");
  const auto signed_ = shop.contract(customer, pack, shop.product(kLease));
  const std::string id = signed_.at("id");
  const json installments = signed_.at("installments");
  const std::string by_contract = "&contract_id=" + id;

  // The deposit falls due at signing: its invoice is open at once, numbered.
  auto list = shop.invoices_when(by_contract, [](const auto& l) { return l.size() == 1; });
  const json deposit = list[0];
  CHECK(deposit.at("kind") == "installment");
  CHECK(deposit.at("status") == "open");
  CHECK(deposit.at("installment") == 0);
  CHECK(deposit.at("contract_id") == id);
  CHECK(deposit.at("customer_id") == customer);
  CHECK(deposit.at("currency") == "KES");
  std::smatch m;
  const std::string number = deposit.at("number");
  REQUIRE(std::regex_match(number, m, kNumber));
  CHECK(m[2] == "000001");
  check_installment_lines(deposit, installments[0]);

  // Paying the deposit pays its invoice.
  shop.pay(id, 20000);
  list =
      shop.invoices_when(by_contract, [](const auto& l) { return count_status(l, "paid") == 1; });
  CHECK(list[0].contains("paid_at"));
  CHECK(list[0].at("number") == number);

  // The first weekly installment is invoiced on its due day, with the next number.
  shop.advance(8 * 86400);
  list = shop.invoices_when(by_contract, [](const auto& l) { return l.size() == 2; });
  const json* first = installment_invoice(list, 1);
  REQUIRE(first != nullptr);
  CHECK(first->at("status") == "open");
  const std::string first_number = first->at("number");
  REQUIRE(std::regex_match(first_number, m, kNumber));
  CHECK(m[2] == "000002");
  check_installment_lines(*first, installments[1]);
  const std::string first_id = first->at("id");

  shop.pay(id, first->at("total"));
  list =
      shop.invoices_when(by_contract, [](const auto& l) { return count_status(l, "paid") == 2; });
  CHECK(shop.get("/v1/invoices/" + first_id).at("status") == "paid");
  // Each number issued and each invoice paid is an event.
  CHECK(shop.get("/v1/events?type=invoice.issued").at("items").size() == 2);
  CHECK(shop.get("/v1/events?type=invoice.paid").at("items").size() == 2);
}

TEST_CASE("an installment paid before it falls due is invoiced as paid at once",
          "[integration][invoices]") {
  auto backend = GENERATE(Backend::sqlite, Backend::dynamodb);
  INFO("backend " << backend_name(backend));
  auto server = invoice_server(backend);
  auto shop = open_books(server, "prepay");
  const auto customer = shop.customer("Brian Otieno", "+254700000002");
  const auto pack = shop.stocked_pack("INV-PRE-1");
  const std::string id = shop.contract(customer, pack, shop.product(kLease)).at("id");
  const std::string by_contract = "&contract_id=" + id;
  shop.pay(id, 20000);
  // The quote is read once the deposit is applied (payments are applied by a subscriber).
  shop.invoices_when(by_contract, [](const auto& l) { return count_status(l, "paid") == 1; });
  const json quote = shop.get("/v1/contracts/" + id + "/payoff");
  shop.pay(id, quote.at("total"));

  // Every installment: the deposit's invoice paid, the four others made paid when paid off.
  auto list = shop.invoices_when(
      by_contract, [](const auto& l) { return l.size() == 5 && count_status(l, "paid") == 5; });
  const json settled = shop.get("/v1/contracts/" + id);
  std::int64_t invoiced = 0;
  for (std::int64_t n = 0; n < 5; ++n) {
    const json* invoice = installment_invoice(list, n);
    REQUIRE(invoice != nullptr);
    check_installment_lines(*invoice, settled.at("installments")[n]);
    invoiced += invoice->at("total").get<std::int64_t>();
  }
  // Waived interest is not invoiced: the invoices add up to what was paid.
  CHECK(invoiced == 20000 + quote.at("total").get<std::int64_t>());

  // Their due days come and go without another invoice.
  shop.advance(40 * 86400);
  std::this_thread::sleep_for(2500ms);  // two scheduler passes
  CHECK(shop.invoices(by_contract).size() == 5);
}

TEST_CASE("PAYG top-ups get paid receipts", "[integration][invoices]") {
  auto backend = GENERATE(Backend::sqlite, Backend::dynamodb);
  INFO("backend " << backend_name(backend));
  auto server = invoice_server(backend);
  auto shop = open_books(server, "payg");
  const auto customer = shop.customer("Chao Wanjiru", "+254700000003");
  const auto pack = shop.stocked_pack("INV-PAYG-1");
  const std::string id = shop.contract(customer, pack, shop.product(kDaily)).at("id");
  const std::string first = shop.pay(id, 4500).at("id");
  const std::string second = shop.pay(id, 1000).at("id");

  auto list = shop.invoices_when("&contract_id=" + id, [](const auto& l) { return l.size() == 2; });
  std::map<std::string, json> by_payment;
  for (const auto& r : list) by_payment[r.at("payment_id").get<std::string>()] = r;
  REQUIRE(by_payment.count(first) == 1);
  REQUIRE(by_payment.count(second) == 1);
  for (const auto& [payment, receipt] : by_payment) {
    CHECK(receipt.at("kind") == "receipt");
    CHECK(receipt.at("status") == "paid");
    CHECK(receipt.contains("paid_at"));
    CHECK(receipt.at("customer_id") == customer);
    REQUIRE(receipt.at("lines").size() == 1);
    CHECK(receipt.at("lines")[0].at("description") == "Credit top-up");
    CHECK(std::regex_match(receipt.at("number").get<std::string>(), kNumber));
  }
  CHECK(by_payment[first].at("total") == 4500);
  CHECK(by_payment[second].at("total") == 1000);
  CHECK(shop.get("/v1/invoices?status=paid").at("items").size() == 2);
  CHECK(shop.get("/v1/invoices?status=open").at("items").empty());
}

TEST_CASE("invoice numbers run without gaps across contracts receipts and manual invoices",
          "[integration][invoices]") {
  auto backend = GENERATE(Backend::sqlite, Backend::dynamodb);
  INFO("backend " << backend_name(backend));
  auto server = invoice_server(backend);
  auto shop = open_books(server, "gapless");
  const auto lease = shop.product(kLease);
  std::vector<std::string> customers;
  std::vector<std::string> contracts;
  for (int i = 0; i < 3; ++i) {
    const std::string n = std::to_string(i);
    customers.push_back(shop.customer("Lessee " + n, "+25470000010" + n));
    contracts.push_back(
        shop.contract(customers.back(), shop.stocked_pack("GAP-" + n), lease).at("id"));
  }
  const auto renter = shop.customer("Renter", "+254700000200");
  const std::string payg =
      shop.contract(renter, shop.stocked_pack("GAP-P"), shop.product(kDaily)).at("id");

  // Deposits and top-ups are numbered by the subscriber while operators issue drafts at the same
  // moment: both take numbers from one counter.
  std::vector<std::string> drafts;
  for (int i = 0; i < 6; ++i) {
    drafts.push_back(
        shop.draft(customers[static_cast<std::size_t>(i % 3)],
                   json::array(
                       {{{"description", "Helmet"}, {"quantity", 1}, {"unit_amount", 2500 + i}}}))
            .at("id"));
  }
  for (const auto& c : contracts) shop.pay(c, 20000);
  shop.pay(payg, 3000);
  shop.pay(payg, 1500);
  std::vector<std::future<int>> issues;
  for (const auto& d : drafts) {
    issues.push_back(std::async(std::launch::async, [&shop, d] {
      return shop.api.call("POST", "/v1/invoices/" + d + "/issue", shop.key).status;
    }));
  }
  for (auto& f : issues) CHECK(f.get() == 200);
  // One draft is voided before it is issued (it never takes a number), one after (it keeps it).
  const std::string unissued =
      shop.draft(customers[0],
                 json::array({{{"description", "Typo"}, {"quantity", 1}, {"unit_amount", 1}}}))
          .at("id");
  CHECK(shop.void_(unissued, {{"reason", "entered twice"}}).status == 200);
  CHECK(shop.void_(drafts[0], {{"reason", "customer returned the helmet"}}).status == 200);

  // A week on, every lease's first installment is invoiced too.
  shop.advance(8 * 86400);
  const std::size_t expected = 3 + 2 + 6 + 3;  // deposits, receipts, manual, installment 1
  // The subscriber marks the deposits' invoices paid after it numbers them: wait for both.
  auto all = shop.invoices_when("", [&](const auto& l) {
    return std::count_if(l.begin(), l.end(), [](const json& i) { return i.contains("number"); }) ==
               static_cast<std::ptrdiff_t>(expected) &&
           count_status(l, "paid") == 3 + 2;
  });
  CHECK(all.size() == expected + 1);  // and the draft voided unissued
  std::map<std::string, std::vector<std::int64_t>> by_year;
  for (const auto& invoice : all) {
    if (!invoice.contains("number")) {
      CHECK(invoice.at("id") == unissued);
      continue;
    }
    std::smatch m;
    const std::string number = invoice.at("number");
    REQUIRE(std::regex_match(number, m, kNumber));
    by_year[m[1].str()].push_back(std::stoll(m[2].str()));
    CHECK(invoice.at("number_seq") == std::stoll(m[2].str()));
  }
  std::size_t numbered = 0;
  for (auto& [year, seqs] : by_year) {
    INFO("year " << year);
    std::sort(seqs.begin(), seqs.end());
    for (std::size_t i = 0; i < seqs.size(); ++i)
      CHECK(seqs[i] == static_cast<std::int64_t>(i + 1));
    numbered += seqs.size();
  }
  CHECK(numbered == expected);

  // The lists by customer, contract and status see the same invoices.
  CHECK(shop.invoices("&customer_id=" + renter).size() == 2);
  CHECK(shop.invoices("&contract_id=" + contracts[1]).size() == 2);
  CHECK(shop.invoices("&customer_id=" + customers[0] + "&contract_id=" + contracts[1]).empty());
  CHECK(shop.invoices("&status=void").size() == 2);
  CHECK(shop.invoices("&status=draft").empty());
  CHECK(shop.invoices("&customer_id=" + customers[1] + "&status=open").size() == 3);
}

TEST_CASE("a manual invoice is a draft without a number until it is issued",
          "[integration][invoices]") {
  auto backend = GENERATE(Backend::sqlite, Backend::dynamodb);
  INFO("backend " << backend_name(backend));
  auto server = invoice_server(backend);
  auto shop = open_books(server, "manual");
  const auto customer = shop.customer("Dan Kamau", "+254700000004");
  const json body = {{"customer_id", customer},
                     {"lines",
                      {{{"description", "Charger"}, {"quantity", 2}, {"unit_amount", 1250}},
                       {{"description", "Cable"}, {"quantity", 1}, {"unit_amount", 300}}}},
                     {"due_date", "2027-01-15"},
                     {"notes", "Collected at the depot"}};
  const auto key = fresh_idempotency_key();
  auto created = shop.post("/v1/invoices", body, key);
  const json draft = shop.ok(created, 201);
  const std::string id = draft.at("id");
  CHECK(created.header("location") == "/v1/invoices/" + id);
  CHECK(draft.at("status") == "draft");
  CHECK(draft.at("kind") == "manual");
  CHECK_FALSE(draft.contains("number"));
  CHECK(draft.at("total") == 2800);
  CHECK(draft.at("lines")[0].at("amount") == 2500);
  CHECK(draft.at("currency") == "KES");
  // The same key replays the draft; with another body it is refused.
  auto again = shop.post("/v1/invoices", body, key);
  CHECK(again.status == 201);
  CHECK(again.json().at("id") == id);
  json other = body;
  other["notes"] = "something else";
  CHECK(shop.post("/v1/invoices", other, key).status == 422);
  CHECK(shop.invoices().size() == 1);

  // Issuing gives the number; If-Match guards it; a second issue is refused.
  CHECK(
      shop.api.call("POST", "/v1/invoices/" + id + "/issue", shop.key, "", {{"If-Match", "\"7\""}})
          .status == 412);
  const json issued = shop.issue(id);
  CHECK(issued.at("status") == "open");
  CHECK(std::regex_match(issued.at("number").get<std::string>(), kNumber));
  CHECK(issued.at("number_seq") == 1);
  CHECK(issued.contains("issued_at"));
  auto twice = shop.api.call("POST", "/v1/invoices/" + id + "/issue", shop.key);
  CHECK(twice.status == 409);
  CHECK(twice.body.find(issued.at("number").get<std::string>()) != std::string::npos);
  CHECK(shop.get("/v1/invoices/" + id) == issued);
  CHECK(shop.get("/v1/events?type=invoice.issued").at("items").size() == 1);

  // Operators and viewers read invoices but do not write them.
  const auto& viewer = shop.org.role_keys.at("viewer");
  CHECK(shop.api.call("GET", "/v1/invoices/" + id, viewer).status == 200);
  CHECK(shop.api.call("POST", "/v1/invoices/" + id + "/void", viewer, R"({"reason":"x"})").status ==
        403);
  CHECK(shop.api
            .call("POST", "/v1/invoices", shop.org.role_keys.at("operator"), body.dump(),
                  {{"Idempotency-Key", fresh_idempotency_key()}})
            .status == 403);
}

TEST_CASE("draft and open invoices can be voided and paid ones cannot", "[integration][invoices]") {
  auto backend = GENERATE(Backend::sqlite, Backend::dynamodb);
  INFO("backend " << backend_name(backend));
  auto server = invoice_server(backend);
  auto shop = open_books(server, "void");
  const auto customer = shop.customer("Esther Achieng", "+254700000005");
  const json lines =
      json::array({{{"description", "Repair"}, {"quantity", 1}, {"unit_amount", 900}}});

  const std::string draft = shop.draft(customer, lines).at("id");
  CHECK(shop.void_(draft, json::object()).status == 400);  // a reason is required
  CHECK(shop.get("/v1/invoices/" + draft).at("status") == "draft");
  auto voided = shop.void_(draft, {{"reason", "raised in error"}});
  REQUIRE(voided.status == 200);
  CHECK(voided.json().at("status") == "void");
  CHECK(voided.json().at("void_reason") == "raised in error");
  CHECK_FALSE(voided.json().contains("number"));
  CHECK(shop.void_(draft, {{"reason", "again"}}).status == 409);
  CHECK(shop.api.call("POST", "/v1/invoices/" + draft + "/issue", shop.key).status == 409);

  const std::string open = shop.draft(customer, lines).at("id");
  const std::string number = shop.issue(open).at("number");
  auto void_open = shop.void_(open, {{"reason", "customer disputed it"}});
  REQUIRE(void_open.status == 200);
  CHECK(void_open.json().at("number") == number);  // a void invoice keeps its number

  // The deposit's invoice, once paid, stays paid.
  const auto pack = shop.stocked_pack("INV-VOID-1");
  const std::string contract = shop.contract(customer, pack, shop.product(kLease)).at("id");
  shop.pay(contract, 20000);
  auto list = shop.invoices_when("&contract_id=" + contract,
                                 [](const auto& l) { return count_status(l, "paid") == 1; });
  const std::string paid = list[0].at("id");
  auto refused = shop.void_(paid, {{"reason", "too late"}});
  CHECK(refused.status == 409);
  CHECK(shop.get("/v1/invoices/" + paid).at("status") == "paid");
  CHECK(shop.get("/v1/events?type=invoice.voided").at("items").size() == 2);
}

TEST_CASE("the printable invoice escapes what people typed and formats amounts",
          "[integration][invoices]") {
  auto backend = GENERATE(Backend::sqlite, Backend::dynamodb);
  INFO("backend " << backend_name(backend));
  auto server = invoice_server(backend);
  auto shop = open_books(server, "print");
  const auto customer = shop.customer("<script>alert('x')</script>", "+254700000006",
                                      {{"address", "Plot 5 & 6\nRiver Road"}});
  const std::string id =
      shop.ok(shop.post("/v1/invoices", {{"customer_id", customer},
                                         {"lines",
                                          {{{"description", "<b>Battery</b> swap"},
                                            {"quantity", 2},
                                            {"unit_amount", 61725}},
                                           {{"description", "Loyalty discount"},
                                            {"quantity", 1},
                                            {"unit_amount", -450}}}},
                                         {"due_date", "2027-02-01"},
                                         {"notes", "<img src=x onerror=alert(1)>"}}),
              201)
          .at("id");
  const std::string number = shop.issue(id).at("number");

  auto page = shop.api.call("GET", "/v1/invoices/" + id + "/html", shop.org.role_keys.at("viewer"));
  INFO(page.body);
  REQUIRE(page.status == 200);
  CHECK(page.header("content-type").rfind("text/html", 0) == 0);
  CHECK(page.header("content-security-policy").find("default-src 'none'") != std::string::npos);
  const std::string& html = page.body;
  CHECK(html.find("<script") == std::string::npos);
  CHECK(html.find("<img") == std::string::npos);
  CHECK(html.find("<b>") == std::string::npos);
  CHECK(html.find("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;") != std::string::npos);
  CHECK(html.find("&lt;b&gt;Battery&lt;/b&gt; swap") != std::string::npos);
  CHECK(html.find("Plot 5 &amp; 6") != std::string::npos);
  CHECK(html.find("KES 617.25") != std::string::npos);    // unit price
  CHECK(html.find("KES 1,234.50") != std::string::npos);  // 2 x 617.25
  CHECK(html.find("-KES 4.50") != std::string::npos);
  CHECK(html.find("KES 1,230.00") != std::string::npos);  // the total
  CHECK(html.find(number) != std::string::npos);
  CHECK(html.find("print rentals") != std::string::npos);  // the organization's name
  CHECK(html.find("2027-02-01") != std::string::npos);
  CHECK(shop.api.call("GET", "/v1/invoices/inv_01JD3K6W7M8N9P0Q1R2S3T4V5W/html", shop.key).status ==
        404);
}

TEST_CASE("invoices that cannot be right are refused and change nothing",
          "[integration][invoices]") {
  auto backend = GENERATE(Backend::sqlite, Backend::dynamodb);
  INFO("backend " << backend_name(backend));
  auto server = invoice_server(backend);
  auto shop = open_books(server, "badinv");
  const auto customer = shop.customer("Faith Muthoni", "+254700000007");
  const auto other = shop.customer("Grace Akinyi", "+254700000008");
  const std::string contract =
      shop.contract(other, shop.stocked_pack("INV-BAD-1"), shop.product(kLease)).at("id");
  shop.invoices_when("", [](const auto& l) { return l.size() == 1; });  // the deposit's
  const json line = {{"description", "Helmet"}, {"quantity", 1}, {"unit_amount", 2500}};
  auto with = [&](const json& changes) {
    json body = {{"customer_id", customer}, {"lines", {line}}, {"due_date", "2027-01-01"}};
    for (const auto& [k, v] : changes.items()) {
      if (v.is_null()) {
        body.erase(k);
      } else {
        body[k] = v;
      }
    }
    return shop.post("/v1/invoices", body);
  };
  auto field_of = [](const HttpResponse& res) {
    const json problem = res.json();
    return problem.contains("errors") ? problem.at("errors")[0].at("field").get<std::string>()
                                      : std::string();
  };

  CHECK(with({{"lines", nullptr}}).status == 400);
  CHECK(with({{"lines", json::array()}}).status == 400);
  CHECK(with({{"lines", {{{"description", "x"}, {"quantity", 0}, {"unit_amount", 1}}}}}).status ==
        400);
  CHECK(
      with({{"lines", {{{"description", "x"}, {"quantity", 1}, {"unit_amount", 10.5}}}}}).status ==
      400);
  CHECK(with({{"lines", {{{"description", ""}, {"quantity", 1}, {"unit_amount", 1}}}}}).status ==
        400);
  auto stray = with(
      {{"lines", {{{"description", "x"}, {"quantity", 1}, {"unit_amount", 1}, {"amount", 1}}}}});
  CHECK(stray.status == 400);
  CHECK(field_of(stray) == "lines/0/amount");
  // 10^6 x 10^12 fits in a line; eleven such lines overflow int64, and one is over the limit.
  const json huge = {{"description", "x"}, {"quantity", 1000000}, {"unit_amount", 1000000000000}};
  auto overflow = with(
      {{"lines", json::array({huge, huge, huge, huge, huge, huge, huge, huge, huge, huge, huge})}});
  CHECK(overflow.status == 400);
  CHECK(field_of(overflow) == "lines");
  CHECK(with({{"lines", {huge}}}).status == 400);
  CHECK(with({{"lines", {{{"description", "credit"}, {"quantity", 1}, {"unit_amount", -5}}}}})
            .status == 400);  // a negative total
  CHECK(with({{"due_date", "2027-02-30"}}).status == 400);
  CHECK(with({{"due_date", "soon"}}).status == 400);
  CHECK(with({{"due_date", nullptr}}).status == 400);
  CHECK(with({{"colour", "red"}}).status == 400);
  CHECK(with({{"customer_id", "cus_01JD3K6W7M8N9P0Q1R2S3T4V5W"}}).status == 422);
  CHECK(with({{"contract_id", contract}}).status == 422);  // another customer's contract
  CHECK(with({{"contract_id", "con_01JD3K6W7M8N9P0Q1R2S3T4V5W"}}).status == 422);
  CHECK(
      shop.api
          .call(
              "POST", "/v1/invoices", shop.key,
              json{{"customer_id", customer}, {"lines", {line}}, {"due_date", "2027-01-01"}}.dump())
          .status == 400);  // no Idempotency-Key
  CHECK(shop.api.call("GET", "/v1/invoices?status=late", shop.key).status == 400);
  CHECK(shop.api.call("GET", "/v1/invoices?customer_id=bob", shop.key).status == 400);
  CHECK(shop.api.call("GET", "/v1/invoices?cursor=garbage", shop.key).status == 400);
  CHECK(shop.api.call("GET", "/v1/invoices/inv_nope", shop.key).status == 404);
  CHECK(
      shop.api.call("POST", "/v1/invoices/inv_01JD3K6W7M8N9P0Q1R2S3T4V5W/issue", shop.key).status ==
      404);

  // Nothing was made but the contract's deposit invoice.
  CHECK(shop.invoices().size() == 1);
  CHECK(shop.get("/v1/events?type=invoice.issued").at("items").size() == 1);
}
