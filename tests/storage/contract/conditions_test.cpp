// write(): conditions, atomicity and the limits of a batch.

#include "contract/fixture.h"

namespace cellfleet::storage::testing {

namespace {

// The ConditionFailed a write throws; fails the test when it throws nothing or something else.
ConditionFailed condition_failure(Store& store, const WriteBatch& batch) {
  try {
    store.write(batch);
  } catch (const ConditionFailed& failure) {
    return failure;
  }
  FAIL("the write did not fail its condition");
  throw std::logic_error("unreachable");
}

}  // namespace

TEST_CASE("must_not_exist creates an item once and then fails naming it", "[contract]") {
  for_each_backend([](Fixture& f) {
    const Key key{f.pk("inbox"), "evt_1"};
    put(f.store, item(key.pk, key.sk, {{"n", 1}}), Condition::must_not_exist());
    const auto failure = condition_failure(
        f.store, {{Put{kTable, item(key.pk, key.sk, {{"n", 2}}), Condition::must_not_exist()}}});
    CHECK(failure.table == kTable);
    CHECK(failure.key == key);
    CHECK(failure.op_index == 0);
    CHECK(f.store.get(kTable, key)->at("n") == 1);
  });
}

TEST_CASE("must_exist fails on a missing item and holds on a present one", "[contract]") {
  for_each_backend([](Fixture& f) {
    const Key key{f.pk("device"), "dev_1"};
    condition_failure(
        f.store, {{Update{kTable, key, {{"state", "deployed"}}, {}, Condition::must_exist()}}});
    CHECK_FALSE(f.store.get(kTable, key));
    condition_failure(f.store, {{Delete{kTable, key, Condition::must_exist()}}});

    put(f.store, item(key.pk, key.sk, {{"state", "in_stock"}}));
    f.store.write({{Update{kTable, key, {{"state", "deployed"}}, {}, Condition::must_exist()}}});
    CHECK(f.store.get(kTable, key)->at("state") == "deployed");
    f.store.write({{Delete{kTable, key, Condition::must_exist()}}});
    CHECK_FALSE(f.store.get(kTable, key));
  });
}

TEST_CASE("version_is holds only for the stored version", "[contract]") {
  for_each_backend([](Fixture& f) {
    const Key key{f.pk("contract"), "c1"};
    condition_failure(
        f.store, {{Put{kTable, item(key.pk, key.sk, {{"version", 1}}), Condition::version_is(0)}}});
    put(f.store, item(key.pk, key.sk, {{"version", 1}, {"balance", 100}}));
    condition_failure(f.store,
                      {{Update{kTable, key, {{"version", 3}}, {}, Condition::version_is(2)}}});
    f.store.write(
        {{Update{kTable, key, {{"version", 2}, {"balance", 50}}, {}, Condition::version_is(1)}}});
    const auto loaded = f.store.get(kTable, key);
    CHECK(loaded->at("version") == 2);
    CHECK(loaded->at("balance") == 50);

    // An item without a version attribute matches no version.
    put(f.store, item(key.pk, "unversioned"));
    condition_failure(f.store,
                      {{Check{kTable, {key.pk, "unversioned"}, Condition::version_is(0)}}});
    condition_failure(
        f.store,
        {{Put{kTable, item(key.pk, "unversioned", {{"version", 1}}), Condition::version_is(0)}}});
  });
}

TEST_CASE("a conditional Put replaces the stored item only when its condition holds",
          "[contract]") {
  for_each_backend([](Fixture& f) {
    const Key key{f.pk("latest"), "latest"};
    put(f.store, item(key.pk, key.sk,
                      {{"version", 1}, {"soc", 10}, {"gsi1pk", f.pk("seen")}, {"gsi1sk", "0001"}}));
    // A stale version, alone or among write_each's batches, changes nothing.
    condition_failure(f.store, {{Put{kTable, item(key.pk, key.sk, {{"version", 3}, {"soc", 30}}),
                                     Condition::version_is(2)}}});
    const auto outcomes = f.store.write_each(
        {{{Put{kTable, item(key.pk, key.sk, {{"version", 3}, {"soc", 31}}),
               Condition::version_is(2)}}},
         {{Put{kTable, item(f.pk("other"), "x", {{"version", 1}}), Condition::must_not_exist()}}}});
    REQUIRE(outcomes.size() == 2);
    CHECK(outcomes[0].has_value());
    CHECK_FALSE(outcomes[1].has_value());
    condition_failure(
        f.store,
        {{Put{kTable, item(key.pk, key.sk, {{"version", 9}}), Condition::must_not_exist()}}});
    CHECK(f.store.get(kTable, key)->at("soc") == 10);

    // The stored version: the whole item is replaced, attributes and index keys included.
    const auto replaced = f.store.write_each({{{Put{
        kTable,
        item(key.pk, key.sk,
             {{"version", 2}, {"online", true}, {"gsi1pk", f.pk("seen")}, {"gsi1sk", "0002"}}),
        Condition::version_is(1)}}}});
    CHECK_FALSE(replaced.at(0).has_value());
    const auto stored = f.store.get(kTable, key);
    CHECK(stored->at("version") == 2);
    CHECK_FALSE(stored->contains("soc"));
    CHECK(stored->at("online") == true);
    const auto seen = query_all(f.store, index_query("gsi1", f.pk("seen")));
    REQUIRE(seen.size() == 1);
    CHECK(seen[0].at("gsi1sk") == "0002");

    // An expired item holds no version, and must_not_exist may create it again.
    put(f.store, item(key.pk, "old", {{"version", 1}, {"expires_at", f.now.load()}}));
    condition_failure(
        f.store, {{Put{kTable, item(key.pk, "old", {{"version", 2}}), Condition::version_is(1)}}});
    put(f.store, item(key.pk, "old", {{"version", 1}, {"fresh", true}}),
        Condition::must_not_exist());
    CHECK(f.store.get(kTable, {key.pk, "old"})->at("fresh") == true);
  });
}

TEST_CASE("a batch with one failing condition writes nothing and names the failing operation",
          "[contract]") {
  for_each_backend([](Fixture& f) {
    put(f.store, item(f.pk("acct"), "existing", {{"version", 5}}));
    put(f.store, item(f.pk("acct"), "doomed"));
    const WriteBatch batch{{
        Put{kTable, item(f.pk("acct"), "new"), Condition::must_not_exist()},
        Update{kTable, {f.pk("acct"), "existing"}, {{"version", 6}}, {}, Condition::version_is(5)},
        Delete{kTable, {f.pk("acct"), "doomed"}, {}},
        Check{kTable, {f.pk("acct"), "missing"}, Condition::must_exist()},
        Put{kTable, item(f.pk("acct"), "later"), {}},
    }};
    const auto failure = condition_failure(f.store, batch);
    CHECK(failure.op_index == 3);
    CHECK(failure.key == Key{f.pk("acct"), "missing"});

    CHECK_FALSE(f.store.get(kTable, {f.pk("acct"), "new"}));
    CHECK(f.store.get(kTable, {f.pk("acct"), "existing"})->at("version") == 5);
    CHECK(f.store.get(kTable, {f.pk("acct"), "doomed"}));
    CHECK_FALSE(f.store.get(kTable, {f.pk("acct"), "later"}));
  });
}

TEST_CASE("a batch whose conditions all hold applies every operation", "[contract]") {
  for_each_backend([](Fixture& f) {
    put(f.store, item(f.pk("ledger"), "balance", {{"version", 1}, {"amount", 10}}));
    put(f.store, item(f.pk("ledger"), "stale"));
    f.store.write({{
        Update{kTable,
               {f.pk("ledger"), "balance"},
               {{"version", 2}, {"amount", 25}},
               {},
               Condition::version_is(1)},
        Put{kTable, item(f.pk("ledger"), "payment#1", {{"amount", 15}}),
            Condition::must_not_exist()},
        Delete{kTable, {f.pk("ledger"), "stale"}, Condition::must_exist()},
        Check{kTable, {f.pk("ledger"), "absent"}, Condition::must_not_exist()},
    }});
    CHECK(f.store.get(kTable, {f.pk("ledger"), "balance"})->at("amount") == 25);
    CHECK(f.store.get(kTable, {f.pk("ledger"), "payment#1"})->at("amount") == 15);
    CHECK_FALSE(f.store.get(kTable, {f.pk("ledger"), "stale"}));
    CHECK_FALSE(f.store.get(kTable, {f.pk("ledger"), "absent"}));
  });
}

TEST_CASE("a batch of more than 100 operations is refused and writes nothing", "[contract]") {
  for_each_backend([](Fixture& f) {
    WriteBatch batch;
    for (int i = 0; i < 101; ++i) {
      batch.ops.push_back(Put{kTable, item(f.pk("bulk"), "item" + std::to_string(i)), {}});
    }
    CHECK_THROWS_AS(f.store.write(batch), InvalidRequest);
    auto q = partition_query(f.pk("bulk"));
    CHECK(query_all(f.store, q).empty());

    batch.ops.pop_back();
    f.store.write(batch);
    CHECK(query_all(f.store, q).size() == 100);
  });
}

TEST_CASE("two operations on one item in a batch are refused", "[contract]") {
  for_each_backend([](Fixture& f) {
    const Key key{f.pk("dup"), "x"};
    CHECK_THROWS_AS(f.store.write({{Put{kTable, item(key.pk, key.sk), {}},
                                    Check{kTable, key, Condition::must_not_exist()}}}),
                    InvalidRequest);
    CHECK_FALSE(f.store.get(kTable, key));
  });
}

TEST_CASE("an update sets and removes attributes and creates a missing item", "[contract]") {
  for_each_backend([](Fixture& f) {
    const Key key{f.pk("upd"), "x"};
    f.store.write({{Update{kTable, key, {{"a", 1}, {"b", "two"}}, {}, {}}}});
    auto loaded = f.store.get(kTable, key);
    REQUIRE(loaded);
    CHECK(*loaded == item(key.pk, key.sk, {{"a", 1}, {"b", "two"}}));

    f.store.write({{Update{kTable, key, {{"c", true}}, {"a", "never_there"}, {}}}});
    loaded = f.store.get(kTable, key);
    CHECK(*loaded == item(key.pk, key.sk, {{"b", "two"}, {"c", true}}));
  });
}

TEST_CASE("an update cannot change the key attributes", "[contract]") {
  for_each_backend([](Fixture& f) {
    const Key key{f.pk("upd"), "x"};
    CHECK_THROWS_AS(f.store.write({{Update{kTable, key, {{"pk", "other"}}, {}, {}}}}),
                    InvalidRequest);
    CHECK_THROWS_AS(f.store.write({{Update{kTable, key, Item::object(), {"sk"}, {}}}}),
                    InvalidRequest);
    CHECK_FALSE(f.store.get(kTable, key));
  });
}

TEST_CASE("an update keeps index membership in step with the index attributes", "[contract]") {
  for_each_backend([](Fixture& f) {
    const Key key{f.pk("dev"), "d1"};
    const std::string state_partition = f.pk("state#deployed");
    auto by_state = index_query("gsi1", state_partition);
    put(f.store, item(key.pk, key.sk));
    CHECK(f.store.query(by_state).items.empty());

    f.store.write({{Update{kTable, key, {{"gsi1pk", state_partition}, {"gsi1sk", "d1"}}, {}, {}}}});
    CHECK(f.store.query(by_state).items.size() == 1);

    f.store.write({{Update{kTable, key, Item::object(), {"gsi1sk"}, {}}}});
    CHECK(f.store.query(by_state).items.empty());
  });
}

}  // namespace cellfleet::storage::testing

namespace cellfleet::storage::testing {

TEST_CASE("write_each applies each batch on its own and reports the ones whose conditions failed",
          "[contract]") {
  for_each_backend([](Fixture& f) {
    put(f.store, item(f.pk("latest"), "a", {{"version", 1}, {"at", 10}}));
    put(f.store, item(f.pk("latest"), "b", {{"version", 4}, {"at", 10}}));
    put(f.store, item(f.pk("latest"), "c-gone"));
    std::vector<WriteBatch> batches = {
        // applied: the version holds
        {{Put{kTable, item(f.pk("latest"), "a", {{"version", 2}, {"at", 20}}),
              Condition::version_is(1)}}},
        // refused: b is at version 4, not 3; the batch's other operation is not applied either
        {{Put{kTable, item(f.pk("latest"), "b", {{"version", 4}, {"at", 30}}),
              Condition::version_is(3)},
          Delete{kTable, {f.pk("latest"), "c-gone"}, {}}}},
        // applied: two operations, both conditions hold
        {{Put{kTable, item(f.pk("latest"), "new"), Condition::must_not_exist()},
          Check{kTable, {f.pk("latest"), "a"}, Condition::must_exist()}}},
        // refused on its second operation
        {{Put{kTable, item(f.pk("latest"), "other"), Condition::must_not_exist()},
          Check{kTable, {f.pk("latest"), "missing"}, Condition::must_exist()}}},
        {},  // an empty batch is applied and writes nothing
    };
    const auto outcomes = f.store.write_each(batches);
    REQUIRE(outcomes.size() == batches.size());
    CHECK_FALSE(outcomes[0]);
    REQUIRE(outcomes[1]);
    CHECK(outcomes[1]->op_index == 0);
    CHECK(outcomes[1]->key == Key{f.pk("latest"), "b"});
    CHECK_FALSE(outcomes[2]);
    REQUIRE(outcomes[3]);
    CHECK(outcomes[3]->op_index == 1);
    CHECK_FALSE(outcomes[4]);

    CHECK(f.store.get(kTable, {f.pk("latest"), "a"})->at("at") == 20);
    CHECK(f.store.get(kTable, {f.pk("latest"), "b"})->at("at") == 10);
    CHECK(f.store.get(kTable, {f.pk("latest"), "c-gone"}));
    CHECK(f.store.get(kTable, {f.pk("latest"), "new"}));
    CHECK_FALSE(f.store.get(kTable, {f.pk("latest"), "other"}));
    CHECK(f.store.write_each({}).empty());
  });
}

TEST_CASE("write_each refuses a malformed batch", "[contract]") {
  for_each_backend([](Fixture& f) {
    const std::vector<WriteBatch> batches = {
        {{Put{kTable, item(f.pk("twice"), "x"), {}}, Delete{kTable, {f.pk("twice"), "x"}, {}}}}};
    CHECK_THROWS_AS(f.store.write_each(batches), InvalidRequest);
    CHECK_FALSE(f.store.get(kTable, {f.pk("twice"), "x"}));
  });
}

}  // namespace cellfleet::storage::testing
