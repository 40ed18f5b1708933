#pragma once
// DynamoDB's JSON protocol (POST / with X-Amz-Target: DynamoDB_20120810.<Operation>), signed with
// SigV4, retried on throttling, server errors and broken connections with capped, jittered
// exponential backoff. Knows the wire, not the Store: errors it cannot retry come back as
// ServiceError for the store to translate.

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "storage/dynamodb/credentials.h"
#include "storage/dynamodb/http_client.h"
#include "storage/dynamodb/sigv4.h"
#include "storage/store.h"

namespace cellfleet::storage::dynamodb {

struct ClientOptions {
  std::string endpoint;  // "http://127.0.0.1:8000"; "" for https://dynamodb.<region>.amazonaws.com
  std::string region;    // "" takes AWS_REGION, then AWS_DEFAULT_REGION
  Credentials credentials;  // empty access key id: credentials_from_environment() decides
  HttpClientOptions http;
  int max_attempts = 8;  // per call, the first included
  std::chrono::milliseconds base_delay{25};
  std::chrono::milliseconds max_delay{2000};
  // "Now" for signatures; tests may move it.
  std::function<std::chrono::sys_seconds()> clock = [] {
    return std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
  };
};

// DynamoDB answered with an error that retrying will not fix.
class ServiceError : public StoreError {
 public:
  ServiceError(unsigned status, std::string type, std::string message, nlohmann::json body);
  unsigned status;
  std::string type;     // "ValidationException", "TransactionCanceledException", ...
  std::string message;  // DynamoDB's own words
  nlohmann::json body;  // the whole error document (CancellationReasons live here)
};

class DynamoDbClient {
 public:
  // Throws std::invalid_argument for a malformed endpoint, a missing region or missing credentials.
  explicit DynamoDbClient(ClientOptions options);

  // Calls operation ("GetItem", ...) and returns its response document.
  // Throws ServiceError for a non-retryable error, Unavailable when the attempts run out.
  nlohmann::json call(std::string_view operation, const nlohmann::json& request);

  // The delay before retry number attempt (1-based): uniformly random in [0, min(max, base*2^n)]
  // ("full jitter"), so clients throttled together do not retry together.
  std::chrono::milliseconds backoff(int attempt);

 private:
  ClientOptions options_;
  SigningScope scope_;
  std::unique_ptr<CredentialsProvider> credentials_;
  std::unique_ptr<HttpClient> http_;
};

}  // namespace cellfleet::storage::dynamodb
