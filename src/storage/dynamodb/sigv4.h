#pragma once
// AWS Signature Version 4
// (docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html) as a pure
// function: no clock, no environment, no I/O, so it can be checked byte for byte against AWS's
// published test-suite vectors. The HTTP client calls it once per attempt (a retry is signed anew:
// DynamoDB rejects a signature older than five minutes).

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cellfleet::storage::dynamodb {

using Header = std::pair<std::string, std::string>;

struct Credentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;  // "" unless the credentials are temporary (STS, ECS task role)
};

struct SigningRequest {
  std::string method;  // "POST"
  std::string path;    // as sent on the request line, percent-encoded, without the query: "/"
  std::string query;   // as sent, without '?'; "" when there is none
  // Every header to sign, in any order and case; must include Host. Must not include the headers
  // the signer adds (Authorization, X-Amz-Date, X-Amz-Security-Token, X-Amz-Content-Sha256).
  std::vector<Header> headers;
  std::string_view body;
  // Hex SHA-256 of the body, when the caller has it already (or "UNSIGNED-PAYLOAD" where a service
  // allows it); overrides body.
  std::optional<std::string> payload_hash;
};

struct SigningScope {
  std::string region;   // "eu-west-1"
  std::string service;  // "dynamodb"
};

struct SigningOptions {
  // S3 signs the path exactly as sent. Every other service signs it with dot segments and repeated
  // slashes removed (RFC 3986 §5.2.4) and each segment percent-encoded a second time.
  bool s3_path_rules = false;
  // The session token is normally signed. A few services (and AWS's "post-sts-header-after" vector)
  // expect it added after signing, outside SignedHeaders.
  bool sign_session_token = true;
  // Adds and signs X-Amz-Content-Sha256. S3 requires it; DynamoDB does not need it.
  bool add_content_sha256 = false;
};

struct Signature {
  std::vector<Header> headers_to_add;  // X-Amz-Date, [X-Amz-Security-Token],
                                       // [X-Amz-Content-Sha256], Authorization
  std::string canonical_request;       // exposed for tests and for debugging signature mismatches
  std::string string_to_sign;
  std::string authorization;
};

// Signs a request. Throws std::invalid_argument when Host is missing or a header the signer owns is
// already present, since either would produce a signature the service rejects.
Signature sign_v4(const SigningRequest& request, const SigningScope& scope,
                  const Credentials& credentials, std::chrono::sys_seconds when,
                  const SigningOptions& options = {});

// Hex-encoded SHA-256, lowercase, as SigV4 writes hashes.
std::string sha256_hex(std::string_view data);

}  // namespace cellfleet::storage::dynamodb
