// The index thread: moves durable batches from the window into RocksDB in
// large write batches, off the acknowledgement path; plus close().
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstring>

#include "codec/batch_generated.h"
#include "codec/frame.h"
#include "codec/stream_hash.h"
#include "storage/log_impl.h"

namespace muninn::storage {

void index_accumulator::add(index_db::write_batch& wb, std::uint64_t segment, std::uint64_t position,
                            const fb::RecordBatch& batch) {
  if (segment != sparse_segment_ || position >= sparse_position_ + interval_) {
    sparse_segment_ = segment;
    sparse_position_ = position;
    wb.add_sparse(sparse_entry{batch.base_offset(), segment, position, batch.commit_time()});
  }
  const auto* events = batch.events();
  // The index reads batches tens of ms after they were built, when they
  // have left the cache, and reading an event's first field was a miss
  // (over half of this function's samples): start all of them at once.
  for (flatbuffers::uoffset_t i = 0; i < events->size(); ++i) __builtin_prefetch(events->Get(i));
  for (flatbuffers::uoffset_t i = 0; i < events->size(); ++i) {
    const auto* e = events->Get(i);
    const std::uint64_t offset = batch.base_offset() + i;
    index_db::write_batch::id_entry ie;
    std::memcpy(ie.id.bytes.data(), e->id()->b()->Data(), ie.id.bytes.size());
    ie.offset = offset;
    ie.version = e->version();
    ids_.push_back(ie);
    const std::string_view stream(e->stream()->data(), e->stream()->size());
    auto it = runs_.find(stream);
    if (it == runs_.end())
      it = runs_.emplace(std::string(stream), run{e->version(), {}, codec::stream_hash(stream)}).first;
    if (it->second.offsets.empty()) it->second.first_version = e->version();
    it->second.offsets.push_back(offset);
  }
}

void index_accumulator::finish(index_db::write_batch& wb) {
  // Ids compare as two big-endian words: the same order as the bytes, and
  // no memcmp call per comparison (the sort of a 50,000-event write was 4%
  // of all CPU).
  auto words = [](const codec::event_id& id) {
    std::uint64_t hi, lo;
    std::memcpy(&hi, id.bytes.data(), 8);
    std::memcpy(&lo, id.bytes.data() + 8, 8);
    return std::pair{__builtin_bswap64(hi), __builtin_bswap64(lo)};
  };
  std::sort(ids_.begin(), ids_.end(), [&](const auto& a, const auto& b) { return words(a.id) < words(b.id); });
  wb.add_ids(ids_);
  ids_.clear();
  // In key order (the stream hash leads the key): the heads family has no
  // insert hint, and a memtable insert in random order searched its
  // skiplist from the top through cold nodes, a miss per level (RocksDB's
  // inserts were 10% of all CPU). In order, each insert starts from the
  // previous one's position. The stream runs keep their per-stream hints.
  order_.clear();
  for (auto& [stream, r] : runs_)
    if (!r.offsets.empty()) order_.emplace_back(&stream, &r);  // empty: kept from an earlier write
  std::sort(order_.begin(), order_.end(), [](const auto& a, const auto& b) {
    return a.second->key_hash != b.second->key_hash ? a.second->key_hash < b.second->key_hash
                                                    : *a.first < *b.first;
  });
  for (auto& [stream, r] : order_) {
    wb.add_stream_run(*stream, r->first_version, r->offsets);
    wb.set_head(*stream, r->first_version + std::int64_t(r->offsets.size()) - 1, r->offsets.back());
    r->offsets.clear();
  }
  // Busy streams come back in the next write: keeping their entries (and
  // their vectors' capacity) saves an allocation and a free per stream per
  // write. A map that has grown past what one write usually touches starts
  // over, so streams seen once do not accumulate.
  if (runs_.size() > max_kept_runs) runs_.clear();
}

void log_impl::index_loop() {
  std::vector<committed_batch> work;
  for (;;) {
    {
      std::unique_lock lk(idx_mu_);
      idx_cv_.wait_for(lk, std::chrono::milliseconds(50), [&] {
        std::shared_lock g(win_mu_);
        return !window_.empty() || closing_;
      });
      // Let a write gather up to index_delay_ms of events: a stream's
      // versions and a second's ids then share one key, instead of one key
      // per event when writes are small. Readers see the window meanwhile.
      const auto deadline = std::chrono::steady_clock::now() + opts_.index_delay;
      idx_cv_.wait_until(lk, deadline, [&] {
        if (closing_ || flush_requested_ > 0) return true;
        std::shared_lock g(win_mu_);
        return !window_.empty() && durable_.load() - window_.front().base >= opts_.index_batch_events;
      });
    }
    {
      std::shared_lock g(win_mu_);
      std::size_t events = 0;
      for (const auto& b : window_) {
        if (events >= opts_.index_batch_events) break;
        work.push_back(b);
        events += b.count;
      }
    }
    if (work.empty()) {
      if (io_stopped_) return;  // closing, and the I/O thread wrote its last batch
      continue;
    }
    auto wb = index_->begin();
    codec::hash256 hash{};
    for (const auto& b : work) {
      auto payload = b.frame->frame().subspan(codec::frame_header_bytes);
      const auto* rb = flatbuffers::GetRoot<fb::RecordBatch>(payload.data());  // we built it: trusted
      accumulator_->add(*wb, b.segment, b.position, *rb);
      hash = codec::stored_hash(*rb);
    }
    accumulator_->finish(*wb);
    const std::uint64_t next = work.back().base + work.back().count;
    if (auto r = index_->commit(*wb, index_checkpoint{next, hash}); !r) {
      // The log stays correct; the index is retried (appends slow down once
      // it lags max_unindexed_events behind).
      spdlog::error("{}: index write failed: {}", dir_, r.error());
      work.clear();
      if (io_stopped_) return;  // closing: the next open re-indexes from the segments
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      continue;
    }
    {
      std::unique_lock g(win_mu_);
      window_.erase(window_.begin(), window_.begin() + std::ptrdiff_t(work.size()));
      indexed_.store(next, std::memory_order_release);
    }
    work.clear();
    { std::lock_guard g(idx_mu_); }
    idx_done_cv_.notify_all();
  }
}

void log_impl::flush_index() {
  if (closing_) return;
  {
    std::unique_lock lk(idx_mu_);
    ++flush_requested_;
    idx_cv_.notify_all();
    idx_done_cv_.wait(lk, [&] { return indexed_.load() >= durable_.load() || !index_thread_.joinable(); });
    --flush_requested_;
  }
  if (auto r = index_->flush(); !r) spdlog::error("{}: index flush failed: {}", dir_, r.error());
}

void log_impl::close() {
  {
    std::lock_guard g(seq_mu_);
    if (closed_) return;
    closed_ = true;
    closing_ = true;
  }
  {
    std::lock_guard g(io_mu_);
  }
  io_cv_.notify_all();
  if (io_thread_.joinable()) io_thread_.join();
  io_stopped_ = true;
  { std::lock_guard g(idx_mu_); }
  idx_cv_.notify_all();
  if (index_thread_.joinable()) index_thread_.join();
  if (index_) {
    if (auto r = index_->flush(); !r) spdlog::error("{}: index flush failed: {}", dir_, r.error());
  }
  active_.reset();
  // Release the RocksDB lock so the partition can be opened again.
  std::unique_lock g(win_mu_);
  index_.reset();
}

log_impl::~log_impl() { close(); }

}  // namespace muninn::storage
