#pragma once
// Maps (method, path) to a handler. Templates are literal segments and "{name}" parameters:
// "/v1/devices/{id}/commands". When several templates match a path, the one with a literal
// segment earliest wins ("/v1/devices/export" over "/v1/devices/{id}").

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/auth.h"
#include "core/http/message.h"

namespace cellfleet::http {

using Handler = std::function<Response(Request&)>;

// The handler that calls object->method(req): for classes whose member functions are routes.
// object must outlive the router.
template <class T>
Handler member_handler(T* object, Response (T::*method)(Request&)) {
  return [object, method](Request& req) { return (object->*method)(req); };
}

struct Route {
  std::string method;
  std::string path;  // the template
  Access access;     // who may call it, enforced by the Dispatcher
  Handler handler;
};

class Router {
 public:
  // Throws std::logic_error for a malformed template or a duplicate (method, template).
  void add(std::string method, std::string path, Access access, Handler handler);

  struct Match {
    const Route* route = nullptr;  // set when path and method matched
    std::vector<std::pair<std::string, std::string>> params;
    std::vector<std::string> allowed;  // methods of the path when route is null
  };
  // Throws a 400 Error when a path segment is not valid percent-encoding.
  Match match(std::string_view method, std::string_view path) const;

  const std::vector<Route>& routes() const { return routes_; }

 private:
  struct Compiled {
    std::vector<std::string> segments;  // literal text, or the parameter name
    std::vector<bool> is_param;
  };
  std::vector<Route> routes_;
  std::vector<Compiled> compiled_;
};

}  // namespace cellfleet::http
