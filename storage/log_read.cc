// Reads: by offset, by stream, by time; verify. Readers see durable data
// only. Recent batches come from the in-memory window, older ones from the
// segments through the sparse offset index.
#include <spdlog/spdlog.h>

#include <algorithm>

#include "codec/batch_generated.h"
#include "codec/frame.h"
#include "storage/log_impl.h"
#include "storage/segment_format.h"
#include "storage/segment_scan.h"

namespace muninn::storage {
namespace {

}  // namespace

// Collects whole frames; spans into the bytes are fixed once, at the end,
// because the vector moves while it grows. Every frame added was verified
// already (a segment's by read_segment, the window's when it was appended)
// and is copied verbatim, so finish() locates each batch without verifying
// it a second time.
struct chunk_builder {
  read_chunk out;
  std::vector<std::size_t> starts;

  explicit chunk_builder(std::size_t max_bytes) {
    // One allocation for the usual chunk; a read stops at the first frame
    // past max_bytes, so a little more than max_bytes is common.
    out.bytes.reserve(std::min<std::size_t>(max_bytes, 64u << 20) + (64u << 10));
  }

  void add(std::span<const std::byte> frame, std::uint64_t base, std::uint32_t count, std::int64_t commit_time) {
    read_chunk::batch_ref ref;
    ref.base_offset = base;
    ref.count = count;
    ref.commit_time = commit_time;
    starts.push_back(out.bytes.size());
    out.bytes.insert(out.bytes.end(), frame.begin(), frame.end());
    out.batches.push_back(ref);
  }
  std::size_t bytes() const { return out.bytes.size(); }
  result<read_chunk, errc> finish() {
    for (std::size_t i = 0; i < out.batches.size(); ++i) {
      auto& b = out.batches[i];
      const std::size_t end = i + 1 < starts.size() ? starts[i + 1] : out.bytes.size();
      b.frame = std::span<const std::byte>(out.bytes.data() + starts[i], end - starts[i]);
      b.batch = codec::trusted_batch(b.frame.subspan(codec::frame_header_bytes));
    }
    return std::move(out);
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

result<void, errc> log_impl::read_segment(const segment& seg, std::uint64_t start_pos, std::uint64_t from,
                                          std::size_t max_bytes, chunk_builder& out) const {
  const std::uint64_t limit = seg.durable_size.load(std::memory_order_acquire);
  frame_scanner sc(*seg.reader, start_pos, limit, std::max<std::size_t>(max_bytes, 64u << 10));
  for (;;) {
    auto it = sc.next();
    if (it.k == frame_scanner::kind::end) return {};
    if (it.k == frame_scanner::kind::io_error) return unexpected(errc::io_error);
    if (it.k != frame_scanner::kind::frame) return unexpected(errc::corrupt);
    // Verified once, here: the chunk gets the same bytes.
    auto vb = codec::verify_batch(it.payload);
    if (!vb) return unexpected(errc::corrupt);
    const auto& b = *vb->batch;
    if (b.base_offset() + b.count() <= from) continue;
    out.add(it.frame, b.base_offset(), b.count(), b.commit_time());
    if (out.bytes() >= max_bytes) return {};
  }
}

result<read_chunk, errc> log_impl::read(std::uint64_t from, std::size_t max_bytes) const {
  if (closing_) return unexpected(errc::closed);
  chunk_builder out(max_bytes);
  const std::uint64_t head = durable_.load(std::memory_order_acquire);
  if (from > head) return unexpected(errc::offset_out_of_range);
  if (from == head) return read_chunk{};
  {
    std::shared_lock g(win_mu_);
    if (!window_.empty() && from >= window_.front().base) {
      auto it = std::upper_bound(window_.begin(), window_.end(), from,
                                 [](std::uint64_t o, const committed_batch& b) { return o < b.base; });
      for (--it; it != window_.end() && it->base < head; ++it) {
        out.add(*it->frame, it->base, it->count, it->commit_time);
        if (out.bytes() >= max_bytes) break;
      }
      g.unlock();
      return out.finish();
    }
  }
  auto seg = segment_for(from);
  if (!seg) return unexpected(errc::offset_out_of_range);
  std::uint64_t pos = format::segment_header_bytes;
  if (auto e = index_->sparse_at_or_before(from); e && e->segment == seg->base) pos = e->position;
  if (auto r = read_segment(*seg, pos, from, max_bytes, out); !r) return unexpected(r.error());
  while (out.out.batches.empty()) {
    // `from` sits at the very start of the next segment.
    seg = next_segment(seg->base);
    if (!seg) break;
    if (auto r = read_segment(*seg, format::segment_header_bytes, from, max_bytes, out); !r)
      return unexpected(r.error());
  }
  return out.finish();
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
      const auto* rb = flatbuffers::GetRoot<fb::RecordBatch>(b.frame->data() + codec::frame_header_bytes);
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
      auto c = read(offset, 1);
      if (!c) return unexpected(c.error());
      chunk = std::move(*c);
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
      const auto* rb = flatbuffers::GetRoot<fb::RecordBatch>(b->frame->data() + codec::frame_header_bytes);
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
