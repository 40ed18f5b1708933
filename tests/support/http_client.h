#pragma once
// A plain HTTP/1.1 client over a real TCP socket to 127.0.0.1, for tests that need to send
// exactly the bytes they mean (malformed requests, pipelining, slow bodies).

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace cellfleet::testing {

struct HttpResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;

  std::string header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? std::string() : it->second;
  }
  nlohmann::json json() const { return nlohmann::json::parse(body); }
};

// A connected TCP socket to 127.0.0.1:port (close it yourself); receive_buffer > 0 sets SO_RCVBUF
// before connecting, for a client that takes bytes slowly. Throws when nothing listens.
int connect_loopback(std::uint16_t port, int receive_buffer = 0);

class Connection {
 public:
  explicit Connection(std::uint16_t port);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  void send(const std::string& bytes);
  // Reads one response (Content-Length framed). nullopt when the server closed the connection
  // before a complete response, or nothing arrived within timeout.
  std::optional<HttpResponse> read_response(
      std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // True when the server has closed the connection (read returns end of stream) within timeout.
  bool closed_by_server(std::chrono::milliseconds timeout = std::chrono::seconds(5));

  // Sends one request and reads its response (waiting up to 60 s).
  HttpResponse request(const std::string& method, const std::string& target,
                       const std::string& body = "",
                       const std::map<std::string, std::string>& headers = {});

 private:
  bool fill(std::chrono::milliseconds timeout);  // false on close or timeout
  int fd_ = -1;
  std::string buffer_;
};

// One request on a fresh connection.
HttpResponse http_request(std::uint16_t port, const std::string& method, const std::string& target,
                          const std::string& body = "",
                          const std::map<std::string, std::string>& headers = {});

}  // namespace cellfleet::testing
