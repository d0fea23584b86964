// The two-pass FlexBuffer check data_reader used before flex_verifier (up to
// session 11): flexbuffers::VerifyBuffer with a reuse tracker, then a walk
// that checks every map key ends inside the buffer, with a node budget. Kept
// only as the reference the one-pass verifier must never be looser than
// (flex_verify_test.cc, tests/fuzz/fuzz_flex_verify.cc). Pure, header-only.
#pragma once

#include <flatbuffers/flexbuffers.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace muninn::projections::testing {

inline bool reference_flex_verify(const std::uint8_t* buf, std::size_t size) {
  struct key_checker {
    const char* begin;
    const char* last_nul;
    std::size_t nodes_left;

    bool key(flexbuffers::Reference r) {
      const char* k = r.AsKey();
      return last_nul != nullptr && k >= begin && k <= last_nul;
    }

    bool walk(flexbuffers::Reference r, int depth) {
      if (nodes_left-- == 0 || depth > 64) return false;
      if (r.IsKey()) return key(r);
      if (r.IsMap()) {
        const auto m = r.AsMap();
        const auto keys = m.Keys();
        const auto vals = m.Values();
        for (std::size_t i = 0; i < keys.size(); ++i) {
          if (!key(keys[i]) || !walk(vals[i], depth + 1)) return false;
        }
        return true;
      }
      if (r.IsVector() && !r.IsString() && !r.IsBlob()) {
        const auto v = r.AsVector();
        for (std::size_t i = 0; i < v.size(); ++i) {
          if (!walk(v[i], depth + 1)) return false;
        }
      }
      return true;
    }
  };

  if (size < 3 || size >= FLATBUFFERS_MAX_BUFFER_SIZE) return false;
  std::vector<std::uint8_t> reuse;
  if (!flexbuffers::VerifyBuffer(buf, size, &reuse)) return false;
  const auto root = flexbuffers::GetRoot(buf, size);
  const auto* chars = reinterpret_cast<const char*>(buf);
  const char* last_nul = nullptr;
  for (std::size_t i = size; i-- > 0;) {
    if (chars[i] == 0) {
      last_nul = chars + i;
      break;
    }
  }
  key_checker kc{chars, last_nul, size + 16};
  return kc.walk(root, 0);
}

// Reads everything a projection could read from an accepted buffer, through
// the flexbuffers accessors, and returns a checksum so nothing is optimised
// away: under ASan this is what proves an accepted buffer is safe to read.
inline std::uint64_t read_everything(flexbuffers::Reference r, int depth = 0) {
  if (depth > 80) return 0;  // accepted buffers nest at most 64 deep
  std::uint64_t sum = static_cast<std::uint64_t>(r.GetType());
  if (r.IsKey()) return sum + std::strlen(r.AsKey()) + r.AsString().str().size();
  if (r.IsString()) {
    const auto s = r.AsString();
    return sum + s.str().size() + std::strlen(s.c_str()) + static_cast<std::uint64_t>(r.AsInt64());
  }
  if (r.IsBlob()) {
    const auto b = r.AsBlob();
    for (std::size_t i = 0; i < b.size(); ++i) sum += b.data()[i];
    return sum;
  }
  if (r.IsMap()) {
    const auto m = r.AsMap();
    const auto keys = m.Keys();
    const auto values = m.Values();
    for (std::size_t i = 0; i < keys.size(); ++i) {
      const char* k = keys[i].AsKey();
      sum += std::strlen(k);
      sum += read_everything(m[k], depth + 1);
    }
    for (std::size_t i = 0; i < values.size(); ++i) sum += read_everything(values[i], depth + 1);
    sum += read_everything(m["absent"], depth + 1);
    return sum;
  }
  if (r.IsUntypedVector()) {
    const auto v = r.AsVector();
    for (std::size_t i = 0; i < v.size(); ++i) sum += read_everything(v[i], depth + 1);
    return sum;
  }
  if (r.IsTypedVector()) {
    const auto v = r.AsTypedVector();
    for (std::size_t i = 0; i < v.size(); ++i) sum += read_everything(v[i], depth + 1);
    return sum;
  }
  if (r.IsFixedTypedVector()) {
    const auto v = r.AsFixedTypedVector();
    for (std::size_t i = 0; i < v.size(); ++i) sum += read_everything(v[i], depth + 1);
    return sum;
  }
  // Scalars, inline or indirect (a float is not read as an integer: the
  // accessor's own conversion is undefined out of range).
  const double d = r.AsDouble();
  std::uint64_t bits = 0;
  std::memcpy(&bits, &d, sizeof bits);
  if (!r.IsFloat()) sum += static_cast<std::uint64_t>(r.AsInt64()) + r.AsUInt64() + r.AsBool();
  return sum + bits;
}

}  // namespace muninn::projections::testing
