// Tenancy and authorization, against the real server: every route walked with another
// organization's credentials, every role against every route, and the credential lifecycle.
#include <algorithm>
#include <catch2/catch.hpp>
#include <set>
#include <thread>

#include "support/api.h"

using namespace cellfleet::testing;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

struct Org {
  std::string id;
  std::string owner_id;
  std::string owner_key;
  std::map<std::string, std::string> role_keys;  // role -> API key
  std::vector<std::string> ids;                  // every id of its resources
};

Org make_org(const Api& api, const std::string& slug) {
  auto res = api.call("POST", "/v1/platform/organizations", kPlatformToken,
                      json{{"name", slug + " rentals"},
                           {"slug", slug},
                           {"currency", "KES"},
                           {"time_zone", "Africa/Nairobi"},
                           {"owner_email", "owner@" + slug + ".example"}}
                          .dump());
  REQUIRE(res.status == 201);
  auto body = res.json();
  Org org{body["organization"]["id"], body["owner"]["id"], body["api_key"], {}, {}};
  org.ids = {org.id, org.owner_id};
  for (std::string role : {"owner", "admin", "operator", "finance", "viewer"}) {
    auto key = api.call("POST", "/v1/api-keys", org.owner_key,
                        json{{"name", role + " key"}, {"role", role}}.dump());
    REQUIRE(key.status == 201);
    org.role_keys[role] = key.json()["key"];
    org.ids.push_back(key.json()["id"]);
  }
  // A pack with a device credential: the device routes are walked too.
  org.ids.push_back(create_pack(api, org.owner_key, pack_fields(slug + "-pack-1")));
  org.role_keys["device"] = issue_credential(api, org.owner_key, org.ids.back());
  auto user = api.call("POST", "/v1/users", org.owner_key,
                       json{{"email", "ops@" + slug + ".example"},
                            {"role", "operator"},
                            {"password", "a long enough password"}}
                           .dump());
  REQUIRE(user.status == 201);
  org.ids.push_back(user.json()["id"]);
  // A customer, with the same phone in every organization: phones are unique per organization.
  auto customer =
      api.call("POST", "/v1/customers", org.owner_key,
               json{{"name", "Customer of " + slug}, {"phone", "+254700000001"}}.dump());
  REQUIRE(customer.status == 201);
  const std::string customer_id = customer.json()["id"];
  org.ids.push_back(customer_id);
  // A lease-to-own contract for a second pack, and a payment on it: the money routes are walked
  // with real ids too.
  auto product = api.call("POST", "/v1/products", org.owner_key,
                          json{{"name", "Lease"},
                               {"kind", "lease_to_own"},
                               {"terms",
                                {{"cash_price", 50000},
                                 {"deposit", 5000},
                                 {"installments", 6},
                                 {"frequency", "monthly"},
                                 {"annual_rate_bp", 1800}}}}
                              .dump());
  REQUIRE(product.status == 201);
  org.ids.push_back(product.json()["id"]);
  const std::string pack = create_pack(api, org.owner_key, pack_fields(slug + "-pack-2"));
  REQUIRE(api.call("POST", "/v1/devices/" + pack + "/transitions", org.owner_key,
                   json{{"to", "in_stock"}, {"reason", "received"}}.dump())
              .status == 200);
  org.ids.push_back(pack);
  auto contract = api.call("POST", "/v1/contracts", org.owner_key,
                           json{{"customer_id", customer_id},
                                {"device_id", pack},
                                {"product_id", product.json()["id"]}}
                               .dump(),
                           {{"Idempotency-Key", slug + "-contract"}});
  REQUIRE(contract.status == 201);
  org.ids.push_back(contract.json()["id"]);
  auto payment = api.call("POST", "/v1/payments", org.owner_key,
                          json{{"contract_id", contract.json()["id"]},
                               {"amount", 5000},
                               {"currency", "KES"},
                               {"method", "cash"}}
                              .dump(),
                          {{"Idempotency-Key", slug + "-payment"}});
  REQUIRE(payment.status == 201);
  org.ids.push_back(payment.json()["id"]);
  // A manual draft invoice, and the deposit's invoice once the contract's events are applied:
  // the invoice routes are walked with both.
  auto invoice = api.call("POST", "/v1/invoices", org.owner_key,
                          json{{"customer_id", customer_id},
                               {"lines", {{{"description", "Helmet"},
                                           {"quantity", 1},
                                           {"unit_amount", 2500}}}},
                               {"due_date", "2027-01-31"}}
                              .dump(),
                          {{"Idempotency-Key", slug + "-invoice"}});
  REQUIRE(invoice.status == 201);
  org.ids.push_back(invoice.json()["id"]);
  const std::string by_contract =
      "/v1/invoices?contract_id=" + contract.json()["id"].get<std::string>();
  for (int i = 0; i < 300; ++i) {
    auto list = api.call("GET", by_contract, org.owner_key);
    REQUIRE(list.status == 200);
    const json page = list.json();
    if (!page["items"].empty()) {
      org.ids.push_back(page["items"][0]["id"]);
      break;
    }
    REQUIRE(i < 299);  // the deposit's invoice must appear within 30 s
    std::this_thread::sleep_for(100ms);
  }
  return org;
}

struct RouteInfo {
  std::string method;
  std::string path;
  std::string access;
};

std::vector<RouteInfo> route_table() {
  auto [status, out] = run_cellfleet({"routes", "--json"});
  REQUIRE(status == 0);
  std::vector<RouteInfo> routes;
  for (const auto& r : json::parse(out)) routes.push_back({r["method"], r["path"], r["access"]});
  return routes;
}

std::vector<std::string> params_of(const std::string& path) {
  std::vector<std::string> out;
  for (auto open = path.find('{'); open != std::string::npos; open = path.find('{', open + 1)) {
    out.push_back(path.substr(open, path.find('}', open) - open + 1));
  }
  return out;
}

std::string fill(std::string path, const std::string& value) {
  for (auto open = path.find('{'); open != std::string::npos; open = path.find('{')) {
    path.replace(open, path.find('}', open) - open + 1, value);
  }
  return path;
}

bool admits(const std::string& access, const std::string& role) {
  if (access == "anyone") return true;
  if (access == "platform_admin") return role == "platform";
  std::string list = "," + access + ",";
  return list.find("," + role + ",") != std::string::npos;
}

std::string body_for(const std::string& method) {
  return method == "POST" || method == "PATCH" ? "{}" : "";
}

ServerProcess tenancy_server(std::map<std::string, std::string> env = {},
                             Backend backend = Backend::sqlite) {
  return start_server(backend, std::move(env));
}
}  // namespace

TEST_CASE("another organization's credentials never reach an organization's resources",
          "[integration][tenancy]") {
  auto backend = GENERATE(Backend::sqlite, Backend::dynamodb);
  INFO("backend " << backend_name(backend));
  auto server = tenancy_server({}, backend);
  Api api{server.port()};
  Org a = make_org(api, "alpha");
  Org b = make_org(api, "bravo");
  auto before = api.call("GET", "/v1/users", a.owner_key).body;

  int cases = 0;
  // Routes without parameters first: once bravo has probed alpha's ids, bravo's own audit log
  // rightly records the ids bravo sent, which is no leak.
  auto routes = route_table();
  std::stable_partition(routes.begin(), routes.end(),
                        [](const RouteInfo& r) { return params_of(r.path).empty(); });
  for (const auto& route : routes) {
    if (route.access == "anyone") continue;
    auto params = params_of(route.path);
    std::vector<std::string> targets = params.empty() ? std::vector<std::string>{""} : a.ids;
    for (const auto& target : targets) {
      std::string path = fill(route.path, target);
      auto res = api.call(route.method, path, b.owner_key, body_for(route.method));
      INFO(route.method << " " << path << " -> " << res.status << " " << res.body);
      if (route.access == "platform_admin" || !admits(route.access, "owner")) {
        CHECK(res.status == 403);  // the platform's routes, and the devices' own
      } else if (!params.empty()) {
        CHECK(res.status == 404);
      } else {
        CHECK(res.status != 500);
      }
      // A problem may echo the id the caller sent; nothing else of alpha's may appear.
      for (const auto& id : a.ids) {
        if (id != target) CHECK(res.body.find(id) == std::string::npos);
      }
      CHECK(res.body.find("alpha") == std::string::npos);
      ++cases;
      if (!admits(route.access, "device")) continue;
      // bravo's pack, speaking for itself, reaches nothing of alpha's either.
      auto as_pack = api.call(route.method, path, b.role_keys.at("device"), body_for(route.method));
      INFO("as bravo's pack -> " << as_pack.status << " " << as_pack.body);
      if (!params.empty()) CHECK(as_pack.status == 404);
      CHECK(as_pack.status < 500);
      for (const auto& id : a.ids) {
        if (id != target) CHECK(as_pack.body.find(id) == std::string::npos);
      }
      CHECK(as_pack.body.find("alpha") == std::string::npos);
      ++cases;
    }
  }
  CHECK(cases >= 30);
  // Nothing of alpha's changed.
  CHECK(api.call("GET", "/v1/users", a.owner_key).body == before);
  for (const auto& [role, key] : a.role_keys) {
    // Every credential still works: /v1/auth/me for people's keys, 403 (known, not admitted) for
    // the pack's.
    CHECK(api.call("GET", "/v1/auth/me", key).status == (role == "device" ? 403 : 200));
  }
  WARN("isolation cases walked: " << cases);
}

TEST_CASE("each role gets exactly what the route table grants", "[integration][tenancy]") {
  auto backend = GENERATE(Backend::sqlite, Backend::dynamodb);
  INFO("backend " << backend_name(backend));
  auto server = tenancy_server({}, backend);
  Api api{server.port()};
  Org a = make_org(api, "alpha");
  std::map<std::string, std::string> callers = a.role_keys;
  callers["platform"] = kPlatformToken;
  int cases = 0;
  for (const auto& route : route_table()) {
    if (route.access == "anyone") continue;
    // Parameters name resources that do not exist, so an admitted caller changes nothing.
    std::string path = fill(route.path, "missing_0000");
    for (const auto& [role, token] : callers) {
      auto res = api.call(route.method, path, token, body_for(route.method));
      INFO(role << " " << route.method << " " << path << " -> " << res.status << " " << res.body);
      if (admits(route.access, role)) {
        CHECK(res.status != 401);
        CHECK(res.status != 403);
        CHECK(res.status < 500);
      } else {
        CHECK(res.status == 403);
      }
      ++cases;
    }
    CHECK(api.call(route.method, path, "").status == 401);
    CHECK(api.call(route.method, path, "cf_nosuchkey_secret").status == 401);
    cases += 2;
  }
  WARN("role matrix cases: " << cases);
}

TEST_CASE("login does not reveal accounts and is throttled", "[integration][tenancy]") {
  auto backend = GENERATE(Backend::sqlite, Backend::dynamodb);
  INFO("backend " << backend_name(backend));
  auto server = tenancy_server({{"CELLFLEET_AUTH_LOGIN_MAX_FAILURES_PER_ACCOUNT", "3"}}, backend);
  Api api{server.port()};
  make_org(api, "alpha");
  auto attempt = [&](const std::string& email, const std::string& password) {
    return api.call("POST", "/v1/auth/login", "",
                    json{{"email", email}, {"password", password}}.dump());
  };
  auto unknown = attempt("nobody@alpha.example", "whatever it is");
  auto wrong = attempt("ops@alpha.example", "not the password");
  REQUIRE(unknown.status == 401);
  REQUIRE(wrong.status == 401);
  CHECK(unknown.json()["detail"] == wrong.json()["detail"]);
  attempt("ops@alpha.example", "still not it");
  attempt("ops@alpha.example", "nor this one");
  auto throttled = attempt("ops@alpha.example", "a long enough password");
  CHECK(throttled.status == 429);
  CHECK(std::stoi(throttled.header("retry-after")) > 0);
  // Another account is not throttled by these failures.
  CHECK(attempt("owner@alpha.example", "no password set").status == 401);
}

TEST_CASE("a session works until logout, and disabling a user ends its sessions",
          "[integration][tenancy]") {
  auto backend = GENERATE(Backend::sqlite, Backend::dynamodb);
  INFO("backend " << backend_name(backend));
  auto server = tenancy_server({}, backend);
  Api api{server.port()};
  Org a = make_org(api, "alpha");
  auto login = [&] {
    auto res = api.call(
        "POST", "/v1/auth/login", "",
        json{{"email", "OPS@alpha.example"}, {"password", "a long enough password"}}.dump());
    REQUIRE(res.status == 200);
    return res.json();
  };
  auto session = login();
  std::string token = session["token"];
  auto me = api.call("GET", "/v1/auth/me", token);
  REQUIRE(me.status == 200);
  CHECK(me.json()["role"] == "operator");
  CHECK(api.call("POST", "/v1/auth/logout", token).status == 204);
  CHECK(api.call("GET", "/v1/auth/me", token).status == 401);

  std::string second = login()["token"];
  std::string user_id = session["user"]["id"];
  auto disabled =
      api.call("PATCH", "/v1/users/" + user_id, a.owner_key, R"({"status":"disabled"})");
  REQUIRE(disabled.status == 200);
  CHECK(api.call("GET", "/v1/auth/me", second).status == 401);
  auto again =
      api.call("POST", "/v1/auth/login", "",
               json{{"email", "ops@alpha.example"}, {"password", "a long enough password"}}.dump());
  CHECK(again.status == 401);
}

TEST_CASE("an idle session expires, a used one slides", "[integration][tenancy]") {
  auto backend = GENERATE(Backend::sqlite, Backend::dynamodb);
  INFO("backend " << backend_name(backend));
  auto server = tenancy_server({{"CELLFLEET_AUTH_SESSION_IDLE_SECONDS", "4"}}, backend);
  Api api{server.port()};
  make_org(api, "alpha");
  auto res =
      api.call("POST", "/v1/auth/login", "",
               json{{"email", "ops@alpha.example"}, {"password", "a long enough password"}}.dump());
  REQUIRE(res.status == 200);
  std::string token = res.json()["token"];
  // Used every 1.5 s, it outlives its 4 s idle limit...
  for (int i = 0; i < 4; ++i) {
    std::this_thread::sleep_for(1500ms);
    CHECK(api.call("GET", "/v1/auth/me", token).status == 200);
  }
  // ...and left alone, it ends.
  std::this_thread::sleep_for(6s);
  CHECK(api.call("GET", "/v1/auth/me", token).status == 401);
}

TEST_CASE("a revoked API key fails at once, and so does a wrong secret", "[integration][tenancy]") {
  auto backend = GENERATE(Backend::sqlite, Backend::dynamodb);
  INFO("backend " << backend_name(backend));
  auto server = tenancy_server({}, backend);
  Api api{server.port()};
  Org a = make_org(api, "alpha");
  auto created =
      api.call("POST", "/v1/api-keys", a.owner_key, R"({"name":"gw","role":"operator"})");
  REQUIRE(created.status == 201);
  std::string key = created.json()["key"];
  std::string id = created.json()["id"];
  CHECK(api.call("GET", "/v1/auth/me", key).status == 200);
  CHECK(api.call("DELETE", "/v1/api-keys/" + id, a.owner_key).status == 204);
  CHECK(api.call("GET", "/v1/auth/me", key).status == 401);
  // The listing shows it revoked, and never a secret.
  auto list = api.call("GET", "/v1/api-keys", a.owner_key);
  CHECK(list.body.find(key.substr(key.rfind('_') + 1)) == std::string::npos);
  CHECK_THAT(list.body, Catch::Contains("\"revoked\""));
  // A key with the right prefix and a wrong secret is refused.
  CHECK(api.call("GET", "/v1/auth/me", key.substr(0, key.rfind('_')) + "_wrongsecret").status ==
        401);
  auto past = api.call("POST", "/v1/api-keys", a.owner_key,
                       R"({"name":"old","role":"viewer","expires_at":"2001-01-01T00:00:00Z"})");
  CHECK(past.status == 400);
  // An admin may not mint or revoke owner keys.
  auto admin_owner =
      api.call("POST", "/v1/api-keys", a.role_keys["admin"], R"({"name":"x","role":"owner"})");
  CHECK(admin_owner.status == 403);
}

TEST_CASE("an API key stops working the second it expires, even one used a moment before",
          "[integration][tenancy]") {
  // A long key cache, so that only the expiry check (by the server's own clock) can refuse it.
  auto backend = GENERATE(Backend::sqlite, Backend::dynamodb);
  INFO("backend " << backend_name(backend));
  auto server = tenancy_server(
      {{"CELLFLEET_TESTING_CLOCK", "adjustable"}, {"CELLFLEET_AUTH_KEY_CACHE_MS", "60000"}},
      backend);
  Api api{server.port()};
  Org a = make_org(api, "alpha");
  // The adjustable clock starts at real time: an hour from now, by this process's clock.
  auto created = api.call(
      "POST", "/v1/api-keys", a.owner_key,
      json{{"name", "short"}, {"role", "viewer"}, {"expires_at", rfc3339_ms(now_ms() + 3'600'000)}}
          .dump());
  INFO(created.body);
  REQUIRE(created.status == 201);
  const std::string key = created.json()["key"];
  CHECK(api.call("GET", "/v1/auth/me", key).status == 200);
  auto advanced =
      api.call("POST", "/v1/testing/clock", kPlatformToken, json{{"advance_seconds", 3601}}.dump());
  REQUIRE(advanced.status == 200);
  CHECK(api.call("GET", "/v1/auth/me", key).status == 401);
  CHECK(api.call("GET", "/v1/auth/me", a.owner_key).status == 200);  // a key without expiry
}

TEST_CASE("a suspended organization's credentials get 403, a deleted one's 401",
          "[integration][tenancy]") {
  auto backend = GENERATE(Backend::sqlite, Backend::dynamodb);
  INFO("backend " << backend_name(backend));
  auto server = tenancy_server({}, backend);
  Api api{server.port()};
  Org a = make_org(api, "alpha");
  Org b = make_org(api, "bravo");
  auto path = "/v1/platform/organizations/" + a.id;
  // Used just before: a key verified moments ago (and kept, auth.key_cache_ms) is refused as
  // soon as the suspension is committed, not a cache lifetime later.
  REQUIRE(api.call("GET", "/v1/organization", a.owner_key).status == 200);
  REQUIRE(api.call("PATCH", path, kPlatformToken, R"({"status":"suspended"})").status == 200);
  CHECK(api.call("GET", "/v1/organization", a.owner_key).status == 403);
  CHECK(api.call("GET", "/v1/organization", b.owner_key).status == 200);
  REQUIRE(api.call("PATCH", path, kPlatformToken, R"({"status":"active"})").status == 200);
  CHECK(api.call("GET", "/v1/organization", a.owner_key).status == 200);
  CHECK(api.call("DELETE", path, kPlatformToken).status == 204);
  CHECK(api.call("GET", "/v1/organization", a.owner_key).status == 401);
  CHECK(api.call("GET", path, kPlatformToken).status == 404);
  auto list = api.call("GET", "/v1/platform/organizations", kPlatformToken);
  CHECK(list.body.find(a.id) == std::string::npos);
  CHECK(list.body.find(b.id) != std::string::npos);
}

TEST_CASE("creating an organization validates every field and refuses a taken slug",
          "[integration][tenancy]") {
  auto backend = GENERATE(Backend::sqlite, Backend::dynamodb);
  INFO("backend " << backend_name(backend));
  auto server = tenancy_server({}, backend);
  Api api{server.port()};
  make_org(api, "alpha");
  auto bad = api.call(
      "POST", "/v1/platform/organizations", kPlatformToken,
      R"({"name":"x","slug":"-Bad","currency":"XYZ","time_zone":"Mars/Olympus","owner_email":"nope"})");
  REQUIRE(bad.status == 400);
  std::set<std::string> fields;
  auto problem = bad.json();
  for (const auto& e : problem["errors"]) fields.insert(e["field"]);
  CHECK(fields == std::set<std::string>{"slug", "currency", "time_zone", "owner_email"});
  auto taken = api.call("POST", "/v1/platform/organizations", kPlatformToken,
                        json{{"name", "again"},
                             {"slug", "alpha"},
                             {"currency", "UGX"},
                             {"time_zone", "Africa/Kampala"},
                             {"owner_email", "x@y.example"}}
                            .dump());
  CHECK(taken.status == 409);
  CHECK(api.call("POST", "/v1/platform/organizations", kPlatformToken, "{not json").status == 400);
}

TEST_CASE("create-org works beside a running server and prints a working owner key",
          "[integration][tenancy][cli]") {
  auto server = tenancy_server();
  auto [status, out] =
      run_cellfleet({"create-org", "--data-dir", server.data_dir().string(), "--name",
                     "Offline Org", "--slug", "offline", "--owner-email", "boss@offline.example",
                     "--currency", "TZS", "--time-zone", "Africa/Dar_es_Salaam"});
  INFO(out);
  REQUIRE(status == 0);
  auto key_start = out.find("cf_");
  REQUIRE(key_start != std::string::npos);
  std::string key = out.substr(key_start, out.find('\n', key_start) - key_start);
  auto me = Api{server.port()}.call("GET", "/v1/auth/me", key);
  REQUIRE(me.status == 200);
  CHECK(me.json()["organization"]["currency"] == "TZS");
  auto [again, again_out] =
      run_cellfleet({"create-org", "--data-dir", server.data_dir().string(), "--name", "Dup",
                     "--slug", "offline", "--owner-email", "other@offline.example"});
  CHECK(again == 2);
  CHECK_THAT(again_out, Catch::Contains("offline"));
}

TEST_CASE("no secret ever reaches the log", "[integration][tenancy]") {
  auto server = tenancy_server();
  Api api{server.port()};
  Org a = make_org(api, "alpha");
  api.call("POST", "/v1/auth/login", "",
           json{{"email", "ops@alpha.example"}, {"password", "a long enough password"}}.dump());
  api.call("GET", "/v1/auth/me", a.owner_key);
  std::string all;
  for (const auto& line : server.log_lines()) all += line + "\n";
  CHECK(all.find(kPlatformToken) == std::string::npos);
  CHECK(all.find("a long enough password") == std::string::npos);
  for (const auto& [role, key] : a.role_keys) CHECK(all.find(key) == std::string::npos);
  CHECK_THAT(all, Catch::Contains(a.id));  // the org id is logged, as it should be
}

TEST_CASE("state changes are in the audit log, filterable by actor and subject",
          "[integration][tenancy]") {
  auto backend = GENERATE(Backend::sqlite, Backend::dynamodb);
  INFO("backend " << backend_name(backend));
  auto server = tenancy_server({}, backend);
  Api api{server.port()};
  Org a = make_org(api, "alpha");
  auto user = api.call("POST", "/v1/users", a.owner_key,
                       R"({"email":"fin@alpha.example","role":"finance"})");
  REQUIRE(user.status == 201);
  std::string user_id = user.json()["id"];
  REQUIRE(api.call("PATCH", "/v1/users/" + user_id, a.owner_key, R"({"name":"Fin"})").status ==
          200);
  CHECK(
      api.call("PATCH", "/v1/users/" + user_id, a.role_keys["viewer"], R"({"name":"X"})").status ==
      403);
  auto by_subject = api.call("GET", "/v1/audit?subject=" + user_id, a.owner_key);
  REQUIRE(by_subject.status == 200);
  auto items = by_subject.json()["items"];
  REQUIRE(items.size() == 3);
  CHECK(items[0]["outcome"] == "failed");  // newest first: the viewer's refused attempt
  CHECK(items[1]["action"] == "PATCH /v1/users/{user_id}");
  CHECK(items[2]["action"] == "POST /v1/users");
  CHECK(items[2]["request_id"].get<std::string>().rfind("req_", 0) == 0);
  auto page = api.call("GET", "/v1/audit?limit=2", a.owner_key);
  REQUIRE(page.json().contains("next_cursor"));
  auto next =
      api.call("GET", "/v1/audit?limit=2&cursor=" + page.json()["next_cursor"].get<std::string>(),
               a.owner_key);
  CHECK(next.status == 200);
  CHECK(api.call("GET", "/v1/audit?cursor=garbage", a.owner_key).status == 400);
  CHECK(api.call("GET", "/v1/audit", a.role_keys["finance"]).status == 403);
}
