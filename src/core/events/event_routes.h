#pragma once
// The HTTP face of the event bus:
//   GET  /v1/events                                              an organization's retained
//        ?type=&after=&limit=&cursor=                            events, oldest first (replay)
//   GET  /v1/events/stream                                       the same, live (event_stream.h)
//   GET  /v1/admin/dead-letters?subscriber=&limit=&cursor=       platform administrator
//   POST /v1/admin/dead-letters/{subscriber}/{event_id}/retry    platform administrator

#include "core/events/dispatcher.h"
#include "core/http/router.h"
#include "storage/store.h"

namespace cellfleet::events {

// An event as the API shows it (GET /v1/events, the stream): without org_id.
nlohmann::json event_view(const Event& e);

void add_event_routes(http::Router& router, storage::Store& store, Dispatcher& dispatcher);

}  // namespace cellfleet::events
