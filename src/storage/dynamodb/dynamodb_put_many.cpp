// put_many() of the DynamoDB Store: BatchWriteItem in chunks of 25, a few chunks in flight at once.
#include <algorithm>
#include <atomic>
#include <exception>
#include <map>
#include <mutex>
#include <thread>

#include "storage/dynamodb/attribute_value.h"
#include "storage/dynamodb/dynamodb_store_impl.h"

namespace cellfleet::storage::dynamodb {
namespace {

using nlohmann::json;

// BatchWriteItem's limit per request.
constexpr std::size_t kBatchWriteItems = 25;
// Chunks sent concurrently. One chunk at a time leaves DynamoDB (and DynamoDB Local) waiting on
// our round trips; a few in flight use the pooled connections and, on this machine, bring
// put_many close to the emulator's own BatchWriteItem ceiling.
constexpr std::size_t kChunksInFlight = 4;
constexpr int kMaxUnprocessedRounds = 10;

}  // namespace

void DynamoDbStore::send_batch_write(const std::string& physical_table, json requests) {
  // Items DynamoDB did not get to (throttling) come back as UnprocessedItems: resend just those,
  // backing off, as AWS asks.
  for (int round = 1; !requests.empty(); ++round) {
    const json response = call("BatchWriteItem", {{"RequestItems", {{physical_table, requests}}}});
    const auto unprocessed = response.find("UnprocessedItems");
    requests = unprocessed != response.end() && unprocessed->contains(physical_table)
                   ? (*unprocessed)[physical_table]
                   : json::array();
    if (requests.empty()) return;
    if (round >= kMaxUnprocessedRounds) {
      throw Unavailable("dynamodb: BatchWriteItem left items unprocessed after " +
                        std::to_string(kMaxUnprocessedRounds) + " rounds");
    }
    std::this_thread::sleep_for(client_.backoff(round));
  }
}

void DynamoDbStore::put_many(const std::string& table_name, const std::vector<Item>& items) {
  const TableSpec& table = table_spec(table_name);
  // Everything is validated before anything is sent. BatchWriteItem refuses two puts of one key
  // in a request; the last one given wins, as it would writing them in order.
  std::vector<json> requests;
  std::map<std::pair<std::string, std::string>, std::size_t> position;
  for (const auto& item : items) {
    json request = {{"PutRequest", {{"Item", to_dynamo_item(table, item)}}}};
    const auto key = std::make_pair(item["pk"].get<std::string>(), item["sk"].get<std::string>());
    const auto [it, inserted] = position.try_emplace(key, requests.size());
    if (inserted) {
      requests.push_back(std::move(request));
    } else {
      requests[it->second] = std::move(request);
    }
  }

  const std::string name = physical_name(table);
  const std::size_t chunks = (requests.size() + kBatchWriteItems - 1) / kBatchWriteItems;
  std::atomic<std::size_t> next{0};
  std::mutex mutex;
  std::exception_ptr failure;
  // Each worker takes the next unsent chunk until none is left or one has failed; the first
  // failure is rethrown once all workers have stopped.
  const auto work = [&] {
    for (std::size_t chunk; (chunk = next++) < chunks;) {
      {
        std::lock_guard lock(mutex);
        if (failure) return;
      }
      const std::size_t begin = chunk * kBatchWriteItems;
      const std::size_t end = std::min(requests.size(), begin + kBatchWriteItems);
      try {
        json chunk_requests = json::array();
        for (std::size_t i = begin; i < end; ++i) chunk_requests.push_back(requests[i]);
        send_batch_write(name, std::move(chunk_requests));
      } catch (...) {
        std::lock_guard lock(mutex);
        if (!failure) failure = std::current_exception();
        return;
      }
    }
  };
  std::vector<std::thread> helpers;
  for (std::size_t i = 1; i < std::min(kChunksInFlight, chunks); ++i) helpers.emplace_back(work);
  work();
  for (auto& helper : helpers) helper.join();
  if (failure) std::rethrow_exception(failure);
}

}  // namespace cellfleet::storage::dynamodb
