#pragma once
// Idempotency-Key on POSTs that create money or commands: the first response is stored in the
// same write as the change it reports and is replayed for a repeat of the request; the same key
// with a different request (method, path or JSON body) is 422. Keys are scoped to an
// organization and kept 24 hours. Only a request that commits a change stores its response, so
// a request refused (400, 409, ...) may be sent again with the same key once fixed.
//
//   http::Idempotency idempotency(store, req, org_id);   // 400 without a usable key
//   if (auto earlier = idempotency.replay()) return *earlier;
//   ... build batch and response ...
//   batch.ops.push_back(idempotency.record(response, clock.epoch_seconds()));
//   try { commit(batch); } catch (const storage::ConditionFailed& e) {
//     if (auto winner = idempotency.after_conflict(e)) return *winner;  // a concurrent repeat won
//     throw;
//   }
//
// Item: table entities, pk "org#<org>#idempotency#<key>", sk "idempotency": fingerprint,
// status, content_type, body, headers, expires_at (the store's TTL).

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "core/http/message.h"
#include "storage/store.h"

namespace cellfleet::http {

inline constexpr std::chrono::hours kIdempotencyRetention{24};

class Idempotency {
 public:
  // Reads the Idempotency-Key header: 400 when it is missing, or not 1..255 visible ASCII
  // characters.
  Idempotency(storage::Store& store, const Request& req, std::string org_id);

  // The stored response of an earlier request with this key (with "Idempotent-Replayed: true"),
  // nullopt when there is none; a 422 Error when the key was used for a different request.
  std::optional<Response> replay() const;
  // The record of res, to add to the batch that makes the change (must_not_exist).
  storage::Put record(const Response& res, std::int64_t now_epoch_seconds) const;
  // After the write failed on e: when it was this key's record (a concurrent request with the same
  // key committed first), that request's response (or 422); otherwise nullopt.
  std::optional<Response> after_conflict(const storage::ConditionFailed& e) const;

  const std::string& key() const { return key_; }

 private:
  storage::Key item_key() const;

  storage::Store& store_;
  std::string org_id_;
  std::string key_;
  std::string fingerprint_;
};

}  // namespace cellfleet::http
