#include "storage/dynamodb/dynamodb_client.h"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <random>
#include <thread>

namespace cellfleet::storage::dynamodb {
namespace {

using nlohmann::json;

std::string environment(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? std::string() : std::string(value);
}

// Error types DynamoDB documents as safe to retry: capacity and rate limits, and a transaction
// that collided with another one in flight.
bool is_retryable(std::string_view type) {
  return type == "ProvisionedThroughputExceededException" || type == "ThrottlingException" ||
         type == "RequestLimitExceeded" || type == "LimitExceededException" ||
         type == "InternalServerError" || type == "ServiceUnavailable" ||
         type == "TransactionInProgressException";
}

// "com.amazonaws.dynamodb.v20120810#ValidationException" -> "ValidationException".
std::string short_type(const json& body) {
  std::string type = body.is_object() ? body.value("__type", std::string()) : std::string();
  const std::size_t hash = type.rfind('#');
  return hash == std::string::npos ? type : type.substr(hash + 1);
}

std::string error_message(const json& body) {
  if (!body.is_object()) return {};
  // DynamoDB spells it "message" or "Message" depending on the error.
  if (body.contains("message")) return body["message"].get<std::string>();
  return body.value("Message", std::string());
}

}  // namespace

ServiceError::ServiceError(unsigned status, std::string type, std::string message, json body)
    : StoreError("dynamodb: " + type + ": " + message),
      status(status),
      type(std::move(type)),
      message(std::move(message)),
      body(std::move(body)) {}

DynamoDbClient::DynamoDbClient(ClientOptions options) : options_(std::move(options)) {
  if (options_.region.empty()) options_.region = environment("AWS_REGION");
  if (options_.region.empty()) options_.region = environment("AWS_DEFAULT_REGION");
  if (options_.region.empty()) throw std::invalid_argument("dynamodb: no region given");
  credentials_ = options_.credentials.access_key_id.empty()
                     ? credentials_from_environment(options_.clock)
                     : fixed_credentials(options_.credentials);
  if (options_.max_attempts < 1) throw std::invalid_argument("dynamodb: max_attempts < 1");
  if (options_.endpoint.empty()) {
    options_.endpoint = "https://dynamodb." + options_.region + ".amazonaws.com";
  }
  scope_ = {options_.region, "dynamodb"};
  http_ = std::make_unique<HttpClient>(parse_endpoint(options_.endpoint), options_.http);
}

std::chrono::milliseconds DynamoDbClient::backoff(int attempt) {
  thread_local std::mt19937_64 random{std::random_device{}()};
  const int doublings = std::clamp(attempt - 1, 0, 20);
  const std::chrono::milliseconds cap =
      std::min(options_.max_delay, options_.base_delay * (std::int64_t{1} << doublings));
  std::uniform_int_distribution<std::int64_t> pick(0, cap.count());
  return std::chrono::milliseconds(pick(random));
}

json DynamoDbClient::call(std::string_view operation, const json& request) {
  const std::string body = request.dump();
  const std::string target = "DynamoDB_20120810." + std::string(operation);
  const std::string payload_hash = sha256_hex(body);
  std::string last_failure;

  for (int attempt = 1; attempt <= options_.max_attempts; ++attempt) {
    if (attempt > 1) std::this_thread::sleep_for(backoff(attempt - 1));
    // Signed anew on every attempt: a signature is only accepted for a few minutes.
    SigningRequest signing{"POST",
                           "/",
                           "",
                           {{"Host", http_->endpoint().host_header},
                            {"Content-Type", "application/x-amz-json-1.0"},
                            {"X-Amz-Target", target}},
                           {},
                           payload_hash};
    const Signature signature = sign_v4(signing, scope_, credentials_->current(), options_.clock());
    std::vector<Header> headers = std::move(signing.headers);
    headers.insert(headers.end(), signature.headers_to_add.begin(), signature.headers_to_add.end());

    HttpResponse response;
    try {
      response = http_->post("/", headers, body);
    } catch (const TransportError& error) {
      last_failure = error.what();
      continue;
    }
    if (response.status == 200) return json::parse(response.body);

    json document = json::parse(response.body, nullptr, /*allow_exceptions=*/false);
    const std::string type = short_type(document);
    const std::string message = error_message(document);
    if (response.status >= 500 || is_retryable(type)) {
      last_failure = "HTTP " + std::to_string(response.status) + " " + type + " " + message;
      continue;
    }
    throw ServiceError(response.status, type, message, std::move(document));
  }
  throw Unavailable("dynamodb: " + std::string(operation) + " failed after " +
                    std::to_string(options_.max_attempts) + " attempts: " + last_failure);
}

}  // namespace cellfleet::storage::dynamodb
