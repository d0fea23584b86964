// Record batches: the unit the log appends, stores and ships. A batch is a
// FlatBuffers `muninn.fb.RecordBatch` (codec/schemas/batch.fbs) inside a
// frame (codec/frame.h). Byte-level description: docs/storage-format.md.
//
// Invariants kept here:
// - verify_batch() is the only way untrusted bytes become a RecordBatch
//   pointer: the FlatBuffers Verifier runs with depth/table/size limits and
//   every field is checked against batch_limits before anyone reads it.
// - hash = SHA-256(prev_hash || payload with the 32 hash bytes zeroed), so
//   the hash covers every byte of the batch, offsets and prev_hash included.
// Thread-safety: free functions are thread-safe; a batch_builder is not
// (one per writer).
#pragma once

#include <array>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "codec/errors.h"
#include "codec/result.h"

namespace muninn::fb {
struct RecordBatch;
struct Event;
}  // namespace muninn::fb

namespace muninn::codec {

using hash256 = std::array<std::uint8_t, 32>;

// 16-byte event id; printed as a UUID (8-4-4-4-12 lowercase hex).
struct event_id {
  std::array<std::uint8_t, 16> bytes{};

  auto operator<=>(const event_id&) const = default;
  bool is_nil() const noexcept;
  std::string to_string() const;
  // Accepts the canonical 36-character form (any case); nullopt otherwise.
  static std::optional<event_id> parse(std::string_view text) noexcept;
  // A fresh UUIDv7 (time-ordered, so index keys arrive nearly in order).
  static event_id generate_v7();
};

struct event_id_hash {
  std::size_t operator()(const event_id& id) const noexcept;
};

// Expected-version sentinels (domain.md): -2 no check, -1 must not exist.
inline constexpr std::int64_t expect_any = -2;
inline constexpr std::int64_t expect_no_stream = -1;

inline constexpr std::string_view content_type_json = "application/json";
// JSON `data` stored compactly as a FlexBuffer (codec/json.h).
inline constexpr std::string_view content_type_flexbuffers = "application/x-flexbuffers";

struct batch_limits {
  std::uint32_t max_events = 100'000;
  std::uint32_t max_stream_bytes = 200;
  std::uint32_t max_type_bytes = 100;
  std::uint32_t max_content_type_bytes = 100;
  std::uint32_t max_data_bytes = 16u << 20;
  std::uint32_t max_producer_id_bytes = 200;
  std::uint32_t max_depth = 8;           // FlatBuffers verifier nesting
  std::uint32_t max_tables = 1'000'000;  // FlatBuffers verifier table count
};

// One event as a producer hands it to the log (views: the caller owns the bytes).
struct event_in {
  std::string_view stream;
  std::string_view type;
  event_id id;
  std::int64_t expected_version = expect_any;
  std::int64_t time = 0;  // business time, µs since epoch; 0 = unset
  std::string_view content_type;
  std::span<const std::byte> data;
};

// Checks one event against the limits and the envelope rules the log itself
// needs (stream and type non-empty and within length, no NUL in stream, id
// not nil, expected_version >= -2). Returns missing_field for an empty
// stream or type, limit_exceeded for a length over its limit, invalid_value
// for the other rules, ok otherwise.
errc check_event(const event_in& e, const batch_limits& limits) noexcept;

struct verified_batch {
  const fb::RecordBatch* batch = nullptr;
  std::span<const std::byte> payload;  // the bytes `batch` points into
};

// Verifies an untrusted payload (frame payload) as a RecordBatch within
// `limits`: identifier, verifier, format_version, count == events.length,
// every event's check_event() and version >= -1, producer_id length. Does
// not check the hash (see check_hash). `payload.data()` must be 8-byte
// aligned: FlatBuffers reads scalars in place. batch_builder payloads are a
// multiple of 8 bytes, so frames stored back to back from an aligned start
// keep every payload aligned; copy anything else into a fresh buffer.
result<verified_batch, errc> verify_batch(std::span<const std::byte> payload,
                                          const batch_limits& limits = {});

// The batch in `payload` without verifying it: only for bytes that passed
// verify_batch (or came from batch_builder) and were copied verbatim since,
// so that a reader does not pay for verification twice.
verified_batch trusted_batch(std::span<const std::byte> payload) noexcept;

// SHA-256(prev_hash || payload with the hash field zeroed). `b` must come
// from verify_batch (the hash struct is located inside b.payload).
hash256 compute_hash(const verified_batch& b);
// True when the stored hash equals compute_hash(b).
bool check_hash(const verified_batch& b);

hash256 stored_hash(const fb::RecordBatch& b) noexcept;
hash256 stored_prev_hash(const fb::RecordBatch& b) noexcept;

// Builds record batches for the log writer: one frame (header + payload)
// per build(), hash chained onto `prev_hash`.
class batch_builder {
 public:
  struct header {
    std::uint64_t base_offset = 0;
    std::int64_t commit_time = 0;  // µs since epoch
    std::string_view producer_id;
    std::uint64_t producer_seq = 0;
    hash256 prev_hash{};
  };

  batch_builder();
  ~batch_builder();
  batch_builder(const batch_builder&) = delete;
  batch_builder& operator=(const batch_builder&) = delete;

  // events[i] gets version versions[i]. Returns the whole frame; the span
  // stays valid until the next build(). `out_hash` receives the batch hash.
  // Events are not checked here (check_event them first). Programming
  // errors throw: std::invalid_argument when versions.size() !=
  // events.size(), std::length_error when the payload would exceed
  // max_frame_payload_bytes (split the batch).
  std::span<const std::byte> build(const header& h, std::span<const event_in> events,
                                   std::span<const std::int64_t> versions, hash256& out_hash);

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

// Microseconds since the Unix epoch from the system clock.
std::int64_t now_micros() noexcept;

}  // namespace muninn::codec
