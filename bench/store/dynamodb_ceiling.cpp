#include "dynamodb_ceiling.h"

#include <memory>
#include <stdexcept>

#include "telemetry.h"

namespace cellfleet::bench {
namespace {

using nlohmann::json;

constexpr std::size_t kBatchWriteItems = 25;  // BatchWriteItem's limit per request

// The reading in DynamoDB's attribute-value form, as the Store would send it.
json dynamo_item(const Reading& reading) {
  json item = {{"pk", {{"S", reading.pk}}}, {"sk", {{"S", reading.sk}}}};
  for (std::size_t i = 0; i < kReadingValues; ++i) {
    item[std::string(kReadingAttributes[i])] = {{"N", std::to_string(reading.values[i])}};
  }
  return item;
}

}  // namespace

Measurement measure_client_put_item(const std::string& backend,
                                    const storage::dynamodb::ClientOptions& client_options,
                                    const std::string& physical_table, const RunOptions& options) {
  storage::dynamodb::DynamoDbClient client(client_options);
  TelemetrySource source;
  return measure(backend, kRawPutItemOperation, 1, options, [&](std::mt19937_64& rng) -> Call {
    auto request = std::make_shared<json>(
        json{{"TableName", physical_table}, {"Item", dynamo_item(source.next(rng))}});
    return [&client, request] { client.call("PutItem", *request); };
  });
}

Measurement measure_client_batch_write(const std::string& backend,
                                       const storage::dynamodb::ClientOptions& client_options,
                                       const std::string& physical_table,
                                       const RunOptions& options) {
  storage::dynamodb::DynamoDbClient client(client_options);
  TelemetrySource source;
  RunOptions in_flight = options;
  in_flight.threads = options.threads * kBatchWritesInFlight;
  return measure(
      backend, kRawBatchWriteOperation, kBatchWriteItems, in_flight,
      [&](std::mt19937_64& rng) -> Call {
        json puts = json::array();
        for (std::size_t i = 0; i < kBatchWriteItems; ++i) {
          puts.push_back({{"PutRequest", {{"Item", dynamo_item(source.next(rng))}}}});
        }
        auto request = std::make_shared<json>(json{{"RequestItems", {{physical_table, puts}}}});
        return [&client, request, &physical_table] {
          const json response = client.call("BatchWriteItem", *request);
          const auto unprocessed = response.find("UnprocessedItems");
          if (unprocessed != response.end() && unprocessed->contains(physical_table)) {
            throw std::runtime_error("BatchWriteItem left items unprocessed");
          }
        };
      });
}

}  // namespace cellfleet::bench
