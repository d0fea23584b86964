// The dispatch-status projection: apply() of the three event types (the
// lifecycle of domain.md, anomalies where an event cannot be used) and the
// projection object. Records: dispatch_records.cc; queries: dispatch_query.cc.
#include "broker/projections/dispatch_state.h"


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


// ---- apply ------------------------------------------------------------------

void dispatch_projection::state::apply(const event_view& e) {
  enum class kind { mottatt, status, print, unknown };
  kind k = kind::unknown;
  if (e.type == "ForsendelseStatusEndret") {
    k = kind::status;
  } else if (e.type == "ForsendelseMottatt") {
    k = kind::mottatt;
  } else if (e.type == "PrintKvittering") {
    k = kind::print;
  }
  if (!e.data_ok || !e.data.IsMap()) {
    add_orphan(e, k == kind::unknown ? "unknown event type" : "data is not a readable map");
    return;
  }
  const auto m = e.data.AsMap();
  const auto id_text = get_string(m, "forsendelseId");
  std::optional<event_id> id;
  if (id_text) id = parse_lower_uuid(*id_text);
  // The forsendelse's own stream, so all its events are in one partition in order.
  const bool own_stream = id && e.stream.size() == stream_prefix.size() + id_text->size() &&
                          e.stream.starts_with(stream_prefix) &&
                          e.stream.substr(stream_prefix.size()) == *id_text;
  if (k == kind::unknown) {
    const auto idx = own_stream ? by_id.find(*id) : id_table::none;
    if (idx != id_table::none) {
      add_anomaly(idx, e, "unknown event type");
    } else {
      add_orphan(e, "unknown event type", id_text.value_or(std::string_view{}));
    }
    return;
  }
  if (!id_text) return add_orphan(e, "forsendelseId is missing or not a string");
  if (!id) return add_orphan(e, "forsendelseId must be a UUID in lowercase", *id_text);
  if (!own_stream) return add_orphan(e, "stream must be forsendelse-<forsendelseId>", *id_text);

  const auto idx = by_id.find(*id);
  if (k == kind::mottatt) {
    if (idx != id_table::none) return add_anomaly(idx, e, "duplicate ForsendelseMottatt");
    return mottatt(e, m, *id, *id_text);
  }
  if (idx == id_table::none) {
    return add_orphan(e, "no ForsendelseMottatt for this forsendelse before it", *id_text);
  }
  if (k == kind::status) return status_endret(e, m, idx);
  print_kvittering(e, m, idx);
}

void dispatch_projection::state::mottatt(const event_view& e, const flexbuffers::Map& m,
                                         const event_id& id, std::string_view id_text) {
  // All or nothing: a Mottatt missing what the projection keeps creates no
  // forsendelse, so its later events are orphans too.
  auto refuse = [&](std::string_view reason) { add_orphan(e, std::string(reason), id_text); };
  const auto avsender = get_string(m, "avsender");
  if (!avsender || avsender->empty()) return refuse("avsender is missing or not a non-empty string");
  const auto tittel = get_string(m, "tittel");
  if (!tittel) return refuse("tittel is missing or not a string");
  const auto mottaker = get_map(m, "mottaker");
  if (!mottaker) return refuse("mottaker is missing or not an object");
  const auto navn = get_string(*mottaker, "navn");
  if (!navn) return refuse("mottaker.navn is missing or not a string");

  std::uint8_t kind = no_digital_id;
  std::string digital;
  if (!(*mottaker)["digitalId"].IsNull()) {
    const auto d = get_map(*mottaker, "digitalId");
    const auto type = d ? get_string(*d, "type") : std::nullopt;
    const auto value = d ? get_string(*d, "value") : std::nullopt;
    const auto parsed = type ? parse_id_kind(*type) : std::nullopt;
    if (!parsed || (*parsed != id_kind::no_fnr && *parsed != id_kind::no_orgnr) || !value) {
      return refuse("mottaker.digitalId must be {type: NO_FNR|NO_ORGNR, value}");
    }
    auto normal = normalise_identifier(*parsed, *value, civil_from_micros(e.time));
    if (!normal) return refuse("mottaker.digitalId.value is not a valid " + std::string(to_string(*parsed)));
    kind = static_cast<std::uint8_t>(*parsed);
    digital = std::move(*normal);
  }
  bool kun_digital = false;
  if (!m["kunDigitalLevering"].IsNull()) {
    const auto b = get_bool(m, "kunDigitalLevering");
    if (!b) return refuse("kunDigitalLevering must be a boolean");
    kun_digital = *b;
  }
  if (kun_digital && kind == no_digital_id) return refuse("kunDigitalLevering needs mottaker.digitalId");
  std::optional<std::string_view> kontering;
  if (!m["konteringskode"].IsNull()) {
    kontering = get_string(m, "konteringskode");
    if (!kontering) return refuse("konteringskode must be a string");
  }
  std::uint8_t brevtype = 0;
  if (!m["utskriftskonfigurasjon"].IsNull()) {
    const auto u = get_map(m, "utskriftskonfigurasjon");
    if (!u) return refuse("utskriftskonfigurasjon must be an object");
    if (!(*u)["brevtype"].IsNull()) {
      const auto b = get_string(*u, "brevtype");
      if (b == "APOST") {
        brevtype = 1;
      } else if (b == "BPOST") {
        brevtype = 2;
      } else {
        return refuse("utskriftskonfigurasjon.brevtype must be APOST or BPOST");
      }
    }
  }

  const auto idx = static_cast<std::uint32_t>(items.size());
  auto& f = items.emplace_back();
  f.id = id;
  f.avsender = avsendere.intern(*avsender);
  f.konteringskode = intern_kontering(kontering);
  f.digital_kind = kind;
  f.digital_value = std::move(digital);
  f.brevtype = brevtype;
  f.kun_digital = kun_digital;
  f.tittel.assign(*tittel);
  f.navn.assign(*navn);
  f.history.reserve(5);  // MOTTATT, AKSEPTERT, VARSLET, SENDT_PRINT, PRINTET
  auto& h = f.history.emplace_back();
  h.time = e.time;
  h.partition = e.at.partition;
  h.offset = e.at.offset;
  index(idx);
  mark(idx);
}

void dispatch_projection::state::status_endret(const event_view& e, const flexbuffers::Map& m,
                                               std::uint32_t idx) {
  const auto text = get_string(m, "status");
  if (!text) return add_anomaly(idx, e, "status is missing or not a string");
  const auto to = parse_dispatch_status(*text);
  if (!to) return add_anomaly(idx, e, "unknown status '" + std::string(bounded(*text)) + "'");
  std::optional<std::string_view> detalj;
  if (!m["detalj"].IsNull()) {
    detalj = get_string(m, "detalj");
    if (!detalj) return add_anomaly(idx, e, "detalj must be a string");
  }
  const dispatch_status from = items[idx].status;
  if (!is_legal_transition(from, *to)) {
    return add_anomaly(idx, e,
                       "illegal transition " + std::string(to_string(from)) + " -> " + std::string(to_string(*to)));
  }
  transition(idx, e, *to, detalj);
}

void dispatch_projection::state::print_kvittering(const event_view& e, const flexbuffers::Map& m,
                                                  std::uint32_t idx) {
  print_receipt p;
  const auto fields = fields_of(p);
  for (std::size_t i = 0; i < fields.size(); ++i) {
    const auto v = get_int(m, print_fields[i]);
    if (!v || *v < 0) {
      return add_anomaly(idx, e, std::string(print_fields[i]) + " is missing or not an integer >= 0");
    }
    *fields[i] = *v;
  }
  const dispatch_status from = items[idx].status;
  if (!is_legal_transition(from, dispatch_status::printet)) {
    // The receipt is not counted either: the event has no effect at all.
    return add_anomaly(idx, e, "illegal transition " + std::string(to_string(from)) + " -> PRINTET");
  }
  auto& f = items[idx];
  f.print = p;
  add_print(f.konteringskode, p);
  transition(idx, e, dispatch_status::printet, std::nullopt);
}


// ---- dispatch_projection ----------------------------------------------------

dispatch_projection::dispatch_projection(dispatch_config config)
    : s_(std::make_unique<state>(config)) {}

dispatch_projection::~dispatch_projection() = default;

void dispatch_projection::apply(const event_view& e) { s_->apply(e); }

void dispatch_projection::take_changes(record_changes& out) {
  auto& s = *s_;
  // Key order: "a/" (orphans, by position) before "f/" (by id).
  std::sort(s.dirty_orphans.begin(), s.dirty_orphans.end());
  for (const auto& at : s.dirty_orphans) {
    state::encode(s.orphans.at(at), out.value_buffer(orphan_key(at)));
    out.end_value();
  }
  s.dirty_orphans.clear();
  std::array<char, forsendelse_key_size> key;
  for (const auto idx : s.sorted_by_id(s.dirty)) {
    auto& f = s.items[idx];
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
