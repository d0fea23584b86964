// The pure partition assignment of consumer groups: balanced, complete,
// sticky, deterministic (broker/group_assignment.h).
#include <catch2/catch.hpp>

#include <algorithm>
#include <random>
#include <vector>

#include "broker/group_assignment.h"

using muninn::broker::assign_partitions;
using muninn::broker::no_member;

namespace {

void check_balanced(const std::vector<int>& a, std::size_t members) {
  std::vector<std::size_t> load(members, 0);
  for (int m : a) {
    REQUIRE(m >= 0);
    REQUIRE(std::size_t(m) < members);
    ++load[std::size_t(m)];
  }
  const auto [lo, hi] = std::minmax_element(load.begin(), load.end());
  REQUIRE(*hi - *lo <= 1);
}

}  // namespace

TEST_CASE("group assignment: 8 partitions over 3 members is 3/3/2, every partition once", "[broker][groups]") {
  const auto a = assign_partitions(std::vector<int>(8, no_member), 3);
  check_balanced(a, 3);
  REQUIRE(a == std::vector<int>{0, 0, 0, 1, 1, 1, 2, 2});
}

TEST_CASE("group assignment: no members leaves every partition unassigned", "[broker][groups]") {
  REQUIRE(assign_partitions({0, 1, 0}, 0) == std::vector<int>(3, no_member));
}

TEST_CASE("group assignment: a joining member takes only what balance needs", "[broker][groups]") {
  // One member held all 8; a second joins.
  const auto a = assign_partitions(std::vector<int>(8, 0), 2);
  check_balanced(a, 2);
  // The first keeps 4 of its own: 4 move, not more.
  REQUIRE(std::count(a.begin(), a.end(), 0) == 4);
}

TEST_CASE("group assignment: when a member goes, only its partitions move", "[broker][groups]") {
  // Members 0, 1, 2 held 3/3/2; member 1 is gone: the old 2 is now index 1.
  const std::vector<int> before{0, 0, 0, 1, 1, 1, 2, 2};
  std::vector<int> current;
  for (int m : before) current.push_back(m == 1 ? no_member : (m == 2 ? 1 : 0));
  const auto a = assign_partitions(current, 2);
  check_balanced(a, 2);
  for (std::size_t p = 0; p < before.size(); ++p)
    if (current[p] != no_member) REQUIRE(a[p] == current[p]);
}

TEST_CASE("group assignment: random histories stay balanced, complete and sticky", "[broker][groups]") {
  std::mt19937 rng(20261123);
  for (int round = 0; round < 2000; ++round) {
    const std::size_t n = 1 + rng() % 64;
    const std::size_t members = 1 + rng() % 10;
    std::vector<int> current(n);
    for (auto& m : current) m = int(rng() % (members + 1)) - 1;  // some unassigned
    const auto a = assign_partitions(current, members);
    check_balanced(a, members);
    REQUIRE(assign_partitions(current, members) == a);  // deterministic
    // Sticky: a partition moves only off a member that holds more than its share.
    std::vector<std::size_t> held(members, 0);
    for (int m : current)
      if (m >= 0) ++held[std::size_t(m)];
    for (std::size_t p = 0; p < n; ++p) {
      const int m = current[p];
      if (m >= 0 && a[p] != m) REQUIRE(held[std::size_t(m)] > n / members);
    }
    // Applying it again moves nothing.
    REQUIRE(assign_partitions(a, members) == a);
  }
}
