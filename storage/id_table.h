// An open-addressing hash table from event id to (offset, version): the
// sequencer's cache of recent ids. std::unordered_map allocated a node per
// id and missed the cache twice per lookup, which cost more than hashing
// the batch; this keeps ids inline, probes linearly, and deletes by
// shifting back (no tombstones). Not thread-safe: the sequencer's, under
// seq_mu_.
#pragma once

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
    for (std::size_t i = slot_of(id);; i = (i + 1) & mask_) {
      const auto& s = slots_[i];
      if (!s.used) return std::nullopt;
      if (s.id == id) return std::pair{s.offset, s.version};
    }
  }

  // Inserts or overwrites.
  void insert(const codec::event_id& id, std::uint64_t offset, std::int64_t version) {
    if ((size_ + 1) * 2 > slots_.size()) rehash(slots_.size() * 2);
    for (std::size_t i = slot_of(id);; i = (i + 1) & mask_) {
      auto& s = slots_[i];
      if (!s.used) {
        s = slot{id, offset, version, true};
        ++size_;
        return;
      }
      if (s.id == id) {
        s.offset = offset;
        s.version = version;
        return;
      }
    }
  }

  // Removes `id` if present and (when given) stored at `offset`.
  bool erase(const codec::event_id& id, std::optional<std::uint64_t> offset = std::nullopt) {
    std::size_t i = slot_of(id);
    for (;; i = (i + 1) & mask_) {
      const auto& s = slots_[i];
      if (!s.used) return false;
      if (s.id == id) {
        if (offset && s.offset != *offset) return false;
        break;
      }
    }
    // Backward-shift deletion keeps every probe chain unbroken.
    std::size_t hole = i;
    for (std::size_t j = (i + 1) & mask_; slots_[j].used; j = (j + 1) & mask_) {
      const std::size_t home = slot_of(slots_[j].id);
      // Move j into the hole when its home is not in (hole, j] (cyclically).
      const bool between = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
      if (!between) {
        slots_[hole] = slots_[j];
        hole = j;
      }
    }
    slots_[hole].used = false;
    --size_;
    return true;
  }

  std::size_t size() const { return size_; }

 private:
  struct slot {
    codec::event_id id;
    std::uint64_t offset = 0;
    std::int64_t version = 0;
    bool used = false;
  };

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
      if (s.used) insert(s.id, s.offset, s.version);
  }

  std::vector<slot> slots_;
  std::size_t mask_ = 0;
  std::size_t size_ = 0;
};

}  // namespace muninn::storage
