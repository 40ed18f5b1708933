#pragma once
// Payment providers' webhooks: a mobile-money (or card) provider tells cellfleet that a customer
// paid, and cellfleet records the payment once however often the provider delivers the call.
//
//   POST /v1/webhook-secrets {"provider": "mpesa"}   owner/admin: makes (or rotates) the
//        organization's signing secret for provider and shows it once, with the webhook path.
//        The previous secret keeps working for 24 hours, so the provider can be switched over.
//   POST /v1/webhooks/payments/{provider}?org=<org id>   called by the provider, no API key:
//        X-Cellfleet-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>
//        body {"transaction_id", "amount", "currency", "account", "occurred_at"?}
//        account is the contract id the customer paid for, or the customer's phone (E.164).
//        201 {"payment_id", "duplicate": false} the first time; 200 with the same payment_id and
//        "duplicate": true for a redelivery (deduplicated by provider + transaction_id).
//        401 for a missing or wrong signature, a timestamp more than 5 minutes away, an unknown
//        organization or provider: the caller learns nothing about which.
//
// Item: org#<org>#provider#<provider>  sk webhook  {secret, previous_secret,
// previous_valid_until, rotated_at}. The secret must be stored as is (an HMAC needs it); it is
// never shown again after the call that made it.

#include "billing_impl.h"
#include "core/http/router.h"
#include "payments.h"

namespace cellfleet::billing {

class Webhooks {
 public:
  Webhooks(Context& context, Payments& payments) : ctx_(context), payments_(payments) {}
  void register_routes(http::Router& router);

 private:
  http::Response rotate_secret(http::Request& req);
  http::Response receive(http::Request& req);

  Context& ctx_;
  Payments& payments_;
};

// The signature header value for body at t (what a provider sends; tests use it too).
std::string webhook_signature(const std::string& secret, std::int64_t t, const std::string& body);

}  // namespace cellfleet::billing
