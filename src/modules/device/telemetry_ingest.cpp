// POST /v1/telemetry: a batch of readings, validated row by row; the valid rows are stored with
// one put_many and each pack's newest reading advances its latest state.
//
//   every row valid   200 {"accepted": n}
//   some rows invalid 207 {"accepted": n, "rejected": m, "errors": [{"index", "field", "message"}]}
//   no row valid      400 problem+json, "errors": [{"field": "readings/<i>/<field>", "message"}]
//   over 1,000 rows   413 problem+json, nothing stored
#include <map>

#include <fmt/format.h>

#include "core/error.h"
#include "core/json_input.h"
#include "reading_input.h"
#include "telemetry.h"

namespace cellfleet::device {

namespace {

constexpr std::size_t kMaxReadings = 1000;

// Another organization's pack and a pack that does not exist read alike: an organization learns
// nothing about another's ids or serials.
constexpr const char* kUnknownPack = "names no battery pack of this organization";
constexpr const char* kNotOwnPack = "a device credential posts only its own pack's readings";

// Resolves the pack each row names, looking each id and serial up once per request.
class PackResolver {
 public:
  PackResolver(Context& ctx, const Principal& caller)
      : ctx_(ctx), caller_(caller), now_(std::chrono::steady_clock::now()) {}

  // The row's pack, or nullptr after adding the reason to errors.
  const storage::Item* resolve(const ReadingRow& row, std::size_t index,
                               std::vector<FieldError>& errors) {
    std::string field;
    std::string problem;
    const storage::Item* device = caller_.kind == Principal::Kind::device
                                      ? own_pack(row, field, problem)
                                      : named_pack(row, field, problem);
    if (device && device->value("state", "") == "retired") {
      problem = "the pack is retired; it takes no readings";
      device = nullptr;
    }
    if (!device) {
      errors.push_back(
          {fmt::format("readings/{}", index) + (field.empty() ? "" : "/" + field), problem});
    }
    return device;
  }

 private:
  const storage::Item* own_pack(const ReadingRow& row, std::string& field, std::string& problem) {
    const storage::Item* own = by_id(caller_.actor_id);
    if (row.device_id && *row.device_id != caller_.actor_id) {
      field = "device_id";
      problem = kNotOwnPack;
      return nullptr;
    }
    if (own && row.serial && *row.serial != own->value("serial", "")) {
      field = "serial";
      problem = kNotOwnPack;
      return nullptr;
    }
    if (!own) problem = kUnknownPack;  // the pack was removed after its credential was issued
    return own;
  }

  const storage::Item* named_pack(const ReadingRow& row, std::string& field, std::string& problem) {
    if (!row.device_id && !row.serial) {
      field = "device_id";
      problem = "is required: name the pack by device_id or serial";
      return nullptr;
    }
    const storage::Item* device = nullptr;
    if (row.device_id) {
      device = by_id(*row.device_id);
      if (!device) {
        field = "device_id";
        problem = kUnknownPack;
        return nullptr;
      }
    }
    if (row.serial) {
      const storage::Item* by_serial = this->by_serial(*row.serial);
      if (!by_serial || (device && by_serial != device)) {
        field = "serial";
        problem = by_serial ? "names another pack than device_id" : kUnknownPack;
        return nullptr;
      }
      device = by_serial;
    }
    return device;
  }

  // The pack as the pack cache (pack_cache.h) has it, else read and kept there.
  const storage::Item* by_id(const std::string& device_id) {
    auto [it, inserted] = devices_.try_emplace(device_id);
    if (inserted) {
      it->second = ctx_.packs.find(caller_.org_id, device_id, now_);
      if (!it->second) {
        const auto generation = ctx_.packs.generation();
        it->second = ctx_.find_device(caller_.org_id, device_id);
        if (it->second) ctx_.packs.store(caller_.org_id, *it->second, generation, now_);
      }
    }
    return it->second ? &*it->second : nullptr;
  }

  const storage::Item* by_serial(const std::string& serial) {
    auto [it, inserted] = serials_.try_emplace(serial);
    if (inserted) {
      it->second = ctx_.packs.find_serial(caller_.org_id, serial, now_);
      if (!it->second) {
        if (auto claim = ctx_.store.get(kTable, {keys::serial(caller_.org_id, serial), "serial"})) {
          it->second = claim->at("device_id").get<std::string>();
        }
      }
    }
    return it->second ? by_id(*it->second) : nullptr;
  }

  Context& ctx_;
  const Principal& caller_;
  const PackCache::SteadyTime now_;
  std::map<std::string, std::optional<storage::Item>> devices_;
  std::map<std::string, std::optional<std::string>> serials_;
};

struct Accepted {
  const storage::Item* device;
  Reading reading;
};

const nlohmann::json& readings_of(const nlohmann::json& body) {
  std::vector<FieldError> errors;
  for (const auto& [name, value] : body.items()) {
    if (name != "readings") errors.push_back({name, "is not a known field"});
  }
  auto it = body.find("readings");
  if (it == body.end()) {
    errors.push_back({"readings", "is required"});
  } else if (!it->is_array() || it->empty()) {
    errors.push_back({"readings", "must be an array of 1 to 1000 readings"});
  }
  if (!errors.empty()) throw validation_error(std::move(errors));
  if (it->size() > kMaxReadings) {
    throw Error(ErrorKind::payload_too_large,
                fmt::format("a request carries at most {} readings, this one {}; split the batch",
                            kMaxReadings, it->size()),
                {{"readings", fmt::format("at most {} readings", kMaxReadings)}});
  }
  return *it;
}

}  // namespace

http::Response Telemetry::ingest(http::Request& req) {
  req.audited = false;  // readings are data, not changes an operator made
  const auto& caller = req.caller();
  const auto body = parse_json_object(req);
  const auto& rows = readings_of(body);

  const TimeWindow window{ctx_.clock.epoch_millis(), ctx_.options.telemetry_retention_days};
  PackResolver packs(ctx_, caller);
  std::vector<FieldError> errors;
  std::vector<std::size_t> error_rows;  // the row of each error
  std::vector<Accepted> accepted;
  accepted.reserve(rows.size());
  for (std::size_t i = 0; i < rows.size(); ++i) {
    if (auto row = read_reading_row(rows[i], i, window, errors)) {
      if (const storage::Item* device = packs.resolve(*row, i, errors)) {
        accepted.push_back({device, std::move(row->reading)});
      }
    }
    error_rows.resize(errors.size(), i);
  }
  if (accepted.empty()) {
    throw bad_request(rows.size() == 1 ? "the reading is invalid; nothing was stored"
                                       : "every reading is invalid; nothing was stored",
                      std::move(errors));
  }

  // One put_many for the batch. A reading's key is (pack, time): a resend replaces it with itself.
  const std::int64_t ttl_seconds = ctx_.options.telemetry_retention_days * 86'400;
  std::vector<storage::Item> items;
  items.reserve(accepted.size());
  std::map<std::string, const Accepted*> newest;  // per pack; a later row wins a tie, as stored
  for (const auto& a : accepted) {
    const std::string& device_id = a.device->at("id").get_ref<const std::string&>();
    storage::Item item = a.reading.to_attributes();
    item["pk"] = keys::device(caller.org_id, device_id);
    item["sk"] = keys::time_key(a.reading.at_ms);
    item["expires_at"] = a.reading.at_ms / 1000 + ttl_seconds;
    items.push_back(std::move(item));
    auto [it, inserted] = newest.try_emplace(device_id, &a);
    if (!inserted && a.reading.at_ms >= it->second->reading.at_ms) it->second = &a;
  }
  ctx_.store.put_many(kTelemetryTable, items);
  std::vector<Newest> latest;
  latest.reserve(newest.size());
  for (const auto& [device_id, a] : newest) latest.push_back({a->device, &a->reading});
  advance_latest(caller.org_id, latest);

  if (errors.empty()) return http::Response::json(200, {{"accepted", accepted.size()}});
  auto list = nlohmann::json::array();
  for (std::size_t k = 0; k < errors.size(); ++k) {
    list.push_back(
        {{"index", error_rows[k]}, {"field", errors[k].field}, {"message", errors[k].message}});
  }
  return http::Response::json(207, {{"accepted", accepted.size()},
                                    {"rejected", rows.size() - accepted.size()},
                                    {"errors", std::move(list)}});
}

}  // namespace cellfleet::device
