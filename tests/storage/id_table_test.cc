// The sequencer's id table behaves as a map under random inserts, lookups
// and erases, including long probe chains (a tiny table, many ids).
#include <catch2/catch.hpp>

#include <map>
#include <random>

#include "storage/id_table.h"

using namespace muninn;

TEST_CASE("id_table: random operations agree with std::map", "[storage][id_table]") {
  std::mt19937_64 rng(42);
  storage::id_table t(4);
  std::map<codec::event_id, std::pair<std::uint64_t, std::int64_t>> ref;
  std::vector<codec::event_id> pool;
  for (int i = 0; i < 3000; ++i) {
    codec::event_id id;
    for (auto& b : id.bytes) b = std::uint8_t(rng());
    pool.push_back(id);
  }
  for (int step = 0; step < 200'000; ++step) {
    const auto& id = pool[rng() % pool.size()];
    switch (rng() % 4) {
      case 0:
      case 1: {
        const std::uint64_t off = rng() % 1000;
        t.insert(id, off, std::int64_t(off) - 1);
        ref[id] = {off, std::int64_t(off) - 1};
        break;
      }
      case 2: {
        const bool erased = t.erase(id);
        REQUIRE(erased == (ref.erase(id) == 1));
        break;
      }
      default: {
        auto got = t.find(id);
        auto it = ref.find(id);
        REQUIRE(got.has_value() == (it != ref.end()));
        if (got) REQUIRE(*got == it->second);
      }
    }
    REQUIRE(t.size() == ref.size());
  }
  for (const auto& [id, v] : ref) REQUIRE(t.find(id) == std::optional(v));
}

TEST_CASE("id_table: erase with an offset removes only that entry", "[storage][id_table]") {
  storage::id_table t;
  const auto id = codec::event_id::generate_v7();
  t.insert(id, 10, 0);
  CHECK_FALSE(t.erase(id, 11));
  CHECK(t.find(id).has_value());
  CHECK(t.erase(id, 10));
  CHECK_FALSE(t.find(id).has_value());
}

TEST_CASE("id_table: the nil id (the empty-slot marker) is never stored", "[storage][id_table]") {
  storage::id_table t(4);
  const codec::event_id nil{};
  t.insert(nil, 7, 1);
  CHECK(t.size() == 0);
  CHECK_FALSE(t.find(nil).has_value());
  CHECK_FALSE(t.erase(nil));
  // Ids around it are unaffected.
  const auto id = codec::event_id::generate_v7();
  t.insert(id, 3, 0);
  t.prefetch(id);
  CHECK(t.find(id) == std::optional(std::pair<std::uint64_t, std::int64_t>{3, 0}));
  CHECK_FALSE(t.find(nil).has_value());
}

TEST_CASE("id_table: clear empties the table and it is usable again", "[storage][id_table]") {
  storage::id_table t(8);
  std::vector<codec::event_id> ids;
  for (int i = 0; i < 100; ++i) {
    ids.push_back(codec::event_id::generate_v7());
    t.insert(ids.back(), std::uint64_t(i), i);
  }
  t.clear();
  CHECK(t.size() == 0);
  for (const auto& id : ids) CHECK_FALSE(t.find(id).has_value());
  t.insert(ids[7], 70, 7);
  CHECK(t.size() == 1);
  CHECK(t.find(ids[7]) == std::optional(std::pair<std::uint64_t, std::int64_t>{70, 7}));
}
