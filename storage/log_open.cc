// Opening a partition: find the segments, cut a torn tail, bring the index
// up to the log (or rebuild it), then start the I/O and index threads.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <atomic>
#include <optional>

#include "codec/batch_generated.h"
#include "codec/frame.h"
#include "storage/log_impl.h"
#include "storage/segment_format.h"
#include "storage/segment_scan.h"

namespace muninn::storage {
namespace {

append_error open_error(errc code, std::string message) {
  append_error e;
  e.code = code;
  e.message = std::move(message);
  return e;
}

// Scan state of one segment: where its valid frames end and the last hash.
struct scan_result {
  std::uint64_t valid_end = 0;   // byte position after the last good batch
  std::uint64_t next_offset = 0; // offset after the last good batch
  codec::hash256 last_hash{};
  bool any = false;
  frame_scanner::kind stop = frame_scanner::kind::end;
  std::string reason;
};

// Walks the segment's frames, checking CRC, structure, offsets and each
// batch's own hash, stopping at the first that does not hold.
scan_result scan_segment(const io::read_file& file, std::uint64_t base, std::uint64_t size) {
  scan_result r;
  r.valid_end = format::segment_header_bytes;
  r.next_offset = base;
  frame_scanner sc(file, format::segment_header_bytes, size);
  for (;;) {
    auto it = sc.next();
    if (it.k != frame_scanner::kind::frame) {
      r.stop = it.k;
      if (it.k == frame_scanner::kind::torn) r.reason = "incomplete frame";
      if (it.k == frame_scanner::kind::corrupt) r.reason = std::string(codec::to_string(it.error));
      if (it.k == frame_scanner::kind::io_error) r.reason = "read error";
      return r;
    }
    auto vb = codec::verify_batch(it.payload);
    if (!vb) {
      r.stop = frame_scanner::kind::corrupt;
      r.reason = std::string(codec::to_string(vb.error()));
      return r;
    }
    const auto& b = *vb->batch;
    if (b.base_offset() != r.next_offset || b.count() == 0) {
      r.stop = frame_scanner::kind::corrupt;
      r.reason = "batch base offset " + std::to_string(b.base_offset()) + " where " +
                 std::to_string(r.next_offset) + " was expected";
      return r;
    }
    if (!codec::check_hash(*vb) || (r.any && codec::stored_prev_hash(b) != r.last_hash)) {
      r.stop = frame_scanner::kind::corrupt;
      r.reason = "hash chain broken";
      return r;
    }
    r.any = true;
    r.last_hash = codec::stored_hash(b);
    r.next_offset = b.base_offset() + b.count();
    r.valid_end = sc.position();
  }
}

}  // namespace

result<std::unique_ptr<partition_log>, append_error> partition_log::open(std::string dir,
                                                                        log_options options) {
  auto log = std::make_unique<log_impl>(std::move(dir), std::move(options));
  auto r = log->recover();
  if (!r) return unexpected(r.error());
  return std::unique_ptr<partition_log>(std::move(log));
}

log_impl::log_impl(std::string dir, log_options opts) : dir_(std::move(dir)), opts_(std::move(opts)) {
  fs_ = opts_.fs ? opts_.fs : io::uring_file_system();
  accumulator_ = std::make_unique<index_accumulator>(opts_.index_interval_bytes);
  // Rehashing a large map under seq_mu_ would stall every producer at once.
  // Two generations of about cached_ids each (plus the unindexed window).
  young_ids_.ids = id_table(opts_.cached_ids);
  old_ids_.ids = id_table(opts_.cached_ids);
  // The stream map is sized for what a partition usually has, not for
  // cached_streams: a bucket array of 2 MB for 1,000 streams made every
  // find a cache miss on the bucket (6% of all samples under produce). A
  // partition with more active streams pays a rehash (a few ms under
  // seq_mu_) each time the map doubles past this.
  streams_.reserve(std::min<std::size_t>(opts_.cached_streams, initial_streams));
  if (!opts_.clock) opts_.clock = codec::now_micros;
}

std::string log_impl::segment_path(std::uint64_t base) const {
  return dir_ + "/" + format::segment_name(base);
}

result<void, append_error> log_impl::recover() {
  const auto started = std::chrono::steady_clock::now();
  if (auto ec = fs_->create_dirs(dir_))
    return unexpected(open_error(errc::bad_directory, dir_ + ": " + ec.message()));
  auto names = fs_->list(dir_);
  if (!names) return unexpected(open_error(errc::bad_directory, dir_ + ": " + names.error().message()));
  std::vector<std::uint64_t> bases;
  for (const auto& n : *names)
    if (auto b = format::parse_segment_name(n)) bases.push_back(*b);
  std::sort(bases.begin(), bases.end());

  // The index's checkpoint says which offsets were durable and acknowledged
  // before: recovery must never cut below it.
  if (auto r = open_index(); !r) return r;
  std::uint64_t floor = 0;
  if (auto cp = index_->checkpoint()) floor = cp->next_offset;

  std::uint64_t valid_end = 0;
  if (auto r = recover_tail(bases, valid_end, floor); !r) return r;

  for (auto b : bases) {
    auto seg = std::make_shared<segment>();
    seg->base = b;
    seg->path = segment_path(b);
    auto rf = fs_->open_read(seg->path);
    if (!rf) return unexpected(open_error(errc::io_error, seg->path + ": " + rf.error().message()));
    seg->reader = std::move(*rf);
    auto sz = fs_->file_size(seg->path);
    if (!sz) return unexpected(open_error(errc::io_error, seg->path + ": " + sz.error().message()));
    seg->durable_size = b == bases.back() ? valid_end : *sz;
    segments_.push_back(std::move(seg));
  }
  active_seg_ = segments_.back();
  active_size_ = valid_end;
  auto af = fs_->open_append(active_seg_->path, false);
  if (!af) return unexpected(open_error(errc::io_error, active_seg_->path + ": " + af.error().message()));
  active_ = std::move(*af);

  // The index may be ahead of a log that lost its tail, or behind it.
  auto cp = index_->checkpoint();
  const std::uint64_t head = next_offset_;
  if (cp && (cp->next_offset > head || (cp->next_offset == head && cp->hash != last_hash_))) {
    spdlog::warn("{}: index checkpoint {} does not match the log head {}: rebuilding the index", dir_,
                 cp->next_offset, head);
    index_.reset();
    index_db::destroy(dir_ + "/index");
    std::error_code ec;
    std::filesystem::remove_all(dir_ + "/index", ec);
    if (auto r = open_index(); !r) return r;
    cp.reset();
  }
  const std::uint64_t from = cp ? cp->next_offset : 0;
  if (from < head) {
    if (auto r = reindex(from); !r) return r;
  }
  indexed_ = head;
  durable_ = head;
  written_ = head;
  durable_hash_ = last_hash_;
  // v7 ids carry their creation time: one newer than anything indexed
  // needs no lookup (other ids are always looked up).
  id_watermark_ms_ = index_->v7_watermark_ms();
  io_thread_ = std::thread([this] { io_loop(); });
  index_thread_ = std::thread([this] { index_loop(); });
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
  spdlog::info("{}: opened at offset {} ({} segments, re-indexed {} events) in {} ms", dir_, head,
               segments_.size(), head - from, ms.count());
  return {};
}

result<void, append_error> log_impl::open_index() {
  const std::string path = dir_ + "/index";
  auto idx = index_db::open(path);
  if (!idx) {
    spdlog::warn("{}: index cannot be opened ({}): rebuilding it from the segments", dir_, idx.error());
    index_db::destroy(path);
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
    idx = index_db::open(path);
    if (!idx) return unexpected(open_error(errc::index_error, path + ": " + idx.error()));
  }
  index_ = std::move(*idx);
  return {};
}

result<void, append_error> log_impl::recover_tail(std::vector<std::uint64_t>& bases, std::uint64_t& valid_end,
                                                  std::uint64_t floor) {
  std::array<std::byte, format::segment_header_bytes> header{};
  for (;;) {
    if (bases.empty()) {
      // A new partition: its first segment starts at offset 0.
      auto f = fs_->open_append(segment_path(0), true);
      if (!f) return unexpected(open_error(errc::io_error, segment_path(0) + ": " + f.error().message()));
      format::encode_segment_header(header, 0);
      io::const_buffer buf(header.data(), header.size());
      if (auto ec = (*f)->write(std::span(&buf, 1), 0, true))
        return unexpected(open_error(errc::io_error, segment_path(0) + ": " + ec.message()));
      if (auto ec = fs_->sync_dir(dir_))
        return unexpected(open_error(errc::io_error, dir_ + ": " + ec.message()));
      bases.push_back(0);
    }
    const std::uint64_t base = bases.back();
    const std::string path = segment_path(base);
    auto rf = fs_->open_read(path);
    if (!rf) return unexpected(open_error(errc::io_error, path + ": " + rf.error().message()));
    auto size = (*rf)->size();
    if (!size) return unexpected(open_error(errc::io_error, path + ": " + size.error().message()));
    std::size_t got = 0;
    bool header_ok = false;
    if (*size >= format::segment_header_bytes &&
        !(*rf)->read(0, std::span<std::byte>(header.data(), header.size()), got) && got == header.size())
      header_ok = format::check_segment_header(header, base);
    if (!header_ok) {
      // A crash while rolling leaves a segment without a whole header: it
      // holds nothing acknowledged, so it goes.
      if (base < floor && base != 0)
        return unexpected(open_error(errc::corrupt, path + ": damaged segment header below the indexed offset " +
                                                        std::to_string(floor)));
      spdlog::warn("{}: removing segment with a torn header ({} bytes)", path, *size);
      if (auto ec = fs_->remove(path)) return unexpected(open_error(errc::io_error, path + ": " + ec.message()));
      if (auto ec = fs_->sync_dir(dir_)) return unexpected(open_error(errc::io_error, dir_ + ": " + ec.message()));
      bases.pop_back();
      continue;
    }
    auto sr = scan_segment(**rf, base, *size);
    if (sr.valid_end < *size) {
      if (sr.next_offset < floor)
        return unexpected(open_error(
            errc::corrupt, path + ": batch at byte " + std::to_string(sr.valid_end) + " (offset " +
                               std::to_string(sr.next_offset) + ") is damaged (" + sr.reason +
                               ") but offsets up to " + std::to_string(floor) +
                               " were acknowledged: refusing to cut acknowledged data"));
      spdlog::warn("{}: cutting {} bytes at byte {} (offset {}): {}", path, *size - sr.valid_end, sr.valid_end,
                   sr.next_offset, sr.reason);
      auto af = fs_->open_append(path, false);
      if (!af) return unexpected(open_error(errc::io_error, path + ": " + af.error().message()));
      if (auto ec = (*af)->truncate(sr.valid_end))
        return unexpected(open_error(errc::io_error, path + ": " + ec.message()));
    }
    valid_end = sr.valid_end;
    next_offset_ = sr.next_offset;
    if (sr.any) {
      last_hash_ = sr.last_hash;
    } else if (bases.size() > 1) {
      // An empty last segment: the chain continues from the previous one.
      const std::uint64_t prev = bases[bases.size() - 2];
      auto pf = fs_->open_read(segment_path(prev));
      if (!pf) return unexpected(open_error(errc::io_error, segment_path(prev) + ": " + pf.error().message()));
      auto psize = (*pf)->size();
      if (!psize) return unexpected(open_error(errc::io_error, segment_path(prev) + ": " + psize.error().message()));
      auto pr = scan_segment(**pf, prev, *psize);
      if (pr.valid_end < *psize || pr.next_offset != base)
        return unexpected(open_error(errc::corrupt, segment_path(prev) + ": does not end where " + path +
                                                        " begins (" + pr.reason + ")"));
      last_hash_ = pr.last_hash;
    }
    return {};
  }
}

result<void, append_error> log_impl::reindex(std::uint64_t from) {
  auto wb = index_->begin();
  std::uint64_t next = from;
  codec::hash256 hash{};
  auto commit = [&]() -> result<void, append_error> {
    accumulator_->finish(*wb);
    if (auto r = index_->commit(*wb, index_checkpoint{next, hash}); !r)
      return unexpected(open_error(errc::index_error, r.error()));
    return {};
  };
  for (const auto& seg : segments_) {
    const auto* following = &seg == &segments_.back() ? nullptr : (&seg + 1)->get();
    if (following && following->base <= from) continue;
    // Start at the last indexed point at or before `from`, not at the segment's start.
    std::uint64_t start = format::segment_header_bytes;
    if (auto e = index_->sparse_at_or_before(from); e && e->segment == seg->base && seg->base <= from)
      start = e->position;
    frame_scanner sc(*seg->reader, start, seg->durable_size);
    for (;;) {
      auto it = sc.next();
      if (it.k == frame_scanner::kind::end) break;
      if (it.k != frame_scanner::kind::frame)
        return unexpected(open_error(errc::corrupt, seg->path + ": unreadable batch at byte " +
                                                        std::to_string(it.position) + " while re-indexing"));
      auto vb = codec::verify_batch(it.payload);
      if (!vb)
        return unexpected(open_error(errc::corrupt, seg->path + ": bad batch at byte " + std::to_string(it.position) +
                                                        ": " + std::string(codec::to_string(vb.error()))));
      const auto& b = *vb->batch;
      if (b.base_offset() + b.count() <= from) continue;
      accumulator_->add(*wb, seg->base, it.position, b);
      next = b.base_offset() + b.count();
      hash = codec::stored_hash(b);
      if (wb->count() >= opts_.index_batch_events * 2) {
        if (auto r = commit(); !r) return r;
      }
    }
  }
  if (auto r = commit(); !r) return r;
  if (auto r = index_->flush(); !r) return unexpected(open_error(errc::index_error, r.error()));
  return {};
}

}  // namespace muninn::storage
