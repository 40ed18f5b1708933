#include "storage/dynamodb/sigv4.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <stdexcept>

namespace cellfleet::storage::dynamodb {
namespace {

constexpr std::string_view kAlgorithm = "AWS4-HMAC-SHA256";

std::string to_hex(const unsigned char* data, std::size_t size) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(size * 2, '\0');
  for (std::size_t i = 0; i < size; ++i) {
    out[2 * i] = kDigits[data[i] >> 4];
    out[2 * i + 1] = kDigits[data[i] & 0x0f];
  }
  return out;
}

std::string hmac_sha256(std::string_view key, std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest,
           &size) == nullptr) {
    throw std::runtime_error("sigv4: HMAC-SHA256 failed");
  }
  return std::string(reinterpret_cast<const char*>(digest), size);
}

std::string lowercase(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) {
    return static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  });
  return out;
}

bool is_unreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '.' || c == '~';
}

// RFC 3986 percent-encoding of everything but the unreserved set, with uppercase hex digits, as
// SigV4 requires (and unlike some URL libraries, which keep '+', '*' or '/').
std::string uri_encode(std::string_view s) {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    if (is_unreserved(c)) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kDigits[c >> 4];
      out += kDigits[c & 0x0f];
    }
  }
  return out;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Undoes %XX escapes; a '%' not followed by two hex digits stays literal. '+' stays '+': the
// query is signed as RFC 3986 text, where '+' is not a space.
std::string percent_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex_value(s[i + 1]) >= 0 && hex_value(s[i + 2]) >= 0) {
      out += static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

std::vector<std::string_view> split(std::string_view s, char separator) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  while (true) {
    std::size_t end = s.find(separator, start);
    parts.push_back(s.substr(start, end == std::string_view::npos ? end : end - start));
    if (end == std::string_view::npos) return parts;
    start = end + 1;
  }
}

std::string canonical_path(std::string_view path, bool s3_path_rules) {
  if (path.empty()) return "/";
  if (s3_path_rules) return std::string(path);
  // Dot-segment removal (RFC 3986 §5.2.4) plus collapsing empty segments, as AWS's own signers do.
  // A path ending in "/", "/." or "/.." names a directory and keeps its trailing slash.
  const bool trailing_slash = path.back() == '/' || path.ends_with("/.") || path.ends_with("/..");
  std::vector<std::string_view> segments;
  for (std::string_view segment : split(path, '/')) {
    if (segment.empty() || segment == ".") continue;
    if (segment == "..") {
      if (!segments.empty()) segments.pop_back();
      continue;
    }
    segments.push_back(segment);
  }
  std::string out;
  for (std::string_view segment : segments) out += "/" + uri_encode(segment);
  if (out.empty() || trailing_slash) out += '/';
  return out;
}

std::string canonical_query(std::string_view query) {
  if (query.empty()) return "";
  std::vector<std::pair<std::string, std::string>> params;
  for (std::string_view param : split(query, '&')) {
    if (param.empty()) continue;
    std::size_t equals = param.find('=');
    std::string_view name = param.substr(0, equals);
    std::string_view value = equals == std::string_view::npos ? "" : param.substr(equals + 1);
    params.emplace_back(uri_encode(percent_decode(name)), uri_encode(percent_decode(value)));
  }
  // Sorted by encoded name, then by encoded value, byte-wise.
  std::sort(params.begin(), params.end());
  std::string out;
  for (const auto& [name, value] : params) {
    if (!out.empty()) out += '&';
    out += name + "=" + value;
  }
  return out;
}

// Trims the value and collapses each run of spaces and tabs into one space.
std::string canonical_header_value(std::string_view value) {
  std::string out;
  bool in_space = false;
  for (char c : value) {
    if (c == ' ' || c == '\t') {
      in_space = true;
      continue;
    }
    if (in_space && !out.empty()) out += ' ';
    in_space = false;
    out += c;
  }
  return out;
}

struct Timestamp {
  std::string date_time;  // 20150830T123600Z
  std::string date;       // 20150830
};

Timestamp format_timestamp(std::chrono::sys_seconds when) {
  auto day = std::chrono::floor<std::chrono::days>(when);
  std::chrono::year_month_day ymd{day};
  std::chrono::hh_mm_ss time{when - day};
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%04d%02u%02uT%02d%02d%02dZ", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<int>(time.hours().count()), static_cast<int>(time.minutes().count()),
                static_cast<int>(time.seconds().count()));
  std::string date_time(buffer);
  return {date_time, date_time.substr(0, 8)};
}

}  // namespace

std::string sha256_hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (EVP_Digest(data.data(), data.size(), digest, &size, EVP_sha256(), nullptr) != 1) {
    throw std::runtime_error("sigv4: SHA-256 failed");
  }
  return to_hex(digest, size);
}

Signature sign_v4(const SigningRequest& request, const SigningScope& scope,
                  const Credentials& credentials, std::chrono::sys_seconds when,
                  const SigningOptions& options) {
  const Timestamp timestamp = format_timestamp(when);
  const std::string payload_hash =
      request.payload_hash ? *request.payload_hash : sha256_hex(request.body);
  Signature signature;
  signature.headers_to_add.emplace_back("X-Amz-Date", timestamp.date_time);
  const bool has_token = !credentials.session_token.empty();
  if (has_token)
    signature.headers_to_add.emplace_back("X-Amz-Security-Token", credentials.session_token);
  if (options.add_content_sha256) {
    signature.headers_to_add.emplace_back("X-Amz-Content-Sha256", payload_hash);
  }

  // Lowercased names in byte order; repeated headers keep their order, joined by commas.
  std::map<std::string, std::string> headers;
  auto add = [&headers](std::string_view name, std::string_view value) {
    std::string& joined = headers[lowercase(name)];
    if (!joined.empty()) joined += ',';
    joined += canonical_header_value(value);
  };
  for (const auto& [name, value] : request.headers) {
    const std::string lower = lowercase(name);
    if (lower == "authorization" || lower == "x-amz-date" || lower == "x-amz-security-token" ||
        lower == "x-amz-content-sha256") {
      throw std::invalid_argument("sigv4: header " + name + " is added by the signer");
    }
    add(name, value);
  }
  if (!headers.contains("host")) throw std::invalid_argument("sigv4: the Host header is required");
  for (const auto& [name, value] : signature.headers_to_add) {
    if (name == "X-Amz-Security-Token" && !options.sign_session_token) continue;
    add(name, value);
  }

  std::string canonical_headers;
  std::string signed_headers;
  for (const auto& [name, value] : headers) {
    canonical_headers += name + ":" + value + "\n";
    if (!signed_headers.empty()) signed_headers += ';';
    signed_headers += name;
  }

  signature.canonical_request = request.method + "\n" +
                                canonical_path(request.path, options.s3_path_rules) + "\n" +
                                canonical_query(request.query) + "\n" + canonical_headers + "\n" +
                                signed_headers + "\n" + payload_hash;

  const std::string credential_scope =
      timestamp.date + "/" + scope.region + "/" + scope.service + "/aws4_request";
  signature.string_to_sign = std::string(kAlgorithm) + "\n" + timestamp.date_time + "\n" +
                             credential_scope + "\n" + sha256_hex(signature.canonical_request);

  // The signing key is derived through the scope, so a leaked key is good for one day, region and
  // service only.
  std::string key = hmac_sha256("AWS4" + credentials.secret_access_key, timestamp.date);
  key = hmac_sha256(key, scope.region);
  key = hmac_sha256(key, scope.service);
  key = hmac_sha256(key, "aws4_request");
  const std::string raw = hmac_sha256(key, signature.string_to_sign);

  signature.authorization =
      std::string(kAlgorithm) + " Credential=" + credentials.access_key_id + "/" +
      credential_scope + ", SignedHeaders=" + signed_headers +
      ", Signature=" + to_hex(reinterpret_cast<const unsigned char*>(raw.data()), raw.size());
  signature.headers_to_add.emplace_back("Authorization", signature.authorization);
  return signature;
}

}  // namespace cellfleet::storage::dynamodb
