// The ceiling of bench/http.sh: about the least work a Boost.Beast HTTP/1.1 keep-alive server can
// do per request on one thread: parse the request, answer a fixed JSON body. The benchmark
// reports cellfleet's throughput as a fraction of this, measured in the same run on the same
// pinned core.
//
//   cellfleet_bench_bare_beast PORT      (listens on 127.0.0.1:PORT until SIGINT or SIGTERM)
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <charconv>
#include <cstdio>
#include <string_view>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;

namespace {

asio::awaitable<void> serve_connection(tcp::socket socket) {
  beast::tcp_stream stream(std::move(socket));
  beast::flat_buffer buffer;
  beast::error_code ec;
  for (;;) {
    http::request<http::string_body> request;
    co_await http::async_read(stream, buffer, request,
                              asio::redirect_error(asio::use_awaitable, ec));
    if (ec) break;  // the client closed the connection (or sent something unparseable)
    http::response<http::string_body> response{http::status::ok, request.version()};
    response.set(http::field::content_type, "application/json");
    response.keep_alive(request.keep_alive());
    response.body() = R"({"status":"ok"})";
    response.prepare_payload();
    co_await http::async_write(stream, response, asio::redirect_error(asio::use_awaitable, ec));
    if (ec || !response.keep_alive()) break;
  }
  stream.socket().shutdown(tcp::socket::shutdown_send, ec);
}

asio::awaitable<void> accept_forever(tcp::acceptor acceptor) {
  beast::error_code ec;
  for (;;) {
    tcp::socket socket =
        co_await acceptor.async_accept(asio::redirect_error(asio::use_awaitable, ec));
    if (ec) continue;  // e.g. out of file descriptors: this client is lost, the next may not be
    asio::co_spawn(acceptor.get_executor(), serve_connection(std::move(socket)), asio::detached);
  }
}

}  // namespace

int main(int argc, char** argv) {
  unsigned short port = 0;
  const std::string_view arg = argc == 2 ? argv[1] : "";
  if (auto [end, err] = std::from_chars(arg.data(), arg.data() + arg.size(), port);
      arg.empty() || err != std::errc{} || end != arg.data() + arg.size() || port == 0) {
    std::fprintf(stderr, "usage: %s PORT   (serves http://127.0.0.1:PORT/)\n", argv[0]);
    return 2;
  }
  asio::io_context ioc{1};  // one thread: the concurrency hint lets Asio skip its locking
  tcp::acceptor acceptor(ioc, {asio::ip::make_address("127.0.0.1"), port});
  asio::co_spawn(ioc, accept_forever(std::move(acceptor)), asio::detached);
  asio::signal_set signals(ioc, SIGINT, SIGTERM);
  signals.async_wait([&ioc](const beast::error_code&, int) { ioc.stop(); });
  ioc.run();
  return 0;
}
