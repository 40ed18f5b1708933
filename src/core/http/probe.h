#pragma once
// A minimal HTTP/1.1 GET for health probes (`cellfleet healthcheck`, the container image's
// HEALTHCHECK): the image carries no curl.

#include <chrono>
#include <cstdint>
#include <string>

namespace cellfleet::http {

struct ProbeResult {
  int status = 0;    // the HTTP status, 0 when no answer came
  std::string error;  // why there was no answer ("" when status != 0)
};

// GETs target (e.g. "/healthz") from host:port (an IP address) with Connection: close, giving up
// after timeout for the whole exchange. Never throws.
ProbeResult probe(const std::string& host, std::uint16_t port, const std::string& target,
                  std::chrono::milliseconds timeout);

}  // namespace cellfleet::http
