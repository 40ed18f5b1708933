// Customers over HTTP on both backends: create, read and update with If-Match, one phone per
// customer within an organization, validation, search by phone and by name, pagination, and
// isolation between organizations.
#include <catch2/catch.hpp>
#include <cstdio>
#include <set>

#include "support/api.h"

using namespace cellfleet::testing;
using nlohmann::json;

namespace {

json customer_fields(const std::string& name, const std::string& phone,
                     const json& extra = json::object()) {
  json body = {{"name", name}, {"phone", phone}};
  body.update(extra);
  return body;
}

std::string create_customer(const Api& api, const std::string& key, const json& fields) {
  auto res = api.call("POST", "/v1/customers", key, fields.dump());
  INFO(res.body);
  REQUIRE(res.status == 201);
  return res.json()["id"];
}

std::string phone_number(int i) {
  return "+2547" + std::to_string(10000000 + i);
}

std::vector<std::string> ids_of(const json& page) {
  std::vector<std::string> ids;
  for (const auto& item : page["items"]) ids.push_back(item["id"]);
  return ids;
}

std::set<std::string> error_fields(const HttpResponse& res) {
  std::set<std::string> fields;
  const auto problem = res.json();
  for (const auto& e : problem["errors"]) fields.insert(e["field"]);
  return fields;
}

// Every id of a list, page after page; fails on a repeated id or a runaway cursor.
std::vector<std::string> walk(const Api& api, const std::string& key, const std::string& path,
                              std::size_t* pages = nullptr) {
  std::vector<std::string> seen;
  std::set<std::string> unique;
  std::string cursor;
  std::size_t count = 0;
  do {
    const char* sep = path.find('?') == std::string::npos ? "?" : "&";
    auto res = api.call("GET", path + (cursor.empty() ? "" : sep + ("cursor=" + cursor)), key);
    INFO(path << " " << res.body);
    REQUIRE(res.status == 200);
    for (const auto& id : ids_of(res.json())) {
      CHECK(unique.insert(id).second);
      seen.push_back(id);
    }
    cursor = res.json().value("next_cursor", "");
    ++count;
  } while (!cursor.empty() && count < 50);
  if (pages) *pages = count;
  return seen;
}

}  // namespace

TEST_CASE("a customer is created then read and updated with If-Match", "[integration][customers]") {
  auto backend = GENERATE(Backend::sqlite, Backend::dynamodb);
  INFO("backend " << backend_name(backend));
  auto server = start_server(backend);
  Api api{server.port()};
  auto org = create_test_org(api, "renters");
  const auto& key = org.role_keys.at("operator");

  auto created = api.call("POST", "/v1/customers", key,
                          customer_fields("  Amina Wanjiru ", "+254 712-345 678",
                                          {{"email", "amina@example.co.ke"},
                                           {"national_id", "12345678"},
                                           {"address", "Kibera, near the Total station\nNairobi"},
                                           {"notes", "prefers SMS"}})
                              .dump());
  INFO(created.body);
  REQUIRE(created.status == 201);
  auto customer = created.json();
  const std::string id = customer["id"];
  CHECK(id.rfind("cus_", 0) == 0);
  CHECK(customer["name"] == "Amina Wanjiru");
  CHECK(customer["phone"] == "+254712345678");
  CHECK(customer["status"] == "active");
  CHECK(customer["version"] == 1);
  CHECK(customer.contains("created_at"));
  CHECK_FALSE(customer.contains("pk"));
  CHECK_FALSE(customer.contains("gsi2sk"));
  CHECK(created.header("location") == "/v1/customers/" + id);
  CHECK(created.header("etag") == "\"1\"");

  auto read = api.call("GET", "/v1/customers/" + id, org.role_keys.at("viewer"));
  REQUIRE(read.status == 200);
  CHECK(read.header("etag") == "\"1\"");
  CHECK(read.json() == customer);

  auto stale = api.call("PATCH", "/v1/customers/" + id, key, json{{"status", "blocked"}}.dump(),
                        {{"If-Match", "\"5\""}});
  CHECK(stale.status == 412);
  auto blocked =
      api.call("PATCH", "/v1/customers/" + id, org.role_keys.at("finance"),
               json{{"status", "blocked"}, {"email", nullptr}, {"notes", "arrears"}}.dump(),
               {{"If-Match", "\"1\""}});
  INFO(blocked.body);
  REQUIRE(blocked.status == 200);
  CHECK(blocked.header("etag") == "\"2\"");
  CHECK(blocked.json()["status"] == "blocked");
  CHECK(blocked.json()["notes"] == "arrears");
  CHECK_FALSE(blocked.json().contains("email"));
  CHECK(blocked.json()["version"] == 2);
  auto again = api.call("GET", "/v1/customers/" + id, key);
  CHECK(again.json() == blocked.json());
  // The If-Match of the first read no longer matches.
  CHECK(api.call("PATCH", "/v1/customers/" + id, key, json{{"status", "active"}}.dump(),
                 {{"If-Match", "\"1\""}})
            .status == 412);

  // Each change is an event in the organization's log, naming what changed.
  auto created_events = api.call("GET", "/v1/events?type=customer.created", org.owner_key).json();
  REQUIRE(created_events["items"].size() == 1);
  CHECK(created_events["items"][0]["subject"] == id);
  CHECK(created_events["items"][0]["data"]["phone"] == "+254712345678");
  auto updated_events = api.call("GET", "/v1/events?type=customer.updated", org.owner_key).json();
  REQUIRE(updated_events["items"].size() == 1);
  const auto data = updated_events["items"][0]["data"];
  CHECK(data["changed"].get<std::set<std::string>>() ==
        std::set<std::string>{"status", "email", "notes"});
  CHECK(data["values"]["status"] == "blocked");
  CHECK(data["values"]["email"].is_null());

  // Viewers read but do not write; unknown, malformed and absent customers are 404.
  CHECK(api.call("POST", "/v1/customers", org.role_keys.at("viewer"),
                 customer_fields("X", phone_number(1)).dump())
            .status == 403);
  CHECK(api.call("PATCH", "/v1/customers/" + id, org.role_keys.at("viewer"),
                 json{{"status", "active"}}.dump())
            .status == 403);
  CHECK(api.call("GET", "/v1/customers/cus_01JD3K6W7M8N9P0Q1R2S3T4V5W", key).status == 404);
  CHECK(api.call("GET", "/v1/customers/not-an-id", key).status == 404);
  CHECK(api.call("PATCH", "/v1/customers/cus_01JD3K6W7M8N9P0Q1R2S3T4V5W", key,
                 json{{"status", "active"}}.dump())
            .status == 404);
}

TEST_CASE("a phone belongs to one customer of an organization and a changed phone is freed",
          "[integration][customers]") {
  auto backend = GENERATE(Backend::sqlite, Backend::dynamodb);
  INFO("backend " << backend_name(backend));
  auto server = start_server(backend);
  Api api{server.port()};
  auto org = create_test_org(api, "phones");
  const auto& key = org.role_keys.at("operator");
  const std::string first = create_customer(api, key, customer_fields("Jo", phone_number(1)));
  const std::string second = create_customer(api, key, customer_fields("Ann", phone_number(2)));

  // The same phone, however it is typed, is a 409 naming the customer who has it.
  auto dup =
      api.call("POST", "/v1/customers", key, customer_fields("Other", "+254 710 000 001").dump());
  REQUIRE(dup.status == 409);
  CHECK(dup.header("content-type") == "application/problem+json");
  CHECK_THAT(dup.json()["detail"].get<std::string>(), Catch::Contains(first));
  CHECK(error_fields(dup) == std::set<std::string>{"phone"});
  auto taken =
      api.call("PATCH", "/v1/customers/" + second, key, json{{"phone", phone_number(1)}}.dump());
  REQUIRE(taken.status == 409);
  CHECK_THAT(taken.json()["detail"].get<std::string>(), Catch::Contains(first));
  CHECK(api.call("GET", "/v1/customers/" + second, key).json()["phone"] == phone_number(2));

  // A new phone frees the old one at once and takes the new one.
  auto moved = api.call("PATCH", "/v1/customers/" + first, key,
                        json{{"phone", phone_number(3)}}.dump(), {{"If-Match", "\"1\""}});
  REQUIRE(moved.status == 200);
  CHECK(moved.json()["phone"] == phone_number(3));
  const std::string third = create_customer(api, key, customer_fields("New", phone_number(1)));
  auto now_taken =
      api.call("POST", "/v1/customers", key, customer_fields("Late", phone_number(3)).dump());
  CHECK(now_taken.status == 409);
  CHECK_THAT(now_taken.json()["detail"].get<std::string>(), Catch::Contains(first));
  auto lookup = api.call("GET", "/v1/customers?phone=%2B254710000001", key).json();
  CHECK(ids_of(lookup) == std::vector<std::string>{third});

  // Another organization may have a customer with the same phone.
  auto other = create_test_org(api, "elsewhere");
  create_customer(api, other.owner_key, customer_fields("Jo", phone_number(3)));
}

TEST_CASE("invalid customer input is a 400 naming every bad field and never a 500",
          "[integration][customers]") {
  auto backend = GENERATE(Backend::sqlite, Backend::dynamodb);
  INFO("backend " << backend_name(backend));
  auto server = start_server(backend);
  Api api{server.port()};
  auto org = create_test_org(api, "checks");
  const auto& key = org.role_keys.at("admin");

  auto invalid = api.call("POST", "/v1/customers", key,
                          json{{"name", "   "},
                               {"phone", "0712345678"},
                               {"email", "not an email"},
                               {"national_id", std::string(65, '9')},
                               {"address", std::string(501, 'a')},
                               {"notes", 7},
                               {"status", "gone"},
                               {"colour", "red"}}
                              .dump());
  REQUIRE(invalid.status == 400);
  CHECK(invalid.header("content-type") == "application/problem+json");
  CHECK(error_fields(invalid) == std::set<std::string>{"name", "phone", "email", "national_id",
                                                       "address", "notes", "status", "colour"});
  auto missing = api.call("POST", "/v1/customers", key, "{}");
  REQUIRE(missing.status == 400);
  CHECK(error_fields(missing) == std::set<std::string>{"name", "phone"});
  for (const std::string phone :
       {"+2547", "+0254712345678", "+25471234567890123", "+2547l2345678"}) {
    INFO(phone);
    auto res = api.call("POST", "/v1/customers", key, customer_fields("Jo", phone).dump());
    CHECK(res.status == 400);
    CHECK(error_fields(res) == std::set<std::string>{"phone"});
  }
  CHECK(api.call("POST", "/v1/customers", key, "{not json").status == 400);
  CHECK(api.call("POST", "/v1/customers", key, "[1]").status == 400);
  CHECK(api.call("POST", "/v1/customers", key, customer_fields("Tab\tName", phone_number(9)).dump())
            .status == 400);

  const std::string id = create_customer(api, key, customer_fields("Jo", phone_number(1)));
  auto removed = api.call("PATCH", "/v1/customers/" + id, key,
                          json{{"name", nullptr}, {"phone", nullptr}}.dump());
  REQUIRE(removed.status == 400);
  CHECK(error_fields(removed) == std::set<std::string>{"name", "phone"});
  CHECK(api.call("PATCH", "/v1/customers/" + id, key, "{}").status == 400);
  CHECK(api.call("PATCH", "/v1/customers/" + id, key, json{{"id", "cus_x"}}.dump()).status == 400);
  CHECK(api.call("PATCH", "/v1/customers/" + id, key, json{{"status", "deleted"}}.dump()).status ==
        400);
  CHECK(api.call("GET", "/v1/customers/" + id, key).json()["version"] == 1);

  for (const std::string query : {"phone=abc", "phone=", "status=deleted", "name=", "name=%20%20",
                                  "cursor=garbage", "cursor=i.zz", "cursor=n.6a6f", "limit=0",
                                  "phone=%2B254710000001&cursor=i.00", "name=%ZZ"}) {
    INFO(query);
    auto res = api.call("GET", "/v1/customers?" + query, key);
    CHECK(res.status == 400);
  }
  // A cursor of the name search is not one of another name's search.
  auto a = create_customer(api, key, customer_fields("Aa", phone_number(2)));
  create_customer(api, key, customer_fields("Ab", phone_number(3)));
  auto page = api.call("GET", "/v1/customers?name=a&limit=1", key).json();
  REQUIRE(page.contains("next_cursor"));
  CHECK(
      api.call("GET", "/v1/customers?name=b&cursor=" + page["next_cursor"].get<std::string>(), key)
          .status == 400);
  CHECK(ids_of(page) == std::vector<std::string>{a});
}

TEST_CASE("customers are found by exact phone and by case insensitive name prefix",
          "[integration][customers]") {
  auto backend = GENERATE(Backend::sqlite, Backend::dynamodb);
  INFO("backend " << backend_name(backend));
  auto server = start_server(backend);
  Api api{server.port()};
  auto org = create_test_org(api, "search");
  const auto& key = org.role_keys.at("operator");
  const auto wanjiru = create_customer(api, key, customer_fields("Amina Wanjiru", phone_number(1)));
  const auto otieno = create_customer(api, key, customer_fields("amina  Otieno", phone_number(2)));
  const auto diallo = create_customer(
      api, key, customer_fields("AMINATA Diallo", phone_number(3), {{"status", "blocked"}}));
  const auto brian = create_customer(api, key, customer_fields("Brian Amina", phone_number(4)));
  const auto emile = create_customer(api, key, customer_fields("Émile Ngoy", phone_number(5)));

  auto names = [&](const std::string& query) {
    auto res = api.call("GET", "/v1/customers?" + query, org.role_keys.at("viewer"));
    INFO(query << " " << res.body);
    REQUIRE(res.status == 200);
    return ids_of(res.json());
  };
  // In name order: "amina otieno", "amina wanjiru", "aminata diallo".
  CHECK(names("name=amina") == std::vector<std::string>{otieno, wanjiru, diallo});
  CHECK(names("name=AMINA") == std::vector<std::string>{otieno, wanjiru, diallo});
  CHECK(names("name=amina%20") == std::vector<std::string>{otieno, wanjiru});
  CHECK(names("name=Amina+w") == std::vector<std::string>{wanjiru});
  CHECK(names("name=amina&status=blocked") == std::vector<std::string>{diallo});
  CHECK(names("name=%C3%A9mile") == std::vector<std::string>{emile});  // "émile"
  CHECK(names("name=%C3%89MI") == std::vector<std::string>{emile});    // "ÉMI"
  CHECK(names("name=brian").size() == 1);
  CHECK(names("name=zed").empty());
  // Odd prefixes are searched, not refused: bytes that are no UTF-8, and the index's separator
  // ("zo#c" begins the index key "zo#cus_..." of the name "Zo", which does not begin with it).
  create_customer(api, key, customer_fields("Zo", phone_number(6)));
  CHECK(names("name=zo").size() == 1);
  CHECK(names("name=zo%23c").empty());
  CHECK(names("name=%FF").empty());
  CHECK(names("name=%C3").empty());

  CHECK(names("phone=%2B254710000004") == std::vector<std::string>{brian});
  CHECK(names("phone=+254710000004") == std::vector<std::string>{brian});  // "+" unencoded
  CHECK(names("phone=%2B254%20710%20000%20004") == std::vector<std::string>{brian});
  CHECK(names("phone=%2B254710000099").empty());
  CHECK(names("phone=%2B254710000004&status=blocked").empty());
  CHECK(names("phone=%2B254710000004&name=bri") == std::vector<std::string>{brian});
  CHECK(names("phone=%2B254710000004&name=ami").empty());

  // A rename moves the customer in the name search.
  REQUIRE(api.call("PATCH", "/v1/customers/" + brian, key, json{{"name", "Amina Brian"}}.dump())
              .status == 200);
  CHECK(names("name=brian").empty());
  CHECK(names("name=amina%20b") == std::vector<std::string>{brian});
}

TEST_CASE("twenty five customers page by ten without gaps or repeats", "[integration][customers]") {
  auto backend = GENERATE(Backend::sqlite, Backend::dynamodb);
  INFO("backend " << backend_name(backend));
  auto server = start_server(backend);
  Api api{server.port()};
  auto org = create_test_org(api, "pages");
  const auto& key = org.role_keys.at("operator");
  std::vector<std::string> all;
  std::vector<std::string> by_name(25);
  std::vector<std::string> active;
  for (int i = 0; i < 25; ++i) {
    // Created in id order, named in the reverse order: the two indexes disagree.
    json extra = i % 4 == 0 ? json{{"status", "blocked"}} : json::object();
    char name[32];
    std::snprintf(name, sizeof name, "Customer %02d", 24 - i);
    all.push_back(create_customer(api, key, customer_fields(name, phone_number(100 + i), extra)));
    by_name[24 - i] = all.back();
    if (i % 4 != 0) active.push_back(all.back());
  }
  create_customer(api, key, customer_fields("Someone Else", phone_number(999)));

  std::size_t pages = 0;
  auto every = walk(api, key, "/v1/customers?limit=10", &pages);
  CHECK(every.size() == 26);
  CHECK(std::vector<std::string>(every.begin(), every.begin() + 25) == all);
  CHECK(pages == 3);
  CHECK(walk(api, key, "/v1/customers?name=CUSTOMER&limit=10", &pages) == by_name);
  CHECK(pages == 3);
  // By name, the active ones come in the reverse of their creation order.
  CHECK(walk(api, key, "/v1/customers?name=customer&status=active&limit=10") ==
        std::vector<std::string>(active.rbegin(), active.rend()));
  CHECK(walk(api, key, "/v1/customers?name=customer%201&limit=3").size() == 10);
  auto exact = api.call("GET", "/v1/customers?limit=26", key).json();
  CHECK(exact["items"].size() == 26);
  CHECK_FALSE(exact.contains("next_cursor"));
}

TEST_CASE("another organization cannot read update or list an organization's customers",
          "[integration][customers]") {
  auto backend = GENERATE(Backend::sqlite, Backend::dynamodb);
  INFO("backend " << backend_name(backend));
  auto server = start_server(backend);
  Api api{server.port()};
  auto a = create_test_org(api, "owner-org");
  auto b = create_test_org(api, "other-org");
  const std::string id =
      create_customer(api, a.owner_key, customer_fields("Private Person", phone_number(1)));
  create_customer(api, b.owner_key, customer_fields("Own Customer", phone_number(2)));

  CHECK(api.call("GET", "/v1/customers/" + id, b.owner_key).status == 404);
  auto patch = api.call("PATCH", "/v1/customers/" + id, b.owner_key,
                        json{{"status", "blocked"}}.dump(), {{"If-Match", "\"1\""}});
  CHECK(patch.status == 404);
  for (const std::string query : {"", "?name=private", "?phone=%2B254710000001", "?limit=200"}) {
    auto res = api.call("GET", "/v1/customers" + query, b.owner_key);
    INFO(query << " " << res.body);
    REQUIRE(res.status == 200);
    CHECK(res.body.find(id) == std::string::npos);
    CHECK(res.body.find("Private") == std::string::npos);
  }
  // b's customer takes a's phone without a conflict: claims are per organization.
  auto same_phone = api.call(
      "PATCH", "/v1/customers/" + ids_of(api.call("GET", "/v1/customers", b.owner_key).json())[0],
      b.owner_key, json{{"phone", phone_number(1)}}.dump());
  CHECK(same_phone.status == 200);
  auto mine = api.call("GET", "/v1/customers/" + id, a.owner_key);
  REQUIRE(mine.status == 200);
  CHECK(mine.json()["status"] == "active");
  CHECK(mine.json()["version"] == 1);
}
