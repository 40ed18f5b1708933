#pragma once
// The HTTP/1.1 server: sockets, limits, keep-alive, overload and graceful shutdown. It knows
// nothing of routes or modules: it reads a request, hands it to the handler on a worker thread
// and writes back what the handler returned. Requests on one connection are answered strictly
// one after another, so pipelined requests get their responses in order.
//
// Long-poll: when the handler answers Response::wait(key, deadline), the request is parked on its
// connection (a timer on the connection's strand, a subscription in the Notifier) and holds no
// worker. It runs again on a worker when key is notified, every long_poll_recheck, and at the
// deadline or when a drain starts (then with req.poll.must_answer set). A parked request is in
// flight: a drain answers it at once rather than waiting for it, and the read timeout does not
// apply while it waits (no read is pending).
//
// Streams: when the handler answers Response::streamed, the server writes the headers
// (Connection: close, no Content-Length) and then whatever the stream's produce() returns, run on
// a worker at once, on notify(key), every interval and when it asks; idle, a stream holds no
// worker. Unsent bytes beyond max_unsent_bytes close the connection (a slow client); so do the
// client's close and a drain (a stream never ends by itself, so a drain does not wait for it).

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "core/http/message.h"
#include "core/http/notifier.h"
#include "core/log.h"
#include "core/metrics.h"

namespace cellfleet::http {

struct ServerOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8080;  // 0 picks a free port; listen() returns it
  std::size_t io_threads = 1;
  // Two lanes of handler threads: GET and HEAD requests run on read_threads, every other request
  // on worker_threads, so a reader never waits behind writes queued for the store's writer.
  std::size_t worker_threads = 4;
  std::size_t read_threads = 4;
  std::size_t worker_queue = 1024;  // requests waiting for a worker, per lane, before 503
  std::size_t max_body_bytes = 1024 * 1024;
  std::size_t max_header_bytes = 16 * 1024;
  std::size_t max_connections = 10000;
  std::chrono::milliseconds read_timeout{30000};  // per request, and idle keep-alive time
  std::chrono::milliseconds drain_timeout{10000};
  int retry_after_seconds = 1;
  // A parked long-poll runs again at least this often, to find changes no notify() announced
  // (made by another instance).
  std::chrono::milliseconds long_poll_recheck{2000};
};

class Server {
 public:
  // handler runs on a worker thread and must not throw (the Dispatcher guarantees that).
  // notifier wakes parked long-polls and must outlive the server; without one the server uses a
  // private Notifier nobody else can reach, so parked requests wake only by re-check and deadline.
  Server(ServerOptions options, std::function<Response(Request&)> handler, Logger& log,
         MetricsRegistry& metrics, Notifier* notifier = nullptr);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and listens; returns the bound port. Throws std::runtime_error naming the address when
  // it cannot bind (in use, not local, no permission).
  std::uint16_t listen();
  // Serves until stop() has been called and the drain has finished. Blocks the caller.
  void run();
  // Starts a graceful stop: stop accepting, close idle connections, let in-flight requests finish
  // (at most drain_timeout), then make run() return. Safe from any thread, not a signal handler.
  void stop();

  struct Impl;  // defined in server.cpp, with the connection sessions that share it

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace cellfleet::http
