#include "money_reports.h"

#include <fmt/format.h>

#include <functional>
#include <map>

#include "core/error.h"
#include "core/events/outbox.h"
#include "money_aggregates.h"

namespace cellfleet::insights {

namespace {

using nlohmann::json;
using std::chrono::sys_days;
using std::chrono::year_month_day;

std::optional<year_month_day> parse_date(const std::string& text) {
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') return std::nullopt;
  for (std::size_t i : {0, 1, 2, 3, 5, 6, 8, 9}) {
    if (text[i] < '0' || text[i] > '9') return std::nullopt;
  }
  const year_month_day d{std::chrono::year(std::stoi(text.substr(0, 4))),
                         std::chrono::month(static_cast<unsigned>(std::stoi(text.substr(5, 2)))),
                         std::chrono::day(static_cast<unsigned>(std::stoi(text.substr(8, 2))))};
  if (!d.ok()) return std::nullopt;
  return d;
}

// Every item of partition with from <= sk <= to, in sort-key order.
std::vector<storage::Item> read_between(storage::Store& store, const std::string& partition,
                                        const std::string& from, const std::string& to) {
  std::vector<storage::Item> out;
  storage::Query q;
  q.table = kMoneyTable;
  q.partition = partition;
  q.sort = storage::SortCondition{storage::SortCondition::Op::between, from, to};
  q.limit = 1000;
  do {
    auto page = store.query(q);
    for (auto& item : page.items) out.push_back(std::move(item));
    q.cursor = page.next_cursor;
  } while (!q.cursor.empty());
  return out;
}

std::int64_t num(const json& object, const std::string& field) {
  return object.is_object() ? object.value(field, std::int64_t{0}) : 0;
}

json ratio(std::int64_t numerator, std::int64_t denominator, const char* num_name,
           const char* den_name) {
  return {{num_name, numerator},
          {den_name, denominator},
          {"bp", denominator > 0 ? json(numerator * 10000 / denominator) : json()}};
}

void add_object(json& into, const json& from) {
  if (!from.is_object()) return;
  if (!into.is_object()) into = json::object();
  for (const auto& [k, v] : from.items()) {
    if (v.is_number_integer()) {
      into[k] = into.value(k, std::int64_t{0}) + v.get<std::int64_t>();
    } else if (v.is_object()) {
      add_object(into[k], v);
    }
  }
}

// The contract kinds the collections are split by.
constexpr const char* kKinds[] = {"lease_to_own", "payg"};

// What contracts of kind collected (applied - reversed) and were expected to pay, from the day
// (or totals) object read_collections builds: lease-to-own expects its installments ("expected"
// as stored), PAYG its rent ("payg_expected", from the rent log).
std::int64_t kind_collected(const json& day, const std::string& kind) {
  const json by_kind = day.value("by_kind", json::object());
  const json k = by_kind.value(kind, json::object());
  return num(k, "applied") - num(k, "reversed");
}
std::int64_t kind_expected(const json& day, const std::string& kind) {
  return kind == "payg" ? num(day, "payg_expected") : num(day, "expected");
}

// The daily figures as the API shows them: net = received - reversed.
json day_view(json day) {
  std::int64_t expected = 0;
  std::int64_t applied = 0;
  json by_kind = json::object();
  for (const char* kind : kKinds) {
    const std::int64_t e = kind_expected(day, kind);
    const std::int64_t c = kind_collected(day, kind);
    by_kind[kind] = {{"expected", e}, {"collected", c}};
    expected += e;
    applied += c;
  }
  const std::int64_t collected = num(day, "received") - num(day, "reversed");
  json out = {{"received", num(day, "received")},
              {"received_count", num(day, "received_count")},
              {"reversed", num(day, "reversed")},
              {"reversed_count", num(day, "reversed_count")},
              {"collected", collected},
              {"expected", expected},
              {"by_kind", by_kind},
              {"unapplied", collected - applied}};
  json by_method = json::object();
  if (day.contains("by_method")) {
    for (const auto& [method, m] : day.at("by_method").items()) {
      by_method[method] = {{"received", num(m, "received")},
                           {"received_count", num(m, "received_count")},
                           {"reversed", num(m, "reversed")},
                           {"reversed_count", num(m, "reversed_count")},
                           {"collected", num(m, "received") - num(m, "reversed")}};
    }
  }
  out["by_method"] = by_method;
  return out;
}

std::vector<std::string> dates_of(const DateRange& range) {
  std::vector<std::string> out;
  for (sys_days d = sys_days(range.from); d <= sys_days(range.to); d += std::chrono::days(1)) {
    out.push_back(format_date(year_month_day(d)));
  }
  return out;
}

// Per shard, the last value logged in partition (sk <prefix>shard#<nn>#<date>) before the range,
// then every change inside it: calls on_day(i, item) with the shard's item in force as dates[i]
// begins, i.e. its last change on a day before dates[i] (an empty object when none). Reads at
// most kOutboxShards x (days + 1) items.
void level_log(storage::Store& store, const MoneyKeys& keys, const std::string& partition,
               const DateRange& range, const std::vector<std::string>& dates,
               const std::function<void(std::size_t, const json&)>& on_day) {
  const auto day_before = format_date(year_month_day(sys_days(range.from) - std::chrono::days(1)));
  for (std::size_t shard = 0; shard < events::kOutboxShards; ++shard) {
    const std::string prefix = fmt::format("{}shard#{:02}#", keys.gen_prefix(), shard);
    storage::Query before;
    before.table = kMoneyTable;
    before.partition = partition;
    before.sort =
        storage::SortCondition{storage::SortCondition::Op::between, prefix, prefix + day_before};
    before.limit = 1;
    before.forward = false;
    auto last = store.query(before);
    json level = last.items.empty() ? json::object() : last.items.front();
    const auto changes =
        read_between(store, partition, prefix + dates.front(), prefix + dates.back());
    std::size_t next = 0;
    for (std::size_t i = 0; i < dates.size(); ++i) {
      on_day(i, level);
      while (next < changes.size() &&
             changes[next].at("sk").get<std::string>().substr(prefix.size()) == dates[i]) {
        level = changes[next];
        ++next;
      }
    }
  }
}

}  // namespace

DateRange parse_date_range(const std::optional<std::string>& from,
                           const std::optional<std::string>& to) {
  std::vector<FieldError> errors;
  std::optional<year_month_day> f;
  std::optional<year_month_day> t;
  if (!from || !(f = parse_date(*from))) {
    errors.push_back({"query.from", "must be a date, YYYY-MM-DD"});
  }
  if (!to || !(t = parse_date(*to))) errors.push_back({"query.to", "must be a date, YYYY-MM-DD"});
  if (!errors.empty()) throw bad_request("from and to must be local dates", std::move(errors));
  const auto days = (sys_days(*t) - sys_days(*f)).count() + 1;
  if (days < 1) {
    throw bad_request("to must not precede from", {{"query.to", "must be on or after from"}});
  }
  if (days > kMaxReportDays) {
    throw bad_request(
        fmt::format("a range covers at most {} days", kMaxReportDays),
        {{"query.to", fmt::format("must be at most {} days after from", kMaxReportDays - 1)}});
  }
  return {*f, *t};
}

json read_portfolio(storage::Store& store, const std::string& org_id) {
  const MoneyKeys keys{org_id, read_generation(store, org_id)};
  const auto shards = read_between(store, keys.money_partition(), keys.gen_prefix() + "shard#",
                                   keys.gen_prefix() + "shard#~");
  json by_state = json::object();
  for (const char* s : {"pending_deposit", "active", "overdue", "defaulted", "paid_off",
                        "cancelled", "written_off"}) {
    by_state[s] = 0;
  }
  json by_bucket = {{"current", 0}, {"1-30", 0}, {"31-60", 0}, {"61-90", 0}, {"90+", 0}};
  json revenue = json::object();
  json fleet = {{"deployed", 0}, {"in_stock", 0}};
  std::int64_t outstanding = 0;
  for (const auto& shard : shards) {
    add_object(by_state, shard.value("by_state", json::object()));
    add_object(by_bucket, shard.value("by_bucket", json::object()));
    add_object(revenue, shard.value("revenue_by_product", json::object()));
    add_object(fleet, shard.value("fleet", json::object()));
    outstanding += num(shard, "outstanding");
  }
  const std::int64_t over90 = num(by_bucket, "90+");
  const std::int64_t over30 = over90 + num(by_bucket, "61-90") + num(by_bucket, "31-60");
  const std::int64_t over0 = over30 + num(by_bucket, "1-30");
  std::int64_t contracts = 0;
  for (const auto& [s, n] : by_state.items()) contracts += n.get<std::int64_t>();
  return {{"outstanding_principal", outstanding},
          {"outstanding_by_bucket", by_bucket},
          {"par1", ratio(over0, outstanding, "principal", "outstanding_principal")},
          {"par30", ratio(over30, outstanding, "principal", "outstanding_principal")},
          {"par90", ratio(over90, outstanding, "principal", "outstanding_principal")},
          {"contracts_by_state", by_state},
          {"contracts", contracts},
          {"revenue_by_product", revenue},
          {"fleet", {{"deployed", num(fleet, "deployed")}, {"in_stock", num(fleet, "in_stock")}}}};
}

json read_collections(storage::Store& store, const std::string& org_id, const DateRange& range) {
  const MoneyKeys keys{org_id, read_generation(store, org_id)};
  const auto dates = dates_of(range);
  const auto prefix = keys.gen_prefix();
  const auto items = read_between(store, keys.daily_partition(), prefix + dates.front(),
                                  prefix + dates.back() + "#~");
  std::map<std::string, json> by_day;
  for (const auto& item : items) {
    const std::string sk = item.at("sk");
    add_object(by_day[sk.substr(prefix.size(), 10)], item);
  }
  // PAYG: the rent of the contracts in force as each day begins.
  std::vector<std::int64_t> payg_expected(dates.size(), 0);
  level_log(store, keys, keys.rent_partition(), range, dates,
            [&payg_expected](std::size_t i, const json& level) {
              payg_expected[i] += num(level, "payg");
            });
  json days = json::array();
  json totals = json::object();
  for (std::size_t i = 0; i < dates.size(); ++i) {
    const auto& date = dates[i];
    auto it = by_day.find(date);
    json day = it == by_day.end() ? json::object() : it->second;
    day.erase("version");
    day["payg_expected"] = payg_expected[i];
    add_object(totals, day);
    json view = day_view(day);
    view["date"] = date;
    days.push_back(std::move(view));
  }
  json total_view = day_view(totals);
  const std::int64_t collected = total_view.at("collected");
  const std::int64_t expected = total_view.at("expected");
  json rate = ratio(collected, expected, "collected", "expected");
  for (const char* kind : kKinds) {
    const json& k = total_view.at("by_kind").at(kind);
    rate["by_kind"][kind] = ratio(k.at("collected").get<std::int64_t>(),
                                  k.at("expected").get<std::int64_t>(), "collected", "expected");
  }
  return {{"from", dates.front()},
          {"to", dates.back()},
          {"days", days},
          {"totals", total_view},
          {"collection_rate", rate}};
}

json read_utilisation(storage::Store& store, const std::string& org_id, const DateRange& range) {
  const MoneyKeys keys{org_id, read_generation(store, org_id)};
  const auto dates = dates_of(range);
  std::vector<std::int64_t> deployed(dates.size(), 0);
  std::vector<std::int64_t> in_stock(dates.size(), 0);
  // A day's counts are those at its end: the last change on or before it.
  const DateRange shifted{year_month_day(sys_days(range.from) + std::chrono::days(1)),
                          year_month_day(sys_days(range.to) + std::chrono::days(1))};
  level_log(store, keys, keys.utilisation_partition(), shifted, dates_of(shifted),
            [&](std::size_t i, const json& level) {
              deployed[i] += num(level, "deployed");
              in_stock[i] += num(level, "in_stock");
            });
  json days = json::array();
  for (std::size_t i = 0; i < dates.size(); ++i) {
    json day = ratio(deployed[i], deployed[i] + in_stock[i], "deployed", "fleet");
    day["date"] = dates[i];
    day["in_stock"] = in_stock[i];
    days.push_back(std::move(day));
  }
  return {{"from", dates.front()}, {"to", dates.back()}, {"days", days}};
}

}  // namespace cellfleet::insights
