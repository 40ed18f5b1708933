// The only translation unit of the DynamoDB backend that includes Boost.Beast (compile time).
#include "storage/dynamodb/http_client.h"

#include <openssl/ssl.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <charconv>
#include <mutex>
#include <optional>

namespace cellfleet::storage::dynamodb {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

constexpr std::uint64_t kMaxResponseBytes = 32 * 1024 * 1024;

// One keep-alive connection, plain or TLS. Each has its own io_context so a blocking caller can
// run its operations with a deadline (beast::tcp_stream timeouts apply to asynchronous operations
// only) without sharing an event loop with other threads.
struct Connection {
  asio::io_context io;
  std::optional<beast::tcp_stream> plain;
  std::optional<beast::ssl_stream<beast::tcp_stream>> secure;
  beast::flat_buffer buffer;
  bool reused = false;

  beast::tcp_stream& tcp() { return secure ? beast::get_lowest_layer(*secure) : *plain; }
};

// Runs the connection's pending asynchronous operation to completion (or to its deadline, when
// tcp_stream cancels it); the operation's handler records the outcome.
void run(Connection& connection) {
  connection.io.restart();
  connection.io.run();
}

}  // namespace

Endpoint parse_endpoint(std::string_view url) {
  Endpoint endpoint;
  std::string_view rest;
  if (url.starts_with("http://")) {
    rest = url.substr(7);
  } else if (url.starts_with("https://")) {
    endpoint.tls = true;
    endpoint.port = 443;
    rest = url.substr(8);
  } else {
    throw std::invalid_argument("endpoint '" + std::string(url) + "' is not http:// or https://");
  }
  if (rest.ends_with('/')) rest.remove_suffix(1);
  if (rest.empty() || rest.find_first_of("/@?#") != std::string_view::npos) {
    throw std::invalid_argument("endpoint '" + std::string(url) + "' must be scheme://host[:port]");
  }
  const std::size_t colon = rest.rfind(':');
  endpoint.host = std::string(rest.substr(0, colon));
  if (colon != std::string_view::npos) {
    const std::string_view port = rest.substr(colon + 1);
    const auto [end, error] =
        std::from_chars(port.data(), port.data() + port.size(), endpoint.port);
    if (error != std::errc() || end != port.data() + port.size() || endpoint.port == 0) {
      throw std::invalid_argument("endpoint '" + std::string(url) + "' has a bad port");
    }
  }
  const bool default_port = endpoint.port == (endpoint.tls ? 443 : 80);
  endpoint.host_header =
      default_port ? endpoint.host : endpoint.host + ":" + std::to_string(endpoint.port);
  return endpoint;
}

struct HttpClient::Impl {
  Endpoint endpoint;
  HttpClientOptions options;
  std::optional<ssl::context> tls;  // set for https endpoints; shared by their connections
  std::mutex mutex;
  std::vector<std::unique_ptr<Connection>> idle;

  std::unique_ptr<Connection> acquire() {
    {
      std::lock_guard lock(mutex);
      if (!idle.empty()) {
        auto connection = std::move(idle.back());
        idle.pop_back();
        connection->reused = true;
        return connection;
      }
    }
    return connect();
  }

  void release(std::unique_ptr<Connection> connection) {
    std::lock_guard lock(mutex);
    if (idle.size() < options.max_idle_connections) idle.push_back(std::move(connection));
  }

  std::unique_ptr<Connection> connect() {
    auto connection = std::make_unique<Connection>();
    if (tls) {
      connection->secure.emplace(connection->io, *tls);
    } else {
      connection->plain.emplace(connection->io);
    }
    beast::error_code error;
    tcp::resolver resolver(connection->io);
    const auto addresses = resolver.resolve(endpoint.host, std::to_string(endpoint.port), error);
    if (error) throw TransportError("cannot resolve " + endpoint.host + ": " + error.message());
    connection->tcp().expires_after(options.connect_timeout);
    connection->tcp().async_connect(
        addresses, [&error](beast::error_code e, const tcp::endpoint&) { error = e; });
    run(*connection);
    if (error) {
      throw TransportError("cannot connect to " + endpoint.host_header + ": " + error.message());
    }
    connection->tcp().socket().set_option(tcp::no_delay(true));
    if (connection->secure) handshake(*connection);
    return connection;
  }

  // TLS with the server's certificate checked against the trusted CAs and the endpoint's host name
  // (sent as SNI too, which AWS endpoints require).
  void handshake(Connection& connection) {
    auto& stream = *connection.secure;
    if (SSL_set_tlsext_host_name(stream.native_handle(), endpoint.host.c_str()) != 1) {
      throw TransportError("cannot set TLS server name " + endpoint.host);
    }
    stream.set_verify_callback(ssl::host_name_verification(endpoint.host));
    beast::error_code error;
    stream.async_handshake(ssl::stream_base::client, [&error](beast::error_code e) { error = e; });
    run(connection);
    if (error) {
      throw TransportError("TLS handshake with " + endpoint.host_header + ": " + error.message());
    }
  }

  // One request and its response on one connection. Throws TransportError; sets got_bytes when
  // any of the response arrived, which tells a stale keep-alive connection from a real failure.
  HttpResponse exchange(Connection& connection, const http::request<http::string_body>& request,
                        bool& keep_alive, bool& got_bytes) {
    if (connection.secure) {
      return exchange_on(*connection.secure, connection, request, keep_alive, got_bytes);
    }
    return exchange_on(*connection.plain, connection, request, keep_alive, got_bytes);
  }

  template <class Stream>
  HttpResponse exchange_on(Stream& stream, Connection& connection,
                           const http::request<http::string_body>& request, bool& keep_alive,
                           bool& got_bytes) {
    beast::error_code error;
    connection.tcp().expires_after(options.request_timeout);
    http::async_write(stream, request, [&error](beast::error_code e, std::size_t) { error = e; });
    run(connection);
    if (error) throw TransportError("sending to " + endpoint.host_header + ": " + error.message());
    http::response_parser<http::string_body> parser;
    // BatchGetItem answers up to 16 MB; Beast's default limit for responses is 8 MB.
    parser.body_limit(kMaxResponseBytes);
    http::async_read(stream, connection.buffer, parser,
                     [&error](beast::error_code e, std::size_t) { error = e; });
    run(connection);
    got_bytes = parser.got_some();
    if (error) {
      throw TransportError("reading from " + endpoint.host_header + ": " + error.message());
    }
    auto response = parser.release();
    keep_alive = response.keep_alive();
    return {response.result_int(), std::move(response.body())};
  }
};

HttpClient::HttpClient(Endpoint endpoint, HttpClientOptions options)
    : impl_(std::make_unique<Impl>()) {
  if (endpoint.tls) {
    auto& context = impl_->tls.emplace(ssl::context::tls_client);
    // TLS 1.2 is the oldest version AWS endpoints accept, and the oldest worth accepting.
    SSL_CTX_set_min_proto_version(context.native_handle(), TLS1_2_VERSION);
    context.set_verify_mode(ssl::verify_peer);
    beast::error_code error;
    if (options.ca_file.empty()) {
      context.set_default_verify_paths(error);
    } else {
      context.load_verify_file(options.ca_file, error);
    }
    if (error) throw std::invalid_argument("cannot load trusted CAs: " + error.message());
  }
  impl_->endpoint = std::move(endpoint);
  impl_->options = std::move(options);
}

HttpClient::~HttpClient() = default;

const Endpoint& HttpClient::endpoint() const {
  return impl_->endpoint;
}

HttpResponse HttpClient::post(std::string_view target,
                              const std::vector<std::pair<std::string, std::string>>& headers,
                              std::string body) {
  http::request<http::string_body> request{http::verb::post, target, 11};
  for (const auto& [name, value] : headers) request.set(name, value);
  request.keep_alive(true);
  request.body() = std::move(body);
  request.prepare_payload();
  return send(request);
}

HttpResponse HttpClient::get(std::string_view target,
                             const std::vector<std::pair<std::string, std::string>>& headers) {
  http::request<http::string_body> request{http::verb::get, target, 11};
  request.set(http::field::host, impl_->endpoint.host_header);
  for (const auto& [name, value] : headers) request.set(name, value);
  request.keep_alive(true);
  return send(request);
}

template <class Request>
HttpResponse HttpClient::send(const Request& request) {
  // A pooled connection the server has meanwhile closed fails before any response byte arrives;
  // that one attempt is repeated on a fresh connection. Any other failure is the caller's to retry.
  while (true) {
    auto connection = impl_->acquire();
    bool keep_alive = false;
    bool got_bytes = false;
    try {
      HttpResponse response = impl_->exchange(*connection, request, keep_alive, got_bytes);
      if (keep_alive) impl_->release(std::move(connection));
      return response;
    } catch (const TransportError&) {
      if (!connection->reused || got_bytes) throw;
    }
  }
}

}  // namespace cellfleet::storage::dynamodb
