// The append path: sequencing under seq_mu_ (preconditions, offsets,
// versions), then group commit by the writer: the I/O thread, or a lone
// append_sync caller leading its own group.
#include <spdlog/spdlog.h>

#include <chrono>

#include "codec/batch_generated.h"
#include "codec/frame.h"
#include "storage/log_impl.h"
#include "storage/segment_format.h"

namespace muninn::storage {
namespace {

append_error make_error(errc code, std::uint32_t index, std::string message) {
  append_error e;
  e.code = code;
  e.event_index = index;
  e.message = std::move(message);
  return e;
}

std::string version_text(std::int64_t v) { return v < 0 ? std::string("none") : std::to_string(v); }

// The UUIDv7 timestamp (ms) of an id, or nullopt for other versions.
std::optional<std::uint64_t> v7_millis(const codec::event_id& id) {
  if ((id.bytes[6] >> 4) != 7) return std::nullopt;
  std::uint64_t ms = 0;
  for (int i = 0; i < 6; ++i) ms = (ms << 8) | id.bytes[i];
  return ms;
}

// Set on a partition's I/O thread: an append() from an acknowledgement
// callback must not wait for back-pressure that only this thread relieves.
thread_local bool on_io_thread = false;

// How many bytes one group write may carry at most.
constexpr std::size_t max_group_bytes = 16u << 20;

}  // namespace

std::optional<stream_state> log_impl::indexed_stream(std::string_view stream) {
  // Not appended since the cache last held it: everything about it is in
  // the index (entries are only evicted once indexed).
  if (auto h = index_->stream_head(stream)) return stream_state{h->first, h->second};
  return std::nullopt;
}

std::optional<std::pair<std::uint64_t, std::int64_t>> log_impl::lookup_id(const codec::event_id& id) {
  if (auto known = young_ids_.ids.find(id)) return known;
  const auto ms = v7_millis(id);
  // A v7 id newer than everything in the old generation is not in it: a
  // fresh id costs one probe, not two.
  if (!ms || *ms <= old_ids_.max_ms) {
    if (auto known = old_ids_.ids.find(id)) return known;
  }
  if (ms && *ms > id_watermark_ms_) return std::nullopt;  // newer than the index
  return index_->find_id(id);
}

void log_impl::trim_caches() {
  const std::uint64_t indexed = indexed_.load(std::memory_order_acquire);
  if (streams_.size() > 2 * opts_.cached_streams) {
    for (auto it = streams_.begin(); it != streams_.end() && streams_.size() > opts_.cached_streams;)
      it = it->second.offset < indexed ? streams_.erase(it) : std::next(it);
  }
  // Ids leave a generation at a time, once all of it is indexed.
  if (young_ids_.ids.size() >= opts_.cached_ids && old_ids_.end <= indexed) {
    // Every dropped id is in the index: lookups of ids up to this time must ask it.
    id_watermark_ms_ = std::max(id_watermark_ms_, old_ids_.max_ms);
    old_ids_.ids.clear();
    old_ids_.end = 0;
    old_ids_.max_ms = 0;
    std::swap(young_ids_, old_ids_);
  }
}

void log_impl::submit(const append_request& req, append_callback done, bool lead) {
  const auto n = req.events.size();
  if (n == 0) return done(unexpected(make_error(errc::empty_batch, 0, "append with no events")));
  if (n > opts_.limits.max_events)
    return done(unexpected(make_error(errc::invalid_event, std::uint32_t(opts_.limits.max_events),
                                      "batch of " + std::to_string(n) + " events exceeds the limit of " +
                                          std::to_string(opts_.limits.max_events))));
  if (req.producer_id.size() > opts_.limits.max_producer_id_bytes)
    return done(unexpected(make_error(errc::invalid_event, 0, "producer id is too long")));
  for (std::size_t i = 0; i < n; ++i) {
    if (auto ec = codec::check_event(req.events[i], opts_.limits); ec != codec::errc::ok)
      return done(unexpected(make_error(errc::invalid_event, std::uint32_t(i),
                                        "event " + std::to_string(i) + ": " + std::string(codec::to_string(ec)))));
  }

  // The batch is encoded here, in parallel with the other appenders, on
  // the guess that no event is a duplicate (the usual case); under the lock
  // only what depends on its place in the log is filled in.
  auto batch = std::make_shared<codec::prepared_batch>(
      codec::prepare_batch(req.events, req.producer_id, req.producer_seq));

  std::unique_lock lk(seq_mu_);
  // Back-pressure: bounded unwritten bytes and a bounded index lag.
  while (!on_io_thread && !fenced_ && !closing_ &&
         (queued_bytes_.load() > opts_.max_queued_bytes ||
          next_offset_ - indexed_.load() > opts_.max_unindexed_events)) {
    lk.unlock();
    std::this_thread::sleep_for(std::chrono::microseconds(200));
    lk.lock();
  }
  if (closing_) return lk.unlock(), done(unexpected(make_error(errc::closed, 0, "the log is closed")));
  if (fenced_)
    return lk.unlock(), done(unexpected(make_error(errc::fenced, 0, std::string(to_string(errc::fenced)))));

  append_ok ok;
  ok.events.resize(n);
  std::vector<std::int64_t> versions;  // of the events that get new offsets
  versions.reserve(n);
  std::uint64_t need = 0;  // acknowledged once this many events are durable
  // Undo log: the caches are updated as we go and rolled back on refusal.
  std::vector<std::pair<std::string_view, std::optional<stream_state>>> undo_streams;
  std::vector<codec::event_id> undo_ids;
  auto rollback = [&] {
    for (auto it = undo_streams.rbegin(); it != undo_streams.rend(); ++it) {
      if (it->second) {
        streams_.find(it->first)->second = *it->second;
      } else {
        streams_.erase(streams_.find(it->first));
      }
    }
    // The generation's end and max_ms stay: too high is only conservative.
    for (const auto& id : undo_ids) young_ids_.ids.erase(id);
  };

  // Every id is looked up in the id table and then inserted there: start
  // the table's cache misses of the whole request now, not one per event.
  for (const auto& e : req.events) young_ids_.ids.prefetch(e.id);
  for (std::size_t i = 0; i < n; ++i) {
    const auto& e = req.events[i];
    if (auto known = lookup_id(e.id)) {
      ok.events[i] = appended_event{known->first, known->second, true};
      need = std::max(need, known->first + 1);
      continue;
    }
    // One lookup serves both the check and the update: a find in this map
    // hashes the name and, its hash codes not being cached, the names of the
    // bucket's other entries too (6% of all samples with two finds).
    auto sit = streams_.find(e.stream);
    const auto cur = sit != streams_.end() ? std::optional(sit->second) : indexed_stream(e.stream);
    const std::int64_t actual = cur ? cur->version : -1;
    const bool mismatch = (e.expected_version == codec::expect_no_stream && actual != -1) ||
                          (e.expected_version >= 0 && e.expected_version != actual);
    if (mismatch) {
      rollback();
      lk.unlock();
      auto err = make_error(errc::wrong_expected_version, std::uint32_t(i),
                            "event " + std::to_string(i) + ": stream '" + std::string(e.stream) +
                                "' expected version " + version_text(e.expected_version) + " but it is at " +
                                version_text(actual));
      err.actual_version = actual;
      return done(unexpected(std::move(err)));
    }
    const std::uint64_t offset = next_offset_ + versions.size();
    const std::int64_t version = actual + 1;
    if (sit == streams_.end()) {
      sit = streams_.emplace(std::string(e.stream), stream_state{}).first;
      undo_streams.emplace_back(sit->first, std::nullopt);
    } else {
      undo_streams.emplace_back(sit->first, sit->second);
    }
    sit->second = stream_state{version, offset};
    young_ids_.ids.insert(e.id, offset, version);
    young_ids_.end = std::max(young_ids_.end, offset + 1);
    if (auto ms = v7_millis(e.id)) young_ids_.max_ms = std::max(young_ids_.max_ms, *ms);
    undo_ids.push_back(e.id);
    ok.events[i] = appended_event{offset, version, false};
    versions.push_back(version);
  }

  pending_append p;
  p.acks = req.acks;
  p.done = std::move(done);
  if (!versions.empty()) {
    if (versions.size() != n) {
      // Some events were duplicates: the batch holds only the others. Rare
      // (a producer's retry), so encoded again here, under the lock.
      std::vector<codec::event_in> fresh;
      fresh.reserve(versions.size());
      for (std::size_t i = 0; i < n; ++i)
        if (!ok.events[i].duplicate) fresh.push_back(req.events[i]);
      batch = std::make_shared<codec::prepared_batch>(
          codec::prepare_batch(fresh, req.producer_id, req.producer_seq));
    }
    const std::int64_t commit_time = std::max(opts_.clock(), last_commit_time_);
    batch->assign(next_offset_, commit_time, versions);
    p.frame = std::move(batch);
    p.base = next_offset_;
    p.count = std::uint32_t(versions.size());
    p.commit_time = commit_time;
    last_commit_time_ = commit_time;
    next_offset_ += versions.size();
    need = std::max(need, next_offset_);
    queued_bytes_ += p.frame->frame().size();
  }
  p.ok = std::move(ok);
  trim_caches();

  const std::uint64_t reached =
      (req.acks == ack_mode::written ? written_ : durable_).load(std::memory_order_acquire);
  if (!p.frame && need <= reached) {
    // Every event was a duplicate of something already acknowledged.
    lk.unlock();
    return p.done(std::move(p.ok));
  }
  bool leads = false;
  {
    // Claimed under seq_mu_: every earlier append is written or queued, and
    // with the queue empty and no writer, written; later ones queue behind.
    std::lock_guard g(io_mu_);
    // Only a durable append leads: a `written` one is acknowledged before
    // the fdatasync, which a leader would have to wait out itself.
    if (lead && p.frame && p.acks == ack_mode::durable && io_queue_.empty() && !writer_busy_) {
      writer_busy_ = true;
      leads = true;
    } else {
      io_queue_.push_back(std::move(p));
      io_queue_size_.store(io_queue_.size(), std::memory_order_release);
    }
  }
  lk.unlock();
  if (!leads) return io_cv_.notify_one();
  std::vector<pending_append> group;
  group.push_back(std::move(p));
  run_group(group);
  led_commits_.fetch_add(1, std::memory_order_relaxed);
  bool more = false;
  {
    std::lock_guard g(io_mu_);
    writer_busy_ = false;
    more = !io_queue_.empty() || closing_;
  }
  if (more) io_cv_.notify_one();
}

append_result log_impl::append_sync(const append_request& request) {
  // When queued, the acknowledgement comes from the I/O thread about one
  // fdatasync later: spin for about a median fdatasync before sleeping,
  // because a futex wake-up costs as much as a third of one. Not longer:
  // io_uring runs the write and fdatasync on a kernel worker that needs a
  // core too, and on two cores a caller spinning through the slow tail
  // delays exactly the completion it waits for (a 500 us spin put
  // single-append p99 at 2.5x raw; 200 us at 1.0-1.5x; docs/benchmarks.md).
  // When this call leads, the callback has run before submit() returns.
  std::optional<append_result> out;
  std::atomic<bool> done{false};
  submit(
      request,
      [&](append_result r) {
        out.emplace(std::move(r));
        done.store(true, std::memory_order_release);
        done.notify_one();
      },
      true);
  const auto spin_until = std::chrono::steady_clock::now() + std::chrono::microseconds(200);
  while (!done.load(std::memory_order_acquire) && std::chrono::steady_clock::now() < spin_until)
    __builtin_ia32_pause();
  done.wait(false, std::memory_order_acquire);
  return std::move(*out);
}

void log_impl::run_group(std::vector<pending_append>& group) {
  if (fenced_) {
    fail_group(group, errc::fenced);
  } else {
    write_group(group);
  }
  for (auto& p : group)
    if (p.frame) queued_bytes_ -= p.frame->frame().size();
}

void log_impl::fail_group(std::vector<pending_append>& group, errc code) {
  for (auto& p : group) {
    if (p.acked) continue;
    p.acked = true;
    p.done(unexpected(make_error(code, 0, std::string(to_string(code)))));
  }
}

void log_impl::io_loop() {
  on_io_thread = true;
  std::vector<pending_append> group;
  for (;;) {
    // A producer usually sends its next append right after its
    // acknowledgement: waiting a few microseconds awake saves the futex
    // wake-up that dominates single-append latency.
    const auto spin_until = std::chrono::steady_clock::now() + std::chrono::microseconds(60);
    while (io_queue_size_.load(std::memory_order_acquire) == 0 && !closing_ &&
           std::chrono::steady_clock::now() < spin_until) {
      __builtin_ia32_pause();
    }
    {
      std::unique_lock lk(io_mu_);
      io_cv_.wait(lk, [&] { return !writer_busy_ && (!io_queue_.empty() || closing_); });
      if (io_queue_.empty()) return;  // closing, drained, and no leader writing
      std::size_t bytes = 0;
      while (!io_queue_.empty() && (group.empty() || bytes < max_group_bytes)) {
        if (io_queue_.front().frame) bytes += io_queue_.front().frame->frame().size();
        group.push_back(std::move(io_queue_.front()));
        io_queue_.pop_front();
      }
      io_queue_size_.store(io_queue_.size(), std::memory_order_release);
      writer_busy_ = true;
    }
    run_group(group);
    group.clear();
    std::lock_guard lk(io_mu_);
    writer_busy_ = false;
  }
}

void log_impl::write_group(std::vector<pending_append>& group) {
  std::vector<io::const_buffer> bufs;
  bufs.reserve(group.size() + 1);
  std::uint64_t bytes = 0;
  std::uint64_t end = 0;
  std::array<std::byte, format::segment_header_bytes> header{};
  const pending_append* first = nullptr;
  for (auto& p : group) {
    if (!p.frame) continue;
    if (!first) first = &p;
    end = p.base + p.count;
    // The chain is closed here, in log order, so that hashing is neither
    // under the sequencer lock nor a wait between appenders; a fenced
    // partition never gets here, so the chain stops where the log stops.
    p.hash = p.frame->seal(last_hash_);
    last_hash_ = p.hash;
  }

  if (first) {
    // Roll at a group boundary once the active segment is full.
    bool rolled = false;
    if (active_size_ >= opts_.segment_bytes) {
      const std::string path = segment_path(first->base);
      auto f = fs_->open_append(path, true);
      if (!f) {
        spdlog::error("{}: cannot create segment: {}", path, f.error().message());
        fenced_ = true;
        return fail_group(group, errc::io_error);
      }
      auto rf = fs_->open_read(path);
      if (!rf) {
        spdlog::error("{}: cannot open segment for reading: {}", path, rf.error().message());
        fenced_ = true;
        return fail_group(group, errc::io_error);
      }
      auto seg = std::make_shared<segment>();
      seg->base = first->base;
      seg->path = path;
      seg->reader = std::move(*rf);
      active_ = std::move(*f);
      active_seg_ = std::move(seg);
      active_size_ = 0;
      format::encode_segment_header(header, first->base);
      bufs.emplace_back(header.data(), header.size());
      bytes += header.size();
      rolled = true;
    }
    for (const auto& p : group) {
      if (!p.frame) continue;
      const auto f = p.frame->frame();
      bufs.emplace_back(f.data(), f.size());
      bytes += f.size();
    }
    auto on_written = [&] {
      written_.store(end, std::memory_order_release);
      for (auto& p : group) {
        if (p.acks != ack_mode::written || p.acked) continue;
        p.acked = true;
        p.done(std::move(p.ok));
      }
    };
    const auto write_from = std::chrono::steady_clock::now();
    auto ec = active_->write(bufs, active_size_, true, on_written);
    write_sync_ns_.fetch_add(std::uint64_t(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                 std::chrono::steady_clock::now() - write_from).count()),
                             std::memory_order_relaxed);
    if (!ec && rolled) ec = fs_->sync_dir(dir_);
    if (ec) {
      spdlog::error("{}: write or sync failed at byte {}: {}; partition fenced", active_seg_->path, active_size_,
                    ec.message());
      fenced_ = true;
      return fail_group(group, errc::io_error);
    }
    commits_.fetch_add(1, std::memory_order_relaxed);
    bytes_.fetch_add(bytes, std::memory_order_relaxed);
    // Publish: segment bytes, then the window for readers, then durable_.
    std::uint64_t pos = active_size_ + (rolled ? header.size() : 0);
    active_size_ += bytes;
    if (rolled) {
      std::unique_lock g(seg_mu_);
      segments_.push_back(active_seg_);
    }
    active_seg_->durable_size.store(active_size_, std::memory_order_release);
    // The index thread is woken only when it has something to start on: a
    // window that was empty (its gathering delay starts now) or a full
    // index batch. A wake-up per commit costs a futex call and a context
    // switch for every single append, and on two cores that competes with
    // the threads acknowledging it. The index thread also wakes on its own
    // timeout, so nothing waits for a notification.
    bool wake_index = false;
    {
      std::unique_lock g(win_mu_);
      wake_index = window_.empty();
      for (const auto& p : group) {
        if (!p.frame) continue;
        window_.push_back(committed_batch{p.base, p.count, p.commit_time, active_seg_->base, pos, p.frame});
        pos += p.frame->frame().size();
        batches_.fetch_add(1, std::memory_order_relaxed);
      }
      if (!window_.empty() && end - window_.front().base >= opts_.index_batch_events) wake_index = true;
    }
    {
      std::lock_guard g(head_mu_);
      for (const auto& p : group)
        if (p.frame) durable_hash_ = p.hash;
    }
    durable_.store(end, std::memory_order_release);
    if (wake_index) {
      { std::lock_guard g(idx_mu_); }  // pairs with the index thread's predicate check
      idx_cv_.notify_all();
    }
    {
      std::lock_guard g(listeners_mu_);
      for (const auto& fn : listeners_) fn(end);
    }
  }
  for (auto& p : group) {
    if (p.acked) continue;
    p.acked = true;
    p.done(std::move(p.ok));
  }
}

}  // namespace muninn::storage

namespace muninn::storage {

void log_impl::add_durable_listener(std::function<void(std::uint64_t head)> fn) {
  std::lock_guard g(listeners_mu_);
  listeners_.push_back(std::move(fn));
}

}  // namespace muninn::storage
