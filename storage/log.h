// The partition log: the public face of the storage module and the only
// source of truth in Muninn. A partition is a directory of append-only
// segment files (docs/storage-format.md) plus a RocksDB index of derived,
// rebuildable state (offsets, stream versions, event ids).
//
// Guarantees:
// - An append acknowledged with ack_mode::durable is on disk (fdatasync)
//   before its callback runs, and survives a crash exactly once.
// - Offsets are dense: the i-th event ever appended has offset i.
// - Every batch is chained: hash = SHA-256(prev_hash || batch); verify()
//   names the first batch where the chain or a checksum breaks.
// - Durability states never go backwards: durable <= written <= queued.
// - After an I/O error the partition is fenced: every append fails (never a
//   false acknowledgement) until the log is closed and opened again.
// Thread-safety: every member function may be called from any thread.
// Append callbacks run on the partition's I/O thread and must not block
// (append_sync's own write, when it leads, runs on its caller's thread).
#pragma once

#include <cstddef>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "codec/batch.h"
#include "codec/result.h"
#include "storage/errors.h"
#include "storage/io/file_system.h"

namespace muninn::storage {

enum class ack_mode : std::uint8_t {
  durable = 0,  // acknowledged after fdatasync (default)
  written = 1,  // acknowledged once the bytes reached the kernel
};

struct log_options {
  std::uint64_t segment_bytes = 1ull << 30;       // roll to a new segment past this size
  std::uint64_t index_interval_bytes = 64 << 10;  // one sparse offset-index entry per this many bytes
  std::size_t max_queued_bytes = 256u << 20;      // appends wait while more than this is unwritten
  std::size_t max_unindexed_events = 4u << 20;    // appends wait while the index lags this far behind
  std::size_t index_batch_events = 50'000;        // events per RocksDB write batch
  // How long the index waits to gather a larger write (fewer keys per event).
  std::chrono::milliseconds index_delay{50};
  std::size_t cached_streams = 1u << 18;          // stream versions kept in memory beyond the unindexed window
  std::size_t cached_ids = 1u << 16;              // event ids kept in memory beyond the unindexed window
  codec::batch_limits limits;
  // Segment I/O. Default: the io_uring file system.
  std::shared_ptr<io::file_system> fs;
  // Commit clock (µs since epoch). Default: the system clock. The log keeps
  // commit times non-decreasing whatever the clock does.
  std::function<std::int64_t()> clock;
};

struct append_request {
  std::span<const codec::event_in> events;
  ack_mode acks = ack_mode::durable;
  std::string_view producer_id;
  std::uint64_t producer_seq = 0;
};

struct appended_event {
  std::uint64_t offset = 0;
  std::int64_t version = 0;  // the event's version in its stream
  bool duplicate = false;    // id was already in the log: offset/version are the original's
};

struct append_ok {
  std::vector<appended_event> events;  // one per request event, same order
};

struct append_error {
  errc code = errc::ok;
  std::uint32_t event_index = 0;     // which event of the request, where it applies
  std::int64_t actual_version = -1;  // wrong_expected_version: the stream's last version (-1: none)
  std::string message;               // one line for people
};

using append_result = result<append_ok, append_error>;
using append_callback = std::function<void(append_result)>;

// A run of batches as stored: `bytes` holds whole frames back to back
// (its capacity may be larger: a reused chunk keeps its memory).
struct read_chunk {
  struct batch_ref {
    std::uint64_t base_offset = 0;
    std::uint32_t count = 0;
    std::int64_t commit_time = 0;
    std::span<const std::byte> frame;  // into bytes: header + payload
    codec::verified_batch batch;       // into bytes
  };
  std::vector<std::byte> bytes;
  std::vector<batch_ref> batches;
};

// One event with its position, owned.
struct event_record {
  std::uint64_t offset = 0;
  std::int64_t version = 0;
  std::int64_t commit_time = 0;
  std::string stream;
  std::string type;
  codec::event_id id;
  std::int64_t time = 0;
  std::string content_type;
  std::vector<std::byte> data;
};

struct verify_report {
  bool ok = true;
  std::uint64_t batches = 0;
  std::uint64_t events = 0;
  codec::hash256 head_hash{};
  // The first broken batch, when !ok.
  std::string segment;
  std::uint64_t position = 0;     // byte position in the segment
  std::uint64_t base_offset = 0;  // offset the broken batch should start at
  std::string reason;
};

struct log_stats {
  std::uint64_t head = 0;      // next offset to be assigned once durable: events in the log
  std::uint64_t written = 0;   // events handed to the kernel
  std::uint64_t indexed = 0;   // events reflected in RocksDB
  std::uint64_t segments = 0;
  std::uint64_t commits = 0;   // group commits (fdatasyncs) since open
  std::uint64_t led_commits = 0;  // of those, written by an append_sync caller leading its own
  std::uint64_t batches = 0;   // batches appended since open
  std::uint64_t bytes = 0;     // segment bytes made durable since open
  std::uint64_t write_sync_ns = 0;  // time in write + fdatasync since open
};

class partition_log {
 public:
  virtual ~partition_log() = default;

  // Opens (creating if needed) the partition in `dir`: scans the last
  // segment, cuts a torn or corrupt tail, brings the index up to the log
  // (rebuilding it when missing or damaged), then accepts appends.
  static result<std::unique_ptr<partition_log>, append_error> open(std::string dir,
                                                                   log_options options = {});

  // Queues an append. Preconditions are checked in order: limits, then
  // event-id dedupe (a known id returns its original position), then the
  // expected versions; a failed check refuses the whole request and nothing
  // of it is appended. `done` runs once, on the I/O thread.
  virtual void append(const append_request& request, append_callback done) = 0;
  // Blocking form of append(). When nothing is queued or being written, the
  // caller leads its own group commit: the write and fdatasync run on the
  // calling thread, as they would on the I/O thread, sparing the hand-over
  // there and back that set a lone append's latency tail. Otherwise it
  // queues like append() and waits. Same ordering, durability and errors.
  virtual append_result append_sync(const append_request& request) = 0;

  // Durable batches from the one holding `from`, at least one batch and at
  // most about `max_bytes`. Empty when from == head().
  virtual result<read_chunk, errc> read(std::uint64_t from, std::size_t max_bytes) const = 0;
  // The same read into `into`, replacing what it held but keeping its
  // memory: a loop that reads a log chunk by chunk (a replay, a rebuild)
  // allocates and page-faults its buffer once instead of once per read.
  // After an error `into` is empty.
  virtual result<void, errc> read(std::uint64_t from, std::size_t max_bytes, read_chunk& into) const = 0;
  // Events of `stream` with from_version <= version, at most max_events.
  virtual result<std::vector<event_record>, errc> read_stream(std::string_view stream,
                                                              std::int64_t from_version,
                                                              std::size_t max_events) const = 0;
  // The stream's last durable version; -1 when it has none.
  virtual result<std::int64_t, errc> stream_version(std::string_view stream) const = 0;
  // First offset whose batch was committed at or after `micros`; head() when none.
  virtual result<std::uint64_t, errc> offset_for_time(std::int64_t micros) const = 0;

  virtual std::uint64_t head() const = 0;  // durable events: the next offset once durable
  virtual codec::hash256 head_hash() const = 0;
  virtual log_stats stats() const = 0;
  // Recomputes every CRC and the whole hash chain from the first segment.
  virtual result<verify_report, errc> verify() const = 0;
  // Calls `fn(head)` on the I/O thread each time durable events were added
  // (live subscriptions wake on it). `fn` must not block or call append.
  virtual void add_durable_listener(std::function<void(std::uint64_t head)> fn) = 0;
  // Waits until the index reflects every durable event (tests, shutdown).
  virtual void flush_index() = 0;
  // Stops accepting appends, completes in-flight ones, flushes the index
  // and releases the directory. Reads and appends then fail with `closed`;
  // close() must not race with reads still in progress.
  virtual void close() = 0;
};

}  // namespace muninn::storage
