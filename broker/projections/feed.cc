#include "broker/projections/feed.h"

#include <algorithm>
#include <cstring>
#include <span>
#include <string_view>

#include "codec/batch_generated.h"

namespace muninn::projections {
namespace {

std::string_view view(const flatbuffers::String* s) {
  return s ? std::string_view(s->c_str(), s->size()) : std::string_view{};
}

// Calls fn(event, offset) for each event of `batch` whose offset is in
// [from, to). The batch's own fields are read once here, not per event.
template <class F>
std::uint64_t for_each_in(const fb::RecordBatch& batch, std::uint64_t from, std::uint64_t to, F&& fn) {
  const auto* events = batch.events();
  if (!events) return 0;
  const std::uint64_t base = batch.base_offset();
  if (to <= base) return 0;
  const std::uint64_t size = events->size();
  // Offsets are base + index: the range is an index range.
  const std::uint64_t first = from > base ? from - base : 0;
  const std::uint64_t last = std::min(size, to - base);
  for (std::uint64_t i = first; i < last; ++i) {
    fn(*events->Get(static_cast<flatbuffers::uoffset_t>(i)), base + i);
  }
  return last > first ? last - first : 0;
}

}  // namespace

event_view feeder::event_of(const fb::Event& e, position at, std::int64_t commit_time) {
  event_view v;
  v.at = at;
  // An event without its own business time took the commit time as it
  // (domain.md envelope), so the projection sees the same either way.
  const std::int64_t time = e.time();
  v.time = time != 0 ? time : commit_time;
  v.version = e.version();
  v.stream = view(e.stream());
  v.type = view(e.type());
  if (const auto* d = e.data()) {
    const auto bytes = std::as_bytes(std::span<const std::uint8_t>(d->data(), d->size()));
    if (auto root = reader_.read(view(e.content_type()), bytes)) {
      v.data = *root;
      v.data_ok = true;
    }
  }
  return v;
}

std::uint64_t feeder::apply_batch(projection& p, std::uint32_t partition, const fb::RecordBatch& batch,
                                  std::uint64_t from, std::uint64_t to) {
  const std::int64_t commit_time = batch.commit_time();
  return for_each_in(batch, from, to, [&](const fb::Event& e, std::uint64_t offset) {
    p.apply(event_of(e, position{partition, offset}, commit_time));
  });
}

std::uint64_t feeder::decode_batch(decoded_events& out, std::uint32_t partition, const fb::RecordBatch& batch,
                                   std::uint64_t from, std::uint64_t to) {
  const std::int64_t commit_time = batch.commit_time();
  return for_each_in(batch, from, to, [&](const fb::Event& e, std::uint64_t offset) {
    out.events_.push_back(event_of(e, position{partition, offset}, commit_time));
    if (const auto c = reader_.copied(); !c.empty()) {
      // The reader's copy is overwritten by its next read: keep one.
      const std::size_t at = (out.arena_.size() + 7) & ~std::size_t{7};
      out.arena_.resize(at + c.size());
      std::memcpy(out.arena_.data() + at, c.data(), c.size());
      out.copies_.push_back({out.events_.size() - 1, at, c.size()});
    }
  });
}

void feeder::finish(decoded_events& out, const projection* p) {
  for (const auto& c : out.copies_) {
    // Verified where it was copied from; same bytes, same alignment.
    out.events_[c.event].data =
        flexbuffers::GetRoot(reinterpret_cast<const std::uint8_t*>(out.arena_.data() + c.at), c.size);
  }
  // After the re-rooting: what prepare() keeps may view the arena.
  const std::size_t size = p ? p->prepared_size() : 0;
  out.prepared_words_ = (size + 7) / 8;
  if (out.prepared_words_ == 0) return;
  out.prepared_.resize(out.events_.size() * out.prepared_words_);
  for (std::size_t i = 0; i < out.events_.size(); ++i) {
    auto* at = reinterpret_cast<std::byte*>(out.prepared_.data() + i * out.prepared_words_);
    p->prepare(out.events_[i], std::span<std::byte>(at, size));
  }
}

void feeder::apply(projection& p, const decoded_events& events) {
  const auto es = events.events();
  if (events.prepared_words_ == 0) {
    for (const auto& e : es) p.apply(e);
    return;
  }
  const std::size_t size = p.prepared_size();
  const std::size_t n = es.size();
  constexpr std::size_t d = projection::prefetch_distance;
  // The first events' hints, then each step hints 2d and d events ahead.
  for (std::size_t j = 0; j < std::min(n, 2 * d); ++j) p.prefetch(events.prepared(j).first(size), 0);
  for (std::size_t j = 0; j < std::min(n, d); ++j) p.prefetch(events.prepared(j).first(size), 1);
  for (std::size_t i = 0; i < n; ++i) {
    if (i + 2 * d < n) p.prefetch(events.prepared(i + 2 * d).first(size), 0);
    if (i + d < n) p.prefetch(events.prepared(i + d).first(size), 1);
    p.apply_prepared(es[i], events.prepared(i).first(size));
  }
}

}  // namespace muninn::projections
