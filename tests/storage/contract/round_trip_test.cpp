// Items come back exactly as they were stored, and what cannot be stored exactly is refused.

#include <cstdint>
#include <limits>

#include "contract/fixture.h"

namespace cellfleet::storage::testing {

TEST_CASE("every attribute type comes back exactly as it was stored", "[contract]") {
  for_each_backend([](Fixture& f) {
    Item stored = item(f.pk("types"), "all");
    stored["unicode"] = "Ünïcödé — 电池 🔋";
    stored["empty_string"] = "";
    stored["int64_min"] = std::numeric_limits<std::int64_t>::min();
    stored["int64_max"] = std::numeric_limits<std::int64_t>::max();
    stored["uint64_max"] = std::numeric_limits<std::uint64_t>::max();
    stored["zero"] = 0;
    stored["negative"] = -42;
    stored["binary"] = Item::binary({0x00, 0xff, 0x10, 0x80, 0x00});
    stored["empty_binary"] = Item::binary({});
    stored["yes"] = true;
    stored["no"] = false;
    stored["nothing"] = nullptr;
    stored["list"] = Item::array({1, "two", Item::array({true, nullptr}), Item::object()});
    stored["map"] = {{"nested", {{"deeper", Item::array({-1, "x"})}}}, {"empty", Item::object()}};
    stored["version"] = 7;
    put(f.store, stored);

    const auto loaded = f.store.get(kTable, {f.pk("types"), "all"});
    REQUIRE(loaded);
    CHECK(*loaded == stored);
    CHECK(loaded->at("int64_min").get<std::int64_t>() == std::numeric_limits<std::int64_t>::min());
    CHECK(loaded->at("int64_max").get<std::int64_t>() == std::numeric_limits<std::int64_t>::max());
    CHECK(loaded->at("uint64_max").get<std::uint64_t>() ==
          std::numeric_limits<std::uint64_t>::max());
    CHECK(loaded->at("binary").is_binary());
    const std::vector<std::uint8_t>& bytes = loaded->at("binary").get_binary();
    CHECK(bytes == std::vector<std::uint8_t>{0x00, 0xff, 0x10, 0x80, 0x00});
    CHECK(loaded->at("unicode").get<std::string>() == "Ünïcödé — 电池 🔋");
    CHECK(loaded->at("nothing").is_null());
  });
}

TEST_CASE("a missing item is reported as absent", "[contract]") {
  for_each_backend([](Fixture& f) { CHECK_FALSE(f.store.get(kTable, {f.pk("nobody"), "here"})); });
}

TEST_CASE("a sort key may be empty for a single-item partition", "[contract]") {
  for_each_backend([](Fixture& f) {
    put(f.store, item(f.pk("single"), "", {{"n", 1}}));
    const auto loaded = f.store.get(kTable, {f.pk("single"), ""});
    REQUIRE(loaded);
    CHECK(loaded->at("n") == 1);
  });
}

TEST_CASE("a floating-point number is refused wherever it appears and nothing is written",
          "[contract]") {
  for_each_backend([](Fixture& f) {
    const Key key{f.pk("float"), "x"};
    CHECK_THROWS_AS(put(f.store, item(key.pk, key.sk, {{"price", 9.99}})), InvalidRequest);
    CHECK_THROWS_AS(put(f.store, item(key.pk, key.sk, {{"m", {{"deep", Item::array({1.5})}}}})),
                    InvalidRequest);
    CHECK_THROWS_AS(f.store.write({{Update{kTable, key, {{"price", 0.5}}, {}, {}}}}),
                    InvalidRequest);
    CHECK_THROWS_AS(
        f.store.put_many(kTable, {item(key.pk, "ok"), item(key.pk, "bad", {{"f", 1.0}})}),
        InvalidRequest);
    CHECK_FALSE(f.store.get(kTable, key));
    CHECK_FALSE(f.store.get(kTable, {key.pk, "ok"}));
  });
}

TEST_CASE("an item without a usable key is refused", "[contract]") {
  for_each_backend([](Fixture& f) {
    CHECK_THROWS_AS(put(f.store, Item{{"sk", "x"}}), InvalidRequest);
    CHECK_THROWS_AS(put(f.store, Item{{"pk", f.pk("no-sk")}}), InvalidRequest);
    CHECK_THROWS_AS(put(f.store, Item{{"pk", 5}, {"sk", "x"}}), InvalidRequest);
    CHECK_THROWS_AS(put(f.store, Item::array({1, 2})), InvalidRequest);
    CHECK_THROWS_AS(f.store.write({{Delete{kTable, {"", "x"}, {}}}}), InvalidRequest);
  });
}

TEST_CASE("version and expires_at must be integers", "[contract]") {
  for_each_backend([](Fixture& f) {
    CHECK_THROWS_AS(put(f.store, item(f.pk("v"), "x", {{"version", "3"}})), InvalidRequest);
    CHECK_THROWS_AS(put(f.store, item(f.pk("v"), "x", {{"expires_at", "soon"}})), InvalidRequest);
    CHECK_FALSE(f.store.get(kTable, {f.pk("v"), "x"}));
  });
}

TEST_CASE("an unknown table or index is refused", "[contract]") {
  for_each_backend([](Fixture& f) {
    CHECK_THROWS_AS(f.store.get("no_such_table", {f.pk("a"), "b"}), InvalidRequest);
    CHECK_THROWS_AS(f.store.write({{Put{"no_such_table", item(f.pk("a"), "b"), {}}}}),
                    InvalidRequest);
    CHECK_THROWS_AS(f.store.put_many("no_such_table", {item(f.pk("a"), "b")}), InvalidRequest);
    auto q = index_query("gsi9", f.pk("a"));
    CHECK_THROWS_AS(f.store.query(q), InvalidRequest);
    q = partition_query(f.pk("a"));
    q.table = "no_such_table";
    CHECK_THROWS_AS(f.store.query(q), InvalidRequest);
  });
}

TEST_CASE("an item larger than the item limit is refused and one just under it is stored",
          "[contract]") {
  for_each_backend([](Fixture& f) {
    const std::string too_big(kMaxItemBytes, 'x');
    CHECK_THROWS_AS(put(f.store, item(f.pk("big"), "x", {{"blob", too_big}})), InvalidRequest);
    CHECK_FALSE(f.store.get(kTable, {f.pk("big"), "x"}));

    const std::string fits(kMaxItemBytes - 1024, 'y');
    put(f.store, item(f.pk("big"), "y", {{"blob", fits}}));
    const auto loaded = f.store.get(kTable, {f.pk("big"), "y"});
    REQUIRE(loaded);
    CHECK(loaded->at("blob").get<std::string>().size() == fits.size());
  });
}

TEST_CASE("an update that would grow an item past the limit is refused and changes nothing",
          "[contract]") {
  for_each_backend([](Fixture& f) {
    const Key key{f.pk("big"), "grows"};
    put(f.store, item(key.pk, key.sk, {{"blob", std::string(kMaxItemBytes - 1024, 'y')}}));
    CHECK_THROWS_AS(
        f.store.write({{Update{kTable, key, {{"more", std::string(2048, 'z')}}, {}, {}}}}),
        InvalidRequest);
    CHECK_FALSE(f.store.get(kTable, key)->contains("more"));
  });
}

TEST_CASE("ping answers when the store is reachable", "[contract]") {
  for_each_backend([](Fixture& f) { CHECK_NOTHROW(f.store.ping()); });
}

}  // namespace cellfleet::storage::testing
