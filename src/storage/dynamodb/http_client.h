#pragma once
// A small blocking HTTP/1.1 client with a keep-alive connection pool, for the DynamoDB JSON
// protocol. Boost.Beast lives in http_client.cpp only, so the rest of the backend compiles without
// it. Thread-safe: concurrent callers each take a pooled connection.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cellfleet::storage::dynamodb {

struct Endpoint {
  bool tls = false;
  std::string host;
  std::uint16_t port = 80;
  std::string host_header;  // "host" or "host:port" when the port is not the scheme's default
};

// Parses "http://127.0.0.1:8000" or "https://dynamodb.eu-west-1.amazonaws.com".
// Throws std::invalid_argument for anything else (a path, user info, an unknown scheme).
Endpoint parse_endpoint(std::string_view url);

struct HttpClientOptions {
  std::size_t max_idle_connections = 16;  // kept open between requests; more may be open at once
  std::chrono::milliseconds connect_timeout{3000};
  std::chrono::milliseconds request_timeout{10000};  // write plus read of one exchange
  // PEM file of the CAs to trust for https instead of the system's (a private CA, tests).
  std::string ca_file;
};

struct HttpResponse {
  unsigned status = 0;
  std::string body;
};

// The exchange failed below HTTP (refused, reset, timed out); the request may or may not have
// reached the server.
class TransportError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class HttpClient {
 public:
  // For https, the server's certificate must chain to a trusted CA (options.ca_file, else the
  // system's) and name endpoint.host. Throws std::invalid_argument when ca_file cannot be read.
  HttpClient(Endpoint endpoint, HttpClientOptions options);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  const Endpoint& endpoint() const;

  // POSTs body to target with the given headers (Host among them) and returns the response.
  // Throws TransportError.
  HttpResponse post(std::string_view target,
                    const std::vector<std::pair<std::string, std::string>>& headers,
                    std::string body);

  // GETs target (Host is added). Throws TransportError.
  HttpResponse get(std::string_view target,
                   const std::vector<std::pair<std::string, std::string>>& headers);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  template <class Request>
  HttpResponse send(const Request& request);
};

}  // namespace cellfleet::storage::dynamodb
