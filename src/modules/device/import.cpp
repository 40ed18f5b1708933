// Bulk onboarding: POST /v1/devices:import with up to 5,000 packs, as a JSON array of pack
// objects (application/json) or CSV with a header row (text/csv). All or nothing: every row is
// validated and every serial checked before anything is written; the answer to a bad request is
// one 400 listing each bad row's field errors ("rows/<n>/<field>", rows counted from 1, the CSV
// header not counted).
//
// The store's atomic write is limited to 100 operations, so the packs are written in chunks. If a
// concurrent request claims one of the serials between the check and the write, the chunks
// already written are deleted again before the 409: the import leaves nothing behind either way.
#include <set>

#include <fmt/format.h>

#include "core/error.h"
#include "core/json_input.h"
#include "csv.h"
#include "device_fields.h"
#include "registry.h"

namespace cellfleet::device {

namespace {

constexpr std::size_t kMaxImportRows = 5000;
// Per pack: the pack, its serial claim, and its event (log item + outbox item).
constexpr std::size_t kOpsPerPack = 4;
constexpr std::size_t kPacksPerWrite = storage::kMaxBatchOps / kOpsPerPack;

bool is_csv(const http::Request& req) {
  auto type = req.header("Content-Type");
  return type && http::iequals(type->substr(0, std::min<std::size_t>(type->size(), 8)), "text/csv");
}

// CSV columns are the JSON field names; tags are separated by ";", the purchase cost comes as
// purchase_cost_amount and purchase_cost_currency, and an empty cell means "not given".
nlohmann::json csv_rows_to_json(const std::vector<std::vector<std::string>>& table) {
  static const std::set<std::string> kIntegers = {"capacity_wh", "nominal_voltage_mv",
                                                  "purchase_cost_amount"};
  auto rows = nlohmann::json::array();
  if (table.empty()) return rows;
  const auto& header = table.front();
  for (std::size_t r = 1; r < table.size(); ++r) {
    nlohmann::json row = nlohmann::json::object();
    for (std::size_t c = 0; c < header.size() && c < table[r].size(); ++c) {
      const std::string& name = header[c];
      const std::string& cell = table[r][c];
      if (cell.empty()) continue;
      if (name == "tags") {
        auto tags = nlohmann::json::array();
        std::size_t start = 0;
        while (start <= cell.size()) {
          auto end = cell.find(';', start);
          if (end == std::string::npos) end = cell.size();
          if (end > start) tags.push_back(cell.substr(start, end - start));
          start = end + 1;
        }
        row["tags"] = tags;
      } else if (name == "purchase_cost_amount" || name == "purchase_cost_currency") {
        auto& cost = row["purchase_cost"];
        if (name == "purchase_cost_currency") {
          cost["currency"] = cell;
        } else {
          auto parsed = nlohmann::json::parse(cell, nullptr, false);
          cost["amount"] = parsed.is_number_integer() ? parsed : nlohmann::json(cell);
        }
      } else if (kIntegers.contains(name)) {
        auto parsed = nlohmann::json::parse(cell, nullptr, false);
        row[name] = parsed.is_number_integer() ? parsed : nlohmann::json(cell);
      } else {
        row[name] = cell;
      }
    }
    if (table[r].size() > header.size()) row["_extra_cells"] = true;
    rows.push_back(std::move(row));
  }
  return rows;
}

nlohmann::json read_rows(const http::Request& req) {
  if (is_csv(req)) {
    auto table = parse_csv(req.body);  // throws a 400 naming the line when malformed
    if (table.empty()) throw bad_request("the CSV is empty: send a header row and a row per pack");
    return csv_rows_to_json(table);
  }
  auto type = req.header("Content-Type");
  if (!type || !http::iequals(type->substr(0, std::min<std::size_t>(type->size(), 16)),
                              "application/json")) {
    throw bad_request("send the packs as application/json (an array) or text/csv");
  }
  auto rows = parse_json_value(req.body);
  if (!rows.is_array()) throw bad_request("the body must be a JSON array of packs");
  return rows;
}

}  // namespace

http::Response Registry::import(http::Request& req) {
  const auto& caller = req.caller();
  auto rows = read_rows(req);
  if (rows.empty()) throw bad_request("there are no packs to import");
  if (rows.size() > kMaxImportRows) {
    throw Error(
        ErrorKind::payload_too_large,
        fmt::format("at most {} packs per import; this one has {}", kMaxImportRows, rows.size()));
  }

  std::vector<FieldError> errors;
  std::vector<nlohmann::json> packs;
  std::set<std::string> serials;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const std::string prefix = fmt::format("rows/{}/", i + 1);
    if (!rows[i].is_object()) {
      errors.push_back({prefix.substr(0, prefix.size() - 1), "must be a pack object"});
      continue;
    }
    if (rows[i].contains("_extra_cells")) {
      errors.push_back({prefix.substr(0, prefix.size() - 1), "has more cells than the header"});
      rows[i].erase("_extra_cells");
    }
    JsonFields in(rows[i], prefix);
    auto fields = read_device_fields(in, true);
    try {
      in.finish();
    } catch (const Error& e) {
      errors.insert(errors.end(), e.fields().begin(), e.fields().end());
      continue;
    }
    const std::string serial = fields.at("serial");
    if (!serials.insert(serial).second) {
      errors.push_back({prefix + "serial", "appears twice in this import"});
    } else if (ctx_.store.get(kTable, {keys::serial(caller.org_id, serial), "serial"})) {
      errors.push_back({prefix + "serial", "is already registered"});
    }
    packs.push_back(std::move(fields));
  }
  if (!errors.empty()) throw validation_error(std::move(errors));

  std::vector<storage::Item> created;
  created.reserve(packs.size());
  for (auto& fields : packs) {
    created.push_back(
        new_device_item(ctx_, caller.org_id, ctx_.ids.next("dev"), std::move(fields)));
  }
  std::size_t written = 0;
  try {
    while (written < created.size()) {
      storage::WriteBatch batch;
      const std::size_t end = std::min(created.size(), written + kPacksPerWrite);
      for (std::size_t i = written; i < end; ++i) {
        const auto& item = created[i];
        batch.ops.push_back(serial_claim(caller.org_id, item.at("serial"), item.at("id")));
        batch.ops.push_back(storage::Put{kTable, item, storage::Condition::must_not_exist()});
        ctx_.events.publish(batch, caller.org_id, "device.registered", item.at("id"),
                            {{"serial", item.at("serial")},
                             {"model", item.at("model")},
                             {"state", item.at("state")},
                             {"depot", item.value("depot", "")},
                             {"actor", caller.actor()}});
      }
      ctx_.events.commit(batch);
      written = end;
    }
  } catch (const storage::ConditionFailed& e) {
    // Undo the chunks already written: the packs and their claims go, and each pack's
    // device.registered is answered by a device.registration_reverted, so subscribers that
    // counted it can take it back.
    for (std::size_t start = 0; start < written; start += kPacksPerWrite) {
      storage::WriteBatch undo;
      const std::size_t end = std::min(written, start + kPacksPerWrite);
      for (std::size_t i = start; i < end; ++i) {
        const auto& item = created[i];
        undo.ops.push_back(storage::Delete{
            kTable, {keys::serial(caller.org_id, item.at("serial")), "serial"}, {}});
        undo.ops.push_back(storage::Delete{kTable, {item.at("pk"), keys::kDeviceSk}, {}});
        ctx_.events.publish(undo, caller.org_id, "device.registration_reverted", item.at("id"),
                            {{"serial", item.at("serial")},
                             {"state", item.at("state")},
                             {"reason", "import rolled back"}});
        ctx_.packs.forget(caller.org_id, item.at("id"));  // and again once committed
      }
      ctx_.events.commit(undo);
      for (std::size_t i = start; i < end; ++i)
        ctx_.packs.forget(caller.org_id, created[i].at("id"));
    }
    throw Error(ErrorKind::conflict,
                "a serial of this import was registered by another request meanwhile; nothing "
                "was imported — check the serials and retry",
                {{fmt::format("rows/{}/serial", written + e.op_index / kOpsPerPack + 1),
                  "was registered meanwhile"}});
  }

  auto list = nlohmann::json::array();
  for (std::size_t i = 0; i < created.size(); ++i) {
    list.push_back(
        {{"row", i + 1}, {"id", created[i].at("id")}, {"serial", created[i].at("serial")}});
  }
  return http::Response::json(201, {{"imported", created.size()}, {"devices", list}});
}

}  // namespace cellfleet::device
