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
  w.str(f.tittel);
  w.str(f.navn);
  w.u8(f.digital_kind);
  if (f.digital_kind != no_digital_id) w.str(f.digital_value);
  const auto kontering = kontering_name(f.konteringskode);
  w.u8(static_cast<std::uint8_t>((f.kun_digital ? 1 : 0) | (kontering ? 2 : 0) | (f.print ? 4 : 0)));
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
  w.u32(static_cast<std::uint32_t>(f.anomalies.size()));
  for (const auto& a : f.anomalies) {
    w.u32(a.at.partition);
    w.u64(a.at.offset);
    w.str(a.type);
    w.str(a.reason);
  }
  if (f.print) {
    for (const auto v : values_of(*f.print)) w.i64(v);
  }
}

void dispatch_projection::state::prefetch_item(std::uint32_t idx) const noexcept {
  const auto* line = reinterpret_cast<const char*>(&items[idx]);
  for (std::size_t at = 0; at < sizeof(forsendelse); at += 64) __builtin_prefetch(line + at);
}

void dispatch_projection::state::prefetch_texts(std::uint32_t idx) const noexcept {
  const auto& f = items[idx];
  __builtin_prefetch(f.tittel.data());  // navn follows it
  __builtin_prefetch(f.history.data());
  if (!f.detaljer.empty()) __builtin_prefetch(f.detaljer.data());
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
  forsendelse f;
  const auto id_bytes = r.take(16);
  if (!r.ok()) return false;
  std::memcpy(f.id.bytes.data(), id_bytes.data(), f.id.bytes.size());
  std::array<char, forsendelse_key_size> expected;
  if (key != forsendelse_key(f.id, expected) || by_id.contains(f.id)) return false;
  const auto avsender = r.str();
  f.tittel = texts.copy(r.str());
  f.navn = texts.copy(r.str());
  f.digital_kind = r.u8();
  if (f.digital_kind != no_digital_id) {
    if (f.digital_kind > static_cast<std::uint8_t>(id_kind::no_orgnr)) return false;
    f.digital_value.assign(r.str());
  }
  const std::uint8_t flags = r.u8();
  if (flags > 7) return false;
  f.kun_digital = (flags & 1) != 0;
  std::optional<std::string_view> kontering;
  if (flags & 2) kontering = r.str();
  f.brevtype = r.u8();
  const std::uint8_t status = r.u8();
  if (f.brevtype > 2 || status >= dispatch_status_count) return false;
  f.status = static_cast<dispatch_status>(status);
  const std::uint32_t n_history = r.u32();
  // Each entry takes at least 22 bytes: a hostile count cannot reserve much.
  if (n_history == 0 || n_history > value.size() / 22) return false;
  f.history.reserve(n_history);
  for (std::uint32_t i = 0; i < n_history && r.ok(); ++i) {
    auto& h = f.history.emplace_back();
    const std::uint8_t s = r.u8();
    if (s >= dispatch_status_count) return false;
    h.status = static_cast<dispatch_status>(s);
    h.time = r.i64();
    h.partition = r.u32();
    h.offset = r.u64();
    const std::uint8_t has = r.u8();
    if (has > 1) return false;
    h.has_detalj = has == 1;
    if (h.has_detalj) f.detaljer.push_back(detalj_texts.intern(r.str()));
  }
  const std::uint32_t n_anomalies = r.u32();
  if (n_anomalies > value.size() / 20) return false;
  for (std::uint32_t i = 0; i < n_anomalies && r.ok(); ++i) {
    auto& a = f.anomalies.emplace_back();
    a.at.partition = r.u32();
    a.at.offset = r.u64();
    a.type.assign(r.str());
    a.reason.assign(r.str());
  }
  if (flags & 4) {
    print_receipt p;
    for (auto* v : fields_of(p)) *v = r.i64();
    f.print = p;
  }
  if (!r.done()) return false;
  if (f.history.front().status != dispatch_status::mottatt || f.history.back().status != f.status) {
    return false;
  }
  f.avsender = avsendere.intern(avsender);
  f.konteringskode = intern_kontering(kontering);
  // Canonical or refused: what loads must encode to the same bytes.
  std::string again;
  again.reserve(value.size());
  encode(f, again);
  if (again != value) return false;
  const auto idx = static_cast<std::uint32_t>(items.size());
  items.push_back(std::move(f));
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
