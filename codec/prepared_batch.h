// Prepared batches: a record batch (codec/batch.h) encoded before the log
// has placed it, so the log's appending threads can encode in parallel,
// outside the sequencer lock. Byte-level format: docs/storage-format.md;
// a prepared batch is the same bytes, never a format of its own.
// Thread-safety: prepare_batch() is thread-safe; a prepared_batch is not.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "codec/batch.h"

namespace muninn::codec {

// A batch encoded before the log has placed it. The log's appending
// threads encode their batches in parallel (prepare_batch), outside the
// sequencer lock; under the lock only the fields that depend on the
// batch's place are filled in (assign), and the hash chain is closed in log
// order (seal). Every scalar is written (ForceDefaults), so FlatBuffers lays
// out the same bytes whatever the values: filling a field in place gives
// byte for byte the payload batch_builder::build() makes with the final
// values (tests/codec/prepared_batch_test.cc checks it). Not thread-safe; move-only.
class prepared_batch {
 public:
  prepared_batch() = default;
  prepared_batch(prepared_batch&&) noexcept = default;
  prepared_batch& operator=(prepared_batch&&) noexcept = default;

  std::uint32_t count() const noexcept { return count_; }
  // Sets base_offset, events[i].version = versions[i], commit_time and the
  // first/last timestamps (commit_time stands in for unset event times).
  // std::invalid_argument when versions.size() != count().
  void assign(std::uint64_t base_offset, std::int64_t commit_time, std::span<const std::int64_t> versions);
  // Writes prev_hash, then hash = SHA-256(prev_hash || payload with the hash
  // zeroed), then the frame header (length, CRC32C). Call after assign().
  hash256 seal(const hash256& prev_hash);
  // The whole frame (header + payload), final once sealed. The payload is
  // 8-byte aligned. Empty for a default-constructed object.
  std::span<const std::byte> frame() const noexcept {
    return {reinterpret_cast<const std::byte*>(raw_.get()) + begin_, size_};
  }

 private:
  friend prepared_batch prepare_batch(std::span<const event_in> events, std::string_view producer_id,
                                      std::uint64_t producer_seq);
  std::uint8_t* payload() noexcept;

  std::unique_ptr<std::uint8_t[]> raw_;  // as FlatBuffers allocated it (new[])
  std::size_t begin_ = 0;                // the frame's start in raw_
  std::size_t size_ = 0;                 // frame bytes
  std::uint32_t count_ = 0;
  // Positions in the payload of the fields assign() and seal() fill in.
  std::uint32_t base_offset_at_ = 0, commit_time_at_ = 0, first_at_ = 0, last_at_ = 0;
  std::uint32_t prev_hash_at_ = 0, hash_at_ = 0;
  std::vector<std::uint32_t> version_at_;
  // Min and max of the events' business times, and whether one has none.
  std::int64_t min_time_ = 0, max_time_ = 0;
  bool any_unset_ = false;
};

// Encodes `events` (check_event them first) as a batch with placeholders
// for base_offset, versions, commit_time, timestamps and both hashes.
// std::length_error when the payload would exceed max_frame_payload_bytes
// (split the batch). Thread-safe.
prepared_batch prepare_batch(std::span<const event_in> events, std::string_view producer_id = {},
                             std::uint64_t producer_seq = 0);

}  // namespace muninn::codec
