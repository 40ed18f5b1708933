#pragma once
// Commands: lock / unlock / permanent_unlock queued per pack, fetched and acknowledged by it.

#include "core/http/router.h"
#include "device_impl.h"

namespace cellfleet::device {

class Commands {
 public:
  explicit Commands(Context& context) : ctx_(context) {}
  void register_routes(http::Router& router);

 private:
  Context& ctx_;
};

}  // namespace cellfleet::device
