// Feeds stored record batches to a projection: the one path from the log's
// bytes to apply(), shared by the broker's runner and the client's auditor
// so both rebuild from exactly the same reading of every event. Pure; a
// feeder is not thread-safe (it owns the data reader's scratch).
//
// Reading an event (envelope, data verified as a FlexBuffer) and applying
// it are separable: decode_batch() turns batches into decoded_events that
// stay valid while the batches' bytes do, so one thread may read and
// verify the next chunk while another applies this one. Either way every
// event goes through the same event_of() and reaches apply() in log order.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "broker/projections/event.h"
#include "broker/projections/projection.h"
#include "codec/batch.h"

namespace muninn::projections {

// Events read ahead of apply(). Views into the batches they came from
// (stream, type, data in place) and into an arena of their own for data
// that had to be copied to be read (unaligned FlexBuffers, JSON). Reused:
// clear() keeps the memory.
class decoded_events {
 public:
  void clear() noexcept {
    events_.clear();
    arena_.clear();
    copies_.clear();
    prepared_.clear();
    prepared_words_ = 0;
  }
  std::span<const event_view> events() const noexcept { return events_; }
  std::size_t size() const noexcept { return events_.size(); }
  // What projection::prepare() left for event i; empty when finish() was
  // given no projection or the projection prepares nothing.
  std::span<const std::byte> prepared(std::size_t i) const noexcept {
    if (prepared_words_ == 0) return {};
    return std::as_bytes(std::span<const std::uint64_t>(prepared_.data() + i * prepared_words_, prepared_words_));
  }

 private:
  friend class feeder;
  // Data copied into arena_ at `at` (8-aligned), re-rooted once decoding is
  // over: the arena may move while it grows, its bytes and alignment stay.
  struct copy {
    std::size_t event;
    std::size_t at;
    std::size_t size;
  };
  std::vector<event_view> events_;
  std::vector<std::byte> arena_;
  std::vector<copy> copies_;
  // prepare()'s output, prepared_words_ 8-byte words per event.
  std::vector<std::uint64_t> prepared_;
  std::size_t prepared_words_ = 0;
};

class feeder {
 public:
  // Applies the events of a verified batch of `partition` whose offsets are
  // in [from, to), in order. Returns how many were applied.
  std::uint64_t apply_batch(projection& p, std::uint32_t partition, const fb::RecordBatch& batch,
                            std::uint64_t from, std::uint64_t to);

  // Appends the events of the batch in [from, to) to `out`, read exactly as
  // apply_batch reads them. Returns how many. Call finish(out) once the
  // last batch of a run is decoded, before the events are used.
  std::uint64_t decode_batch(decoded_events& out, std::uint32_t partition, const fb::RecordBatch& batch,
                             std::uint64_t from, std::uint64_t to);
  // With a projection, also runs its prepare() on every event, on this
  // thread (only const members of `p`: see projection::prepare).
  static void finish(decoded_events& out, const projection* p = nullptr);
  // Applies decoded events in order (apply_prepared when they were
  // prepared).
  static void apply(projection& p, const decoded_events& events);

 private:
  event_view event_of(const fb::Event& e, position at, std::int64_t commit_time);
  data_reader reader_;
};

}  // namespace muninn::projections
