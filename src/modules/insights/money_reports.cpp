#include "money_reports.h"

#include <fmt/format.h>

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

// The daily figures as the API shows them: net = received - reversed.
json day_view(json day) {
  json out = {{"received", num(day, "received")},
              {"received_count", num(day, "received_count")},
              {"reversed", num(day, "reversed")},
              {"reversed_count", num(day, "reversed_count")},
              {"collected", num(day, "received") - num(day, "reversed")},
              {"expected", num(day, "expected")}};
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
  json days = json::array();
  json totals = json::object();
  for (const auto& date : dates) {
    auto it = by_day.find(date);
    json day = it == by_day.end() ? json::object() : it->second;
    day.erase("version");
    add_object(totals, day);
    json view = day_view(day);
    view["date"] = date;
    days.push_back(std::move(view));
  }
  json total_view = day_view(totals);
  const std::int64_t collected = total_view.at("collected");
  const std::int64_t expected = total_view.at("expected");
  return {{"from", dates.front()},
          {"to", dates.back()},
          {"days", days},
          {"totals", total_view},
          {"collection_rate", ratio(collected, expected, "collected", "expected")}};
}

json read_utilisation(storage::Store& store, const std::string& org_id, const DateRange& range) {
  const MoneyKeys keys{org_id, read_generation(store, org_id)};
  const auto dates = dates_of(range);
  const auto day_before = format_date(year_month_day(sys_days(range.from) - std::chrono::days(1)));
  std::vector<std::int64_t> deployed(dates.size(), 0);
  std::vector<std::int64_t> in_stock(dates.size(), 0);
  for (std::size_t shard = 0; shard < events::kOutboxShards; ++shard) {
    const std::string prefix = fmt::format("{}shard#{:02}#", keys.gen_prefix(), shard);
    // The shard's counts as the range begins: its last change before from.
    storage::Query before;
    before.table = kMoneyTable;
    before.partition = keys.utilisation_partition();
    before.sort =
        storage::SortCondition{storage::SortCondition::Op::between, prefix, prefix + day_before};
    before.limit = 1;
    before.forward = false;
    auto last = store.query(before);
    std::int64_t d = last.items.empty() ? 0 : num(last.items.front(), "deployed");
    std::int64_t s = last.items.empty() ? 0 : num(last.items.front(), "in_stock");
    const auto changes = read_between(store, keys.utilisation_partition(), prefix + dates.front(),
                                      prefix + dates.back());
    std::size_t next = 0;
    for (std::size_t i = 0; i < dates.size(); ++i) {
      while (next < changes.size() &&
             changes[next].at("sk").get<std::string>().substr(prefix.size()) == dates[i]) {
        d = num(changes[next], "deployed");
        s = num(changes[next], "in_stock");
        ++next;
      }
      deployed[i] += d;
      in_stock[i] += s;
    }
  }
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
