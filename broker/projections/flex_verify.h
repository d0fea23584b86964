// Verifies an untrusted FlexBuffer in one walk, so that every flexbuffers
// accessor (Map lookups, Keys()/Values(), AsString, AsInt64, vector and
// typed vector access) reads only inside the buffer.
// Invariant: it refuses everything flexbuffers::VerifyBuffer (FlatBuffers
// 2.0.8, with a reuse tracker) refuses, and also every key that does not end
// inside the buffer and every buffer whose tree (shared sub-values counted
// each time they are reached) has more than size + 16 values: the old
// VerifyBuffer + key walk, in one pass (tests/projections/flex_reference.h
// keeps that pair to prove it). Stricter than that pair in two places only
// hostile bytes reach: every key is checked, typed vectors' too, and every
// string must end in a NUL. Pure; a flex_verifier is not thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace muninn::projections {

class flex_verifier {
 public:
  // True when buf[0, size) is safe to read as above. Alignment is checked
  // relative to `buf`, which the caller keeps 8-aligned (scalars are read
  // in place).
  bool verify(const std::uint8_t* buf, std::size_t size);

 private:
  // What was verified where in the current call, stamped with the call's
  // generation so no call clears it: the reuse tracker VerifyBuffer keeps,
  // without its per-call fill of the buffer's size.
  std::vector<std::uint32_t> seen_;
  std::uint32_t generation_ = 0;
};

}  // namespace muninn::projections
