// The only translation unit of the server that includes Boost.Beast and Asio (they are slow to
// compile). Structure after Beast's async server example: a Session moves bytes
// (read -> hand off -> write -> read), the handler turns a Request into a Response.
#include "core/http/server.h"

#include <array>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>
#include <vector>

#include <fmt/format.h>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "core/clock.h"
#include "core/error.h"
#include "core/http/problem.h"
#include "core/ids.h"
#include "core/worker_pool.h"

namespace cellfleet::http {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

// A client's X-Request-Id is echoed only when it is short and made of safe characters, so it can
// go into log lines and headers as it is.
bool acceptable_request_id(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.' || c == ':';
    if (!ok) return false;
  }
  return true;
}

bool is_http_parse_error(const beast::error_code& ec) {
  return ec.category() == bhttp::make_error_code(bhttp::error::bad_target).category();
}

}  // namespace

class Session;

struct Server::Impl {
  Impl(ServerOptions o, std::function<Response(Request&)> h, Logger& l, MetricsRegistry& m,
       Notifier* n)
      : options(std::move(o)),
        handler(std::move(h)),
        log(l),
        ids(clock),
        write_pool(options.worker_threads, options.worker_queue),
        read_pool(options.read_threads, options.worker_queue),
        notifier(n ? *n : own_notifier),
        connections(m.gauge("http_connections_open", "Open client connections")),
        in_flight(m.gauge("http_requests_in_flight",
                          "Requests whose header has arrived and whose answer is not yet sent")),
        parked(m.gauge("http_requests_parked",
                       "Long-poll requests waiting without a worker (also in flight)")),
        streams(m.gauge("http_streams_open",
                        "Streamed responses (Server-Sent Events) being written (also in flight)")),
        rejected_metrics(m) {
    m.gauge_callback("http_worker_queue_depth", "Requests waiting for a worker thread", [this] {
      return static_cast<std::int64_t>(write_pool.queued() + read_pool.queued());
    });
    m.gauge_callback("http_read_queue_depth",
                     "GET and HEAD requests waiting for a read thread (also in the total)",
                     [this] { return static_cast<std::int64_t>(read_pool.queued()); });
  }

  // The lane of a request: reads have threads of their own, so that writes waiting for the
  // store's single writer (an ingest burst) cannot occupy every handler thread.
  WorkerPool& pool_for(std::string_view method) {
    return method == "GET" || method == "HEAD" ? read_pool : write_pool;
  }
  void shutdown_pools() {
    write_pool.shutdown();
    read_pool.shutdown();
  }

  void count_wakeup(std::string_view reason) {
    rejected_metrics
        .counter("http_long_poll_wakeups_total",
                 "Parked long-poll requests run again, by reason (notify, recheck, deadline, "
                 "drain)",
                 {{"reason", std::string(reason)}})
        .inc();
  }
  void count_stream_end(std::string_view reason) {
    rejected_metrics
        .counter("http_streams_closed_total",
                 "Streamed responses ended, by reason (end, client, slow_client, write_error, "
                 "error, drain)",
                 {{"reason", std::string(reason)}})
        .inc();
  }
  void count_rejection(std::string_view reason) {
    rejected_metrics
        .counter("http_rejected_total", "Requests answered by the server itself, by reason",
                 {{"reason", std::string(reason)}})
        .inc();
  }
  std::string request_id_from(std::optional<std::string_view> header) {
    if (header && acceptable_request_id(*header)) return std::string(*header);
    return ids.next("req");
  }

  void do_accept();
  net::any_io_executor session_executor();
  void begin_drain();

  ServerOptions options;
  std::function<Response(Request&)> handler;
  Logger& log;
  SystemClock clock;
  IdGenerator ids;
  WorkerPool write_pool;
  WorkerPool read_pool;
  Notifier own_notifier;  // used when the owner passed none
  Notifier& notifier;
  Gauge& connections;
  Gauge& in_flight;
  Gauge& parked;
  Gauge& streams;
  MetricsRegistry& rejected_metrics;

  std::atomic<bool> draining{false};
  std::mutex sessions_mutex;
  std::unordered_map<Session*, std::weak_ptr<Session>> sessions;

  std::mutex stop_mutex;
  std::condition_variable stop_requested_cv;
  bool stop_requested = false;

  // Declared last: destroyed first, taking pending handlers (and the sessions they hold) with it
  // while the members above still exist.
  net::io_context ioc;
  std::optional<tcp::acceptor> acceptor;
  std::optional<net::steady_timer> accept_retry;
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(Server::Impl& server, tcp::socket socket)
      : server_(server), stream_(std::move(socket)), park_timer_(stream_.get_executor()) {
    server_.connections.add(1);
    beast::error_code ec;
    auto endpoint = stream_.socket().remote_endpoint(ec);
    if (!ec) remote_ = endpoint.address().to_string();
  }

  ~Session() {
    // Only when the io_context is torn down with the request still parked (drain timeout).
    if (state_ == State::parked) {
      server_.notifier.cancel(ticket_);
      server_.parked.add(-1);
    }
    if (state_ == State::streaming) {
      server_.notifier.cancel(ticket_);
      server_.streams.add(-1);
    }
    server_.connections.add(-1);
    std::lock_guard lock(server_.sessions_mutex);
    server_.sessions.erase(this);
  }

  void start() {
    {
      std::lock_guard lock(server_.sessions_mutex);
      server_.sessions.emplace(this, weak_from_this());
    }
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->read_header(); });
  }

  net::any_io_executor executor() { return stream_.get_executor(); }

  // Called (on this session's executor) when the server starts draining: a connection waiting for
  // its next request (or in the middle of its header) is closed now; a parked long-poll runs
  // again at once and must answer; one whose request header has arrived finishes receiving,
  // handling and answering that request, then closes.
  void on_drain() {
    if (state_ == State::reading) {
      stream_.cancel();
    } else if (state_ == State::parked) {
      wake(park_generation_, "drain");
    } else if (state_ == State::streaming) {
      end_stream("drain");
    }
  }

 private:
  enum class State { reading, receiving, processing, parked, writing, streaming, closed };

  void read_header() {
    if (server_.draining) return close();
    state_ = State::reading;
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(server_.options.max_header_bytes));
    parser_->body_limit(server_.options.max_body_bytes);
    stream_.expires_after(server_.options.read_timeout);
    bhttp::async_read_header(stream_, buffer_, *parser_,
                             beast::bind_front_handler(&Session::on_header, shared_from_this()));
  }

  void on_header(beast::error_code ec, std::size_t) {
    if (ec) return on_read_error(ec);
    // From here the request is in flight: a drain waits for its body, its handler and its answer.
    state_ = State::receiving;
    server_.in_flight.add(1);
    counted_ = true;
    // Clients that ask before sending a body (curl does above 1 KiB) get their go-ahead.
    const auto& req = parser_->get();
    if (beast::iequals(req[bhttp::field::expect], "100-continue")) {
      bhttp::response<bhttp::empty_body> go_ahead{bhttp::status::continue_, req.version()};
      bhttp::write(stream_, go_ahead, ec);
      if (ec) return close();
    }
    bhttp::async_read(stream_, buffer_, *parser_,
                      beast::bind_front_handler(&Session::on_body, shared_from_this()));
  }

  void on_read_error(const beast::error_code& ec) {
    if (ec == bhttp::error::end_of_stream || ec == net::error::operation_aborted ||
        ec == beast::error::timeout || !parser_) {
      return close();
    }
    // The request cannot be read to its end, so the connection cannot be reused after answering.
    std::optional<std::string_view> client_id;
    if (parser_->is_header_done()) client_id = parser_->get()["X-Request-Id"];
    if (ec == bhttp::error::body_limit) {
      return reject(ErrorKind::payload_too_large,
                    fmt::format("the request body exceeds the limit of {} bytes",
                                server_.options.max_body_bytes),
                    "body_limit", client_id);
    }
    if (ec == bhttp::error::header_limit) {
      return reject(ErrorKind::header_too_large,
                    fmt::format("the request header fields exceed the limit of {} bytes",
                                server_.options.max_header_bytes),
                    "header_limit", client_id);
    }
    if (is_http_parse_error(ec)) {
      return reject(ErrorKind::bad_request, "the request is not valid HTTP/1.1", "malformed",
                    client_id);
    }
    close();  // reset by peer and other socket errors: nobody to answer
  }

  void on_body(beast::error_code ec, std::size_t) {
    if (ec) return on_read_error(ec);
    auto& msg = parser_->get();
    request_ = Request{};
    Request& req = request_;
    req.method = std::string(msg.method_string());
    req.target = std::string(msg.target());
    auto q = req.target.find('?');
    req.path = req.target.substr(0, q);
    if (q != std::string::npos) req.query_string = req.target.substr(q + 1);
    req.headers.reserve(std::distance(msg.begin(), msg.end()));
    for (const auto& field : msg) {
      req.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    }
    req.body = std::move(msg.body());
    req.remote_address = remote_;
    req.request_id = server_.request_id_from(req.header("X-Request-Id"));
    keep_alive_ = msg.keep_alive();
    http11_ = msg.version() == 11;
    run_handler();
  }

  // Hands request_ to a worker. While state_ is processing only that worker touches request_;
  // the session's executor takes it back when the worker posts the response.
  void run_handler() {
    state_ = State::processing;
    auto task = [self = shared_from_this()] {
      Response res = self->server_.handler(self->request_);
      net::post(self->stream_.get_executor(),
                [self, res = std::move(res)]() mutable { self->on_handled(std::move(res)); });
    };
    lane_ = &server_.pool_for(request_.method);
    if (lane_->try_submit(std::move(task))) return;
    server_.count_rejection("queue_full");
    // A parked request that may still wait keeps waiting for its next re-check.
    if (request_.poll.run > 0 && !request_.poll.must_answer) return park();
    Error busy(ErrorKind::unavailable, "the server is at capacity; retry shortly");
    busy.with_header("Retry-After", std::to_string(server_.options.retry_after_seconds));
    server_.log.warn(
        "request rejected",
        {{"request_id", request_.request_id}, {"status", 503}, {"reason", "queue_full"}});
    write(problem_response(busy, ""), request_.request_id);
  }

  void on_handled(Response res) {
    if (res.stream) return begin_stream(std::move(res));
    if (!res.park) return write(std::move(res), request_.request_id);
    auto& deadline = request_.poll.deadline;
    if (!deadline || res.park->deadline < *deadline) deadline = res.park->deadline;
    park_key_ = std::move(res.park->key);
    park();
  }

  // Waits, holding no worker, for a notify of park_key_, the next re-check or the deadline.
  void park() {
    const auto now = std::chrono::steady_clock::now();
    const auto deadline = *request_.poll.deadline;
    if (server_.draining || now >= deadline) {
      ++request_.poll.run;
      request_.poll.must_answer = true;
      return run_handler();
    }
    state_ = State::parked;
    server_.parked.add(1);
    // Wake-ups of an earlier park (a timer that fired as it was cancelled, a notify racing the
    // cancel) carry an older generation and are ignored.
    const std::uint64_t generation = ++park_generation_;
    ticket_ = server_.notifier.subscribe(park_key_, [weak = weak_from_this(), generation] {
      if (auto self = weak.lock()) {
        net::post(self->executor(), [self, generation] { self->wake(generation, "notify"); });
      }
    });
    park_timer_.expires_at(std::min(deadline, now + server_.options.long_poll_recheck));
    park_timer_.async_wait([self = shared_from_this(), generation](beast::error_code ec) {
      if (ec) return;
      const bool due = std::chrono::steady_clock::now() >= *self->request_.poll.deadline;
      self->wake(generation, due ? "deadline" : "recheck");
    });
  }

  void wake(std::uint64_t generation, std::string_view reason) {
    if (state_ != State::parked || generation != park_generation_) return;
    server_.notifier.cancel(ticket_);
    park_timer_.cancel();
    server_.parked.add(-1);
    server_.count_wakeup(reason);
    ++request_.poll.run;
    request_.poll.must_answer =
        server_.draining || std::chrono::steady_clock::now() >= *request_.poll.deadline;
    run_handler();
  }

  // Streaming (Response::streamed). The headers go out with "Connection: close" and no length: the
  // body is whatever produce() returns, until one side closes. Nothing is read from the client
  // any more except to notice that it went away. Bytes produced and not yet taken by the client
  // (unsent_ plus the write in progress) are bounded by max_unsent_bytes: past that the client is
  // too slow and the connection is closed, so a stalled client costs at most that much memory.
  // The kernel's send buffer is kept small (64 KiB, or the bound if that is less) for the same
  // reason: bytes parked in the kernel are unsent too, just not counted.
  void begin_stream(Response res) {
    state_ = State::streaming;
    sse_ = std::move(res.stream);
    server_.streams.add(1);
    std::string head = fmt::format(
        "HTTP/1.1 200 OK\r\nContent-Type: {}\r\nCache-Control: no-cache\r\n"
        "X-Request-Id: {}\r\nConnection: close\r\n",
        res.content_type, request_.request_id);
    for (const auto& [name, value] : res.headers) head += fmt::format("{}: {}\r\n", name, value);
    head += "\r\n";
    head += res.body;
    beast::error_code ignored;
    const auto send_buffer = std::min<std::size_t>(kStreamSendBuffer, sse_->max_unsent_bytes);
    stream_.socket().set_option(net::socket_base::send_buffer_size(static_cast<int>(send_buffer)),
                                ignored);
    stream_.expires_never();
    watch_client();
    subscribe_stream();
    arm_stream_timer(sse_->interval);
    queue(std::move(head));
    produce();
  }

  // A pending read while streaming: the client's close (or reset) ends the stream at once
  // rather than at the next write. Whatever the client sends is ignored.
  void watch_client() {
    stream_.socket().async_read_some(
        net::buffer(discard_), [self = shared_from_this()](beast::error_code ec, std::size_t) {
          if (self->state_ != State::streaming) return;
          if (ec) return self->end_stream("client");
          self->watch_client();
        });
  }

  void subscribe_stream() {
    ticket_ = server_.notifier.subscribe(sse_->key, [weak = weak_from_this()] {
      if (auto self = weak.lock()) {
        net::post(self->executor(), [self] {
          if (self->state_ != State::streaming) return;
          self->subscribe_stream();  // before producing, so no notify falls between the two
          self->produce();
        });
      }
    });
  }

  // The next run without a notify: every interval, or sooner when produce() asked (retry_in).
  void arm_stream_timer(std::chrono::milliseconds in) {
    const auto at = std::chrono::steady_clock::now() + in;
    if (stream_timer_armed_ && at >= stream_timer_at_) return;
    stream_timer_armed_ = true;
    stream_timer_at_ = at;
    const std::uint64_t generation = ++park_generation_;
    park_timer_.expires_at(at);
    park_timer_.async_wait([self = shared_from_this(), generation](beast::error_code ec) {
      if (ec || generation != self->park_generation_ || self->state_ != State::streaming) return;
      self->stream_timer_armed_ = false;
      self->arm_stream_timer(self->sse_->interval);
      self->produce();
    });
  }

  // Runs produce() on a worker; a wake-up during a run makes one more run after it.
  void produce() {
    if (state_ != State::streaming || ending_) return;
    if (producing_) {
      produce_again_ = true;
      return;
    }
    producing_ = true;
    produce_again_ = false;
    auto task = [self = shared_from_this(), stream = sse_] {
      StreamChunk chunk;
      std::optional<std::string> failure;
      try {
        chunk = stream->produce();
      } catch (const std::exception& e) {
        failure = e.what();
      } catch (...) {
        failure = "unknown exception";
      }
      net::post(self->executor(),
                [self, chunk = std::move(chunk), failure = std::move(failure)]() mutable {
                  self->on_produced(std::move(chunk), std::move(failure));
                });
    };
    if (lane_->try_submit(std::move(task))) return;  // the lane of the request that began it
    // The workers are saturated: the next timer run tries again.
    producing_ = false;
    server_.count_rejection("queue_full");
  }

  void on_produced(StreamChunk chunk, std::optional<std::string> failure) {
    producing_ = false;
    if (state_ != State::streaming) return;
    if (failure) {
      server_.log.error("stream producer failed",
                        {{"request_id", request_.request_id}, {"error", *failure}});
      return end_stream("error");
    }
    ending_ = chunk.end;
    more_ = chunk.more;
    if (chunk.retry_in) arm_stream_timer(*chunk.retry_in);
    queue(std::move(chunk.data));
    if (state_ != State::streaming) return;
    if (ending_) {
      if (!writing_) end_stream("end");
      return;
    }
    if (produce_again_ || (more_ && !writing_)) produce();
  }

  void queue(std::string data) {
    if (data.empty()) return;
    const std::size_t unsent = unsent_.size() + sending_.size() + data.size();
    if (unsent > sse_->max_unsent_bytes) {
      server_.log.warn("stream closed: the client does not keep up",
                       {{"request_id", request_.request_id},
                        {"unsent_bytes", static_cast<std::int64_t>(unsent)},
                        {"limit", static_cast<std::int64_t>(sse_->max_unsent_bytes)}});
      return end_stream("slow_client");
    }
    unsent_ += data;
    send_unsent();
  }

  void send_unsent() {
    if (writing_ || unsent_.empty()) return;
    sending_.swap(unsent_);
    unsent_.clear();
    writing_ = true;
    // A write the client does not take within the read timeout ends the stream too.
    stream_.expires_after(server_.options.read_timeout);
    net::async_write(stream_, net::buffer(sending_),
                     [self = shared_from_this()](beast::error_code ec, std::size_t) {
                       self->on_stream_written(ec);
                     });
  }

  void on_stream_written(beast::error_code ec) {
    writing_ = false;
    sending_.clear();
    if (state_ != State::streaming) return;
    if (ec) return end_stream("write_error");
    if (!unsent_.empty()) return send_unsent();
    if (ending_) return end_stream("end");
    if (more_) produce();
  }

  void end_stream(std::string_view reason) {
    if (state_ != State::streaming) return;
    server_.notifier.cancel(ticket_);
    ++park_generation_;
    park_timer_.cancel();
    server_.streams.add(-1);
    server_.count_stream_end(reason);
    server_.log.debug("stream closed",
                      {{"request_id", request_.request_id}, {"reason", std::string(reason)}});
    // What produce() captured (a connection slot, say) goes now, or when a run in progress ends.
    sse_.reset();
    unsent_.clear();
    close();
  }

  void reject(ErrorKind kind, std::string detail, std::string_view reason,
              std::optional<std::string_view> client_id) {
    server_.count_rejection(reason);
    auto id = server_.request_id_from(client_id);
    Error error(kind, std::move(detail));
    server_.log.info("request rejected",
                     {{"request_id", id}, {"status", http_status(kind)}, {"reason", reason}});
    keep_alive_ = false;
    http11_ = true;
    write(problem_response(error, ""), id);
  }

  void write(Response res, const std::string& request_id) {
    state_ = State::writing;
    response_.emplace(static_cast<bhttp::status>(res.status), http11_ ? 11 : 10);
    if (!res.content_type.empty()) response_->set(bhttp::field::content_type, res.content_type);
    response_->set("X-Request-Id", request_id);
    for (auto& [name, value] : res.headers) response_->insert(name, value);
    response_->body() = std::move(res.body);
    response_->keep_alive(keep_alive_ && !server_.draining);
    response_->prepare_payload();
    stream_.expires_after(server_.options.read_timeout);
    bhttp::async_write(stream_, *response_,
                       beast::bind_front_handler(&Session::on_write, shared_from_this()));
  }

  void on_write(beast::error_code ec, std::size_t) {
    bool keep = response_->keep_alive();
    response_.reset();
    request_ = Request{};
    finish_request();
    if (ec || !keep) return close();
    read_header();
  }

  void finish_request() {
    if (counted_) {
      server_.in_flight.add(-1);
      counted_ = false;
    }
  }

  void close() {
    finish_request();
    if (state_ == State::closed) return;
    state_ = State::closed;
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.socket().close(ignored);
  }

  Server::Impl& server_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  std::optional<bhttp::response<bhttp::string_body>> response_;
  Request request_;  // the request being handled (or parked)
  WorkerPool* lane_ = nullptr;  // its lane (Impl::pool_for), which its stream's runs keep
  net::steady_timer park_timer_;
  std::string park_key_;
  Notifier::Ticket ticket_ = 0;
  std::uint64_t park_generation_ = 0;
  std::string remote_;
  State state_ = State::reading;
  bool keep_alive_ = true;
  bool http11_ = true;
  bool counted_ = false;
  // Streaming state (begin_stream), touched only on the session's executor.
  static constexpr std::size_t kStreamSendBuffer = 64 * 1024;
  std::shared_ptr<Stream> sse_;
  std::string unsent_;   // produced, not yet handed to a write
  std::string sending_;  // the write in progress
  bool writing_ = false;
  bool producing_ = false;
  bool produce_again_ = false;
  bool more_ = false;
  bool ending_ = false;
  bool stream_timer_armed_ = false;
  SteadyTime stream_timer_at_{};
  std::array<char, 512> discard_{};
};

// Over the connection limit: answer 503 without reading the request, then close.
struct Refusal : std::enable_shared_from_this<Refusal> {
  Refusal(tcp::socket s, std::string text) : socket(std::move(s)), response(std::move(text)) {}
  void send() {
    net::async_write(socket, net::buffer(response),
                     [self = shared_from_this()](beast::error_code, std::size_t) {
                       beast::error_code ignored;
                       self->socket.shutdown(tcp::socket::shutdown_both, ignored);
                       self->socket.close(ignored);
                     });
  }
  tcp::socket socket;
  std::string response;
};

// A session's handlers must never run at once. With one I/O thread they cannot: that thread runs
// every one of them, and workers only post to it. Only with more does each session need a strand
// of its own, whose hand-offs cost about a sixth of a trivial request's time.
net::any_io_executor Server::Impl::session_executor() {
  if (options.io_threads <= 1) return ioc.get_executor();
  return net::make_strand(ioc);
}

void Server::Impl::do_accept() {
  acceptor->async_accept(session_executor(), [this](beast::error_code ec, tcp::socket socket) {
    if (ec == net::error::operation_aborted || !acceptor->is_open()) return;
    if (ec) {
      // Out of file descriptors and the like: log, back off briefly instead of spinning.
      log.error("accept failed", {{"error", ec.message()}});
      accept_retry->expires_after(std::chrono::milliseconds(50));
      accept_retry->async_wait([this](beast::error_code wait_ec) {
        if (!wait_ec) do_accept();
      });
      return;
    }
    if (static_cast<std::size_t>(connections.value()) >= options.max_connections) {
      count_rejection("connection_limit");
      auto id = ids.next("req");
      Error busy(ErrorKind::unavailable, "the server has too many open connections; retry shortly");
      std::string body = busy.to_problem("").dump();
      auto text = fmt::format(
          "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/problem+json\r\n"
          "Retry-After: {}\r\nX-Request-Id: {}\r\nConnection: close\r\nContent-Length: "
          "{}\r\n\r\n{}",
          options.retry_after_seconds, id, body.size(), body);
      std::make_shared<Refusal>(std::move(socket), std::move(text))->send();
    } else {
      std::make_shared<Session>(*this, std::move(socket))->start();
    }
    do_accept();
  });
}

void Server::Impl::begin_drain() {
  draining = true;
  beast::error_code ignored;
  if (acceptor) acceptor->close(ignored);
  if (accept_retry) accept_retry->cancel();
  std::vector<std::shared_ptr<Session>> live;
  {
    std::lock_guard lock(sessions_mutex);
    for (auto& [ptr, weak] : sessions) {
      if (auto s = weak.lock()) live.push_back(std::move(s));
    }
  }
  for (auto& s : live) {
    // Post, not call: Session::on_drain must run on the session's own executor.
    net::post(s->executor(), [s] { s->on_drain(); });
  }
}

Server::Server(ServerOptions options, std::function<Response(Request&)> handler, Logger& log,
               MetricsRegistry& metrics, Notifier* notifier)
    : impl_(
          std::make_unique<Impl>(std::move(options), std::move(handler), log, metrics, notifier)) {}

Server::~Server() {
  impl_->shutdown_pools();  // before the io_context goes: queued tasks post to it
}

std::uint16_t Server::listen() {
  auto& o = impl_->options;
  beast::error_code ec;
  auto address = net::ip::make_address(o.host, ec);
  if (ec)
    throw std::runtime_error(fmt::format("listen address \"{}\" is not an IP address", o.host));
  tcp::endpoint endpoint{address, o.port};
  auto& acceptor = impl_->acceptor.emplace(impl_->ioc);
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    throw std::runtime_error(
        fmt::format("cannot listen on {}:{}: {}", o.host, o.port, ec.message()));
  }
  impl_->accept_retry.emplace(impl_->ioc);
  return acceptor.local_endpoint().port();
}

void Server::run() {
  auto& impl = *impl_;
  impl.do_accept();
  // Keeps run() from returning while a worker still holds a request: during a drain, with the
  // acceptor closed, the I/O threads may momentarily have nothing to wait for.
  auto work = net::make_work_guard(impl.ioc);
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < std::max<std::size_t>(1, impl.options.io_threads); ++i) {
    threads.emplace_back([&impl] { impl.ioc.run(); });
  }
  {
    std::unique_lock lock(impl.stop_mutex);
    impl.stop_requested_cv.wait(lock, [&impl] { return impl.stop_requested; });
  }
  net::post(impl.ioc, [&impl] { impl.begin_drain(); });
  auto deadline = std::chrono::steady_clock::now() + impl.options.drain_timeout;
  while (impl.in_flight.value() > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  if (impl.in_flight.value() > 0) {
    impl.log.warn("drain timeout: closing with requests in flight",
                  {{"in_flight", impl.in_flight.value()}});
  }
  impl.ioc.stop();
  for (auto& t : threads) t.join();
  impl.shutdown_pools();
}

void Server::stop() {
  {
    std::lock_guard lock(impl_->stop_mutex);
    impl_->stop_requested = true;
  }
  impl_->stop_requested_cv.notify_all();
}

}  // namespace cellfleet::http
