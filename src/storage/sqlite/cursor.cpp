#include "storage/sqlite/cursor.h"

#include "storage/sqlite/base64.h"

namespace cellfleet::storage::sqlite {

namespace {

// Bumped when the cursor's content changes, so an old cursor is refused instead of misread.
constexpr int kCursorFormat = 1;

Item query_identity(const Query& query) {
  return {{"f", kCursorFormat},
          {"t", query.table},
          {"i", query.index ? Item(*query.index) : Item(nullptr)},
          {"p", query.partition}};
}

[[noreturn]] void foreign_cursor() {
  throw InvalidRequest("the cursor was not returned by this query; start again without a cursor");
}

}  // namespace

std::string encode_cursor(const Query& query, const CursorPosition& position) {
  Item cursor = query_identity(query);
  cursor["pk"] = position.key.pk;
  cursor["sk"] = position.key.sk;
  if (position.index_sort) cursor["isk"] = *position.index_sort;
  // CBOR rather than JSON text: a key that is not valid UTF-8 still round-trips.
  return base64url_encode(Item::to_cbor(cursor));
}

CursorPosition decode_cursor(const Query& query, std::string_view text) {
  const auto bytes = base64url_decode(text);
  if (!bytes) foreign_cursor();
  Item cursor;
  try {
    cursor = Item::from_cbor(*bytes);
  } catch (const nlohmann::json::exception&) {
    foreign_cursor();
  }
  if (!cursor.is_object()) foreign_cursor();
  Item identity = query_identity(query);
  for (const auto& [name, value] : identity.items()) {
    if (!cursor.contains(name) || cursor[name] != value) foreign_cursor();
  }
  const auto pk = cursor.find("pk");
  const auto sk = cursor.find("sk");
  if (pk == cursor.end() || sk == cursor.end() || !pk->is_string() || !sk->is_string()) {
    foreign_cursor();
  }
  CursorPosition position{{pk->get<std::string>(), sk->get<std::string>()}, std::nullopt};
  const auto index_sort = cursor.find("isk");
  if (query.index) {
    if (index_sort == cursor.end() || !index_sort->is_string()) foreign_cursor();
    position.index_sort = index_sort->get<std::string>();
  }
  return position;
}

}  // namespace cellfleet::storage::sqlite
