// What a projection sees of one stored event, and the one way its data is
// turned into a verified FlexBuffer, shared by the broker's runner and the
// client's auditor so both rebuild from exactly the same reading.
// Pure: no I/O, no clock. A data_reader is not thread-safe (it owns scratch).
#pragma once

#include <flatbuffers/flexbuffers.h>

#include <compare>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "broker/projections/flex_verify.h"

namespace muninn::projections {

// Where an event sits in its topic: the order of events within a partition
// is the log's; across partitions a projection must not depend on it.
struct position {
  std::uint32_t partition = 0;
  std::uint64_t offset = 0;

  auto operator<=>(const position&) const = default;
};

// One event as a projection applies it. Views only: valid for the call.
struct event_view {
  position at;
  std::int64_t time = 0;      // business time, µs since the epoch (commit time when unset)
  std::int64_t version = -1;  // version in its stream
  std::string_view stream;
  std::string_view type;
  // The data's root; a null Reference when the data is absent or not a
  // valid FlexBuffer / JSON (a projection records that as an anomaly).
  flexbuffers::Reference data;
  bool data_ok = false;
};

// Turns stored data (application/x-flexbuffers or application/json) into a
// verified FlexBuffer root. Verification (flex_verifier, one walk) bounds
// every read a projection makes, including keys: FlatBuffers 2.0.8's
// verifier does not check that a key ends inside the buffer.
class data_reader {
 public:
  // nullopt when the data cannot be read; the reference stays valid until
  // the next call.
  std::optional<flexbuffers::Reference> read(std::string_view content_type,
                                             std::span<const std::byte> data);
  // The bytes the last successful read() verified when they are the
  // reader's copy (unaligned FlexBuffers, converted JSON) rather than the
  // caller's data; empty otherwise. A caller that keeps the reference past
  // the next read() copies these to an 8-aligned place of its own.
  std::span<const std::byte> copied() const noexcept { return copied_; }

 private:
  std::vector<std::byte> aligned_;
  std::span<const std::byte> copied_;
  flex_verifier verifier_;
};

// Typed, bounded reads from a verified map: absent or ill-typed is nullopt,
// never an exception. Strings are views into the buffer.
std::optional<std::string_view> get_string(const flexbuffers::Map& m, const char* key);
// An integer (signed, or unsigned within int64), else nothing.
std::optional<std::int64_t> as_int(flexbuffers::Reference r);
std::optional<std::int64_t> get_int(const flexbuffers::Map& m, const char* key);
std::optional<bool> get_bool(const flexbuffers::Map& m, const char* key);
std::optional<flexbuffers::Map> get_map(const flexbuffers::Map& m, const char* key);
std::optional<flexbuffers::Vector> get_vector(const flexbuffers::Map& m, const char* key);

}  // namespace muninn::projections
