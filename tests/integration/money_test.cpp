// Money, end to end on both backends: customers sign lease-to-own and PAYG contracts for packs,
// payments move through the event chain to the packs' lock and unlock commands, and the clock
// (test mode) crosses due dates and grace periods.
#include <signal.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <future>
#include <set>
#include <thread>

#include <sodium.h>

#include "support/api.h"
#include "support/shop.h"

using namespace cellfleet::testing;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

// What a provider sends: hex HMAC-SHA256 of "<t>.<body>" with the secret, computed here with
// libsodium independently of the server's code.
std::string provider_signature(const std::string& secret, std::int64_t t, const std::string& body) {
  const std::string message = std::to_string(t) + "." + body;
  unsigned char mac[crypto_auth_hmacsha256_BYTES];
  crypto_auth_hmacsha256_state state;
  crypto_auth_hmacsha256_init(&state, reinterpret_cast<const unsigned char*>(secret.data()),
                              secret.size());
  crypto_auth_hmacsha256_update(&state, reinterpret_cast<const unsigned char*>(message.data()),
                                message.size());
  crypto_auth_hmacsha256_final(&state, mac);
  char hex[sizeof mac * 2 + 1];
  sodium_bin2hex(hex, sizeof hex, mac, sizeof mac);
  return hex;
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
                       {"late_fee", 500},
                       {"grace_period_days", 3}}}};

// Three weekly installments after the deposit: a lease short enough to pay off one by one.
const json kShortLease = {{"name", "Lease 3 weeks"},
                          {"kind", "lease_to_own"},
                          {"terms",
                           {{"cash_price", 100000},
                            {"deposit", 20000},
                            {"installments", 3},
                            {"frequency", "weekly"},
                            {"interest_method", "declining_balance"},
                            {"annual_rate_bp", 2600},
                            {"late_fee", 500},
                            {"grace_period_days", 3}}}};

// The server's clock (test mode) in epoch seconds, read from its "now".
std::int64_t server_now(const Shop& shop) {
  const auto clock = shop.ok(shop.api.call("GET", "/v1/testing/clock", kPlatformToken));
  const std::string now = clock.at("now");
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0;
  REQUIRE(std::sscanf(now.c_str(), "%d-%d-%dT%d:%d:%d", &y, &mo, &d, &h, &mi, &sec) == 6);
  const std::chrono::sys_days day{std::chrono::year{y} / mo / d};
  return std::chrono::sys_seconds(day).time_since_epoch().count() + h * 3600 + mi * 60 + sec;
}

// Moves the server's clock forward to the instant epoch_s.
void advance_to(const Shop& shop, std::int64_t epoch_s) {
  const std::int64_t by = epoch_s - server_now(shop);
  REQUIRE(by > 0);
  shop.advance(by);
}

std::string iso_date(std::chrono::sys_days d) {
  const std::chrono::year_month_day ymd{d};
  char text[16];
  std::snprintf(text, sizeof text, "%04d-%02u-%02u", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
  return text;
}

// What an installment of the contract's schedule asks for, late fee included.
std::int64_t installment_total(const json& i) {
  return i.at("principal").get<std::int64_t>() + i.at("interest").get<std::int64_t>() +
         i.at("fee").get<std::int64_t>() + i.at("penalty").get<std::int64_t>();
}

std::int64_t installment_paid(const json& i) {
  return i.at("paid_principal").get<std::int64_t>() + i.at("paid_interest").get<std::int64_t>() +
         i.at("paid_fee").get<std::int64_t>() + i.at("paid_penalty").get<std::int64_t>();
}

// The ledger's running balance is the sum of its entries, numbered without gaps.
void check_ledger(const std::vector<json>& entries, std::int64_t expected_balance) {
  std::int64_t sum = 0;
  std::int64_t seq = 0;
  for (const auto& e : entries) {
    sum += e.at("amount").get<std::int64_t>();
    CHECK(e.at("seq") == ++seq);
    CHECK(e.at("balance_after") == sum);
  }
  CHECK(sum == expected_balance);
}

}  // namespace

TEST_CASE("a lease-to-own battery unlocks on deposit and locks past grace and is never locked once paid off",
          "[integration][money]") {
  auto backend = GENERATE(Backend::sqlite, Backend::dynamodb);
  INFO("backend " << backend_name(backend));
  auto server = money_server(backend);
  auto shop = open_shop(server, "lease");
  const auto customer = shop.customer("Amina Njeri", "+254700000001");
  const auto pack = shop.stocked_pack("LTO-1");
  const auto product = shop.product(kLease);

  auto signed_ = shop.contract(customer, pack, product);
  const std::string id = signed_.at("id");
  CHECK(signed_.at("state") == "pending_deposit");
  const auto& installments = signed_.at("installments");
  REQUIRE(installments.size() == 5);  // the deposit, then 4 weekly installments
  CHECK(installments[0].at("principal") == 20000);
  std::int64_t principal = 0;
  for (const auto& i : installments) principal += i.at("principal").get<std::int64_t>();
  CHECK(principal == 100000);
  CHECK(shop.get("/v1/devices/" + pack).at("state") == "deployed");
  CHECK(shop.get("/v1/devices/" + pack + "/access").at("state") == "not_gated");

  // The deposit activates the contract and unlocks the battery.
  shop.pay(id, 20000);
  shop.contract_when(id, [](const json& c) { return c.at("state") == "active"; });
  auto access = shop.access_when(pack, "unlocked");
  CHECK(access.at("contract_id") == id);
  CHECK(access.at("decided_by").at("event_type") == "contract.activated");
  auto cmds = shop.commands(pack);
  REQUIRE(cmds.size() == 1);
  CHECK(cmds[0].at("command") == "unlock");
  CHECK(cmds[0].at("source").at("type") == "access_policy");

  // Past the first due date and its 3-day grace period: overdue, late fee, locked.
  shop.advance(12 * 86400);
  auto overdue = shop.contract_when(id, [](const json& c) { return c.at("state") == "overdue"; });
  CHECK(overdue.at("days_past_due").get<int>() >= 4);
  CHECK(overdue.at("installments")[1].at("penalty") == 500);
  access = shop.access_when(pack, "locked");
  CHECK(access.at("days_past_due").get<int>() >= 4);
  CHECK(shop.commands(pack).front().at("command") == "lock");  // newest first

  // Paying what is due (installment 1 and its late fee) unlocks it again.
  const auto& first = overdue.at("installments")[1];
  const std::int64_t due_now = first.at("principal").get<std::int64_t>() +
                               first.at("interest").get<std::int64_t>() + 500;
  shop.pay(id, due_now);
  shop.contract_when(id, [](const json& c) { return c.at("state") == "active"; });
  shop.access_when(pack, "unlocked");

  // The payoff quote settles the rest; the battery is the customer's for good.
  auto quote = shop.get("/v1/contracts/" + id + "/payoff");
  CHECK(quote.at("waived_interest").get<std::int64_t>() > 0);  // installments not yet due
  shop.pay(id, quote.at("total"));
  auto paid_off =
      shop.contract_when(id, [](const json& c) { return c.at("state") == "paid_off"; });
  CHECK(paid_off.at("balance") == 0);
  shop.access_when(pack, "permanently_unlocked");
  CHECK(shop.commands(pack).front().at("command") == "permanent_unlock");

  // Months later, nothing locks it.
  shop.advance(90 * 86400);
  std::this_thread::sleep_for(2500ms);  // two scheduler passes
  CHECK(shop.get("/v1/devices/" + pack + "/access").at("state") == "permanently_unlocked");
  CHECK(shop.commands(pack).front().at("command") == "permanent_unlock");
  check_ledger(shop.ledger(id), 0);
}

TEST_CASE("a lease-to-own battery paid installment by installment across a DST change is paid off and never locked again",
          "[integration][money]") {
  using namespace std::chrono;
  auto backend = GENERATE(Backend::sqlite, Backend::dynamodb);
  INFO("backend " << backend_name(backend));
  auto server = money_server(backend);
  auto shop = open_shop(server, "bypart", "Europe/London");
  const auto customer = shop.customer("Faith Muthoni", "+254700000011");
  const auto pack = shop.stocked_pack("LTO-PART-1");
  const auto product = shop.product(kShortLease);

  // London's clocks go forward at 01:00 UTC on the last Sunday of March (GMT to BST, computed
  // here by the EU rule, not by the server's tz library). The lease is signed on the Thursday
  // 10 days before: installment 1 falls due on the Thursday before the change, 2 and 3 after it.
  const auto today = floor<days>(sys_seconds(seconds(server_now(shop))));
  sys_days change{};
  for (int y = static_cast<int>(year_month_day(today).year());; ++y) {
    change = sys_days(year{y} / March / Sunday[last]);
    if (change - days(10) > today) break;
  }
  const sys_days start = change - days(10);
  const sys_days due[] = {start, start + days(7), start + days(14), start + days(21)};
  // The instant of hh:mm London time on day d (d not the day of the change itself).
  auto london = [&](sys_days d, int hh, int mm) {
    return sys_seconds(d).time_since_epoch().count() + hh * 3600 + mm * 60 -
           (d > change ? 3600 : 0);
  };
  advance_to(shop, london(start, 12, 0));

  auto signed_ = shop.contract(customer, pack, product);
  const std::string id = signed_.at("id");
  CHECK(signed_.at("start_date") == iso_date(start));
  const auto schedule = signed_.at("installments");
  REQUIRE(schedule.size() == 4);  // the deposit, then 3 weekly installments
  std::int64_t principal = 0;
  std::int64_t owed = 0;
  for (std::size_t n = 0; n < schedule.size(); ++n) {
    INFO("installment " << n);
    // Weekly by the London calendar: the same weekday, 7 calendar days apart, across the change.
    CHECK(schedule[n].at("due") == iso_date(due[n]));
    principal += schedule[n].at("principal").get<std::int64_t>();
    owed += installment_total(schedule[n]);
  }
  CHECK(principal == 100000);
  CHECK(signed_.at("balance") == owed);

  // The deposit activates the contract and unlocks the battery.
  shop.pay(id, installment_total(schedule[0]));
  shop.contract_when(id, [](const json& c) { return c.at("state") == "active"; });
  shop.access_when(pack, "unlocked");
  REQUIRE(shop.commands(pack).size() == 1);
  CHECK(shop.commands(pack).front().at("command") == "unlock");

  // Installment 1 unpaid past its 3-day grace (Monday after the change): late fee, locked.
  advance_to(shop, london(due[1] + days(4), 12, 0));
  auto overdue = shop.contract_when(id, [](const json& c) { return c.at("state") == "overdue"; });
  CHECK(overdue.at("days_past_due") == 4);
  const auto first = overdue.at("installments")[1];
  CHECK(first.at("penalty") == 500);
  shop.access_when(pack, "locked");
  CHECK(shop.commands(pack).front().at("command") == "lock");
  // Its exact amount, late fee included, unlocks it again.
  shop.pay(id, installment_total(first));
  auto con = shop.contract_when(id, [](const json& c) {
    return c.at("state") == "active" && installment_paid(c.at("installments")[1]) > 0;
  });
  CHECK(installment_paid(con.at("installments")[1]) == installment_total(first));
  CHECK(con.at("days_past_due") == 0);
  shop.access_when(pack, "unlocked");
  CHECK(shop.commands(pack).size() == 3);
  CHECK(shop.commands(pack).front().at("command") == "unlock");

  // Installment 2, the first due after the change: at 00:30 BST the next day (23:30 UTC on its
  // due date) it is 1 day past due in London, still within grace, and the battery runs on.
  advance_to(shop, london(due[2] + days(1), 0, 30));
  con = shop.contract_when(id, [](const json& c) { return c.value("days_past_due", -1) == 1; });
  CHECK(con.at("state") == "active");
  const auto second = con.at("installments")[2];
  CHECK(second.at("penalty") == 0);
  CHECK(installment_total(second) == installment_total(schedule[2]));
  shop.pay(id, installment_total(second));
  con = shop.contract_when(id, [](const json& c) {
    return installment_paid(c.at("installments")[2]) > 0;
  });
  CHECK(installment_paid(con.at("installments")[2]) == installment_total(second));
  CHECK(con.at("state") == "active");
  CHECK(con.at("days_past_due") == 0);
  CHECK(shop.get("/v1/devices/" + pack + "/access").at("state") == "unlocked");
  CHECK(shop.commands(pack).size() == 3);  // no lock, no second unlock

  // The last installment, paid the day after it falls due: paid off, the battery the customer's.
  advance_to(shop, london(due[3] + days(1), 12, 0));
  con = shop.contract_when(id, [](const json& c) { return c.value("days_past_due", -1) == 1; });
  CHECK(con.at("state") == "active");
  const auto last = con.at("installments")[3];
  CHECK(installment_total(last) == installment_total(schedule[3]));
  shop.pay(id, installment_total(last));
  auto paid_off =
      shop.contract_when(id, [](const json& c) { return c.at("state") == "paid_off"; });
  CHECK(paid_off.at("balance") == 0);
  for (const auto& i : paid_off.at("installments")) {
    CHECK(installment_paid(i) == installment_total(i));
  }
  auto access = shop.access_when(pack, "permanently_unlocked");
  CHECK(access.at("contract_id") == id);
  auto cmds = shop.commands(pack);
  REQUIRE(cmds.size() == 4);
  CHECK(cmds.front().at("command") == "permanent_unlock");

  // Four months on, far past the last due date and any grace, nothing locks it.
  shop.advance(120 * 86400);
  std::this_thread::sleep_for(2500ms);  // two scheduler passes
  CHECK(shop.get("/v1/contracts/" + id).at("state") == "paid_off");
  CHECK(shop.get("/v1/devices/" + pack + "/access").at("state") == "permanently_unlocked");
  cmds = shop.commands(pack);
  CHECK(cmds.size() == 4);
  CHECK(cmds.front().at("command") == "permanent_unlock");
  // The ledger sums to 0: the schedule, the late fee and the four exact payments.
  const auto entries = shop.ledger(id);
  check_ledger(entries, 0);
  std::vector<std::string> kinds;
  std::int64_t paid = 0;
  for (const auto& e : entries) {
    kinds.push_back(e.at("kind"));
    if (e.at("kind") == "payment") paid -= e.at("amount").get<std::int64_t>();
  }
  CHECK(kinds == std::vector<std::string>{"schedule", "payment", "late_fee", "payment", "payment",
                                          "payment"});
  CHECK(paid == owed + 500);
}

TEST_CASE("a PAYG battery runs for the days it was paid and locks when the credit runs out",
          "[integration][money]") {
  auto backend = GENERATE(Backend::sqlite, Backend::dynamodb);
  INFO("backend " << backend_name(backend));
  auto server = money_server(backend);
  auto shop = open_shop(server, "payg");
  const auto customer = shop.customer("Brian Otieno", "+254700000002");
  const auto pack = shop.stocked_pack("PAYG-1");
  const auto product = shop.product({{"name", "Daily rental"},
                                     {"kind", "payg"},
                                     {"terms", {{"price_per_day", 3000}}}});
  const std::string id = shop.contract(customer, pack, product).at("id");

  // 45.00 at 30.00 a day buys 1.5 days, kept exactly in seconds.
  shop.pay(id, 4500);
  auto active = shop.contract_when(id, [](const json& c) { return c.at("state") == "active"; });
  CHECK(active.at("credit_remainder") == 0);
  shop.access_when(pack, "unlocked");

  // 10.00 more buys 8 hours (28,800 s); 0.01 buys 28.8 s: 28 s and a remainder carried over.
  shop.pay(id, 1000);
  shop.pay(id, 1);
  auto c = shop.contract_when(id, [](const json& c) { return c.at("ledger_seq") == 3; });
  CHECK(c.at("credit_remainder") == 2400);  // 86,400 mod 3,000 after the 0.01

  shop.advance(2 * 86400);  // past 1.5 days + 8 h + 28 s
  shop.contract_when(id, [](const json& c) { return c.at("state") == "overdue"; });
  auto access = shop.access_when(pack, "locked");
  CHECK(access.at("decided_by").at("event_type") == "contract.credit_expired");
  shop.pay(id, 3000);
  shop.access_when(pack, "unlocked");
  check_ledger(shop.ledger(id), -(4500 + 1000 + 1 + 3000));
}

TEST_CASE("the same payment posted three times with one key is one payment",
          "[integration][money]") {
  auto backend = GENERATE(Backend::sqlite, Backend::dynamodb);
  INFO("backend " << backend_name(backend));
  auto server = money_server(backend);
  auto shop = open_shop(server, "idem");
  const auto customer = shop.customer("Chao Wanjiru", "+254700000003");
  const auto pack = shop.stocked_pack("IDEM-1");
  const std::string id = shop.contract(customer, pack, shop.product(kLease)).at("id");

  const auto key = fresh_idempotency_key();
  auto first = shop.pay(id, 20000, key);
  for (int i = 0; i < 2; ++i) {
    auto again = shop.post("/v1/payments",
                           {{"contract_id", id}, {"amount", 20000}, {"currency", "KES"},
                            {"method", "cash"}},
                           key);
    CHECK(again.status == 201);
    CHECK(again.json().at("id") == first.at("id"));
  }
  // The same key with another body is refused.
  auto other = shop.post("/v1/payments",
                         {{"contract_id", id}, {"amount", 20001}, {"currency", "KES"},
                          {"method", "cash"}},
                         key);
  CHECK(other.status == 422);
  shop.contract_when(id, [](const json& c) { return c.at("state") == "active"; });
  CHECK(shop.get("/v1/payments?customer_id=" + customer).at("items").size() == 1);
  check_ledger(shop.ledger(id), shop.get("/v1/contracts/" + id).at("balance"));
  CHECK(shop.get("/v1/contracts/" + id).at("ledger_seq") == 2);  // the schedule and one payment
}

TEST_CASE("payments that cannot be right are refused and change nothing", "[integration][money]") {
  auto backend = GENERATE(Backend::sqlite, Backend::dynamodb);
  INFO("backend " << backend_name(backend));
  auto server = money_server(backend);
  auto shop = open_shop(server, "badpay");
  const auto customer = shop.customer("Dan Kamau", "+254700000004");
  const auto pack = shop.stocked_pack("BAD-1");
  const std::string id = shop.contract(customer, pack, shop.product(kLease)).at("id");
  auto pay = [&](const json& body) { return shop.post("/v1/payments", body); };

  CHECK(pay({{"contract_id", id}, {"amount", 100}, {"currency", "USD"}, {"method", "cash"}})
            .status == 422);
  CHECK(pay({{"contract_id", id}, {"amount", 0}, {"currency", "KES"}, {"method", "cash"}})
            .status == 400);
  CHECK(pay({{"contract_id", id}, {"amount", 10.5}, {"currency", "KES"}, {"method", "cash"}})
            .status == 400);
  CHECK(pay({{"contract_id", id}, {"amount", 100}, {"currency", "KES"}, {"method", "barter"}})
            .status == 400);
  CHECK(pay({{"amount", 100}, {"currency", "KES"}, {"method", "cash"}}).status == 400);
  CHECK(pay({{"contract_id", "con_01JD3K6W7M8N9P0Q1R2S3T4V5W"},
             {"amount", 100},
             {"currency", "KES"},
             {"method", "cash"}})
            .status == 422);
  CHECK(shop.api.call("POST", "/v1/payments", shop.key,
                      json{{"contract_id", id}, {"amount", 100}, {"currency", "KES"},
                           {"method", "cash"}}
                          .dump())
            .status == 400);  // no Idempotency-Key
  auto first = pay({{"contract_id", id},
                    {"amount", 100},
                    {"currency", "KES"},
                    {"method", "bank"},
                    {"reference", "TX-1"}});
  CHECK(first.status == 201);
  auto again = pay({{"contract_id", id},
                    {"amount", 100},
                    {"currency", "KES"},
                    {"method", "bank"},
                    {"reference", "TX-1"}});
  CHECK(again.status == 409);
  CHECK(again.body.find(first.json().at("id").get<std::string>()) != std::string::npos);
  CHECK(shop.get("/v1/payments?customer_id=" + customer).at("items").size() == 1);
  // A reference is unique per method: another method's TX-1 is another payment.
  CHECK(pay({{"contract_id", id},
             {"amount", 100},
             {"currency", "KES"},
             {"method", "mobile_money"},
             {"reference", "TX-1"}})
            .status == 201);
  CHECK(shop.get("/v1/payments?customer_id=" + customer).at("items").size() == 2);

  // A PAYG contract's limits: the minimum top-up, and no credit beyond the maximum days.
  const auto payg = shop.product(
      {{"name", "Short rental"},
       {"kind", "payg"},
       {"terms", {{"price_per_day", 3000}, {"minimum_top_up", 1000}, {"maximum_credit_days", 2}}}});
  const auto other_pack = shop.stocked_pack("BAD-2");
  const std::string rental = shop.contract(customer, other_pack, payg).at("id");
  auto top_up = [&](std::int64_t amount) {
    return pay({{"contract_id", rental}, {"amount", amount}, {"currency", "KES"},
                {"method", "cash"}});
  };
  auto small = top_up(999);
  CHECK(small.status == 422);
  CHECK(small.body.find("minimum top-up") != std::string::npos);
  CHECK(top_up(6001).status == 422);  // 2 days cost 6,000
  CHECK(top_up(6000).status == 201);
  shop.contract_when(rental, [](const json& c) { return c.at("state") == "active"; });
  CHECK(top_up(1000).status == 422);  // the credit is full

  // A product edited after signing changes no signed contract.
  const auto lease = shop.product(kLease);
  const auto third_pack = shop.stocked_pack("BAD-3");
  const auto before = shop.contract(customer, third_pack, lease);
  auto edited = shop.api.call("PATCH", "/v1/products/" + lease, shop.key,
                              json{{"terms",
                                    {{"cash_price", 150000},
                                     {"deposit", 30000},
                                     {"installments", 6},
                                     {"frequency", "monthly"},
                                     {"annual_rate_bp", 1200}}}}
                                  .dump());
  REQUIRE(edited.status == 200);
  CHECK(edited.json().at("terms").at("cash_price") == 150000);
  const auto after = shop.get("/v1/contracts/" + before.at("id").get<std::string>());
  CHECK(after.at("terms") == before.at("terms"));
  CHECK(after.at("installments") == before.at("installments"));

  // A pack already under contract cannot be signed again.
  auto second = shop.post("/v1/contracts", {{"customer_id", customer},
                                            {"device_id", pack},
                                            {"product_id", shop.product(kLease)}});
  CHECK(second.status == 409);
}

TEST_CASE("a provider webhook delivered three times credits once", "[integration][money]") {
  auto backend = GENERATE(Backend::sqlite, Backend::dynamodb);
  INFO("backend " << backend_name(backend));
  auto server = money_server(backend);
  auto shop = open_shop(server, "hook");
  const auto customer = shop.customer("Esther Achieng", "+254700000005");
  const auto pack = shop.stocked_pack("HOOK-1");
  const std::string id = shop.contract(customer, pack, shop.product(kLease)).at("id");
  auto made = shop.ok(shop.api.call("POST", "/v1/webhook-secrets", shop.org.owner_key,
                                    json{{"provider", "mpesa"}}.dump()),
                      201);
  const std::string secret = made.at("secret");
  const std::string path = made.at("webhook_path");

  auto deliver = [&](const json& body, const std::string& signing_secret) {
    const std::string text = body.dump();
    const auto t = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
    return shop.api.call(
        "POST", path, "", text,
        {{"X-Cellfleet-Signature",
          "t=" + std::to_string(t) + ",v1=" +
              provider_signature(signing_secret, t, text)}});
  };
  // The customer pays by phone number as the account.
  const json callback = {{"transaction_id", "QK7X1ABC"},
                         {"amount", 20000},
                         {"currency", "KES"},
                         {"account", "+254700000005"}};
  auto first = deliver(callback, secret);
  INFO(first.body);
  REQUIRE(first.status == 201);
  for (int i = 0; i < 2; ++i) {
    auto again = deliver(callback, secret);
    CHECK(again.status == 200);
    CHECK(again.json().at("duplicate") == true);
    CHECK(again.json().at("payment_id") == first.json().at("payment_id"));
  }
  CHECK(deliver(callback, "whsec_not_the_secret").status == 401);
  CHECK(shop.api.call("POST", path, "", callback.dump()).status == 401);  // unsigned
  shop.contract_when(id, [](const json& c) { return c.at("state") == "active"; });
  CHECK(shop.get("/v1/payments?customer_id=" + customer).at("items").size() == 1);
  CHECK(shop.get("/v1/contracts/" + id).at("ledger_seq") == 2);
}

TEST_CASE("fifty concurrent payments on one contract leave the ledger exact to the minor unit",
          "[integration][money]") {
  auto backend = GENERATE(Backend::sqlite, Backend::dynamodb);
  INFO("backend " << backend_name(backend));
  auto server = money_server(backend);
  auto shop = open_shop(server, "rush");
  const auto customer = shop.customer("Faith Muthoni", "+254700000006");
  const auto pack = shop.stocked_pack("RUSH-1");
  auto signed_ = shop.contract(customer, pack, shop.product(kLease));
  const std::string id = signed_.at("id");
  const std::int64_t owed = signed_.at("balance");

  std::vector<std::future<int>> posts;
  std::int64_t paid = 0;
  for (int i = 0; i < 50; ++i) {
    const std::int64_t amount = 997 + i;  // odd amounts across installment boundaries
    paid += amount;
    posts.push_back(std::async(std::launch::async, [&shop, id, amount] {
      return shop.post("/v1/payments", {{"contract_id", id},
                                        {"amount", amount},
                                        {"currency", "KES"},
                                        {"method", "mobile_money"}})
          .status;
    }));
  }
  for (auto& p : posts) CHECK(p.get() == 201);
  auto settled = shop.contract_when(id, [](const json& c) { return c.at("ledger_seq") == 51; });
  CHECK(settled.at("balance") == owed - paid);
  std::int64_t allocated = 0;
  for (const auto& inst : settled.at("installments")) {
    for (const char* part : {"paid_fee", "paid_penalty", "paid_interest", "paid_principal"}) {
      allocated += inst.at(part).get<std::int64_t>();
    }
  }
  CHECK(allocated == paid);
  check_ledger(shop.ledger(id), owed - paid);
}

TEST_CASE("payments committed just before a kill -9 unlock their batteries once after restart",
          "[integration][money]") {
  auto backend = GENERATE(Backend::sqlite, Backend::dynamodb);
  INFO("backend " << backend_name(backend));
  auto env = backend_env(backend);
  env["CELLFLEET_PLATFORM_ADMIN_TOKEN"] = kPlatformToken;
  env["CELLFLEET_LOANS_CHECK_INTERVAL_SECONDS"] = "1";
  env["CELLFLEET_EVENTS_LEASE_MS"] = "2000";  // the dead server's shard leases lapse sooner
  auto first = std::make_unique<ServerProcess>(std::vector<std::string>{}, env);
  auto shop = open_shop(*first, "crash");
  const auto product = shop.product(kLease);
  std::vector<std::pair<std::string, std::string>> signed_;  // contract, pack
  for (int i = 0; i < 6; ++i) {
    const auto customer = shop.customer("Crash " + std::to_string(i),
                                        "+25470100000" + std::to_string(i));
    const auto pack = shop.stocked_pack("CRASH-" + std::to_string(i));
    signed_.emplace_back(shop.contract(customer, pack, product).at("id"), pack);
  }
  // Every deposit is acknowledged (committed with its event); the server dies at once, while
  // the dispatcher is delivering them.
  for (const auto& [contract, pack] : signed_) shop.pay(contract, 20000);
  REQUIRE(first->signal_and_wait(SIGKILL, std::chrono::seconds(10)) != -1);

  const auto data_dir = first->data_dir().string();
  ServerProcess second({"--data-dir", data_dir}, env);
  shop.api = Api{second.port()};
  for (const auto& [contract, pack] : signed_) {
    shop.contract_when(contract, [](const json& c) { return c.at("state") == "active"; });
    shop.access_when(pack, "unlocked");
  }
  std::this_thread::sleep_for(1500ms);  // a sweep more: nothing is applied twice
  for (const auto& [contract, pack] : signed_) {
    INFO(contract);
    CHECK(shop.commands(pack).size() == 1);
    auto c = shop.get("/v1/contracts/" + contract);
    CHECK(c.at("ledger_seq") == 2);  // the schedule and the one payment
    check_ledger(shop.ledger(contract), c.at("balance"));
  }
}

TEST_CASE("a rescheduled overdue lease runs again and still owes exactly its principal",
          "[integration][money]") {
  auto backend = GENERATE(Backend::sqlite, Backend::dynamodb);
  INFO("backend " << backend_name(backend));
  auto server = money_server(backend);
  auto shop = open_shop(server, "resched");
  const auto customer = shop.customer("Grace Wambui", "+254700000007");
  const auto pack = shop.stocked_pack("RES-1");
  const std::string id = shop.contract(customer, pack, shop.product(kLease)).at("id");
  shop.pay(id, 20000);
  shop.access_when(pack, "unlocked");
  shop.advance(12 * 86400);
  shop.contract_when(id, [](const json& c) { return c.at("state") == "overdue"; });
  shop.access_when(pack, "locked");
  // Installment 1 (day 7) was announced; 2..4 (days 14..28) were not.
  const auto before = shop.get("/v1/contracts/" + id).at("installments")[1];
  REQUIRE(before.at("n") == 1);

  auto res = shop.post("/v1/contracts/" + id + "/reschedule",
                       {{"installments", 8}, {"reason", "harvest failed; longer terms agreed"}});
  INFO(res.body);
  REQUIRE(res.status == 200);
  auto c = res.json();
  CHECK(c.at("state") == "active");
  // What was announced of the closed installments stays on the contract (the insights rebuild
  // counts it as expected on its due date).
  CHECK(c.at("closed_announcements") ==
        json::array({{{"n", 1},
                      {"due", before.at("due")},
                      {"amount", before.at("principal").get<std::int64_t>() +
                                     before.at("interest").get<std::int64_t>() +
                                     before.at("fee").get<std::int64_t>()}}}));
  std::int64_t principal = 0;
  std::int64_t new_installments = 0;
  for (const auto& inst : c.at("installments")) {
    principal += inst.at("principal").get<std::int64_t>();
    if (inst.at("n").get<int>() > 4) ++new_installments;
  }
  CHECK(principal == 100000);  // the deposit and the rescheduled 80,000.00
  CHECK(new_installments == 8);
  CHECK(c.at("installments")[1].at("n") == 5);  // numbering continues; 1..4 are gone
  CHECK(c.at("installments")[1].at("fee") == 500);  // the unpaid late fee is carried
  shop.access_when(pack, "unlocked");
  check_ledger(shop.ledger(id), c.at("balance"));
  CHECK(shop.ledger(id).back().at("kind") == "reschedule");
  // The replaced installment's invoice is void; the deposit's stays paid.
  json invoices;
  for (int i = 0; i < 300; ++i) {
    invoices = shop.get("/v1/invoices?contract_id=" + id);
    bool settled = true;
    for (const auto& inv : invoices.at("items")) {
      if (inv.value("installment", -1) == 1 && inv.at("status") != "void") settled = false;
    }
    if (settled && invoices.at("items").size() == 2) break;
    std::this_thread::sleep_for(100ms);
  }
  INFO(invoices.dump());
  REQUIRE(invoices.at("items").size() == 2);
  for (const auto& inv : invoices.at("items")) {
    CHECK(inv.at("status") == (inv.at("installment") == 0 ? "paid" : "void"));
  }

  auto balance = shop.get("/v1/customers/" + customer + "/balance");
  CHECK(balance.at("owed") == c.at("balance"));
  CHECK(balance.at("contracts").size() == 1);
  CHECK(shop.api.call("GET", "/v1/customers/cus_01JD3K6W7M8N9P0Q1R2S3T4V5W/balance", shop.key)
            .status == 404);
  // A paid-off or PAYG contract cannot be rescheduled; bad input is a 400.
  CHECK(shop.post("/v1/contracts/" + id + "/reschedule", {{"installments", 0}, {"reason", "x"}})
            .status == 400);
}

TEST_CASE("a reversed payment is taken back and its battery stops again", "[integration][money]") {
  auto backend = GENERATE(Backend::sqlite, Backend::dynamodb);
  INFO("backend " << backend_name(backend));
  auto server = money_server(backend);
  auto shop = open_shop(server, "reverse");
  const auto customer = shop.customer("Hassan Ali", "+254700000008");
  const auto pack = shop.stocked_pack("REV-1");
  const auto product =
      shop.product({{"name", "Daily"}, {"kind", "payg"}, {"terms", {{"price_per_day", 3000}}}});
  const std::string id = shop.contract(customer, pack, product).at("id");
  shop.pay(id, 3000);
  auto top_up = shop.pay(id, 6000);
  auto active = shop.contract_when(id, [](const json& c) { return c.at("ledger_seq") == 2; });
  shop.access_when(pack, "unlocked");
  const std::int64_t until = active.at("credit_until");

  // Reversing the 60.00 takes its two days back, to the second.
  auto reversed = shop.post("/v1/payments/" + top_up.at("id").get<std::string>() + "/reverse",
                            {{"reason", "the cheque bounced"}});
  INFO(reversed.body);
  REQUIRE(reversed.status == 200);
  CHECK(reversed.json().at("status") == "reversed");
  auto after = shop.contract_when(id, [](const json& c) { return c.at("ledger_seq") == 3; });
  CHECK(after.at("credit_until") == until - 2 * 86400);
  CHECK(after.at("credit_remainder") == active.at("credit_remainder"));
  CHECK(shop.post("/v1/payments/" + top_up.at("id").get<std::string>() + "/reverse",
                  {{"reason", "again"}})
            .status == 409);
  check_ledger(shop.ledger(id), -3000);

  // Reversing the first payment too leaves no credit: the battery locks.
  const auto payments = shop.get("/v1/payments?customer_id=" + customer);
  std::string other;
  for (const auto& p : payments.at("items")) {
    if (p.at("id") != top_up.at("id")) other = p.at("id");
  }
  REQUIRE(shop.post("/v1/payments/" + other + "/reverse", {{"reason", "duplicate entry"}})
              .status == 200);
  shop.contract_when(id, [](const json& c) { return c.at("ledger_seq") == 4; });
  shop.access_when(pack, "locked");
  check_ledger(shop.ledger(id), 0);
}

TEST_CASE("a customer's credit pays the deposit of the next contract and then the dues as they fall",
          "[integration][money]") {
  auto backend = GENERATE(Backend::sqlite, Backend::dynamodb);
  INFO("backend " << backend_name(backend));
  auto server = money_server(backend);
  auto shop = open_shop(server, "credit");
  const auto customer = shop.customer("Ivy Chebet", "+254700000009");
  // Money for a customer without a contract is kept as the customer's credit.
  REQUIRE(shop.post("/v1/payments", {{"customer_id", customer},
                                     {"amount", 25000},
                                     {"currency", "KES"},
                                     {"method", "cash"}})
              .status == 201);
  json balance;
  for (int i = 0; i < 300; ++i) {
    balance = shop.get("/v1/customers/" + customer + "/balance");
    if (balance.at("credit") == 25000) break;
    std::this_thread::sleep_for(100ms);
  }
  REQUIRE(balance.at("credit") == 25000);

  const auto pack = shop.stocked_pack("CREDIT-1");
  auto signed_ = shop.contract(customer, pack, shop.product(kLease));
  const std::string id = signed_.at("id");
  CHECK(signed_.at("state") == "active");  // the deposit was paid from the credit
  shop.access_when(pack, "unlocked");
  CHECK(shop.get("/v1/customers/" + customer + "/balance").at("credit") == 5000);

  // The first installment falls due: the rest of the credit goes to it.
  shop.advance(7 * 86400 + 3600);
  auto c = shop.contract_when(id, [](const json& c) {
    return c.at("installments")[1].at("paid_principal").get<std::int64_t>() +
               c.at("installments")[1].at("paid_interest").get<std::int64_t>() >
           0;
  });
  CHECK(shop.get("/v1/customers/" + customer + "/balance").at("credit") == 0);
  const auto entries = shop.ledger(id);
  check_ledger(entries, c.at("balance"));
  int applied = 0;
  for (const auto& e : entries) applied += e.at("kind") == "credit_applied" ? 1 : 0;
  CHECK(applied == 2);
}

TEST_CASE("an unpaid lease moves through every delinquency bucket, defaults and is written off",
          "[integration][money]") {
  auto backend = GENERATE(Backend::sqlite, Backend::dynamodb);
  INFO("backend " << backend_name(backend));
  auto server = money_server(backend);
  auto shop = open_shop(server, "arrears");
  const auto customer = shop.customer("Joseph Mwangi", "+254700000010");
  const auto pack = shop.stocked_pack("ARR-1");
  const std::string id = shop.contract(customer, pack, shop.product(kLease)).at("id");
  shop.pay(id, 20000);
  shop.access_when(pack, "unlocked");
  // Only a contract in arrears can be written off.
  CHECK(shop.post("/v1/contracts/" + id + "/write-off", {{"reason", "too early"}}).status == 409);

  // Installment 1 falls due 7 local days after signing. Each step lands 1 day into the next
  // bucket (days past due 1, 31, 61, 91), and the scheduler notices without any request.
  struct Step {
    std::int64_t days;
    std::string bucket;
    std::string state;
    std::int64_t min_days_past_due;
  };
  for (const auto& step : {Step{8, "1-30", "active", 1}, Step{30, "31-60", "overdue", 31},
                           Step{30, "61-90", "overdue", 61}, Step{30, "90+", "defaulted", 91}}) {
    INFO("bucket " << step.bucket);
    shop.advance(step.days * 86400);
    auto c = shop.contract_when(
        id, [&](const json& c) { return c.at("delinquency_bucket") == step.bucket; });
    CHECK(c.at("state") == step.state);
    CHECK(c.at("days_past_due").get<std::int64_t>() >= step.min_days_past_due);
  }
  shop.access_when(pack, "locked");

  // One event per bucket change, in order, saying from where to where.
  std::vector<std::pair<std::string, std::string>> moves;
  for (int i = 0; i < 300; ++i) {
    moves.clear();
    const auto page = shop.get("/v1/events?type=contract.delinquency_changed");
    for (const auto& e : page.at("items")) {
      CHECK(e.at("subject") == id);
      moves.emplace_back(e.at("data").at("from").get<std::string>(),
                         e.at("data").at("to").get<std::string>());
    }
    if (moves.size() >= 4) break;
    std::this_thread::sleep_for(100ms);
  }
  CHECK(moves == std::vector<std::pair<std::string, std::string>>{
                     {"current", "1-30"}, {"1-30", "31-60"}, {"31-60", "61-90"}, {"61-90", "90+"}});
  CHECK(shop.get("/v1/events?type=contract.defaulted").at("items").size() == 1);

  // The write-off needs a reason, and closes the books: one entry takes the balance to zero.
  CHECK(shop.post("/v1/contracts/" + id + "/write-off", json::object()).status == 400);
  CHECK(shop.get("/v1/contracts/" + id).at("state") == "defaulted");
  auto written = shop.post("/v1/contracts/" + id + "/write-off",
                           {{"reason", "no contact for three months"}});
  shop.ok(written);
  CHECK(written.json().at("state") == "written_off");
  CHECK(written.json().at("balance") == 0);
  const auto entries = shop.ledger(id);
  REQUIRE(entries.size() >= 2);
  const std::int64_t owed = entries[entries.size() - 2].at("balance_after");
  CHECK(owed > 80000);  // the unpaid principal, its interest and four late fees
  CHECK(entries.back().at("kind") == "write_off");
  CHECK(entries.back().at("amount") == -owed);
  check_ledger(entries, 0);
  CHECK(shop.post("/v1/contracts/" + id + "/write-off", {{"reason", "again"}}).status == 409);
  CHECK(shop.post("/v1/contracts/" + id + "/cancel", {{"reason", "too late"}}).status == 409);

  // The pack stays locked; the write-off is the last event that confirmed it.
  json access;
  for (int i = 0; i < 300; ++i) {
    access = shop.get("/v1/devices/" + pack + "/access");
    if (access.at("last_event").at("event_type") == "contract.written_off") break;
    std::this_thread::sleep_for(100ms);
  }
  INFO(access.dump());
  CHECK(access.at("last_event").at("event_type") == "contract.written_off");
  CHECK(access.at("state") == "locked");
  CHECK(shop.commands(pack).front().at("command") == "lock");
}

TEST_CASE("a cancelled lease returns its pack, locks it and closes its books",
          "[integration][money]") {
  auto backend = GENERATE(Backend::sqlite, Backend::dynamodb);
  INFO("backend " << backend_name(backend));
  auto server = money_server(backend);
  auto shop = open_shop(server, "cancel");
  const auto customer = shop.customer("Kevin Odhiambo", "+254700000011");
  const auto pack = shop.stocked_pack("CAN-1");
  const auto lease = shop.product(kLease);
  const std::string id = shop.contract(customer, pack, lease).at("id");
  shop.pay(id, 20000);
  auto active = shop.contract_when(id, [](const json& c) { return c.at("state") == "active"; });
  shop.access_when(pack, "unlocked");
  const std::int64_t owed = active.at("balance");
  REQUIRE(owed > 0);

  CHECK(shop.post("/v1/contracts/" + id + "/cancel", json::object()).status == 400);
  CHECK(shop.get("/v1/devices/" + pack).at("state") == "deployed");
  auto cancelled =
      shop.post("/v1/contracts/" + id + "/cancel", {{"reason", "the customer moved away"}});
  REQUIRE(shop.ok(cancelled).at("state") == "cancelled");
  CHECK(cancelled.json().at("state") == "cancelled");
  CHECK(cancelled.json().at("balance") == 0);
  CHECK(shop.get("/v1/devices/" + pack).at("state") == "returned");
  auto access = shop.access_when(pack, "locked");
  CHECK(access.at("decided_by").at("event_type") == "contract.cancelled");
  CHECK(shop.commands(pack).front().at("command") == "lock");
  const auto entries = shop.ledger(id);
  CHECK(entries.back().at("kind") == "cancellation");
  CHECK(entries.back().at("amount") == -owed);
  check_ledger(entries, 0);
  CHECK(shop.post("/v1/contracts/" + id + "/cancel", {{"reason", "again"}}).status == 409);
  // A returned pack is not in stock: it cannot be signed again until it is restocked.
  CHECK(shop.post("/v1/contracts",
                  {{"customer_id", customer}, {"device_id", pack}, {"product_id", lease}})
            .status == 409);

  // The customer's contracts, and only theirs.
  const auto other = shop.customer("Lucy Njoki", "+254700000012");
  const std::string second = shop.contract(customer, shop.stocked_pack("CAN-2"), lease).at("id");
  const std::string theirs = shop.contract(other, shop.stocked_pack("CAN-3"), lease).at("id");
  auto ids_of = [&](const std::string& who) {
    std::set<std::string> ids;
    const auto page = shop.get("/v1/contracts?customer_id=" + who);
    for (const auto& c : page.at("items")) {
      CHECK(c.at("customer_id") == who);
      ids.insert(c.at("id").get<std::string>());
    }
    return ids;
  };
  std::set<std::string> mine;
  for (int i = 0; i < 300 && mine.size() < 2; ++i) {
    mine = ids_of(customer);
    if (mine.size() < 2) std::this_thread::sleep_for(100ms);
  }
  CHECK(mine == std::set<std::string>{id, second});
  CHECK(ids_of(other) == std::set<std::string>{theirs});
}

TEST_CASE("money paid beyond a lease's payoff becomes the customer's credit",
          "[integration][money]") {
  auto backend = GENERATE(Backend::sqlite, Backend::dynamodb);
  INFO("backend " << backend_name(backend));
  auto server = money_server(backend);
  auto shop = open_shop(server, "overpay");
  const auto customer = shop.customer("Mercy Atieno", "+254700000013");
  const auto pack = shop.stocked_pack("OVER-1");
  const std::string id = shop.contract(customer, pack, shop.product(kLease)).at("id");
  shop.pay(id, 20000);
  shop.contract_when(id, [](const json& c) { return c.at("state") == "active"; });
  const std::int64_t total = shop.get("/v1/contracts/" + id + "/payoff").at("total");
  shop.pay(id, total + 1234);
  auto paid_off =
      shop.contract_when(id, [](const json& c) { return c.at("state") == "paid_off"; });
  CHECK(paid_off.at("balance") == 0);
  shop.access_when(pack, "permanently_unlocked");
  json balance;
  for (int i = 0; i < 300; ++i) {
    balance = shop.get("/v1/customers/" + customer + "/balance");
    if (balance.at("credit") != 0) break;
    std::this_thread::sleep_for(100ms);
  }
  CHECK(balance.at("credit") == 1234);
  CHECK(balance.at("owed") == 0);
  CHECK(balance.at("contracts").size() == 1);
  // The contract's ledger holds the payoff it took, not the 12.34 beyond it.
  const auto entries = shop.ledger(id);
  check_ledger(entries, 0);
  CHECK(entries.back().at("kind") == "payment");
  CHECK(entries.back().at("amount") == -total);
}

TEST_CASE("the clock moves only on a server in test mode and only for the platform administrator",
          "[integration][money]") {
  {
    // Not in test mode (the default): the control answers 404 and the clock stays the system's.
    auto server = start_server(Backend::sqlite);
    Api api{server.port()};
    auto refused = api.call("POST", "/v1/testing/clock", kPlatformToken,
                            json{{"advance_seconds", 86400}}.dump());
    CHECK(refused.status == 404);
    CHECK(refused.header("content-type") == "application/problem+json");
    CHECK(refused.body.find("testing.clock") != std::string::npos);
    auto clock = api.call("GET", "/v1/testing/clock", kPlatformToken);
    REQUIRE(clock.status == 200);
    CHECK(clock.json().at("adjustable") == false);
    CHECK(clock.json().at("offset_seconds") == 0);
  }
  auto server = money_server(Backend::sqlite);
  auto shop = open_shop(server, "clock");
  auto by_owner = shop.api.call("POST", "/v1/testing/clock", shop.org.owner_key,
                                json{{"advance_seconds", 60}}.dump());
  CHECK(by_owner.status == 403);
  CHECK(shop.api.call("POST", "/v1/testing/clock", kPlatformToken,
                      json{{"advance_seconds", 0}}.dump())
            .status == 400);
  CHECK(shop.api.call("POST", "/v1/testing/clock", kPlatformToken,
                      json{{"advance_seconds", -3600}}.dump())
            .status == 400);
  shop.advance(86400);
  auto clock = shop.api.call("GET", "/v1/testing/clock", kPlatformToken).json();
  CHECK(clock.at("adjustable") == true);
  CHECK(clock.at("offset_seconds") == 86400);
}
