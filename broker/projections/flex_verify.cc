#include "broker/projections/flex_verify.h"

#include <flatbuffers/flexbuffers.h>

#include <algorithm>
#include <bit>
#include <cstring>

namespace muninn::projections {
namespace {

static_assert(std::endian::native == std::endian::little, "FlexBuffers are read in place, little-endian");

// The rules below are flexbuffers::Verifier's (FlatBuffers 2.0.8), check for
// check and in its order where the order matters (the reuse tracker): being
// looser anywhere would let a buffer through that the old path refused.
constexpr std::size_t max_depth = 64;

// An unsigned of `width` bytes (1, 2, 4 or 8: every caller has checked).
inline std::uint64_t read_uint(const std::uint8_t* p, std::uint8_t width) {
  switch (width) {
    case 1: return *p;
    case 2: {
      std::uint16_t v;
      std::memcpy(&v, p, 2);
      return v;
    }
    case 4: {
      std::uint32_t v;
      std::memcpy(&v, p, 4);
      return v;
    }
    default: {
      std::uint64_t v;
      std::memcpy(&v, p, 8);
      return v;
    }
  }
}

inline bool valid_width(std::uint64_t w) { return w == 1 || w == 2 || w == 4 || w == 8; }

// BitWidth of a byte width, as in a packed type's low two bits.
inline std::uint8_t width_bits(std::uint8_t w) { return static_cast<std::uint8_t>(std::countr_zero(w)); }

class walk {
 public:
  walk(const std::uint8_t* buf, std::size_t size, std::uint32_t* seen, std::uint32_t generation)
      : buf_(buf), size_(size), seen_(seen), stamp_(generation << 8), nodes_left_(size + 16) {
    // A key starting in the buffer ends in it exactly when a NUL follows it
    // somewhere, that is when it starts at or before the last NUL: one
    // comparison per key instead of a scan.
    const void* nul = ::memrchr(buf, 0, size);
    last_nul_ = nul ? static_cast<const std::uint8_t*>(nul) : nullptr;
  }

  bool root() {
    if (size_ < 3) return false;
    const std::uint8_t width = buf_[size_ - 1];
    const std::uint8_t packed = buf_[size_ - 2];
    const std::size_t end = size_ - 2;
    if (!valid_width(width) || end < width) return false;
    return node() && ref(buf_ + end - width, width, packed);
  }

 private:
  // [at, at + len) lies in the buffer. Strict `len < size_` as VerifyFrom.
  bool from(std::size_t at, std::size_t len) const { return len < size_ && at <= size_ - len; }

  // One more value in the tree walk (the key walk's budget against a
  // DAG-shaped buffer that expands far beyond its size).
  bool node() {
    if (nodes_left_ == 0) return false;
    --nodes_left_;
    return true;
  }

  // The reuse tracker: 0 first visit, 1 verified before as the same thing,
  // -1 verified before as something else (VerifyBuffer refuses that).
  int mark(std::size_t at, std::uint8_t packed) {
    std::uint32_t& m = seen_[at];
    const std::uint32_t tag = stamp_ | packed;
    if (m == tag) return 1;
    if ((m & ~0xffu) == stamp_) return -1;
    m = tag;
    return 0;
  }

  // A reference at `data`, `parent_width` wide, typed by `packed`; data is
  // already known to be inside the buffer.
  bool ref(const std::uint8_t* data, std::uint8_t parent_width, std::uint8_t packed) {
    const auto width = static_cast<std::uint8_t>(1u << (packed & 3));
    const unsigned type = packed >> 2;
    if (type >= flexbuffers::FBT_MAX_TYPE) return false;
    if (type <= flexbuffers::FBT_FLOAT || type == flexbuffers::FBT_BOOL) return true;  // inline
    const std::uint64_t off = read_uint(data, parent_width);
    const auto here = static_cast<std::size_t>(data - buf_);
    if (off > here) return false;  // here < size_, so also off <= size_
    const std::size_t at = here - static_cast<std::size_t>(off);
    if ((at & (width - 1)) != 0) return false;
    const std::uint8_t* p = buf_ + at;
    switch (type) {
      case flexbuffers::FBT_INDIRECT_INT:
      case flexbuffers::FBT_INDIRECT_UINT:
      case flexbuffers::FBT_INDIRECT_FLOAT: return from(at, width);
      case flexbuffers::FBT_KEY: return key(p);
      case flexbuffers::FBT_MAP: return map(p, width);
      case flexbuffers::FBT_VECTOR: return vector(p, width, type, flexbuffers::FBT_NULL).ok;
      case flexbuffers::FBT_VECTOR_INT: return vector(p, width, type, flexbuffers::FBT_INT).ok;
      case flexbuffers::FBT_VECTOR_BOOL:
      case flexbuffers::FBT_VECTOR_UINT:
      case flexbuffers::FBT_BLOB: return vector(p, width, type, flexbuffers::FBT_UINT).ok;
      case flexbuffers::FBT_VECTOR_FLOAT: return vector(p, width, type, flexbuffers::FBT_FLOAT).ok;
      case flexbuffers::FBT_VECTOR_KEY:
      case flexbuffers::FBT_VECTOR_STRING_DEPRECATED:
        return vector(p, width, type, flexbuffers::FBT_KEY).ok;
      case flexbuffers::FBT_STRING: {
        // Its terminator inside the buffer, as VerifyBuffer checks, and a NUL,
        // which it does not: c_str() readers (strlen, AsInt64's strtoll) stop
        // there.
        const auto v = vector(p, width, type, flexbuffers::FBT_UINT);
        return v.ok && v.elems < SIZE_MAX && from(at, v.elems + 1) && buf_[at + v.elems] == 0;
      }
      case flexbuffers::FBT_VECTOR_INT2:
      case flexbuffers::FBT_VECTOR_UINT2:
      case flexbuffers::FBT_VECTOR_FLOAT2:
      case flexbuffers::FBT_VECTOR_INT3:
      case flexbuffers::FBT_VECTOR_UINT3:
      case flexbuffers::FBT_VECTOR_FLOAT3:
      case flexbuffers::FBT_VECTOR_INT4:
      case flexbuffers::FBT_VECTOR_UINT4:
      case flexbuffers::FBT_VECTOR_FLOAT4:
        return from(at, std::size_t{width} * ((type - flexbuffers::FBT_VECTOR_INT2) / 3 + 2));
      default: return false;
    }
  }

  // Where every key is checked: inside the buffer by the offset rules, and
  // ending inside it (VerifyBuffer's own key check does not ensure that).
  bool key(const std::uint8_t* p) {
    if (mark(static_cast<std::size_t>(p - buf_), flexbuffers::FBT_KEY << 2) < 0) return false;
    return last_nul_ != nullptr && p <= last_nul_;
  }

  struct sized {
    bool ok;
    std::size_t elems;
  };

  // A sized vector (untyped, typed, string, blob, map values or keys) whose
  // elements start at p, its size field `width` bytes wide before it.
  sized vector(const std::uint8_t* p, std::uint8_t width, unsigned type, unsigned elem_type) {
    ++depth_;
    ++vectors_;
    if (depth_ > max_depth || vectors_ > size_) return {false, 0};
    const auto at = static_cast<std::size_t>(p - buf_);
    if (width > at) return {false, 0};
    const int seen = mark(at - width, static_cast<std::uint8_t>(width_bits(width) | (type << 2)));
    if (seen < 0) return {false, 0};
    const std::uint64_t n = read_uint(p - width, width);
    const std::size_t elem_width =
        type == flexbuffers::FBT_STRING || type == flexbuffers::FBT_BLOB ? 1 : width;
    // n < SIZE_MAX / elem_width, as VerifyBuffer has it; a shift, as the
    // width is a power of two (the division showed in the reader profile).
    if (n >= (SIZE_MAX >> std::countr_zero(elem_width))) return {false, 0};
    const std::size_t bytes = n * elem_width;
    if (!from(at, bytes)) return {false, 0};
    // A second visit as the same thing: VerifyBuffer stops here and never
    // gives the level back, so neither do we. Untyped elements are walked
    // again all the same: the key walk counted every visit of them.
    if (seen > 0 && elem_type != flexbuffers::FBT_NULL) return {true, n};
    if (elem_type == flexbuffers::FBT_NULL) {
      if (!from(at + bytes, n)) return {false, 0};
      // The budget only ever shrinks, so taking the n values at once
      // refuses exactly what counting them one by one would.
      if (n > nodes_left_) return {false, 0};
      nodes_left_ -= n;
      const std::uint8_t* types = p + bytes;
      for (std::size_t i = 0; i < n; ++i) {
        // Inline scalars (most values) need nothing more: no call for them.
        const unsigned t = types[i] >> 2;
        if (t <= flexbuffers::FBT_FLOAT || t == flexbuffers::FBT_BOOL) continue;
        if (!ref(p + i * width, width, types[i])) return {false, 0};
      }
    } else if (elem_type == flexbuffers::FBT_KEY) {
      for (std::size_t i = 0; i < n; ++i) {
        const std::uint8_t* elem = p + i * width;
        const std::uint64_t off = read_uint(elem, width);
        const auto here = static_cast<std::size_t>(elem - buf_);
        if (off > here || !key(elem - off)) return {false, 0};
      }
    }
    if (seen == 0) --depth_;
    return {true, n};
  }

  // A map: its values as an untyped vector, then its keys vector, found
  // through the two fields before the values' size.
  bool map(const std::uint8_t* p, std::uint8_t width) {
    const auto values = vector(p, width, flexbuffers::FBT_MAP, flexbuffers::FBT_NULL);
    if (!values.ok) return false;
    const auto at = static_cast<std::size_t>(p - buf_);
    if (std::size_t{width} * 3 > at) return false;
    const std::uint8_t* fields = p - std::size_t{width} * 3;
    const std::uint64_t off = read_uint(fields, width);
    if (off > static_cast<std::size_t>(fields - buf_)) return false;
    const std::uint64_t key_width = static_cast<std::uint8_t>(read_uint(fields + width, width));
    if (!valid_width(key_width)) return false;
    const auto keys = vector(fields - off, static_cast<std::uint8_t>(key_width), flexbuffers::FBT_VECTOR_KEY,
                             flexbuffers::FBT_KEY);
    if (!keys.ok) return false;
    // The key walk visited one value per key, present or not.
    if (keys.elems > values.elems) {
      const std::size_t absent = keys.elems - values.elems;
      if (absent > nodes_left_) return false;
      nodes_left_ -= absent;
    }
    return true;
  }

  const std::uint8_t* buf_;
  std::size_t size_;
  std::uint32_t* seen_;
  std::uint32_t stamp_;
  const std::uint8_t* last_nul_ = nullptr;
  std::size_t vectors_ = 0;
  std::size_t nodes_left_;
  // Narrower than vectors_ and not beside it: as two adjacent size_t, GCC
  // incremented both with one 16-byte load and add, which waited on the
  // scalar stores of the previous vector's --depth_ (a failed store
  // forward, ~15% of the walk in the reader profile). It never exceeds
  // max_depth + 1.
  std::uint32_t depth_ = 0;
};

}  // namespace

bool flex_verifier::verify(const std::uint8_t* buf, std::size_t size) {
  if (size < 3 || size >= FLATBUFFERS_MAX_BUFFER_SIZE) return false;
  if (seen_.size() < size) seen_.resize(size);
  // 24 bits of generation beside the 8-bit packed type; on wrapping, forget
  // everything once so that no old stamp can match.
  if (++generation_ >= (1u << 24)) {
    std::fill(seen_.begin(), seen_.end(), 0);
    generation_ = 1;
  }
  walk w(buf, size, seen_.data(), generation_);
  return w.root();
}

}  // namespace muninn::projections
