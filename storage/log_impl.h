// Internals of partition_log (storage/log.h). Three kinds of thread touch it:
//   callers of append() encode their batch in parallel, outside any lock
//     (codec::prepare_batch); then sequence under seq_mu_: preconditions,
//     offsets, versions and commit time filled into the batch; then hand it
//     to the I/O thread in that order;
//   the writer closes the hash chain of each group in log order (seal),
//     writes the group with one write + fdatasync (group commit), publishes
//     durable_, and acknowledges. The writer is the I/O thread, or an
//     append_sync caller that found nothing queued or being written and
//     leads its own group; writer_busy_ (io_mu_) makes it one at a time,
//     and a leader claims it under seq_mu_, so groups are written in log
//     order whoever writes them;
//   the index thread moves committed batches into RocksDB, off the
//     acknowledgement path.
// Lock order: seq_mu_ -> io_mu_; win_mu_, seg_mu_ and head_mu_ are leaves.
// No lock is held across I/O except seq_mu_ around RocksDB point lookups.
// Durability states, each a count of events: durable_ <= written_ <= next_offset_.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "codec/batch.h"
#include "codec/prepared_batch.h"
#include "storage/id_table.h"
#include "storage/index.h"
#include "storage/log.h"

namespace muninn::storage {

struct segment {
  std::uint64_t base = 0;
  std::string path;
  std::shared_ptr<io::read_file> reader;
  std::atomic<std::uint64_t> durable_size{0};  // bytes readers may read
};

// A batch that is durable: in the window until the index reflects it.
struct committed_batch {
  std::uint64_t base = 0;
  std::uint32_t count = 0;
  std::int64_t commit_time = 0;
  std::uint64_t segment = 0;
  std::uint64_t position = 0;
  std::shared_ptr<const codec::prepared_batch> frame;  // sealed
};

// An append on its way through the I/O thread.
struct pending_append {
  // Assigned but not yet sealed; null: waits for earlier appends only.
  std::shared_ptr<codec::prepared_batch> frame;
  std::uint64_t base = 0;
  std::uint32_t count = 0;
  std::int64_t commit_time = 0;
  codec::hash256 hash{};  // set by seal() on the I/O thread
  ack_mode acks = ack_mode::durable;
  append_callback done;
  append_ok ok;
  bool acked = false;
};

struct chunk_builder;

struct stream_state {
  std::int64_t version = -1;
  std::uint64_t offset = 0;
};

// Deliberately not noexcept: libstdc++ then stores each entry's hash code
// in its node (it does so for hashes that may throw), and a find compares
// codes before names instead of hashing every name in the bucket to learn
// where the bucket ends (the stream map's find was 3% of all CPU).
struct string_hash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

// Turns committed batches into index entries; shared by the index thread
// and the re-index at open so both write the same entries. Stream entries
// are collected into runs of consecutive versions and written once per
// stream per index write: one key for many events of a busy stream.
class index_accumulator {
 public:
  explicit index_accumulator(std::uint64_t sparse_interval) : interval_(sparse_interval) {}
  // Adds the sparse entry (when due) and the event ids now; collects streams.
  void add(index_db::write_batch& wb, std::uint64_t segment, std::uint64_t position,
           const fb::RecordBatch& batch);
  // Writes the collected stream runs and heads, and starts over.
  void finish(index_db::write_batch& wb);

 private:
  struct run {
    std::int64_t first_version = 0;
    std::vector<std::uint64_t> offsets;
    std::uint64_t key_hash = 0;  // codec::stream_hash: the stream keys' first 8 bytes
  };
  std::vector<index_db::write_batch::id_entry> ids_;
  std::vector<std::pair<const std::string*, run*>> order_;  // finish(): this write's runs in key order
  std::uint64_t interval_;
  std::uint64_t sparse_segment_ = ~0ull;
  std::uint64_t sparse_position_ = 0;
  static constexpr std::size_t max_kept_runs = 1u << 14;
  std::unordered_map<std::string, run, string_hash, std::equal_to<>> runs_;  // empty offsets: not in this write
};

class log_impl final : public partition_log {
 public:
  log_impl(std::string dir, log_options opts);
  ~log_impl() override;

  // Recovery (log_open.cc).
  result<void, append_error> recover();

  // partition_log
  void append(const append_request& request, append_callback done) override { submit(request, std::move(done), false); }
  append_result append_sync(const append_request& request) override;
  result<read_chunk, errc> read(std::uint64_t from, std::size_t max_bytes) const override;
  result<void, errc> read(std::uint64_t from, std::size_t max_bytes, read_chunk& into) const override;
  result<std::vector<event_record>, errc> read_stream(std::string_view stream, std::int64_t from_version,
                                                      std::size_t max_events) const override;
  result<std::int64_t, errc> stream_version(std::string_view stream) const override;
  result<std::uint64_t, errc> offset_for_time(std::int64_t micros) const override;
  std::uint64_t head() const override { return durable_.load(std::memory_order_acquire); }
  codec::hash256 head_hash() const override;
  log_stats stats() const override;
  result<verify_report, errc> verify() const override;
  void flush_index() override;
  void add_durable_listener(std::function<void(std::uint64_t head)> fn) override;
  void close() override;

 private:
  // log_open.cc
  result<void, append_error> recover_tail(std::vector<std::uint64_t>& bases, std::uint64_t& valid_end,
                                          std::uint64_t indexed_floor);
  result<void, append_error> open_index();
  result<void, append_error> reindex(std::uint64_t from);
  std::string segment_path(std::uint64_t base) const;

  // log_append.cc
  // Sequences an append; `lead`: write it on this thread when nothing is
  // queued or being written (the callback has run when this returns).
  void submit(const append_request& request, append_callback done, bool lead);
  void io_loop();
  // Writes (or fails, when fenced) a group as the writer.
  void run_group(std::vector<pending_append>& group);
  void write_group(std::vector<pending_append>& group);
  void fail_group(std::vector<pending_append>& group, errc code);
  std::optional<stream_state> indexed_stream(std::string_view stream);
  std::optional<std::pair<std::uint64_t, std::int64_t>> lookup_id(const codec::event_id& id);
  void trim_caches();

  // log_index.cc
  void index_loop();

  // log_read.cc
  std::shared_ptr<segment> segment_for(std::uint64_t offset) const;
  std::shared_ptr<segment> next_segment(std::uint64_t base) const;
  result<void, errc> read_segment(const segment& seg, std::uint64_t start_pos, std::uint64_t from,
                                  std::size_t max_bytes, chunk_builder& out) const;

  const std::string dir_;
  log_options opts_;
  std::shared_ptr<io::file_system> fs_;
  std::unique_ptr<index_db> index_;

  // Sequencer state (seq_mu_).
  std::mutex seq_mu_;
  std::uint64_t next_offset_ = 0;
  std::int64_t last_commit_time_ = 0;
  static constexpr std::size_t initial_streams = 4096;
  std::unordered_map<std::string, stream_state, string_hash, std::equal_to<>> streams_;
  // Recent ids in two generations. New ids go into the young one; once it
  // holds cached_ids ids and every id of the old one is indexed, the old
  // one is dropped whole (a clear: one sequential pass) and the young one
  // becomes old. Dropping indexed ids one by one in append order cost a
  // cache miss each (trim_caches, 4-5% of all CPU under durable batches).
  struct id_generation {
    id_table ids;
    std::uint64_t end = 0;     // above every offset in `ids` (conservative after a rollback)
    std::uint64_t max_ms = 0;  // the newest UUIDv7 time in `ids`, 0 when none
  };
  id_generation young_ids_;
  id_generation old_ids_;
  // v7 ids newer than this (ms) cannot be in the index unless cached: skip the lookup.
  std::uint64_t id_watermark_ms_ = 0;

  // I/O thread state.
  std::mutex io_mu_;
  std::condition_variable io_cv_;
  std::deque<pending_append> io_queue_;
  std::atomic<std::size_t> io_queue_size_{0};  // io_queue_.size(), readable without io_mu_
  std::atomic<std::size_t> queued_bytes_{0};
  bool writer_busy_ = false;  // io_mu_: a group is being written (by the I/O thread or a leader)
  // The writer's only (after open): whoever holds writer_busy_.
  std::unique_ptr<io::append_file> active_;
  std::shared_ptr<segment> active_seg_;
  std::uint64_t active_size_ = 0;
  codec::hash256 last_hash_{};  // the chain's head, sealed
  std::thread io_thread_;

  // Published state.
  std::atomic<std::uint64_t> durable_{0};
  std::atomic<std::uint64_t> written_{0};
  std::atomic<std::uint64_t> indexed_{0};
  std::atomic<bool> fenced_{false};
  std::atomic<bool> closing_{false};
  std::atomic<bool> io_stopped_{false};
  std::atomic<std::uint64_t> commits_{0};
  std::atomic<std::uint64_t> led_commits_{0};
  std::atomic<std::uint64_t> batches_{0};
  std::atomic<std::uint64_t> bytes_{0};
  std::atomic<std::uint64_t> write_sync_ns_{0};
  std::mutex listeners_mu_;
  std::vector<std::function<void(std::uint64_t)>> listeners_;
  mutable std::mutex head_mu_;
  codec::hash256 durable_hash_{};

  mutable std::shared_mutex seg_mu_;
  std::vector<std::shared_ptr<segment>> segments_;

  // Durable batches not yet in the index (win_mu_); the I/O thread pushes,
  // the index thread pops.
  mutable std::shared_mutex win_mu_;
  std::deque<committed_batch> window_;
  std::mutex idx_mu_;
  std::condition_variable idx_cv_;
  std::condition_variable idx_done_cv_;
  int flush_requested_ = 0;  // idx_mu_: flush_index() callers waiting
  std::thread index_thread_;
  std::unique_ptr<index_accumulator> accumulator_;  // index thread (after open)
  bool closed_ = false;
};

}  // namespace muninn::storage
