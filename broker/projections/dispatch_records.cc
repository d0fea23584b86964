// The dispatch-status records (docs/projections-dispatch.md, "Records"):
// the canonical encoding of an item and of an orphan anomaly, and their
// decoding on load, which rebuilds the derived views through index().
#include "broker/projections/dispatch_state.h"


namespace muninn::projections {

// ---- records ----------------------------------------------------------------

void dispatch_projection::state::encode(const forsendelse& f, std::string& out) const {
  size_counter size;
  encode_to(f, size);
  const std::size_t at = out.size();
  out.resize(at + size.size());
  pointer_writer w(out.data() + at);
  encode_to(f, w);
}

template <class W>
void dispatch_projection::state::encode_to(const forsendelse& f, W& w) const {
  w.u8(record_version);
  w.raw(f.id.bytes.data(), f.id.bytes.size());
  w.str(avsendere.name(f.avsender));
  w.str(f.tittel());
  w.str(f.navn());
  w.u8(f.digital_kind);
  if (f.digital_kind != no_digital_id) w.str(f.digital_value());
  const auto kontering = kontering_name(f.konteringskode);
  const auto* print = print_of(f);
  w.u8(static_cast<std::uint8_t>((f.kun_digital ? 1 : 0) | (kontering ? 2 : 0) | (print ? 4 : 0)));
  if (kontering) w.str(*kontering);
  w.u8(f.brevtype);
  w.u8(static_cast<std::uint8_t>(f.status));
  w.u32(static_cast<std::uint32_t>(f.history.size()));
  std::size_t detalj = 0;
  for (const auto& h : f.history) {
    w.u8(static_cast<std::uint8_t>(h.status));
    w.i64(h.time);
    w.u32(h.partition);
    w.u64(h.offset);
    w.u8(h.has_detalj ? 1 : 0);
    if (h.has_detalj) w.str(detalj_texts.name(f.detaljer[detalj++]));
  }
  const auto anomalies = anomalies_of(f);
  w.u32(static_cast<std::uint32_t>(anomalies.size()));
  for (const auto& a : anomalies) {
    w.u32(a.at.partition);
    w.u64(a.at.offset);
    w.str(a.type);
    w.str(a.reason);
  }
  if (print) {
    for (const auto v : values_of(*print)) w.i64(v);
  }
}

void dispatch_projection::state::sort_dirty() {
  // A counting pass on the keys' top 16 bits, then each bucket by
  // std::sort: a comparison sort of a window's ~100,000 changed items made
  // ~17 comparisons (and mispredicted branches) per item. Random (v4) ids
  // leave one or two items per bucket; time-ordered (v7) ids crowd into a
  // few, which std::sort then orders as it did before.
  constexpr unsigned bits = 16;
  const std::size_t n = dirty.size();
  if (n < (std::size_t{1} << 12)) {
    std::sort(dirty.begin(), dirty.end());
    return;
  }
  auto bucket = [](const dirty_item& d) { return static_cast<std::size_t>(d.key.hi >> (64 - bits)); };
  dirty_buckets.assign((std::size_t{1} << bits) + 1, 0);
  for (const auto& d : dirty) ++dirty_buckets[bucket(d) + 1];
  for (std::size_t b = 1; b < dirty_buckets.size(); ++b) dirty_buckets[b] += dirty_buckets[b - 1];
  dirty_sorted.resize(n);
  for (const auto& d : dirty) dirty_sorted[dirty_buckets[bucket(d)]++] = d;
  // dirty_buckets[b] is now where bucket b ends.
  std::size_t begin = 0;
  for (std::size_t b = 0; b + 1 < dirty_buckets.size(); ++b) {
    const std::size_t end = dirty_buckets[b];
    if (end - begin > 1) std::sort(dirty_sorted.begin() + begin, dirty_sorted.begin() + end);
    begin = end;
  }
  dirty.swap(dirty_sorted);
}

void dispatch_projection::state::prefetch_item(std::uint32_t idx) const noexcept {
  const auto* line = reinterpret_cast<const char*>(&items[idx]);
  for (std::size_t at = 0; at < sizeof(forsendelse); at += 64) prefetch_line(line + at);
}

void dispatch_projection::state::prefetch_texts(std::uint32_t idx) const noexcept {
  const auto& f = items[idx];
  prefetch_line(f.text);  // navn and the digital id follow tittel
  // Every line of the history: five entries span two or three.
  const auto* h = reinterpret_cast<const char*>(f.history.begin());
  const auto* end = reinterpret_cast<const char*>(f.history.end()) - 1;
  for (; h < end; h += 64) prefetch_line(h);
  prefetch_line(end);
  if (!f.detaljer.empty()) prefetch_line(f.detaljer.begin());
}

void dispatch_projection::state::encode(const anomaly& a, std::string& out) {
  encoder w(out);
  w.u8(record_version);
  w.u32(a.at.partition);
  w.u64(a.at.offset);
  w.str(a.type);
  w.str(a.reason);
  w.str(a.forsendelse_id);
}

bool dispatch_projection::state::decode(std::string_view key, std::string_view value) {
  decoder r(value);
  if (r.u8() != record_version) return false;
  event_id id;
  const auto id_bytes = r.take(16);
  if (!r.ok()) return false;
  std::memcpy(id.bytes.data(), id_bytes.data(), id.bytes.size());
  std::array<char, forsendelse_key_size> expected;
  if (key != forsendelse_key(id, expected) || by_id.contains(id)) return false;
  // Decoded in place, in a new item; a refused record takes it back
  // (with its print and anomalies; what the arenas gave it stays unused).
  const auto idx = static_cast<std::uint32_t>(items.size());
  auto& f = items.emplace_back();
  f.id = id;
  auto refuse = [&] {
    if (f.print != no_slot) prints.pop_back();
    if (f.anomalies != no_slot) anomaly_lists.pop_back();
    items.pop_back();
    return false;
  };
  const auto avsender = r.str();
  const auto tittel = r.str();
  const auto navn = r.str();
  f.digital_kind = r.u8();
  std::string_view digital;
  if (f.digital_kind != no_digital_id) {
    if (f.digital_kind > static_cast<std::uint8_t>(id_kind::no_orgnr)) return refuse();
    digital = r.str();
  }
  f.text = texts.copy({tittel, navn, digital}).data();
  f.tittel_size = static_cast<std::uint32_t>(tittel.size());
  f.navn_size = static_cast<std::uint32_t>(navn.size());
  f.digital_size = static_cast<std::uint32_t>(digital.size());
  const std::uint8_t flags = r.u8();
  if (flags > 7) return refuse();
  f.kun_digital = (flags & 1) != 0;
  std::optional<std::string_view> kontering;
  if (flags & 2) kontering = r.str();
  f.brevtype = r.u8();
  const std::uint8_t status = r.u8();
  if (f.brevtype > 2 || status >= dispatch_status_count) return refuse();
  f.status = static_cast<dispatch_status>(status);
  const std::uint32_t n_history = r.u32();
  // Each entry takes at least 22 bytes: a hostile count cannot reserve much.
  if (n_history == 0 || n_history > value.size() / 22) return refuse();
  for (std::uint32_t i = 0; i < n_history && r.ok(); ++i) {
    auto& h = histories.push(f.history, n_history);
    const std::uint8_t s = r.u8();
    if (s >= dispatch_status_count) return refuse();
    h.status = static_cast<dispatch_status>(s);
    h.time = r.i64();
    h.partition = r.u32();
    h.offset = r.u64();
    const std::uint8_t has = r.u8();
    if (has > 1) return refuse();
    h.has_detalj = has == 1;
    if (h.has_detalj) detalj_lists.push(f.detaljer, 2) = detalj_texts.intern(r.str());
  }
  const std::uint32_t n_anomalies = r.u32();
  if (n_anomalies > value.size() / 20) return refuse();
  if (n_anomalies != 0) {
    f.anomalies = static_cast<std::uint32_t>(anomaly_lists.size());
    auto& list = anomaly_lists.emplace_back();
    for (std::uint32_t i = 0; i < n_anomalies && r.ok(); ++i) {
      auto& a = list.emplace_back();
      a.at.partition = r.u32();
      a.at.offset = r.u64();
      a.type.assign(r.str());
      a.reason.assign(r.str());
    }
  }
  if (flags & 4) {
    print_receipt p;
    for (auto* v : fields_of(p)) *v = r.i64();
    set_print(f, p);
  }
  if (!r.done()) return refuse();
  if (f.history.front().status != dispatch_status::mottatt || f.history.back().status != f.status) {
    return refuse();
  }
  f.avsender = avsendere.intern(avsender);
  f.konteringskode = intern_kontering(kontering);
  // Canonical or refused: what loads must encode to the same bytes.
  std::string again;
  again.reserve(value.size());
  encode(f, again);
  if (again != value) return refuse();
  index(idx);
  return true;
}

bool dispatch_projection::state::decode_orphan(std::string_view key, std::string_view value) {
  decoder r(value);
  if (r.u8() != record_version) return false;
  anomaly a;
  a.at.partition = r.u32();
  a.at.offset = r.u64();
  a.type.assign(r.str());
  a.reason.assign(r.str());
  a.forsendelse_id.assign(r.str());
  if (!r.done() || key != orphan_key(a.at)) return false;
  const position at = a.at;
  if (!orphans.emplace(at, std::move(a)).second) return false;
  ++anomaly_total;
  return true;
}

}  // namespace muninn::projections
