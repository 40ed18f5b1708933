#include "support/sse_client.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <stdexcept>

#include "support/http_client.h"

namespace cellfleet::testing {

namespace {
using Clock = std::chrono::steady_clock;

std::chrono::milliseconds left(Clock::time_point deadline) {
  return std::max(std::chrono::milliseconds(0),
                  std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()));
}
}  // namespace

SseClient::SseClient(std::uint16_t port, const std::string& target,
                     const std::map<std::string, std::string>& headers, int receive_buffer,
                     bool read_head) {
  fd_ = connect_loopback(port, receive_buffer);
  std::string request =
      "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n";
  for (const auto& [name, value] : headers) request += name + ": " + value + "\r\n";
  request += "\r\n";
  if (::send(fd_, request.data(), request.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(request.size())) {
    throw std::runtime_error("cannot send the stream request");
  }
  if (!read_head) return;

  const auto deadline = Clock::now() + std::chrono::seconds(10);
  std::size_t header_end;
  while ((header_end = buffer_.find("\r\n\r\n")) == std::string::npos) {
    if (!fill(left(deadline))) return;
  }
  std::string head = buffer_.substr(0, header_end);
  head_.status = std::stoi(head.substr(9, 3));
  std::size_t pos = head.find("\r\n");
  pos = pos == std::string::npos ? head.size() : pos + 2;
  while (pos < head.size()) {
    auto next = std::min(head.find("\r\n", pos), head.size());
    std::string line = head.substr(pos, next - pos);
    auto colon = line.find(':');
    std::string name = line.substr(0, colon);
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string value = colon == std::string::npos ? "" : line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.erase(0, 1);
    head_.headers[name] = value;
    pos = next + 2;
  }
  buffer_.erase(0, header_end + 4);
  if (head_.status != 200) {
    std::size_t length = std::stoul(
        head_.header("content-length").empty() ? std::string("0") : head_.header("content-length"));
    while (buffer_.size() < length && fill(left(deadline))) {
    }
    head_.body = buffer_.substr(0, length);
    buffer_.clear();
  }
}

SseClient::~SseClient() {
  if (fd_ >= 0) close(fd_);
}

bool SseClient::fill(std::chrono::milliseconds timeout) {
  if (closed_) return false;
  pollfd p{fd_, POLLIN, 0};
  if (poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return false;
  char buf[16384];
  ssize_t n = recv(fd_, buf, sizeof buf, 0);
  if (n <= 0) {
    closed_ = true;
    return false;
  }
  buffer_.append(buf, static_cast<std::size_t>(n));
  return true;
}

// Each block ends with a blank line; "id:", "event:", "data:" fields make an event, ": text" is
// a comment. (The server writes one data line per event, so no multi-line joining is needed.)
void SseClient::parse_blocks() {
  std::size_t end;
  while ((end = buffer_.find("\n\n")) != std::string::npos) {
    std::string block = buffer_.substr(0, end);
    buffer_.erase(0, end + 2);
    SseEvent event;
    bool has_field = false;
    std::size_t pos = 0;
    while (pos <= block.size()) {
      auto next = std::min(block.find('\n', pos), block.size());
      std::string line = block.substr(pos, next - pos);
      pos = next + 1;
      if (line.empty()) continue;
      if (line[0] == ':') {
        comments_.push_back(line.size() > 2 ? line.substr(2) : "");
        continue;
      }
      auto colon = line.find(':');
      std::string field = line.substr(0, colon);
      std::string value = colon == std::string::npos ? "" : line.substr(colon + 1);
      if (!value.empty() && value.front() == ' ') value.erase(0, 1);
      if (field == "id") event.id = value;
      if (field == "event") event.type = value;
      if (field == "data") event.data = value;
      has_field = true;
    }
    if (has_field) ready_.push_back(std::move(event));
  }
}

std::optional<SseEvent> SseClient::next_event(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  parse_blocks();
  while (ready_.empty()) {
    if (!fill(left(deadline))) return std::nullopt;
    parse_blocks();
  }
  SseEvent event = std::move(ready_.front());
  ready_.pop_front();
  return event;
}

std::vector<SseEvent> SseClient::events(std::size_t count, std::chrono::milliseconds timeout) {
  std::vector<SseEvent> out;
  while (out.size() < count) {
    auto event = next_event(timeout);
    if (!event) break;
    out.push_back(std::move(*event));
  }
  return out;
}

bool SseClient::wait_for_comment(const std::string& text, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (true) {
    parse_blocks();
    if (std::find(comments_.begin(), comments_.end(), text) != comments_.end()) return true;
    if (!fill(left(deadline))) return false;
  }
}

bool SseClient::closed_by_server(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (!closed_) {
    if (!fill(left(deadline)) && !closed_) return false;
  }
  return true;
}

}  // namespace cellfleet::testing
