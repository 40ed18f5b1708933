#pragma once
// A Server-Sent Events client over a plain loopback socket, reading incrementally with timeouts:
// what a browser's EventSource or a curl -N does, small enough to see every byte.

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "support/http_client.h"

namespace cellfleet::testing {

struct SseEvent {
  std::string id;
  std::string type;
  std::string data;
};

class SseClient {
 public:
  // Connects, sends GET target with headers and reads the response head (up to 10 s). A status
  // other than 200 also reads the (Content-Length framed) body. receive_buffer > 0 sets the
  // socket's SO_RCVBUF before connecting (a client that takes bytes slowly).
  SseClient(std::uint16_t port, const std::string& target,
            const std::map<std::string, std::string>& headers, int receive_buffer = 0,
            bool read_head = true);
  ~SseClient();
  SseClient(const SseClient&) = delete;
  SseClient& operator=(const SseClient&) = delete;

  // The status line's code and the headers (and a non-200 body); status 0 before it arrived.
  const HttpResponse& head() const { return head_; }

  // The next event, waiting up to timeout; nullopt on timeout or when the server closed.
  std::optional<SseEvent> next_event(std::chrono::milliseconds timeout);
  // Up to count events, each waited for up to timeout; fewer when one does not come.
  std::vector<SseEvent> events(std::size_t count, std::chrono::milliseconds timeout);
  // Waits (up to timeout) for a comment line ": <text>"; comments seen earlier count.
  bool wait_for_comment(const std::string& text, std::chrono::milliseconds timeout);
  // True once the server has closed the connection (reading what it still sent), within timeout.
  bool closed_by_server(std::chrono::milliseconds timeout);

 private:
  bool fill(std::chrono::milliseconds timeout);  // false on close or timeout
  void parse_blocks();

  int fd_ = -1;
  bool closed_ = false;
  std::string buffer_;
  HttpResponse head_;
  std::deque<SseEvent> ready_;
  std::vector<std::string> comments_;
};

}  // namespace cellfleet::testing
