#include "repayment.h"

#include <algorithm>
#include <array>
#include <stdexcept>

#include <fmt/format.h>

namespace cellfleet::loan {
namespace {

using std::chrono::days;
using std::chrono::sys_days;
using std::chrono::year_month_day;

// One component of an installment: what is owed and what was paid of it.
struct Component {
  const char* owed;
  const char* paid;
};
// Allocation order within an installment.
constexpr std::array<Component, 4> kOrder = {{{"fee", "paid_fee"},
                                              {"penalty", "paid_penalty"},
                                              {"interest", "paid_interest"},
                                              {"principal", "paid_principal"}}};

std::int64_t& slot(Allocation& a, int i) {
  switch (i) {
    case 0:
      return a.fee;
    case 1:
      return a.penalty;
    case 2:
      return a.interest;
    default:
      return a.principal;
  }
}

std::int64_t pay_component(nlohmann::json& inst, const Component& c, std::int64_t& amount) {
  const std::int64_t owed = int_field(inst, c.owed) - int_field(inst, c.paid);
  const std::int64_t take = std::min(owed, amount);
  if (take <= 0) return 0;
  inst[c.paid] = int_field(inst, c.paid) + take;
  amount -= take;
  return take;
}

void mark_paid(nlohmann::json& inst, const std::string& paid_at) {
  if (installment_remaining(inst) == 0 && !inst.contains("paid_at")) inst["paid_at"] = paid_at;
}

std::int64_t days_late(year_month_day due, year_month_day today) {
  return std::max<std::int64_t>(0, OrgCalendar::days_between(due, today));
}

const nlohmann::json* oldest_unpaid(const nlohmann::json& installments) {
  for (const auto& inst : installments) {
    if (installment_remaining(inst) > 0) return &inst;
  }
  return nullptr;
}

}  // namespace

std::optional<year_month_day> try_parse_date(const std::string& text) {
  int y = 0;
  unsigned m = 0, d = 0;
  char tail = 0;
  if (text.size() != 10 || std::sscanf(text.c_str(), "%4d-%2u-%2u%c", &y, &m, &d, &tail) != 3 ||
      text[4] != '-' || text[7] != '-') {
    return std::nullopt;
  }
  year_month_day ymd{std::chrono::year(y), std::chrono::month(m), std::chrono::day(d)};
  if (!ymd.ok() || y < 1970 || y > 9999) return std::nullopt;
  return ymd;
}

year_month_day parse_date(const std::string& text) {
  auto d = try_parse_date(text);
  if (!d) throw std::invalid_argument("not a date (YYYY-MM-DD): " + text);
  return *d;
}

std::int64_t int_field(const nlohmann::json& item, const char* name) {
  return item.value(name, std::int64_t{0});
}

std::string format_date(year_month_day d) {
  return fmt::format("{:04}-{:02}-{:02}", static_cast<int>(d.year()),
                     static_cast<unsigned>(d.month()), static_cast<unsigned>(d.day()));
}

nlohmann::json Allocation::to_json() const {
  return {{"fee", fee}, {"penalty", penalty}, {"interest", interest}, {"principal", principal}};
}

std::int64_t installment_remaining(const nlohmann::json& inst) {
  std::int64_t rest = 0;
  for (const auto& c : kOrder) rest += int_field(inst, c.owed) - int_field(inst, c.paid);
  return rest;
}

std::int64_t outstanding(const nlohmann::json& installments) {
  std::int64_t total = 0;
  for (const auto& inst : installments) total += installment_remaining(inst);
  return total;
}

std::int64_t outstanding_principal(const nlohmann::json& installments) {
  std::int64_t total = 0;
  for (const auto& inst : installments) total += int_field(inst, "principal") - int_field(inst, "paid_principal");
  return total;
}

Allocation allocate(nlohmann::json& installments, std::int64_t amount, const std::string& paid_at) {
  Allocation out;
  for (auto& inst : installments) {
    if (amount <= 0) break;
    Allocation here;
    for (int i = 0; i < static_cast<int>(kOrder.size()); ++i) {
      slot(here, i) = pay_component(inst, kOrder[static_cast<std::size_t>(i)], amount);
      slot(out, i) += slot(here, i);
    }
    if (here.total() == 0) continue;
    mark_paid(inst, paid_at);
    auto part = here.to_json();
    part["n"] = inst.at("n");
    out.per_installment.push_back(std::move(part));
  }
  return out;
}

void unallocate(nlohmann::json& installments, const nlohmann::json& per_installment) {
  for (const auto& part : per_installment) {
    for (auto& inst : installments) {
      if (inst.at("n") != part.at("n")) continue;
      for (const auto& c : kOrder) {
        inst[c.paid] = std::max<std::int64_t>(0, int_field(inst, c.paid) - int_field(part, c.owed));
      }
      if (installment_remaining(inst) > 0) inst.erase("paid_at");
    }
  }
}

void take_back_credit(nlohmann::json& contract, std::int64_t amount) {
  const std::int64_t price = contract.at("terms").at("price_per_day");
  const std::int64_t remainder = int_field(contract, "credit_remainder");
  // Credit is worth credit_until x price + credit_remainder minor-unit-seconds; the payment's
  // amount x 86,400 of it goes, from the remainder first.
  const std::int64_t owed = amount * 86400 - remainder;
  if (owed <= 0) {
    contract["credit_remainder"] = -owed;
    return;
  }
  const std::int64_t seconds = (owed + price - 1) / price;
  contract["credit_until"] = int_field(contract, "credit_until") - seconds;
  contract["credit_remainder"] = seconds * price - owed;
}

std::string delinquency_bucket(std::int64_t dpd) {
  if (dpd <= 0) return "current";
  if (dpd <= 30) return "1-30";
  if (dpd <= 60) return "31-60";
  if (dpd <= 90) return "61-90";
  return "90+";
}

std::int64_t charge_late_fees(nlohmann::json& contract, const OrgCalendar& calendar,
                              std::int64_t now_s) {
  const auto& terms = contract.at("terms");
  const std::int64_t fee = int_field(terms, "late_fee");
  const std::int64_t grace = int_field(terms, "grace_period_days");
  if (fee <= 0) return 0;
  const auto today = calendar.local_date(now_s);
  std::int64_t charged = 0;
  for (auto& inst : contract.at("installments")) {
    if (int_field(inst, "n") == 0 || installment_remaining(inst) == 0 || int_field(inst, "penalty") > 0) {
      continue;
    }
    if (days_late(parse_date(inst.at("due")), today) > grace) {
      inst["penalty"] = fee;
      charged += fee;
    }
  }
  return charged;
}

Standing lease_standing(const nlohmann::json& contract, const OrgCalendar& calendar,
                        std::int64_t now_s) {
  const auto& installments = contract.at("installments");
  const auto* oldest = oldest_unpaid(installments);
  Standing s;
  if (!oldest) {
    s.state = "paid_off";
    s.reason = "every installment is paid";
    return s;
  }
  if (int_field(*oldest, "n") == 0) {
    s.state = "pending_deposit";
    s.reason = "the deposit is not paid";
    return s;
  }
  const std::int64_t grace = int_field(contract.at("terms"), "grace_period_days");
  const auto due = parse_date(oldest->at("due"));
  s.days_past_due = days_late(due, calendar.local_date(now_s));
  s.bucket = delinquency_bucket(s.days_past_due);
  const std::int64_t n = int_field(*oldest, "n");
  if (s.days_past_due > grace) {
    s.state = s.days_past_due > kDefaultAfterDays ? "defaulted" : "overdue";
    s.reason = fmt::format("installment {} due {} is {} days past due (grace {} days)", n,
                           oldest->at("due").get<std::string>(), s.days_past_due, grace);
  } else {
    s.state = "active";
    s.reason = s.days_past_due == 0
                   ? fmt::format("paid up; installment {} is due {}", n,
                                 oldest->at("due").get<std::string>())
                   : fmt::format("installment {} is {} days past due, within the {}-day grace", n,
                                 s.days_past_due, grace);
  }
  // The next day on which the standing changes by itself: a bucket boundary or the grace end.
  std::int64_t next = 0;
  for (std::int64_t threshold : {std::int64_t{1}, grace + 1, std::int64_t{31}, std::int64_t{61},
                                 std::int64_t{91}}) {
    if (threshold > s.days_past_due && (next == 0 || threshold < next)) next = threshold;
  }
  if (next > 0) s.next_check = calendar.start_of_day(year_month_day(sys_days(due) + days(next)));
  return s;
}

Standing payg_standing(const nlohmann::json& contract, std::int64_t now_s) {
  Standing s;
  if (!contract.contains("credit_until")) {
    s.state = "pending_deposit";
    s.reason = "no payment yet: the battery runs once credit is bought";
    return s;
  }
  const std::int64_t until = contract.at("credit_until");
  if (until > now_s) {
    s.state = "active";
    s.reason = "credit is paid ahead";
    s.next_check = until;
  } else {
    s.state = "overdue";
    s.reason = "the paid credit ran out";
  }
  return s;
}

std::int64_t buy_credit(nlohmann::json& contract, std::int64_t amount, std::int64_t now_s) {
  const std::int64_t price = contract.at("terms").at("price_per_day");
  // amount x 86,400 fits in 63 bits for any amount below 10^14 minor units (amounts are capped at
  // 10^12).
  const std::int64_t numerator = amount * 86400 + int_field(contract, "credit_remainder");
  const std::int64_t seconds = numerator / price;
  contract["credit_remainder"] = numerator % price;
  const std::int64_t from = std::max(int_field(contract, "credit_until"), now_s);
  contract["credit_until"] = from + seconds;
  return seconds;
}

DueAnnouncements due_announcements(const nlohmann::json& contract, const OrgCalendar& calendar,
                                   std::int64_t now_s) {
  DueAnnouncements out;
  const std::int64_t announced = contract.value("announced_through", std::int64_t{-1});
  const auto today = calendar.local_date(now_s);
  const auto& installments = contract.at("installments");
  for (std::size_t i = 0; i < installments.size(); ++i) {
    const auto& inst = installments[i];
    if (int_field(inst, "n") <= announced) continue;
    const auto due = parse_date(inst.at("due"));
    if (OrgCalendar::days_between(due, today) >= 0) {
      out.indexes.push_back(i);
    } else {
      out.next_due_start = calendar.start_of_day(due);
      break;
    }
  }
  return out;
}

PayoffQuote payoff_quote(const nlohmann::json& installments, year_month_day today) {
  PayoffQuote q;
  for (const auto& inst : installments) {
    const bool due = OrgCalendar::days_between(parse_date(inst.at("due")), today) >= 0;
    q.due.principal += int_field(inst, "principal") - int_field(inst, "paid_principal");
    q.due.penalty += int_field(inst, "penalty") - int_field(inst, "paid_penalty");
    const std::int64_t interest = int_field(inst, "interest") - int_field(inst, "paid_interest");
    const std::int64_t fee = int_field(inst, "fee") - int_field(inst, "paid_fee");
    if (due) {
      q.due.interest += interest;
      q.due.fee += fee;
    } else {
      q.waived_interest += interest;
      q.waived_fees += fee;
    }
  }
  return q;
}

Allocation settle_payoff(nlohmann::json& installments, year_month_day today,
                         const std::string& paid_at) {
  for (auto& inst : installments) {
    if (OrgCalendar::days_between(parse_date(inst.at("due")), today) >= 0) continue;
    // Not yet due: what has not been paid of its interest and fee is waived, not owed.
    const std::int64_t waived_interest = int_field(inst, "interest") - int_field(inst, "paid_interest");
    const std::int64_t waived_fee = int_field(inst, "fee") - int_field(inst, "paid_fee");
    if (waived_interest > 0) inst["waived_interest"] = waived_interest;
    if (waived_fee > 0) inst["waived_fee"] = waived_fee;
    inst["interest"] = int_field(inst, "paid_interest");
    inst["fee"] = int_field(inst, "paid_fee");
  }
  return allocate(installments, outstanding(installments), paid_at);
}

}  // namespace cellfleet::loan
