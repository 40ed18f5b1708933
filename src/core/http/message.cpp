#include "core/http/message.h"

#include <stdexcept>

#include "core/error.h"

namespace cellfleet::http {

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    auto lower = [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

std::optional<std::string> percent_decode(std::string_view in, bool form) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '%') {
      if (i + 2 >= in.size()) return std::nullopt;
      int hi = hex(in[i + 1]);
      int lo = hex(in[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (c == '+' && form) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::optional<std::string_view> Request::header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (iequals(key, name)) return std::string_view(value);
  }
  return std::nullopt;
}

const std::string& Request::param(std::string_view name) const {
  for (const auto& [key, value] : path_params) {
    if (key == name) return value;
  }
  throw std::logic_error("route " + route + " has no path parameter " + std::string(name));
}

const Principal& Request::caller() const {
  if (!principal) throw std::logic_error("route " + route + " has no authenticated caller");
  return *principal;
}

std::optional<std::string> Request::query(std::string_view name) const {
  std::string_view rest = query_string;
  while (!rest.empty()) {
    auto amp = rest.find('&');
    std::string_view pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view{} : rest.substr(amp + 1);
    auto eq = pair.find('=');
    auto key = percent_decode(pair.substr(0, eq), true);
    if (!key) throw bad_request("the query string is not valid percent-encoding");
    if (*key != name) continue;
    auto value = percent_decode(eq == std::string_view::npos ? "" : pair.substr(eq + 1), true);
    if (!value) {
      throw bad_request("the query string is not valid percent-encoding",
                        {{"query." + std::string(name), "not valid percent-encoding"}});
    }
    return value;
  }
  return std::nullopt;
}

Response Response::json(int status, const nlohmann::json& body) {
  return Response{status,
                  "application/json",
                  body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
                  {},
                  {},
                  {}};
}

Response Response::text(int status, std::string body, std::string content_type) {
  return Response{status, std::move(content_type), std::move(body), {}, {}, {}};
}

}  // namespace cellfleet::http
