#include "storage/dynamodb/cursor.h"

#include <openssl/evp.h>

#include <algorithm>

namespace cellfleet::storage::dynamodb {
namespace {

using nlohmann::json;

json owner(const Query& query) {
  return {{"t", query.table}, {"i", query.index.value_or("")}, {"p", query.partition}};
}

std::string base64url(const std::string& bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3), '\0');
  const int size = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                   reinterpret_cast<const unsigned char*>(bytes.data()),
                                   static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(size));
  while (!out.empty() && out.back() == '=') out.pop_back();
  std::replace(out.begin(), out.end(), '+', '-');
  std::replace(out.begin(), out.end(), '/', '_');
  return out;
}

std::string from_base64url(std::string_view text) {
  if (text.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") !=
          std::string_view::npos ||
      text.size() % 4 == 1) {
    throw InvalidRequest("malformed cursor");
  }
  std::string padded(text);
  std::replace(padded.begin(), padded.end(), '-', '+');
  std::replace(padded.begin(), padded.end(), '_', '/');
  const std::size_t padding = (4 - padded.size() % 4) % 4;
  padded.append(padding, '=');
  std::string out(padded.size() / 4 * 3, '\0');
  const int size = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                   reinterpret_cast<const unsigned char*>(padded.data()),
                                   static_cast<int>(padded.size()));
  if (size < 0) throw InvalidRequest("malformed cursor");
  out.resize(static_cast<std::size_t>(size) - padding);
  return out;
}

}  // namespace

std::string encode_cursor(const Query& query, const json& last_evaluated_key) {
  json cursor = owner(query);
  cursor["k"] = last_evaluated_key;
  return base64url(cursor.dump());
}

json decode_cursor(const Query& query, std::string_view text) {
  const json cursor = json::parse(from_base64url(text), nullptr, /*allow_exceptions=*/false);
  if (!cursor.is_object() || !cursor.contains("k") || !cursor["k"].is_object()) {
    throw InvalidRequest("malformed cursor");
  }
  const json expected = owner(query);
  for (const auto& [name, value] : expected.items()) {
    if (cursor.value(name, json()) != value) {
      throw InvalidRequest("cursor belongs to another query");
    }
  }
  return cursor["k"];
}

}  // namespace cellfleet::storage::dynamodb
