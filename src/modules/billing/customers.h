#pragma once
// Customers, the renters: create, read, update (status too) and list/search over HTTP, and the
// CustomerDirectory other modules ask synchronously.
//
//   POST  /v1/customers                  201, Location, ETag; 409 when the phone is taken
//   GET   /v1/customers/{customer_id}    ETag
//   PATCH /v1/customers/{customer_id}    If-Match optional, 412 when stale (as packs)
//   GET   /v1/customers?phone=&name=&status=&limit=&cursor=
//
// Each change publishes an event in its own batch: customer.created, customer.updated.

#include <optional>
#include <string>

#include "billing_impl.h"
#include "contracts/customer_directory.h"
#include "core/error.h"
#include "core/http/router.h"

namespace cellfleet::billing {

class Customers : public contracts::CustomerDirectory {
 public:
  explicit Customers(Context& context) : ctx_(context) {}
  void register_routes(http::Router& router);

  std::optional<contracts::CustomerInfo> find_customer(const std::string& org_id,
                                                       const std::string& customer_id) override;

 private:
  http::Response create(http::Request& req);
  http::Response get(http::Request& req);
  http::Response update(http::Request& req);
  http::Response list(http::Request& req);

  // The 409 for a phone another customer of the organization holds, naming that customer.
  Error phone_taken(const std::string& org_id, const std::string& phone) const;

  Context& ctx_;
};

}  // namespace cellfleet::billing
