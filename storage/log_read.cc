// Reads: by offset, by stream, by time; verify. Readers see durable data
// only. Recent batches come from the in-memory window, older ones from the
// segments through the sparse offset index.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>

#include "codec/batch_generated.h"
#include "codec/frame.h"
#include "storage/log_impl.h"
#include "storage/segment_format.h"
#include "storage/segment_scan.h"

namespace muninn::storage {

// Fills a caller's read_chunk in place. Segment bytes are read straight
// into `out.bytes` and verified where they land, so a frame is copied once
// (by the kernel) and a reused chunk allocates nothing. `bytes.size()` is
// only grown, never cleared first (clearing would make the next resize
// zero-fill the whole buffer again); finish() cuts it to the frames taken.
// Spans into the bytes are fixed once, at the end, because the vector may
// move while it grows. Every frame taken was verified already (a segment's
// by read_segment, the window's when it was appended), so finish() locates
// each batch without verifying it a second time.
struct chunk_builder {
  read_chunk& out;
  std::size_t used = 0;  // out.bytes[0, used) hold the frames taken
  std::vector<std::size_t> starts;

  explicit chunk_builder(read_chunk& into) : out(into) { out.batches.clear(); }

  // Room for `n` bytes past `used`; returns where they go.
  std::byte* room(std::size_t n) {
    if (out.bytes.size() < used + n) out.bytes.resize(used + n);
    return out.bytes.data() + used;
  }
  // The `size` bytes at `used` (written through room()) are one frame.
  void take(std::size_t size, std::uint64_t base, std::uint32_t count, std::int64_t commit_time) {
    read_chunk::batch_ref ref;
    ref.base_offset = base;
    ref.count = count;
    ref.commit_time = commit_time;
    starts.push_back(used);
    used += size;
    out.batches.push_back(ref);
  }
  void add(std::span<const std::byte> frame, std::uint64_t base, std::uint32_t count, std::int64_t commit_time) {
    std::memcpy(room(frame.size()), frame.data(), frame.size());
    take(frame.size(), base, count, commit_time);
  }
  std::size_t bytes() const { return used; }
  void finish() {
    out.bytes.resize(used);
    for (std::size_t i = 0; i < out.batches.size(); ++i) {
      auto& b = out.batches[i];
      const std::size_t end = i + 1 < starts.size() ? starts[i + 1] : used;
      b.frame = std::span<const std::byte>(out.bytes.data() + starts[i], end - starts[i]);
      b.batch = codec::trusted_batch(b.frame.subspan(codec::frame_header_bytes));
    }
  }
  void fail() {
    used = 0;
    out.bytes.clear();
    out.batches.clear();
  }
};

namespace {

event_record to_record(const fb::RecordBatch& b, std::uint32_t i) {
  const auto* e = b.events()->Get(i);
  event_record r;
  r.offset = b.base_offset() + i;
  r.version = e->version();
  r.commit_time = b.commit_time();
  r.stream = e->stream()->str();
  r.type = e->type()->str();
  std::copy(e->id()->b()->begin(), e->id()->b()->end(), r.id.bytes.begin());
  r.time = e->time();
  if (e->content_type()) r.content_type = e->content_type()->str();
  if (e->data()) {
    const auto* d = reinterpret_cast<const std::byte*>(e->data()->data());
    r.data.assign(d, d + e->data()->size());
  }
  return r;
}

}  // namespace

std::shared_ptr<segment> log_impl::segment_for(std::uint64_t offset) const {
  std::shared_lock g(seg_mu_);
  auto it = std::upper_bound(segments_.begin(), segments_.end(), offset,
                             [](std::uint64_t o, const std::shared_ptr<segment>& s) { return o < s->base; });
  if (it == segments_.begin()) return nullptr;
  return *std::prev(it);
}

std::shared_ptr<segment> log_impl::next_segment(std::uint64_t base) const {
  std::shared_lock g(seg_mu_);
  for (const auto& s : segments_)
    if (s->base > base) return s;
  return nullptr;
}

// Reads the frames of `seg` from `start_pos` into `out` in place: bytes
// past `used` are read ahead from the file, each frame is checked (CRC,
// batch verifier) where it lies, taken when it holds offsets at or past
// `from`, and the read-ahead behind the last frame taken is dropped.
result<void, errc> log_impl::read_segment(const segment& seg, std::uint64_t start_pos, std::uint64_t from,
                                          std::size_t max_bytes, chunk_builder& out) const {
  const std::uint64_t limit = seg.durable_size.load(std::memory_order_acquire);
  // One read of the usual chunk (counted from where this call starts), with
  // room for the frame that crosses it; past that, only what a frame needs.
  const std::size_t first = out.used;
  const std::size_t ahead = std::max<std::size_t>(max_bytes, 64u << 10) + (64u << 10);
  std::uint64_t pos = start_pos;  // file position of the frame at `out.used`
  std::size_t filled = 0;         // bytes read past `out.used`
  bool io_failed = false;
  // Frames before `from` (the sparse index points at or before it) come
  // first: they are stepped over and moved out once, at the end, rather
  // than one memmove of the read-ahead per frame. They do not count
  // towards the read-ahead.
  std::size_t skipped = 0;
  // Makes `need` bytes past `out.used` available, unless the limit is reached.
  auto fill = [&](std::size_t need) {
    while (filled < need) {
      const std::uint64_t file_pos = pos + filled;
      if (file_pos >= limit) return false;
      const std::size_t held = out.used - first - skipped + filled;
      std::size_t want = std::max(need - filled, ahead > held ? ahead - held : std::size_t{0});
      want = std::size_t(std::min<std::uint64_t>(want, limit - file_pos));
      std::byte* at = out.room(filled + want) + filled;
      std::size_t got = 0;
      if (seg.reader->read(file_pos, std::span(at, want), got)) {
        io_failed = true;
        return false;
      }
      if (got == 0) return false;  // the file is shorter than we were told
      filled += got;
    }
    return true;
  };
  for (;;) {
    if (!fill(codec::frame_header_bytes)) {
      if (io_failed) return unexpected(errc::io_error);
      if (filled != 0) return unexpected(errc::corrupt);  // torn
      break;
    }
    const std::byte* at = out.out.bytes.data() + out.used;
    std::uint32_t length = 0;
    for (int i = 0; i < 4; ++i) length |= std::uint32_t(std::to_integer<std::uint8_t>(at[i])) << (8 * i);
    if (length == 0 || length > codec::max_frame_payload_bytes) return unexpected(errc::corrupt);
    if (!fill(codec::frame_header_bytes + length))
      return unexpected(io_failed ? errc::io_error : errc::corrupt);
    at = out.out.bytes.data() + out.used;
    auto f = codec::decode_frame(std::span<const std::byte>(at, filled));
    if (f.status != codec::decode_status::frame) return unexpected(errc::corrupt);
    // Verified once, here: the chunk keeps these very bytes.
    auto vb = codec::verify_batch(f.payload);
    if (!vb) return unexpected(errc::corrupt);
    const auto& b = *vb->batch;
    pos += f.consumed;
    filled -= f.consumed;
    if (b.base_offset() + b.count() <= from) {
      // Only before the first frame taken: offsets grow along the segment.
      out.used += f.consumed;
      skipped += f.consumed;
      continue;
    }
    out.take(f.consumed, b.base_offset(), b.count(), b.commit_time());
    if (out.bytes() - skipped >= max_bytes) break;
  }
  if (skipped > 0) {
    std::byte* d = out.out.bytes.data();
    std::memmove(d + first, d + first + skipped, out.used - first - skipped);
    out.used -= skipped;
    for (auto& s : out.starts) {
      if (s >= first + skipped) s -= skipped;
    }
  }
  return {};
}

result<read_chunk, errc> log_impl::read(std::uint64_t from, std::size_t max_bytes) const {
  read_chunk out;
  if (auto r = read(from, max_bytes, out); !r) return unexpected(r.error());
  return out;
}

result<void, errc> log_impl::read(std::uint64_t from, std::size_t max_bytes, read_chunk& into) const {
  chunk_builder out(into);
  auto failed = [&](errc e) -> result<void, errc> {
    out.fail();
    return unexpected(e);
  };
  if (closing_) return failed(errc::closed);
  const std::uint64_t head = durable_.load(std::memory_order_acquire);
  if (from > head) return failed(errc::offset_out_of_range);
  if (from == head) {
    out.finish();
    return {};
  }
  {
    std::shared_lock g(win_mu_);
    if (!window_.empty() && from >= window_.front().base) {
      auto it = std::upper_bound(window_.begin(), window_.end(), from,
                                 [](std::uint64_t o, const committed_batch& b) { return o < b.base; });
      for (--it; it != window_.end() && it->base < head; ++it) {
        out.add(it->frame->frame(), it->base, it->count, it->commit_time);
        if (out.bytes() >= max_bytes) break;
      }
      g.unlock();
      out.finish();
      return {};
    }
  }
  auto seg = segment_for(from);
  if (!seg) return failed(errc::offset_out_of_range);
  std::uint64_t pos = format::segment_header_bytes;
  if (auto e = index_->sparse_at_or_before(from); e && e->segment == seg->base) pos = e->position;
  if (auto r = read_segment(*seg, pos, from, max_bytes, out); !r) return failed(r.error());
  while (out.out.batches.empty()) {
    // `from` sits at the very start of the next segment.
    seg = next_segment(seg->base);
    if (!seg) break;
    if (auto r = read_segment(*seg, format::segment_header_bytes, from, max_bytes, out); !r)
      return failed(r.error());
  }
  out.finish();
  return {};
}

result<std::vector<event_record>, errc> log_impl::read_stream(std::string_view stream, std::int64_t from_version,
                                                              std::size_t max_events) const {
  if (closing_) return unexpected(errc::closed);
  std::vector<event_record> out;
  from_version = std::max<std::int64_t>(from_version, 0);
  // Window first (under its lock), so the index, read after, holds
  // everything the window had already dropped.
  std::vector<event_record> recent;
  std::uint64_t window_start = ~0ull;
  {
    std::shared_lock g(win_mu_);
    if (!window_.empty()) window_start = window_.front().base;
    for (const auto& b : window_) {
      const auto* rb = flatbuffers::GetRoot<fb::RecordBatch>(b.frame->frame().data() + codec::frame_header_bytes);
      for (std::uint32_t i = 0; i < b.count; ++i) {
        const auto* e = rb->events()->Get(i);
        if (e->version() >= from_version && e->stream()->string_view() == stream) recent.push_back(to_record(*rb, i));
      }
    }
  }
  const std::uint64_t head = durable_.load(std::memory_order_acquire);
  auto positions = index_->stream_range(stream, from_version, max_events);
  read_chunk chunk;
  for (const auto& [version, offset] : positions) {
    if (offset >= window_start || offset >= head) break;
    const fb::RecordBatch* rb = nullptr;
    for (const auto& b : chunk.batches)
      if (offset >= b.base_offset && offset < b.base_offset + b.count) rb = b.batch.batch;
    if (!rb) {
      if (auto c = read(offset, 1, chunk); !c) return unexpected(c.error());
      if (chunk.batches.empty()) return unexpected(errc::corrupt);
      rb = chunk.batches.front().batch.batch;
    }
    auto rec = to_record(*rb, std::uint32_t(offset - rb->base_offset()));
    if (rec.stream != stream || rec.version != version) return unexpected(errc::corrupt);
    out.push_back(std::move(rec));
  }
  for (auto& r : recent) {
    if (out.size() >= max_events) break;
    if (!out.empty() && r.version <= out.back().version) continue;
    out.push_back(std::move(r));
  }
  return out;
}

result<std::int64_t, errc> log_impl::stream_version(std::string_view stream) const {
  if (closing_) return unexpected(errc::closed);
  {
    std::shared_lock g(win_mu_);
    for (auto b = window_.rbegin(); b != window_.rend(); ++b) {
      const auto* rb = flatbuffers::GetRoot<fb::RecordBatch>(b->frame->frame().data() + codec::frame_header_bytes);
      for (std::uint32_t i = b->count; i-- > 0;) {
        const auto* e = rb->events()->Get(i);
        if (e->stream()->string_view() == stream) return e->version();
      }
    }
  }
  if (auto h = index_->stream_head(stream)) return h->first;
  return std::int64_t{-1};
}

result<std::uint64_t, errc> log_impl::offset_for_time(std::int64_t micros) const {
  if (closing_) return unexpected(errc::closed);
  const std::uint64_t head = durable_.load(std::memory_order_acquire);
  std::shared_ptr<segment> seg;
  std::uint64_t pos = format::segment_header_bytes;
  if (auto e = index_->sparse_before_time(micros)) {
    seg = segment_for(e->offset);
    if (seg && seg->base == e->segment) pos = e->position;
  }
  if (!seg) {
    std::shared_lock g(seg_mu_);
    seg = segments_.front();
  }
  // Commit times never decrease, so the first batch at or after `micros` is
  // the answer; scan forward from the last indexed point before it.
  while (seg) {
    frame_scanner sc(*seg->reader, pos, seg->durable_size.load(std::memory_order_acquire));
    for (;;) {
      auto it = sc.next();
      if (it.k == frame_scanner::kind::end) break;
      if (it.k != frame_scanner::kind::frame) return unexpected(errc::corrupt);
      auto vb = codec::verify_batch(it.payload);
      if (!vb) return unexpected(errc::corrupt);
      if (vb->batch->base_offset() >= head) return head;
      if (vb->batch->commit_time() >= micros) return vb->batch->base_offset();
    }
    seg = next_segment(seg->base);
    pos = format::segment_header_bytes;
  }
  return head;
}

codec::hash256 log_impl::head_hash() const {
  std::lock_guard g(head_mu_);
  return durable_hash_;
}

log_stats log_impl::stats() const {
  log_stats s;
  s.head = durable_.load();
  s.written = written_.load();
  s.indexed = indexed_.load();
  {
    std::shared_lock g(seg_mu_);
    s.segments = segments_.size();
  }
  s.commits = commits_.load();
  s.led_commits = led_commits_.load();
  s.batches = batches_.load();
  s.bytes = bytes_.load();
  s.write_sync_ns = write_sync_ns_.load();
  return s;
}

result<verify_report, errc> log_impl::verify() const {
  verify_report rep;
  std::vector<std::shared_ptr<segment>> segs;
  {
    std::shared_lock g(seg_mu_);
    segs = segments_;
  }
  const std::uint64_t head = durable_.load(std::memory_order_acquire);
  std::uint64_t next = 0;
  codec::hash256 prev{};
  bool first = true;
  auto broken = [&](const segment& s, std::uint64_t pos, std::string why) {
    rep.ok = false;
    rep.segment = s.path;
    rep.position = pos;
    rep.base_offset = next;
    rep.reason = std::move(why);
    return rep;
  };
  for (const auto& s : segs) {
    if (first) next = s->base;
    if (s->base != next) return broken(*s, 0, "segment starts at offset " + std::to_string(s->base));
    std::array<std::byte, format::segment_header_bytes> header{};
    std::size_t got = 0;
    if (s->reader->read(0, header, got) || got != header.size() || !format::check_segment_header(header, s->base))
      return broken(*s, 0, "segment header damaged");
    frame_scanner sc(*s->reader, format::segment_header_bytes, s->durable_size.load(std::memory_order_acquire));
    for (;;) {
      auto it = sc.next();
      if (it.k == frame_scanner::kind::end) break;
      if (it.k == frame_scanner::kind::torn) return broken(*s, it.position, "incomplete frame");
      if (it.k == frame_scanner::kind::io_error) return unexpected(errc::io_error);
      if (it.k == frame_scanner::kind::corrupt)
        return broken(*s, it.position, "frame: " + std::string(codec::to_string(it.error)));
      auto vb = codec::verify_batch(it.payload);
      if (!vb) return broken(*s, it.position, "batch: " + std::string(codec::to_string(vb.error())));
      const auto& b = *vb->batch;
      if (b.base_offset() >= head) break;  // appended after we started
      if (b.base_offset() != next) return broken(*s, it.position, "base offset " + std::to_string(b.base_offset()));
      if (!first && codec::stored_prev_hash(b) != prev) return broken(*s, it.position, "prev_hash does not chain");
      if (first && codec::stored_prev_hash(b) != codec::hash256{})
        return broken(*s, it.position, "first batch has a non-zero prev_hash");
      if (!codec::check_hash(*vb)) return broken(*s, it.position, "hash does not match the batch");
      first = false;
      prev = codec::stored_hash(b);
      next = b.base_offset() + b.count();
      rep.batches++;
      rep.events += b.count();
    }
  }
  rep.head_hash = prev;
  return rep;
}

}  // namespace muninn::storage
