// An open-addressing hash table from event id to (offset, version): the
// sequencer's cache of recent ids. std::unordered_map allocated a node per
// id and missed the cache twice per lookup, which cost more than hashing
// the batch; this keeps ids inline, probes linearly, and deletes by
// shifting back (no tombstones). A slot is 32 bytes, two to a cache line
// and never across one, and the nil id (which check_event refuses, so the
// log never stores it) marks an empty slot. With ids that are random to the
// hash nearly every probe misses the cache; prefetch() lets the sequencer
// start the misses of a whole request at once instead of one after another.
// Not thread-safe: the sequencer's, under seq_mu_.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <optional>
#include <utility>
#include <vector>

#include "codec/batch.h"

namespace muninn::storage {

class id_table {
 public:
  explicit id_table(std::size_t expected = 1024) { rehash(capacity_for(expected)); }

  std::optional<std::pair<std::uint64_t, std::int64_t>> find(const codec::event_id& id) const {
    if (nil(id)) return std::nullopt;
    for (std::size_t i = slot_of(id);; i = (i + 1) & mask_) {
      const auto& s = slots_[i];
      if (!used(s)) return std::nullopt;
      if (same(s.id, id)) return std::pair{s.offset, s.version};
    }
  }

  // Starts loading the slot where `id`'s probe begins; no effect on contents.
  void prefetch(const codec::event_id& id) const { __builtin_prefetch(&slots_[slot_of(id)]); }

  // Inserts or overwrites. `id` must not be nil (the empty-slot marker).
  void insert(const codec::event_id& id, std::uint64_t offset, std::int64_t version) {
    if (nil(id)) return;
    if ((size_ + 1) * 2 > slots_.size()) rehash(slots_.size() * 2);
    for (std::size_t i = slot_of(id);; i = (i + 1) & mask_) {
      auto& s = slots_[i];
      if (!used(s)) {
        s = slot{id, offset, version};
        ++size_;
        return;
      }
      if (same(s.id, id)) {
        s.offset = offset;
        s.version = version;
        return;
      }
    }
  }

  // Removes `id` if present and (when given) stored at `offset`.
  bool erase(const codec::event_id& id, std::optional<std::uint64_t> offset = std::nullopt) {
    if (nil(id)) return false;
    std::size_t i = slot_of(id);
    for (;; i = (i + 1) & mask_) {
      const auto& s = slots_[i];
      if (!used(s)) return false;
      if (same(s.id, id)) {
        if (offset && s.offset != *offset) return false;
        break;
      }
    }
    // Backward-shift deletion keeps every probe chain unbroken.
    std::size_t hole = i;
    for (std::size_t j = (i + 1) & mask_; used(slots_[j]); j = (j + 1) & mask_) {
      const std::size_t home = slot_of(slots_[j].id);
      // Move j into the hole when its home is not in (hole, j] (cyclically).
      const bool between = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
      if (!between) {
        slots_[hole] = slots_[j];
        hole = j;
      }
    }
    slots_[hole] = slot{};
    --size_;
    return true;
  }

  std::size_t size() const { return size_; }

  // Empties the table and keeps its capacity: one sequential pass, no miss
  // per entry.
  void clear() {
    std::fill(slots_.begin(), slots_.end(), slot{});
    size_ = 0;
  }

 private:
  struct alignas(32) slot {
    codec::event_id id{};  // nil: empty
    std::uint64_t offset = 0;
    std::int64_t version = 0;
  };
  static_assert(sizeof(slot) == 32, "two slots per cache line");
  // Two 8-byte loads instead of a memcmp call: this runs once per probe.
  static bool nil(const codec::event_id& id) {
    std::uint64_t a, b;
    std::memcpy(&a, id.bytes.data(), 8);
    std::memcpy(&b, id.bytes.data() + 8, 8);
    return (a | b) == 0;
  }
  static bool same(const codec::event_id& x, const codec::event_id& y) {
    std::uint64_t a, b, c, d;
    std::memcpy(&a, x.bytes.data(), 8);
    std::memcpy(&b, x.bytes.data() + 8, 8);
    std::memcpy(&c, y.bytes.data(), 8);
    std::memcpy(&d, y.bytes.data() + 8, 8);
    return ((a ^ c) | (b ^ d)) == 0;
  }
  static bool used(const slot& s) { return !nil(s.id); }

  static std::size_t capacity_for(std::size_t n) {
    std::size_t c = 16;
    while (c < n * 2) c *= 2;
    return c;
  }
  std::size_t slot_of(const codec::event_id& id) const { return codec::event_id_hash{}(id) & mask_; }

  void rehash(std::size_t capacity) {
    std::vector<slot> old = std::move(slots_);
    slots_.assign(capacity, slot{});
    mask_ = capacity - 1;
    size_ = 0;
    for (const auto& s : old)
      if (used(s)) insert(s.id, s.offset, s.version);
  }

  std::vector<slot> slots_;
  std::size_t mask_ = 0;
  std::size_t size_ = 0;
};

}  // namespace muninn::storage
