// The reskontra state's containers on their own: an id table through many
// growths of its slots and many entity chunks.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <random>
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

namespace {
struct named {
  std::string_view id;
};

// sorted_by_id's order against std::sort on the ids themselves, from a
// shuffled start (a stable sort would keep ties in an order already right).
void check_sorted_by_id(std::vector<std::string> ids) {
  std::mt19937 shuffle(42);
  std::shuffle(ids.begin(), ids.end(), shuffle);
  std::vector<named> xs(ids.size());
  std::vector<rd::id_keyed<named>> ks;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    xs[i].id = ids[i];
    ks.push_back(rd::key_of(&xs[i]));
  }
  const auto got = rd::sorted_by_id(ks);
  auto want = ids;
  std::sort(want.begin(), want.end());
  REQUIRE(got.size() == want.size());
  for (std::size_t i = 0; i < want.size(); ++i) REQUIRE(got[i]->id == want[i]);
}

std::uint64_t next(std::uint64_t& s) {
  s = s * 6364136223846793005ull + 1442695040888963407ull;
  return s >> 33;
}
}  // namespace

TEST_CASE("reskontra state: sorted_by_id orders ids bytewise, however they differ", "[reskontra]") {
  std::uint64_t seed = 7;
  SECTION("empty and single") {
    check_sorted_by_id({});
    check_sorted_by_id({"CI-b789-000001"});
  }
  SECTION("few (the std::sort path)") {
    check_sorted_by_id({"CI-b789-000003", "CI-b789-000001", "CI-b789-0000010", "CI-b789-000002"});
  }
  // The rest are long enough for the radix path.
  SECTION("invoice numbers in a shared prefix, in touch order") {
    std::vector<std::string> ids;
    for (int i = 0; i < 5000; ++i) ids.push_back("CI-b789-" + std::to_string(100000 + next(seed) % 900000));
    for (int i = 0; i < 300; ++i) ids.push_back("CI-b789-" + std::to_string(1000000 + next(seed) % 9000000));
    check_sorted_by_id(ids);
  }
  SECTION("equal 24-byte prefixes, told apart only after them or by length") {
    // A shared first word and digits after it: the radix keys (bytes 8-15)
    // tie, and only bytes 16-23 or what follows them tell the ids apart.
    std::vector<std::string> ids;
    const std::string prefix = "CI-b789-00000000";  // 16 bytes
    for (int i = 0; i < 2000; ++i) {
      const auto tail = std::to_string(10000000 + next(seed) % 90000000);  // 8 digits: 24 bytes in all
      ids.push_back(prefix + tail);
      ids.push_back(prefix + tail + "-" + std::to_string(next(seed) % 1000));
      ids.push_back(prefix + tail.substr(0, next(seed) % 8));
    }
    ids.push_back(prefix + "1234");
    ids.push_back(prefix + "1234" + std::string(1, '\0'));  // zero padding: the same key as without
    ids.push_back(prefix + "1234" + std::string(2, '\0') + "x");
    check_sorted_by_id(ids);
  }
  SECTION("differing in the first byte, the last of 24 and every bit pattern") {
    std::vector<std::string> ids;
    for (int i = 0; i < 3000; ++i) {
      std::string id(1 + next(seed) % 30, '\0');
      for (auto& c : id) c = static_cast<char>(next(seed) & 0xFF);
      ids.push_back(id);
      ids.push_back("x-shared-prefix-of-23-b" + std::string(1, static_cast<char>(next(seed) & 0xFF)));
    }
    check_sorted_by_id(ids);
  }
  SECTION("all the same but for ties") {
    std::vector<std::string> ids(1000, "PL-b789-000001");
    for (int i = 0; i < 500; ++i) ids.push_back("PL-b789-000001-and-a-long-tail-" + std::to_string(next(seed) % 50));
    check_sorted_by_id(ids);
  }
  SECTION("one 24-byte prefix for all, told apart after it") {
    std::vector<std::string> ids;
    for (int i = 0; i < 1000; ++i) ids.push_back("receivable-with-long-id-" + std::to_string(next(seed) % 700));
    check_sorted_by_id(ids);
  }
}
