#pragma once
// Where the signing credentials come from: fixed keys (configuration, environment, DynamoDB Local)
// or, on ECS, the task role's temporary credentials from the container credentials endpoint,
// renewed before they expire. Thread-safe.

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "storage/dynamodb/sigv4.h"

namespace cellfleet::storage::dynamodb {

class CredentialsProvider {
 public:
  virtual ~CredentialsProvider() = default;
  // The credentials to sign the next request with. Throws Unavailable when they cannot be had.
  virtual Credentials current() = 0;
};

using Clock = std::function<std::chrono::sys_seconds()>;

std::unique_ptr<CredentialsProvider> fixed_credentials(Credentials credentials);

// The ECS container credentials endpoint at url (http only, as ECS serves it), sending
// authorization as the Authorization header when not empty. Credentials are fetched on first use
// and again five minutes before their Expiration.
std::unique_ptr<CredentialsProvider> container_credentials(std::string url,
                                                           std::string authorization, Clock clock);

// The environment's choice, as AWS SDKs make it: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY
// (/AWS_SESSION_TOKEN) when set; else AWS_CONTAINER_CREDENTIALS_RELATIVE_URI (on the ECS endpoint
// 169.254.170.2) or AWS_CONTAINER_CREDENTIALS_FULL_URI, with AWS_CONTAINER_AUTHORIZATION_TOKEN.
// Throws std::invalid_argument when none is set.
std::unique_ptr<CredentialsProvider> credentials_from_environment(Clock clock);

}  // namespace cellfleet::storage::dynamodb
