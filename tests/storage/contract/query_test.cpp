// query(): sort-key conditions, byte order, pages, cursors and sparse indexes.

#include <algorithm>
#include <cstdio>

#include "contract/fixture.h"

namespace cellfleet::storage::testing {

namespace {

std::string numbered(int i) {
  char text[16];
  std::snprintf(text, sizeof text, "k%04d", i);
  return text;
}

std::vector<std::string> reversed(std::vector<std::string> keys) {
  std::reverse(keys.begin(), keys.end());
  return keys;
}

std::vector<std::string> matching(const Fixture& f, const SortCondition& condition,
                                  bool forward = true) {
  auto q = partition_query(f.pk("sorted"));
  q.sort = condition;
  q.forward = forward;
  return sort_keys(query_all(f.store, q));
}

}  // namespace

TEST_CASE("paging visits every item exactly once in order, in both directions", "[contract]") {
  for_each_backend([](Fixture& f) {
    std::vector<Item> items;
    std::vector<std::string> expected;
    for (int i = 0; i < 250; ++i) {
      items.push_back(item(f.pk("paged"), numbered(i)));
      expected.push_back(numbered(i));
    }
    f.store.put_many(kTable, items);

    auto q = partition_query(f.pk("paged"));
    q.limit = 7;
    int pages = 0;
    std::vector<std::string> seen;
    for (;;) {
      const auto page = f.store.query(q);
      ++pages;
      CHECK(page.items.size() <= 7);
      for (const auto& i : page.items) seen.push_back(i.at("sk").get<std::string>());
      if (page.next_cursor.empty()) break;
      q.cursor = page.next_cursor;
    }
    CHECK(seen == expected);
    CHECK(pages == 36);

    q.cursor.clear();
    q.forward = false;
    CHECK(sort_keys(query_all(f.store, q)) == reversed(expected));
  });
}

TEST_CASE("the last page carries no cursor", "[contract]") {
  for_each_backend([](Fixture& f) {
    for (int i = 0; i < 3; ++i) put(f.store, item(f.pk("three"), numbered(i)));
    auto q = partition_query(f.pk("three"));
    q.limit = 3;
    const auto page = f.store.query(q);
    CHECK(page.items.size() == 3);
    CHECK(page.next_cursor.empty());
    q.partition = f.pk("empty");
    const auto none = f.store.query(q);
    CHECK(none.items.empty());
    CHECK(none.next_cursor.empty());
  });
}

TEST_CASE("every sort-key condition selects exactly the matching items", "[contract]") {
  for_each_backend([](Fixture& f) {
    for (const char* sk : {"a", "ab", "abc", "abd", "b", "ba", "c"}) {
      put(f.store, item(f.pk("sorted"), sk));
    }
    using Op = SortCondition::Op;
    using Keys = std::vector<std::string>;
    CHECK(matching(f, {Op::eq, "ab", ""}) == Keys{"ab"});
    CHECK(matching(f, {Op::eq, "zz", ""}).empty());
    CHECK(matching(f, {Op::begins_with, "ab", ""}) == Keys{"ab", "abc", "abd"});
    CHECK(matching(f, {Op::begins_with, "ab", ""}, false) == Keys{"abd", "abc", "ab"});
    CHECK(matching(f, {Op::begins_with, "", ""}).size() == 7);
    CHECK(matching(f, {Op::between, "ab", "b"}) == Keys{"ab", "abc", "abd", "b"});
    CHECK(matching(f, {Op::between, "ab", "b"}, false) == Keys{"b", "abd", "abc", "ab"});
    CHECK(matching(f, {Op::lt, "abc", ""}) == Keys{"a", "ab"});
    CHECK(matching(f, {Op::le, "abc", ""}) == Keys{"a", "ab", "abc"});
    CHECK(matching(f, {Op::gt, "b", ""}) == Keys{"ba", "c"});
    CHECK(matching(f, {Op::ge, "b", ""}) == Keys{"b", "ba", "c"});
    CHECK(matching(f, {Op::ge, "b", ""}, false) == Keys{"c", "ba", "b"});
  });
}

TEST_CASE("sort keys order as unsigned UTF-8 bytes", "[contract]") {
  for_each_backend([](Fixture& f) {
    // Byte order, not locale order: upper case before lower case, and every multi-byte
    // character (lead byte >= 0xC2) after ASCII.
    const std::vector<std::string> ordered = {"A", "Z", "a", "z", "é", "中", "🔋"};
    for (auto i = ordered.rbegin(); i != ordered.rend(); ++i) put(f.store, item(f.pk("bytes"), *i));
    auto q = partition_query(f.pk("bytes"));
    CHECK(sort_keys(query_all(f.store, q)) == ordered);

    q.sort = SortCondition{SortCondition::Op::begins_with, "\xe4", ""};
    CHECK(sort_keys(query_all(f.store, q)) == std::vector<std::string>{"中"});
  });
}

TEST_CASE("a prefix and its wildcard-looking characters match literally", "[contract]") {
  for_each_backend([](Fixture& f) {
    for (const char* sk : {"100%", "100x", "a_b", "aXb", "A_b"})
      put(f.store, item(f.pk("lit"), sk));
    auto q = partition_query(f.pk("lit"));
    q.sort = SortCondition{SortCondition::Op::begins_with, "100%", ""};
    CHECK(sort_keys(query_all(f.store, q)) == std::vector<std::string>{"100%"});
    q.sort = SortCondition{SortCondition::Op::begins_with, "a_", ""};
    CHECK(sort_keys(query_all(f.store, q)) == std::vector<std::string>{"a_b"});
  });
}

TEST_CASE("an index query returns only items carrying both index keys, in a stable order",
          "[contract]") {
  for_each_backend([](Fixture& f) {
    const std::string overdue = f.pk("overdue");
    // Equal index sort keys on purpose: order among them falls back to (pk, sk).
    for (int i = 0; i < 30; ++i) {
      put(f.store, item(f.pk("loan") + numbered(i % 3), numbered(i),
                        {{"gsi1pk", overdue}, {"gsi1sk", "day" + std::to_string(i % 4)}}));
    }
    put(f.store, item(f.pk("loan"), "partition-only", {{"gsi1pk", overdue}}));
    put(f.store, item(f.pk("loan"), "sort-only", {{"gsi1sk", "day0"}}));
    put(f.store, item(f.pk("loan"), "not-strings", {{"gsi1pk", 5}, {"gsi1sk", "day0"}}));
    put(f.store, item(f.pk("loan"), "other-index", {{"gsi2pk", overdue}, {"gsi2sk", "day0"}}));

    auto q = index_query("gsi1", overdue);
    const auto all = query_all(f.store, q);
    REQUIRE(all.size() == 30);
    auto in_order = [](const Item& x, const Item& y) {
      return std::tie(x.at("gsi1sk").get_ref<const std::string&>(),
                      x.at("pk").get_ref<const std::string&>(),
                      x.at("sk").get_ref<const std::string&>()) <
             std::tie(y.at("gsi1sk").get_ref<const std::string&>(),
                      y.at("pk").get_ref<const std::string&>(),
                      y.at("sk").get_ref<const std::string&>());
    };
    CHECK(std::is_sorted(all.begin(), all.end(), in_order));

    q.limit = 4;
    CHECK(query_all(f.store, q) == all);
    q.forward = false;
    auto backwards = query_all(f.store, q);
    std::reverse(backwards.begin(), backwards.end());
    CHECK(backwards == all);

    auto by_day = index_query("gsi1", overdue);
    by_day.sort = SortCondition{SortCondition::Op::eq, "day1", ""};
    CHECK(query_all(f.store, by_day).size() == 8);  // i % 4 == 1 for i in 0..29

    auto other = index_query("gsi2", overdue);
    CHECK(sort_keys(query_all(f.store, other)) == std::vector<std::string>{"other-index"});
  });
}

TEST_CASE("a cursor not made by the same query is refused", "[contract]") {
  for_each_backend([](Fixture& f) {
    for (int i = 0; i < 5; ++i) put(f.store, item(f.pk("cur"), numbered(i)));
    auto q = partition_query(f.pk("cur"));
    q.limit = 2;
    const auto cursor = f.store.query(q).next_cursor;
    REQUIRE_FALSE(cursor.empty());

    for (const auto& garbage :
         std::vector<std::string>{"not a cursor", "AAAA", "!!!!", "e30", cursor + "x"}) {
      q.cursor = garbage;
      CHECK_THROWS_AS(f.store.query(q), InvalidRequest);
    }
    auto elsewhere = partition_query(f.pk("other"));
    elsewhere.cursor = cursor;
    CHECK_THROWS_AS(f.store.query(elsewhere), InvalidRequest);
  });
}

TEST_CASE("a limit outside 1..1000 is refused", "[contract]") {
  for_each_backend([](Fixture& f) {
    auto q = partition_query(f.pk("lim"));
    q.limit = 0;
    CHECK_THROWS_AS(f.store.query(q), InvalidRequest);
    q.limit = 1001;
    CHECK_THROWS_AS(f.store.query(q), InvalidRequest);
    q.limit = 1000;
    CHECK(f.store.query(q).items.empty());
  });
}

}  // namespace cellfleet::storage::testing
