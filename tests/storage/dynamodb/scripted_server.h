#pragma once
// A loopback HTTP/1.1 server that answers each request with the next of a script of responses. A
// fake, used only where DynamoDB Local cannot help: it never throttles, fails or drops keep-alive
// connections on demand, nor speaks TLS, and the client's retry and TLS paths need exactly that.
// POSIX sockets and OpenSSL directly, so the test does not compile Beast a second time.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <deque>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>

namespace cellfleet::storage::testing {

struct ScriptedResponse {
  unsigned status = 200;
  std::string body = "{}";
  bool close_after = false;  // close the connection after answering, without saying so
};

class ScriptedServer {
 public:
  // With tls, connections speak TLS with that context's certificate.
  explicit ScriptedServer(std::deque<ScriptedResponse> script, SSL_CTX* tls = nullptr)
      : script_(std::move(script)), tls_(tls) {
    listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t size = sizeof address;
    if (::bind(listener_, reinterpret_cast<sockaddr*>(&address), size) != 0 ||
        ::listen(listener_, 8) != 0 ||
        ::getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &size) != 0) {
      throw std::runtime_error("scripted server: cannot listen");
    }
    port_ = ntohs(address.sin_port);
    thread_ = std::thread([this] { serve(); });
  }

  ~ScriptedServer() {
    stopping_ = true;
    ::shutdown(listener_, SHUT_RDWR);
    ::close(listener_);
    thread_.join();
  }

  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }
  int requests() const { return requests_; }
  int connections() const { return connections_; }

 private:
  void serve() {
    while (!stopping_) {
      const int socket = ::accept(listener_, nullptr, nullptr);
      if (socket < 0) return;
      ++connections_;
      Channel channel{socket, nullptr};
      if (tls_ != nullptr) {
        channel.ssl = SSL_new(tls_);
        SSL_set_fd(channel.ssl, socket);
        if (SSL_accept(channel.ssl) != 1) channel.socket = -1;  // client refused us
      }
      while (channel.socket >= 0 && answer_one(channel)) {
      }
      if (channel.ssl != nullptr) SSL_free(channel.ssl);
      ::close(socket);
    }
  }

  struct Channel {
    int socket;
    SSL* ssl;
    long receive(char* buffer, std::size_t size) {
      if (ssl != nullptr) return SSL_read(ssl, buffer, static_cast<int>(size));
      return ::recv(socket, buffer, size, 0);
    }
    bool send(const std::string& data) {
      if (ssl != nullptr) return SSL_write(ssl, data.data(), static_cast<int>(data.size())) > 0;
      return ::send(socket, data.data(), data.size(), MSG_NOSIGNAL) >= 0;
    }
  };

  // Reads one request and writes the next scripted response. False when the connection is done.
  bool answer_one(Channel& connection) {
    std::string data;
    char buffer[4096];
    std::size_t header_end = std::string::npos;
    while ((header_end = data.find("\r\n\r\n")) == std::string::npos) {
      const long got = connection.receive(buffer, sizeof buffer);
      if (got <= 0) return false;
      data.append(buffer, static_cast<std::size_t>(got));
    }
    const std::size_t length_at = data.find("Content-Length: ");
    const std::size_t length =
        length_at == std::string::npos ? 0 : std::stoul(data.substr(length_at + 16));
    while (data.size() < header_end + 4 + length) {
      const long got = connection.receive(buffer, sizeof buffer);
      if (got <= 0) return false;
      data.append(buffer, static_cast<std::size_t>(got));
    }
    ++requests_;
    ScriptedResponse response;
    {
      std::lock_guard lock(mutex_);
      if (!script_.empty()) {
        response = script_.front();
        script_.pop_front();
      }
    }
    const std::string text = "HTTP/1.1 " + std::to_string(response.status) +
                             " X\r\nContent-Type: application/x-amz-json-1.0\r\nContent-Length: " +
                             std::to_string(response.body.size()) + "\r\n\r\n" + response.body;
    if (!connection.send(text)) return false;
    return !response.close_after;
  }

  std::mutex mutex_;
  std::deque<ScriptedResponse> script_;
  SSL_CTX* tls_ = nullptr;
  int listener_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> requests_{0};
  std::atomic<int> connections_{0};
  std::thread thread_;
};

}  // namespace cellfleet::storage::testing
