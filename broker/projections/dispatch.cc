// The dispatch-status projection: apply() of the three event types (the
// lifecycle of domain.md, anomalies where an event cannot be used) and the
// projection object. Records: dispatch_records.cc; queries: dispatch_query.cc.
#include "broker/projections/dispatch_state.h"

#include <new>


namespace muninn::projections {

// ---- public helpers ---------------------------------------------------------

std::string_view to_string(dispatch_status s) noexcept {
  const auto i = static_cast<std::size_t>(s);
  return i < status_names.size() ? status_names[i] : std::string_view("?");
}

std::optional<dispatch_status> parse_dispatch_status(std::string_view text) noexcept {
  if (text == "MOTTAT") return dispatch_status::mottatt;
  for (std::size_t i = 0; i < status_names.size(); ++i) {
    if (status_names[i] == text) return static_cast<dispatch_status>(i);
  }
  return std::nullopt;
}

bool is_legal_transition(dispatch_status from, dispatch_status to) noexcept {
  const auto f = static_cast<std::size_t>(from);
  return f < allowed.size() && static_cast<std::size_t>(to) < dispatch_status_count &&
         (allowed[f] & bit(to)) != 0;
}


// ---- apply ----------------------------------------------------------------

void dispatch_projection::state::apply(const event_view& e, const prepared_event& p) {
  if (p.envelope == envelope_fault::unreadable) {
    return add_orphan(e, p.kind == event_kind::unknown ? "unknown event type" : "data is not a readable map");
  }
  if (p.kind == event_kind::unknown) {
    const auto idx = p.own_stream ? by_id.find(p.id, p.id_hash) : id_table::none;
    if (idx != id_table::none) return add_anomaly(idx, e, "unknown event type");
    return add_orphan(e, "unknown event type", p.id_text);
  }
  switch (p.envelope) {
    case envelope_fault::none: break;
    case envelope_fault::unreadable:  // handled above
    case envelope_fault::no_id: return add_orphan(e, "forsendelseId is missing or not a string");
    case envelope_fault::bad_id: return add_orphan(e, "forsendelseId must be a UUID in lowercase", p.id_text);
    case envelope_fault::wrong_stream:
      return add_orphan(e, "stream must be forsendelse-<forsendelseId>", p.id_text);
  }

  const auto idx = by_id.find(p.id, p.id_hash);
  if (p.kind == event_kind::mottatt) {
    if (idx != id_table::none) return add_anomaly(idx, e, "duplicate ForsendelseMottatt");
    return mottatt(e, p);
  }
  if (idx == id_table::none) {
    return add_orphan(e, "no ForsendelseMottatt for this forsendelse before it", p.id_text);
  }
  if (p.kind == event_kind::status) return status_endret(e, p, idx);
  print_kvittering(e, p, idx);
}

void dispatch_projection::state::mottatt(const event_view& e, const prepared_event& p) {
  // All or nothing: a Mottatt missing what the projection keeps creates no
  // forsendelse, so its later events are orphans too.
  if (p.reason) return add_orphan(e, p.reason, p.id_text);
  const auto& m = p.mottatt;

  const auto idx = static_cast<std::uint32_t>(items.size());
  auto& f = items.emplace_back();
  f.id = p.id;
  f.avsender = avsendere.intern(m.avsender, m.avsender_hash);
  f.konteringskode = intern_kontering(m.has_kontering ? std::optional(m.kontering) : std::nullopt, m.kontering_hash);
  f.digital_kind = m.digital_kind;
  f.brevtype = m.brevtype;
  f.kun_digital = m.kun_digital;
  f.text = texts.copy({m.tittel, m.navn, m.digital_value()}).data();
  f.tittel_size = static_cast<std::uint32_t>(m.tittel.size());
  f.navn_size = static_cast<std::uint32_t>(m.navn.size());
  f.digital_size = m.digital_size;
  add_step(f, e);
  index(idx, p.id_hash, m.recipient_hash);
  mark(idx);
}

void dispatch_projection::state::status_endret(const event_view& e, const prepared_event& p,
                                               std::uint32_t idx) {
  const auto& step = p.status;
  if (p.unknown_status) return add_anomaly(idx, e, "unknown status '" + std::string(bounded(step.text)) + "'");
  if (p.reason) return add_anomaly(idx, e, p.reason);
  const dispatch_status from = items[idx].status;
  if (!is_legal_transition(from, step.to)) {
    return add_anomaly(idx, e,
                       "illegal transition " + std::string(to_string(from)) + " -> " + std::string(to_string(step.to)));
  }
  transition(idx, e, step.to, &step);
}

void dispatch_projection::state::print_kvittering(const event_view& e, const prepared_event& p,
                                                  std::uint32_t idx) {
  if (p.reason) return add_anomaly(idx, e, p.reason);
  const dispatch_status from = items[idx].status;
  if (!is_legal_transition(from, dispatch_status::printet)) {
    // The receipt is not counted either: the event has no effect at all.
    return add_anomaly(idx, e, "illegal transition " + std::string(to_string(from)) + " -> PRINTET");
  }
  auto& f = items[idx];
  set_print(f, p.receipt);
  add_print(f.konteringskode, p.receipt);
  transition(idx, e, dispatch_status::printet, nullptr);
}


// ---- dispatch_projection ----------------------------------------------------

dispatch_projection::dispatch_projection(dispatch_config config)
    : s_(std::make_unique<state>(config)) {}

dispatch_projection::~dispatch_projection() = default;

void dispatch_projection::apply(const event_view& e) {
  prepared_event p;
  prepare_event(e, s_->config, p);
  s_->apply(e, p);
}

std::size_t dispatch_projection::prepared_size() const noexcept { return sizeof(prepared_event); }

void dispatch_projection::prepare(const event_view& e, std::span<std::byte> out) const {
  // Reads the event and config, which nothing writes after construction.
  prepare_event(e, s_->config, *::new (out.data()) prepared_event);
}

void dispatch_projection::apply_prepared(const event_view& e, std::span<const std::byte> prepared) {
  s_->apply(e, *std::launder(reinterpret_cast<const prepared_event*>(prepared.data())));
}

void dispatch_projection::prefetch(std::span<const std::byte> prepared, int stage) const noexcept {
  const auto& p = *std::launder(reinterpret_cast<const prepared_event*>(prepared.data()));
  if (p.envelope != envelope_fault::none || !p.own_stream) return;  // an orphan: no item to find
  const auto& s = *s_;
  if (stage == 0) {
    s.by_id.prefetch_slot(p.id_hash);
    if (p.kind == event_kind::mottatt && p.reason == nullptr && p.mottatt.digital_kind != no_digital_id) {
      s.by_mottaker.prefetch_slot(p.mottatt.recipient_hash);
    }
    return;
  }
  const auto idx = s.by_id.peek(p.id, p.id_hash);
  if (idx == id_table::none) return;
  // A step reads and writes the item's first line, and its second only to
  // add a detalj.
  const auto* item = reinterpret_cast<const char*>(&s.items[idx]);
  prefetch_line(item);
  if (p.kind == event_kind::status && p.reason == nullptr && !p.unknown_status && p.status.has_detalj) {
    prefetch_line(item + 64);
  }
  prefetch_line(&s.hot[idx]);
}

void dispatch_projection::take_changes(record_changes& out) {
  auto& s = *s_;
  // Key order: "a/" (orphans, by position) before "f/" (by id).
  std::sort(s.dirty_orphans.begin(), s.dirty_orphans.end());
  for (const auto& at : s.dirty_orphans) {
    state::encode(s.orphans.at(at), out.value_buffer(orphan_key(at)));
    out.end_value();
  }
  s.dirty_orphans.clear();
  s.sort_dirty();
  // The dirty items are scattered over the state: ask for each item's lines
  // a few items ahead, and for what they point to (texts, history) a little
  // later, so the misses of several items overlap.
  constexpr std::size_t item_ahead = 16, texts_ahead = 8;
  std::array<char, forsendelse_key_size> key;
  const std::size_t n = s.dirty.size();
  for (std::size_t i = 0; i < n; ++i) {
    if (i + item_ahead < n) s.prefetch_item(s.dirty[i + item_ahead].idx);
    if (i + texts_ahead < n) s.prefetch_texts(s.dirty[i + texts_ahead].idx);
    auto& f = s.items[s.dirty[i].idx];
    f.dirty = false;
    s.encode(f, out.value_buffer(forsendelse_key(f.id, key)));
    out.end_value();
  }
  s.dirty.clear();
}

bool dispatch_projection::load(std::string_view key, std::string_view value) {
  if (key.starts_with(forsendelse_prefix)) return s_->decode(key, value);
  if (key.starts_with(orphan_prefix)) return s_->decode_orphan(key, value);
  return false;
}

void dispatch_projection::finish_load() { s_->merge_pending(); }

void dispatch_projection::for_each_record(
    const std::function<void(std::string_view key, std::string_view value)>& fn) const {
  const auto& s = *s_;
  std::string value;
  for (const auto& [at, a] : s.orphans) {
    value.clear();
    state::encode(a, value);
    fn(orphan_key(at), value);
  }
  std::array<char, forsendelse_key_size> key;
  std::vector<std::uint32_t> all(s.items.size());
  for (std::uint32_t i = 0; i < all.size(); ++i) all[i] = i;
  for (const auto idx : s.sorted_by_id(all)) {
    value.clear();
    s.encode(s.items[idx], value);
    fn(forsendelse_key(s.items[idx].id, key), value);
  }
}

result<std::string, query_error> dispatch_projection::query(std::string_view what,
                                                            const query_params& params) const {
  if (what == "get") return s_->get(params);
  if (what == "search") return s_->search(params);
  if (what == "stats") return s_->stats(params);
  if (what == "due") return s_->due(params);
  if (what == "anomalies") return s_->anomalies(params);
  return unexpected{query_error{query_errc::unknown_query,
                                "no query '" + std::string(bounded(what)) +
                                    "' (get, search, stats, due, anomalies)"}};
}

std::size_t dispatch_projection::size() const noexcept { return s_->items.size(); }
std::uint64_t dispatch_projection::anomaly_count() const noexcept { return s_->anomaly_total; }

}  // namespace muninn::projections
