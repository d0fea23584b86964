#include "broker/projections/feed.h"

#include <span>
#include <string_view>

#include "codec/batch_generated.h"

namespace muninn::projections {
namespace {

std::string_view view(const flatbuffers::String* s) {
  return s ? std::string_view(s->c_str(), s->size()) : std::string_view{};
}

}  // namespace

std::uint64_t feeder::apply_batch(projection& p, std::uint32_t partition, const fb::RecordBatch& batch,
                                  std::uint64_t from, std::uint64_t to) {
  const auto* events = batch.events();
  if (!events) return 0;
  const std::uint64_t base = batch.base_offset();
  std::uint64_t applied = 0;
  for (flatbuffers::uoffset_t i = 0; i < events->size(); ++i) {
    const std::uint64_t offset = base + i;
    if (offset < from) continue;
    if (offset >= to) break;
    const auto* e = events->Get(i);
    event_view v;
    v.at = position{partition, offset};
    // An event without its own business time took the commit time as it
    // (domain.md envelope), so the projection sees the same either way.
    v.time = e->time() != 0 ? e->time() : batch.commit_time();
    v.version = e->version();
    v.stream = view(e->stream());
    v.type = view(e->type());
    if (const auto* d = e->data()) {
      const auto bytes = std::as_bytes(std::span<const std::uint8_t>(d->data(), d->size()));
      if (auto root = reader_.read(view(e->content_type()), bytes)) {
        v.data = *root;
        v.data_ok = true;
      }
    }
    p.apply(v);
    ++applied;
  }
  return applied;
}

}  // namespace muninn::projections
