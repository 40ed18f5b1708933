// GET /v1/devices/{device_id}/telemetry?from=&to=&limit=&cursor=  and  ?from=&to=&bucket=
//
// Both read one partition (the pack's) over the sort-key range of [from, to) and nothing else.
// Raw readings come a page at a time with the store's cursor. A bucketed answer is computed from
// every reading of the range, so its cost is bounded up front: at most 31 days and 1,000 buckets,
// and at most kMaxBucketedReadings readings read; a range holding more is answered up to the
// last complete bucket with "next_from" to continue from.
#include <algorithm>

#include "buckets.h"
#include "core/error.h"
#include "core/http/paging.h"
#include "core/json_input.h"
#include "telemetry.h"

namespace cellfleet::device {

namespace {

constexpr std::int64_t kHourMs = 3'600'000;
constexpr std::int64_t kDefaultSpanMs = 24 * kHourMs;
// Readings may be stamped up to five minutes ahead of the server's clock (see ingest), so the
// default end of a range lies that far ahead too, and a just-sent reading is in it.
constexpr std::int64_t kAheadMs = 5 * 60'000;
constexpr std::int64_t kMaxBucketedSpanMs = 31 * 24 * kHourMs;
constexpr std::int64_t kMaxBuckets = 1000;
constexpr std::size_t kMaxBucketedReadings = 100'000;
constexpr std::size_t kScanPage = 1000;  // the store's largest page

std::optional<std::int64_t> time_query(const http::Request& req, const char* name,
                                       std::vector<FieldError>& errors) {
  auto text = req.query(name);
  if (!text) return std::nullopt;
  auto ms = parse_utc_ms(*text);
  if (!ms || *ms < 0) {
    errors.push_back({std::string("query.") + name,
                      "must be an RFC 3339 time after 1970, e.g. 2026-11-26T08:30:00Z"});
    return std::nullopt;
  }
  return ms;
}

void require_order(std::int64_t from_ms, std::int64_t to_ms) {
  if (to_ms <= from_ms) {
    throw bad_request("the range is empty: to must be after from",
                      {{"query.to", "must be after from"}});
  }
}

storage::Query range_query(const std::string& org_id, const std::string& device_id,
                           std::int64_t from_ms, std::int64_t to_ms) {
  storage::Query q;
  q.table = kTelemetryTable;
  q.partition = keys::device(org_id, device_id);
  // [from, to) as an inclusive sort-key range: keys are whole milliseconds.
  q.sort = storage::SortCondition{storage::SortCondition::Op::between, keys::time_key(from_ms),
                                  keys::time_key(to_ms - 1)};
  return q;
}

}  // namespace

http::Response Telemetry::history(http::Request& req) {
  const std::string org_id = req.caller().org_id;
  const auto device = ctx_.device_of(req);
  const std::string device_id = device.at("id");

  std::vector<FieldError> errors;
  const auto from = time_query(req, "from", errors);
  const auto to = time_query(req, "to", errors);
  const auto bucket = req.query("bucket");
  const auto width = bucket ? parse_bucket_width(*bucket) : std::nullopt;
  if (bucket && !width) {
    errors.push_back({"query.bucket",
                      "must be <N>m (N up to 1440), <N>h (up to 744) or <N>d (up to 31), e.g. "
                      "15m, 1h, 1d"});
  }
  if (bucket && (req.query("limit") || req.query("cursor"))) {
    errors.push_back({req.query("cursor") ? "query.cursor" : "query.limit",
                      "a bucketed answer is one page: continue from its next_from instead"});
  }
  if (!errors.empty()) throw validation_error(std::move(errors));
  const std::int64_t now_ms = ctx_.clock.epoch_millis();

  if (!width) {
    const std::int64_t to_ms = to.value_or(now_ms + kAheadMs);
    const std::int64_t from_ms = from.value_or(std::max<std::int64_t>(0, to_ms - kDefaultSpanMs));
    require_order(from_ms, to_ms);
    const auto page = http::query_page(ctx_.store, range_query(org_id, device_id, from_ms, to_ms),
                                       http::page_request(req));
    auto items = nlohmann::json::array();
    for (const auto& item : page.items) items.push_back(Reading::from_attributes(item).to_api());
    return http::page_response(std::move(items), page.next_cursor);
  }

  // Default: the last day (or 1,000 buckets, if fewer) up to the next bucket boundary.
  const std::int64_t w = *width;
  const std::int64_t to_ms = to.value_or((now_ms + kAheadMs + w - 1) / w * w);
  const std::int64_t from_ms =
      from.value_or(std::max<std::int64_t>(0, to_ms - std::min(kDefaultSpanMs, kMaxBuckets * w)));
  require_order(from_ms, to_ms);
  if (to_ms - from_ms > kMaxBucketedSpanMs) {
    throw bad_request("a bucketed range spans at most 31 days",
                      {{"query.from", "must be at most 31 days before to"}});
  }
  if ((to_ms - from_ms + w - 1) / w > kMaxBuckets) {
    throw bad_request(
        "the range holds more than 1000 buckets: widen the bucket or narrow the range",
        {{"query.bucket", "at most 1000 buckets per request"}});
  }

  BucketAggregator buckets(from_ms, to_ms, w);
  auto q = range_query(org_id, device_id, from_ms, to_ms);
  q.limit = kScanPage;
  std::size_t read = 0;
  std::optional<std::size_t> incomplete;  // the first bucket not read to its end
  while (true) {
    const auto page = ctx_.store.query(q);
    for (const auto& item : page.items) buckets.add(Reading::from_attributes(item));
    read += page.items.size();
    if (page.next_cursor.empty()) break;
    if (read >= kMaxBucketedReadings) {
      incomplete = buckets.bucket_of(page.items.back().at("at").get<std::int64_t>());
      break;
    }
    q.cursor = page.next_cursor;
  }
  if (incomplete && *incomplete == 0) {
    throw bad_request("a bucket of this range holds too many readings: choose a smaller bucket",
                      {{"query.bucket", "too many readings per bucket"}});
  }

  nlohmann::json body = {{"device_id", device_id},
                         {"from", format_utc_ms(from_ms)},
                         {"to", format_utc_ms(to_ms)},
                         {"bucket", *bucket},
                         {"buckets", buckets.to_json(incomplete.value_or(buckets.bucket_count()))}};
  if (incomplete) body["next_from"] = format_utc_ms(buckets.bucket_start(*incomplete));
  return http::Response::json(200, body);
}

}  // namespace cellfleet::device
