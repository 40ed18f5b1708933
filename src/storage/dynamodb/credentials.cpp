#include "storage/dynamodb/credentials.h"

#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <optional>

#include <nlohmann/json.hpp>

#include "storage/dynamodb/http_client.h"
#include "storage/store.h"

namespace cellfleet::storage::dynamodb {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

// Renewed this long before they expire: ECS offers new ones well ahead, and a request signed just
// before expiry may arrive just after.
constexpr auto kRenewBefore = 5min;

std::string environment(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? std::string() : std::string(value);
}

// "2026-11-26T06:12:34Z" -> that instant; nullopt for anything else.
std::optional<std::chrono::sys_seconds> parse_iso8601(const std::string& text) {
  int year = 0;
  unsigned month = 0, day = 0;
  int hour = 0, minute = 0, second = 0;
  if (std::sscanf(text.c_str(), "%4d-%2u-%2uT%2d:%2d:%2d", &year, &month, &day, &hour, &minute,
                  &second) != 6) {
    return std::nullopt;
  }
  const std::chrono::year_month_day date{std::chrono::year{year}, std::chrono::month{month},
                                         std::chrono::day{day}};
  if (!date.ok()) return std::nullopt;
  return std::chrono::sys_days{date} + std::chrono::hours{hour} + std::chrono::minutes{minute} +
         std::chrono::seconds{second};
}

class FixedCredentials : public CredentialsProvider {
 public:
  explicit FixedCredentials(Credentials credentials) : credentials_(std::move(credentials)) {}
  Credentials current() override { return credentials_; }

 private:
  Credentials credentials_;
};

class ContainerCredentials : public CredentialsProvider {
 public:
  ContainerCredentials(std::string url, std::string authorization, Clock clock)
      : authorization_(std::move(authorization)), clock_(std::move(clock)) {
    const std::size_t path = url.find('/', url.find("://") + 3);
    target_ = path == std::string::npos ? "/" : url.substr(path);
    const Endpoint endpoint = parse_endpoint(url.substr(0, path));
    if (endpoint.tls) throw std::invalid_argument("container credentials are served over http");
    HttpClientOptions options;
    options.max_idle_connections = 1;
    options.connect_timeout = 1s;
    options.request_timeout = 2s;
    http_ = std::make_unique<HttpClient>(endpoint, options);
  }

  Credentials current() override {
    std::lock_guard lock(mutex_);
    const auto now = clock_();
    if (cached_ && now < expiration_ - kRenewBefore) return *cached_;
    try {
      fetch();
    } catch (const StoreError&) {
      // Keys that have not expired yet still sign; the next call tries again.
      if (cached_ && now < expiration_) return *cached_;
      throw;
    }
    return *cached_;
  }

 private:
  void fetch() {
    std::vector<std::pair<std::string, std::string>> headers;
    if (!authorization_.empty()) headers.emplace_back("Authorization", authorization_);
    HttpResponse response;
    try {
      response = http_->get(target_, headers);
    } catch (const TransportError& error) {
      throw Unavailable(std::string("container credentials: ") + error.what());
    }
    const json document = json::parse(response.body, nullptr, /*allow_exceptions=*/false);
    const auto expiration = document.is_object()
                                ? parse_iso8601(document.value("Expiration", std::string()))
                                : std::nullopt;
    if (response.status != 200 || !expiration || !document.contains("AccessKeyId") ||
        !document.contains("SecretAccessKey")) {
      throw Unavailable("container credentials: unusable answer, HTTP " +
                        std::to_string(response.status));
    }
    cached_ = Credentials{document["AccessKeyId"].get<std::string>(),
                          document["SecretAccessKey"].get<std::string>(),
                          document.value("Token", std::string())};
    expiration_ = *expiration;
  }

  std::string target_;
  std::string authorization_;
  Clock clock_;
  std::unique_ptr<HttpClient> http_;
  std::mutex mutex_;
  std::optional<Credentials> cached_;
  std::chrono::sys_seconds expiration_{};
};

}  // namespace

std::unique_ptr<CredentialsProvider> fixed_credentials(Credentials credentials) {
  return std::make_unique<FixedCredentials>(std::move(credentials));
}

std::unique_ptr<CredentialsProvider> container_credentials(std::string url,
                                                           std::string authorization, Clock clock) {
  return std::make_unique<ContainerCredentials>(std::move(url), std::move(authorization),
                                                std::move(clock));
}

std::unique_ptr<CredentialsProvider> credentials_from_environment(Clock clock) {
  Credentials keys{environment("AWS_ACCESS_KEY_ID"), environment("AWS_SECRET_ACCESS_KEY"),
                   environment("AWS_SESSION_TOKEN")};
  if (!keys.access_key_id.empty() && !keys.secret_access_key.empty()) {
    return fixed_credentials(std::move(keys));
  }
  const std::string relative = environment("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
  const std::string full = environment("AWS_CONTAINER_CREDENTIALS_FULL_URI");
  if (!relative.empty() || !full.empty()) {
    return container_credentials(relative.empty() ? full : "http://169.254.170.2" + relative,
                                 environment("AWS_CONTAINER_AUTHORIZATION_TOKEN"),
                                 std::move(clock));
  }
  throw std::invalid_argument(
      "dynamodb: no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (any values for "
      "DynamoDB Local), or run with an ECS task role");
}

}  // namespace cellfleet::storage::dynamodb
