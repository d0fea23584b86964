#include "broker/group_assignment.h"

#include <algorithm>
#include <numeric>

namespace muninn::broker {

std::vector<int> assign_partitions(const std::vector<int>& current, std::size_t members) {
  const std::size_t n = current.size();
  std::vector<int> out(n, no_member);
  if (members == 0) return out;
  std::vector<std::size_t> holding(members, 0);
  for (int m : current)
    if (m >= 0 && std::size_t(m) < members) ++holding[std::size_t(m)];
  // The members that already hold the most get the n % members larger
  // shares: fewer partitions move. Ties go to the earlier member.
  std::vector<std::size_t> order(members);
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return holding[a] > holding[b]; });
  std::vector<std::size_t> quota(members, n / members);
  for (std::size_t i = 0; i < n % members; ++i) ++quota[order[i]];

  std::vector<std::size_t> kept(members, 0);
  for (std::size_t p = 0; p < n; ++p) {
    const int m = current[p];
    if (m >= 0 && std::size_t(m) < members && kept[std::size_t(m)] < quota[std::size_t(m)]) {
      out[p] = m;
      ++kept[std::size_t(m)];
    }
  }
  std::size_t next = 0;  // members in index order fill their shares
  for (std::size_t p = 0; p < n; ++p) {
    if (out[p] != no_member) continue;
    while (kept[next] >= quota[next]) ++next;
    out[p] = int(next);
    ++kept[next];
  }
  return out;
}

}  // namespace muninn::broker
