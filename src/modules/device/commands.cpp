#include "commands.h"

namespace cellfleet::device {

void Commands::register_routes(http::Router&) {}

}  // namespace cellfleet::device
