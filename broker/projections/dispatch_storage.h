// Internal to the dispatch-status projection (dispatch*.cc only): the
// containers its state is made of: arenas for texts and short lists, an
// interner, the open-addressing id and recipient tables and chunked item
// storage. None frees anything while the projection lives, so texts,
// names and items stay where they were given out (only an arena_list that
// outgrows its room moves, and its owner holds the new place).
// Not thread-safe (projection.h): the applying thread's alone, except the
// static hash functions, which prepare() calls on the reader thread.
#pragma once

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstring>
#include <deque>
#include <functional>
#include <initializer_list>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "broker/projections/chunked.h"
#include "broker/projections/prefetch.h"
#include "codec/batch.h"

namespace muninn::projections::dispatch_detail {

using codec::event_id;

inline constexpr std::uint32_t no_slot = std::numeric_limits<std::uint32_t>::max();

// Bump allocation of Ts in blocks of `block`, never freed while the
// projection lives (what it gave out never moves); a request larger than an
// eighth of a block gets a block of its own.
template <class T, std::size_t block>
class bump_blocks {
 public:
  T* take(std::size_t n) {
    if (n > block / 8) {
      large_.push_back(std::make_unique_for_overwrite<T[]>(n));
      return large_.back().get();
    }
    if (n > left_) {
      blocks_.push_back(std::make_unique_for_overwrite<T[]>(block));
      at_ = blocks_.back().get();
      left_ = block;
    }
    T* out = at_;
    at_ += n;
    left_ -= n;
    return out;
  }

 private:
  std::vector<std::unique_ptr<T[]>> blocks_, large_;
  T* at_ = nullptr;
  std::size_t left_ = 0;
};

// A growable array whose elements live in a list_arena (below): 16 bytes
// in the item instead of a vector's 24, and no malloc (and its header) per
// item for its few entries.
template <class T>
struct arena_list {
  T* data_ = nullptr;
  std::uint32_t size_ = 0, room_ = 0;

  const T* begin() const noexcept { return data_; }
  const T* end() const noexcept { return data_ + size_; }
  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  const T& front() const noexcept { return data_[0]; }
  const T& back() const noexcept { return data_[size_ - 1]; }
  const T& operator[](std::size_t i) const noexcept { return data_[i]; }
};

// Bump allocation for arena_lists, never freed while the projection lives:
// the lists of items made one after the other lie side by side, so apply's
// append and take_changes' read touch lines their neighbours share. A list
// that outgrows its room moves to twice the room and leaves the old behind
// (a lifecycle has at most a handful of steps; only loaded records can be
// longer).
template <class T>
class list_arena {
  static_assert(std::is_trivially_copyable_v<T>);

 public:
  // Appends a value-initialised T to `l`; `first_room` is its room when new.
  T& push(arena_list<T>& l, std::uint32_t first_room) {
    if (l.size_ == l.room_) {
      const std::uint32_t room = l.room_ == 0 ? first_room : l.room_ * 2;
      T* at = blocks_.take(room);
      if (l.size_ != 0) std::memcpy(static_cast<void*>(at), l.data_, l.size_ * sizeof(T));
      l.data_ = at;
      l.room_ = room;
    }
    T* slot = l.data_ + l.size_++;
    *slot = T{};
    return *slot;
  }

 private:
  bump_blocks<T, std::size_t{1} << 16> blocks_;
};

// Texts copied from events into the state, appended and never freed while
// the projection lives: no heap string per text, and the texts of items
// made one after the other lie side by side (take_changes reads fewer lines).
class text_arena {
 public:
  // Copies the texts one after the other; the view spans them all.
  std::string_view copy(std::initializer_list<std::string_view> parts) {
    std::size_t n = 0;
    for (const auto s : parts) n += s.size();
    if (n == 0) return {};
    char* at = blocks_.take(n);
    const std::string_view out(at, n);
    for (const auto s : parts) {
      if (!s.empty()) std::memcpy(at, s.data(), s.size());
      at += s.size();
    }
    return out;
  }

 private:
  bump_blocks<char, std::size_t{1} << 20> blocks_;
};

// Interned names; the ids depend on arrival order, so they never reach a
// record or an answer (answers sort by the names). The hash of a name is
// taken by the caller where it is cheap (prepare(), on the reader thread),
// so the applying thread pays one probe and one comparison per name.
class interner {
 public:
  static std::uint64_t hash(std::string_view s) noexcept { return std::hash<std::string_view>{}(s); }

  std::uint32_t intern(std::string_view s) { return intern(s, hash(s)); }
  // `h` is hash(s).
  std::uint32_t intern(std::string_view s, std::uint64_t h) {
    if ((names_.size() + 1) * 2 > slots_.size()) grow();
    std::size_t i = h & mask_;
    for (; slots_[i].size != empty; i = (i + 1) & mask_) {
      if (same(slots_[i], s, h)) return slots_[i].id;
    }
    const auto id = static_cast<std::uint32_t>(names_.size());
    const std::string& name = names_.emplace_back(s);
    slots_[i] = slot{h, name.data(), static_cast<std::uint32_t>(name.size()), id};
    return id;
  }
  std::optional<std::uint32_t> find(std::string_view s) const {
    if (slots_.empty()) return std::nullopt;
    const auto h = hash(s);
    for (std::size_t i = h & mask_; slots_[i].size != empty; i = (i + 1) & mask_) {
      if (same(slots_[i], s, h)) return slots_[i].id;
    }
    return std::nullopt;
  }
  const std::string& name(std::uint32_t id) const { return names_[id]; }
  std::size_t size() const noexcept { return names_.size(); }

 private:
  static constexpr std::uint32_t empty = std::numeric_limits<std::uint32_t>::max();
  struct slot {
    std::uint64_t hash = 0;
    const char* data = nullptr;  // the name in names_
    std::uint32_t size = empty;
    std::uint32_t id = 0;
  };
  static bool same(const slot& x, std::string_view s, std::uint64_t h) noexcept {
    return x.hash == h && x.size == s.size() && (s.empty() || std::memcmp(x.data, s.data(), s.size()) == 0);
  }
  void grow() {
    std::vector<slot> old = std::move(slots_);
    slots_.assign(std::max<std::size_t>(64, old.size() * 2), slot{});
    mask_ = slots_.size() - 1;
    for (const auto& x : old) {
      if (x.size == empty) continue;
      std::size_t i = x.hash & mask_;
      while (slots_[i].size != empty) i = (i + 1) & mask_;
      slots_[i] = x;
    }
  }
  std::deque<std::string> names_;  // a deque: the slots' pointers stay valid
  std::vector<slot> slots_;
  std::size_t mask_ = 0;
};

// An id as two integers in its bytes' order: comparing them is comparing
// the ids (so the record keys), without a memcmp call.
struct id_key {
  std::uint64_t hi, lo;

  static id_key of(const event_id& id) noexcept {
    std::uint64_t hi, lo;
    std::memcpy(&hi, id.bytes.data(), 8);
    std::memcpy(&lo, id.bytes.data() + 8, 8);
    if constexpr (std::endian::native == std::endian::little) {
      hi = __builtin_bswap64(hi);
      lo = __builtin_bswap64(lo);
    }
    return {hi, lo};
  }
  auto operator<=>(const id_key&) const = default;
};

// Forsendelser by id: open addressing with the ids inline (one cache miss
// per lookup, no node per entry), linear probing, at most half full.
class id_table {
 public:
  static constexpr std::uint32_t none = std::numeric_limits<std::uint32_t>::max();

  static std::uint64_t hash(const event_id& id) noexcept { return codec::event_id_hash{}(id); }

  // `h` is hash(id), computed where it is cheap (prepare, off the applying thread).
  std::uint32_t find(const event_id& id, std::uint64_t h) const noexcept {
    if (slots_.empty()) return none;
    for (std::size_t i = h & mask_;; i = (i + 1) & mask_) {
      const auto& s = slots_[i];
      if (s.idx == none) return none;
      if (same(s.id, id)) return s.idx;
    }
  }
  std::uint32_t find(const event_id& id) const noexcept { return find(id, hash(id)); }
  // prefetch()'s two stages: the home slot of `h` (a slot may straddle two
  // lines), then, once that is in, the index it holds for `id` if the
  // first probes find it (none otherwise: a hint may give up).
  // prefetch_line(), not __builtin_prefetch: GCC 12 at -O2 dropped both
  // of these behind the empty-table test (prefetch.h).
  void prefetch_slot(std::uint64_t h) const noexcept {
    if (slots_.empty()) return;
    const auto* at = reinterpret_cast<const char*>(slots_.data() + (h & mask_));
    prefetch_line(at);
    prefetch_line(at + sizeof(slot) - 1);
  }
  std::uint32_t peek(const event_id& id, std::uint64_t h) const noexcept {
    if (slots_.empty()) return none;
    std::size_t i = h & mask_;
    for (int probes = 0; probes < 3; ++probes, i = (i + 1) & mask_) {
      const auto& s = slots_[i];
      if (s.idx == none) return none;
      if (same(s.id, id)) return s.idx;
    }
    return none;
  }
  bool contains(const event_id& id) const noexcept { return find(id) != none; }
  // `id` must not be present; `h` is hash(id).
  void insert(const event_id& id, std::uint64_t h, std::uint32_t idx) {
    if ((size_ + 1) * 2 > slots_.size()) grow();
    place(id, h, idx);
    ++size_;
  }


 private:
  struct slot {
    event_id id;
    std::uint32_t idx = none;
  };
  static bool same(const event_id& a, const event_id& b) noexcept {
    std::uint64_t x[2], y[2];
    std::memcpy(x, a.bytes.data(), 16);
    std::memcpy(y, b.bytes.data(), 16);
    return ((x[0] ^ y[0]) | (x[1] ^ y[1])) == 0;
  }
  void place(const event_id& id, std::uint64_t h, std::uint32_t idx) noexcept {
    std::size_t i = h & mask_;
    while (slots_[i].idx != none) i = (i + 1) & mask_;
    slots_[i] = slot{id, idx};
  }
  void grow() {
    std::vector<slot> old = std::move(slots_);
    slots_.assign(std::max<std::size_t>(1024, old.size() * 2), slot{});
    mask_ = slots_.size() - 1;
    for (const auto& s : old) {
      if (s.idx != none) place(s.id, hash(s.id), s.idx);
    }
  }
  std::vector<slot> slots_;
  std::size_t mask_ = 0;
  std::size_t size_ = 0;
};

// Items by digital recipient (kind and normalised value), for search: a
// table from the recipient's hash to its newest item, each item linking to
// the previous one of the same hash (forsendelse::same_recipient). A node
// and a vector per recipient, as a map of vectors has, cost more than the
// rest of indexing an item at millions of recipients. Chains are walked
// with an exact comparison, so a hash collision only lengthens one.
class recipient_index {
 public:
  static std::uint64_t hash(std::uint8_t kind, std::string_view value) noexcept {
    return std::hash<std::string_view>{}(value) * 0x9E3779B97F4A7C15ull + kind;
  }
  // The newest item of `h` (no_slot if none); links `idx` in front of it.
  std::uint32_t push(std::uint64_t h, std::uint32_t idx) {
    if ((size_ + 1) * 2 > slots_.size()) grow();
    slot& s = slots_[find_slot(h)];
    if (s.head == no_slot) {
      s.hash = h;
      ++size_;
    }
    const std::uint32_t previous = s.head;
    s.head = idx;
    return previous;
  }
  // The slot push(h) starts probing at (prefetch(), stage 0).
  void prefetch_slot(std::uint64_t h) const noexcept {
    if (!slots_.empty()) prefetch_line(slots_.data() + home(h));
  }
  std::uint32_t head(std::uint64_t h) const noexcept {
    return slots_.empty() ? no_slot : slots_[find_slot(h)].head;
  }

 private:
  struct slot {
    std::uint64_t hash = 0;
    std::uint32_t head = no_slot;
  };
  std::size_t home(std::uint64_t h) const noexcept { return (h ^ (h >> 29)) & mask_; }
  std::size_t find_slot(std::uint64_t h) const noexcept {
    for (std::size_t i = home(h);; i = (i + 1) & mask_) {
      if (slots_[i].head == no_slot || slots_[i].hash == h) return i;
    }
  }
  void grow() {
    std::vector<slot> old = std::move(slots_);
    slots_.assign(std::max<std::size_t>(1024, old.size() * 2), slot{});
    mask_ = slots_.size() - 1;
    for (const auto& s : old) {
      if (s.head != no_slot) slots_[find_slot(s.hash)] = s;
    }
  }
  std::vector<slot> slots_;
  std::size_t mask_ = 0;
  std::size_t size_ = 0;
};

// Items in fixed chunks (chunked.h): growing never moves one.
template <class T>
using chunked = chunked_vector<T, 4096>;

}  // namespace muninn::projections::dispatch_detail
