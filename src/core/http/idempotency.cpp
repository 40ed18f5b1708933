#include "core/http/idempotency.h"

#include "core/error.h"
#include "core/secrets.h"

namespace cellfleet::http {

namespace {
constexpr const char* kTable = "entities";
constexpr const char* kSk = "idempotency";

bool usable_key(std::string_view key) {
  if (key.empty() || key.size() > 255) return false;
  for (char c : key) {
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

// What makes two requests "the same": method, path and body. A JSON body is compared by value
// (nlohmann dumps object members in sorted order), so spacing and member order do not matter.
std::string fingerprint(const Request& req) {
  std::string body = req.body;
  auto parsed = nlohmann::json::parse(req.body, nullptr, false);
  if (!parsed.is_discarded()) body = parsed.dump();
  return hash_secret(req.method + " " + req.path + "\n" + body);
}

Error reused_key() {
  return Error(ErrorKind::unprocessable,
               "this Idempotency-Key was used for a different request; use a new key for a new "
               "request");
}
}  // namespace

Idempotency::Idempotency(storage::Store& store, const Request& req, std::string org_id)
    : store_(store), org_id_(std::move(org_id)) {
  auto header = req.header("Idempotency-Key");
  if (!header) {
    throw bad_request("this request needs an Idempotency-Key header (a unique value per request)",
                      {{"header.Idempotency-Key", "is required"}});
  }
  if (!usable_key(*header)) {
    throw bad_request("the Idempotency-Key header must be 1 to 255 visible ASCII characters",
                      {{"header.Idempotency-Key", "must be 1 to 255 visible ASCII characters"}});
  }
  key_ = std::string(*header);
  fingerprint_ = fingerprint(req);
}

storage::Key Idempotency::item_key() const {
  return {"org#" + org_id_ + "#idempotency#" + key_, kSk};
}

std::optional<Response> Idempotency::replay() const {
  auto item = store_.get(kTable, item_key());
  if (!item) return std::nullopt;
  if (item->at("fingerprint") != fingerprint_) throw reused_key();
  Response res;
  res.status = item->at("status").get<int>();
  res.content_type = item->value("content_type", "");
  res.body = item->value("body", "");
  for (const auto& header : item->value("headers", nlohmann::json::array())) {
    res.headers.emplace_back(header.at(0).get<std::string>(), header.at(1).get<std::string>());
  }
  res.headers.emplace_back("Idempotent-Replayed", "true");
  return res;
}

storage::Put Idempotency::record(const Response& res, std::int64_t now_epoch_seconds) const {
  auto headers = nlohmann::json::array();
  for (const auto& [name, value] : res.headers) headers.push_back({name, value});
  const auto key = item_key();
  return storage::Put{
      kTable,
      {{"pk", key.pk},
       {"sk", key.sk},
       {"fingerprint", fingerprint_},
       {"status", res.status},
       {"content_type", res.content_type},
       {"body", res.body},
       {"headers", std::move(headers)},
       {"expires_at",
        now_epoch_seconds +
            std::chrono::duration_cast<std::chrono::seconds>(kIdempotencyRetention).count()}},
      storage::Condition::must_not_exist()};
}

std::optional<Response> Idempotency::after_conflict(const storage::ConditionFailed& e) const {
  if (e.table != kTable || !(e.key == item_key())) return std::nullopt;
  auto winner = replay();
  if (!winner) return std::nullopt;  // expired in between: vanishingly rare; the caller retries
  return winner;
}

}  // namespace cellfleet::http
