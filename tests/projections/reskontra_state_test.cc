// The reskontra state's containers on their own: an id table through many
// growths of its slots and many entity chunks.
#include <catch2/catch.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "broker/projections/reskontra_state.h"

namespace rd = muninn::projections::reskontra_detail;

namespace {
std::string id_of(std::size_t i) {
  // Short ids stay in the node, long ones go to the arena: both kinds.
  std::string id = "CI-abcd-" + std::to_string(i);
  if (i % 7 == 0) id += "-with-a-suffix-longer-than-the-inline-id";
  return id;
}
}  // namespace

TEST_CASE("reskontra state: an id table keeps every entity and its address across growth",
          "[reskontra]") {
  rd::arena strings;
  rd::id_table<rd::receivable> t;
  // 300,000 entities: ten growths of the slots, 147 entity chunks, and
  // long ids in several arena blocks.
  constexpr std::size_t n = 300000;
  std::vector<rd::receivable*> at;
  at.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    const auto id = id_of(i);
    auto [x, fresh] = t.emplace(id, strings);
    REQUIRE(fresh);
    REQUIRE(x->id == id);
    REQUIRE(x->remaining == 0);  // value-initialised, as a new entity must be
    REQUIRE(reinterpret_cast<std::uintptr_t>(x) % 64 == 24);  // just after the node's inline id: one line for both
    x->remaining = static_cast<rd::money>(i);
    at.push_back(x);
  }
  REQUIRE(t.size() == n);
  for (std::size_t i = 0; i < n; ++i) {
    const auto id = id_of(i);
    auto* x = t.find(id);
    REQUIRE(x == at[i]);
    REQUIRE(x->remaining == static_cast<rd::money>(i));
    REQUIRE_FALSE(t.emplace(id, strings).second);
  }
  CHECK(t.find("CI-abcd-missing") == nullptr);
  std::size_t i = 0;
  for (const auto& x : t) {
    REQUIRE(&x == at[i]);  // creation order
    ++i;
  }
  CHECK(i == n);
}
