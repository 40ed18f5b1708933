#include "core/http/probe.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace cellfleet::http {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;

ProbeResult probe(const std::string& host, std::uint16_t port, const std::string& target,
                  std::chrono::milliseconds timeout) {
  ProbeResult result;
  try {
    net::io_context ioc;
    beast::tcp_stream stream(ioc);
    bhttp::request<bhttp::empty_body> request{bhttp::verb::get, target, 11};
    request.set(bhttp::field::host, host);
    request.set(bhttp::field::connection, "close");
    request.set(bhttp::field::user_agent, "cellfleet-healthcheck");
    beast::flat_buffer buffer;
    bhttp::response<bhttp::string_body> response;
    const net::ip::tcp::endpoint endpoint(net::ip::make_address(host), port);
    // Asynchronous operations, because only they honour the stream's deadline.
    stream.expires_after(timeout);
    stream.async_connect(endpoint, [&](beast::error_code ec) {
      if (ec) {
        result.error = "connect: " + ec.message();
        return;
      }
      bhttp::async_write(stream, request, [&](beast::error_code wec, std::size_t) {
        if (wec) {
          result.error = "write: " + wec.message();
          return;
        }
        bhttp::async_read(stream, buffer, response, [&](beast::error_code rec, std::size_t) {
          if (rec) {
            result.error = "read: " + rec.message();
            return;
          }
          result.status = static_cast<int>(response.result_int());
        });
      });
    });
    ioc.run();
  } catch (const std::exception& e) {
    result.status = 0;
    result.error = e.what();
  }
  return result;
}

}  // namespace cellfleet::http
