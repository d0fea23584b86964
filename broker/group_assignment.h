// Balanced, sticky partition assignment for consumer groups: pure, no
// clock, no I/O. Every partition goes to exactly one member; member loads
// differ by at most one; a partition keeps its member whenever that member
// is still within its share, so a rebalance moves as few partitions as
// balance allows. Deterministic for the same input.
#pragma once

#include <cstddef>
#include <vector>

namespace muninn::broker {

inline constexpr int no_member = -1;

// `current[p]`: the index (in [0, members)) of the member partition p is
// assigned to now, or no_member. Returns the new assignment, same shape.
// With no members every partition gets no_member.
std::vector<int> assign_partitions(const std::vector<int>& current, std::size_t members);

}  // namespace muninn::broker
