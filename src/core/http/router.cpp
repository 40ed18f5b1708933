#include "core/http/router.h"

#include <algorithm>
#include <stdexcept>

#include "core/error.h"

namespace cellfleet::http {

namespace {
std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> out;
  if (path.empty() || path.front() != '/') return out;
  std::size_t start = 1;
  while (true) {
    auto slash = path.find('/', start);
    out.push_back(path.substr(start, slash == std::string_view::npos ? slash : slash - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return out;
}

// Specificity of a template: literal segments count more the earlier they come.
bool more_specific(const std::vector<bool>& a, const std::vector<bool>& b) {
  for (std::size_t i = 0; i < std::min(a.size(), b.size()); ++i) {
    if (a[i] != b[i]) return !a[i];
  }
  return false;
}
}  // namespace

void Router::add(std::string method, std::string path, Access access, Handler handler) {
  if (path.empty() || path.front() != '/')
    throw std::logic_error("route must start with /: " + path);
  Compiled c;
  for (auto segment : split_path(path)) {
    bool param = segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
    if (!param && segment.find_first_of("{}") != std::string_view::npos) {
      throw std::logic_error("malformed route template: " + path);
    }
    c.segments.emplace_back(param ? segment.substr(1, segment.size() - 2) : segment);
    c.is_param.push_back(param);
  }
  for (const auto& r : routes_) {
    if (r.method == method && r.path == path) throw std::logic_error("duplicate route " + path);
  }
  routes_.push_back(
      Route{std::move(method), std::move(path), std::move(access), std::move(handler)});
  compiled_.push_back(std::move(c));
}

Router::Match Router::match(std::string_view method, std::string_view path) const {
  // Segments are views into path; only one with a '%' is decoded, into storage of its own. The
  // parameters are built once, for the route that wins, not for every candidate.
  auto raw = split_path(path);
  std::vector<std::string> decoded;
  std::vector<std::string_view> segments;
  segments.reserve(raw.size());
  for (auto s : raw) {
    if (s.find('%') == std::string_view::npos) {
      segments.push_back(s);
      continue;
    }
    auto d = percent_decode(s);
    if (!d) throw bad_request("the request path is not valid percent-encoding");
    decoded.reserve(raw.size());  // no reallocation: the views below must stay valid
    decoded.push_back(std::move(*d));
    segments.push_back(decoded.back());
  }

  Match best;
  const Compiled* best_shape = nullptr;
  const Compiled* best_route_shape = nullptr;
  for (std::size_t i = 0; i < routes_.size(); ++i) {
    const auto& c = compiled_[i];
    if (c.segments.size() != segments.size()) continue;
    bool ok = true;
    for (std::size_t s = 0; s < segments.size() && ok; ++s) {
      ok = c.is_param[s] ? !segments[s].empty() : c.segments[s] == segments[s];
    }
    if (!ok) continue;
    // A more specific template that matches the path shadows less specific ones entirely,
    // including their methods in Allow.
    if (best_shape && more_specific(best_shape->is_param, c.is_param)) continue;
    if (best_shape && more_specific(c.is_param, best_shape->is_param)) {
      best = Match{};
      best_route_shape = nullptr;
    }
    best_shape = &c;
    if (routes_[i].method == method) {
      best.route = &routes_[i];
      best_route_shape = &c;
    }
    best.allowed.push_back(routes_[i].method);
  }
  if (best.route) {
    best.allowed.clear();
    for (std::size_t s = 0; s < segments.size(); ++s) {
      if (best_route_shape->is_param[s]) {
        best.params.emplace_back(best_route_shape->segments[s], std::string(segments[s]));
      }
    }
  }
  return best;
}

}  // namespace cellfleet::http
