// Items with expires_at vanish from reads once "now" reaches it, whether or not a purge ran.

#include "contract/fixture.h"

namespace cellfleet::storage::testing {

TEST_CASE("an expired item is hidden from get and query once the clock passes its expiry",
          "[contract]") {
  for_each_backend([](Fixture& f) {
    const Key key{f.pk("session"), "s1"};
    const std::string index_partition = f.pk("sessions");
    put(f.store,
        item(key.pk, key.sk,
             {{"expires_at", kStartOfTime + 60}, {"gsi1pk", index_partition}, {"gsi1sk", "s1"}}));
    put(f.store, item(key.pk, "s2-forever"));
    auto by_pk = partition_query(key.pk);
    auto by_index = index_query("gsi1", index_partition);

    f.now = kStartOfTime + 59;
    CHECK(f.store.get(kTable, key));
    CHECK(query_all(f.store, by_pk).size() == 2);
    CHECK(query_all(f.store, by_index).size() == 1);

    // expires_at is the first second the item is gone.
    f.now = kStartOfTime + 60;
    CHECK_FALSE(f.store.get(kTable, key));
    CHECK(sort_keys(query_all(f.store, by_pk)) == std::vector<std::string>{"s2-forever"});
    CHECK(query_all(f.store, by_index).empty());

    // Moving the clock back shows it again: expiry is a function of the clock, not a deletion.
    f.now = kStartOfTime;
    CHECK(f.store.get(kTable, key));
  });
}

TEST_CASE("an expired item counts as absent for conditions and updates", "[contract]") {
  for_each_backend([](Fixture& f) {
    const Key key{f.pk("lease"), "worker"};
    put(f.store, item(key.pk, key.sk, {{"expires_at", kStartOfTime + 10}, {"owner", "a"}}),
        Condition::must_not_exist());
    CHECK_THROWS_AS(
        put(f.store, item(key.pk, key.sk, {{"owner", "b"}}), Condition::must_not_exist()),
        ConditionFailed);

    f.now = kStartOfTime + 10;
    CHECK_THROWS_AS(f.store.write({{Check{kTable, key, Condition::must_exist()}}}),
                    ConditionFailed);
    // A lease that ran out can be taken over.
    put(f.store, item(key.pk, key.sk, {{"owner", "b"}}), Condition::must_not_exist());
    CHECK(f.store.get(kTable, key)->at("owner") == "b");

    // An update of an expired item starts from nothing rather than reviving old attributes.
    const Key old{f.pk("lease"), "old"};
    f.now = kStartOfTime;
    put(f.store, item(old.pk, old.sk, {{"expires_at", kStartOfTime + 5}, {"stale", true}}));
    f.now = kStartOfTime + 5;
    f.store.write({{Update{kTable, old, {{"fresh", true}}, {}, {}}}});
    CHECK(*f.store.get(kTable, old) == item(old.pk, old.sk, {{"fresh", true}}));
  });
}

TEST_CASE("removing expires_at makes an item permanent", "[contract]") {
  for_each_backend([](Fixture& f) {
    const Key key{f.pk("draft"), "d"};
    put(f.store, item(key.pk, key.sk, {{"expires_at", kStartOfTime + 1}}));
    f.store.write({{Update{kTable, key, Item::object(), {"expires_at"}, {}}}});
    f.now = kStartOfTime + 1000;
    CHECK(f.store.get(kTable, key));
  });
}

}  // namespace cellfleet::storage::testing
