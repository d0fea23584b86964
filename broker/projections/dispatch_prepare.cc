// The dispatch-status projection's prepare(): everything apply needs from
// an event that does not depend on the state (dispatch_prepared.h). Each
// fault is found in the order apply has always checked, so splitting apply
// in two changes no anomaly's reason.
#include "broker/projections/dispatch_state.h"

namespace muninn::projections::dispatch_detail {
namespace {

// A field that is optional is looked up once, then tested for null and for
// its type: the same answers as get_string/get_map/get_bool after a null
// test, at one map lookup instead of two.
std::optional<std::string_view> string_of(flexbuffers::Reference r) {
  if (!r.IsString()) return std::nullopt;
  const auto s = r.AsString();
  return std::string_view(s.c_str(), s.length());
}
std::optional<flexbuffers::Map> map_of(flexbuffers::Reference r) {
  if (!r.IsMap()) return std::nullopt;
  return r.AsMap();
}

// The names an event kind reads from the data's root map, in strcmp order.
template <std::size_t N>
using names = std::array<const char*, N>;
constexpr bool ascending(std::span<const char* const> n) {
  for (std::size_t i = 1; i < n.size(); ++i) {
    if (!(std::string_view(n[i - 1]) < std::string_view(n[i]))) return false;
  }
  return true;
}
constexpr names<1> id_keys = {"forsendelseId"};
constexpr names<3> status_keys = {"detalj", "forsendelseId", "status"};
enum { s_detalj, s_id, s_status };  // indexes in status_keys
constexpr names<7> mottatt_keys = {"avsender", "forsendelseId", "konteringskode", "kunDigitalLevering",
                                    "mottaker", "tittel", "utskriftskonfigurasjon"};
enum { m_avsender, m_id, m_kontering, m_kun_digital, m_mottaker, m_tittel, m_utskrift };  // in mottatt_keys
// The names read in ForsendelseMottatt's nested maps (mottaker, its
// digitalId, utskriftskonfigurasjon), in strcmp order too.
constexpr names<2> mottaker_keys = {"digitalId", "navn"};
enum { r_digital, r_navn };
constexpr names<2> digital_keys = {"type", "value"};
enum { d_type, d_value };
constexpr names<1> utskrift_keys = {"brevtype"};
constexpr names<8> print_keys = {"fargeSider", "forsendelseId", "konvoluttertAutomatisk", "konvoluttertManuelt",
                                  "portoMinor", "produksjonskostnadMinor", "sorthvitSider", "vektGram"};
constexpr std::size_t p_id = 1;  // in print_keys
// print_fields[i] is print_keys[print_at[i]].
constexpr std::array<std::size_t, 7> print_at = {6, 0, 2, 3, 7, 5, 4};
static_assert(ascending(status_keys) && ascending(mottatt_keys) && ascending(print_keys) && ascending(mottaker_keys) &&
              ascending(digital_keys));
static_assert([] {
  for (std::size_t i = 0; i < print_at.size(); ++i) {
    if (std::string_view(print_fields[i]) != print_keys[print_at[i]]) return false;
  }
  return true;
}());

// m[names[i]] for each i (a null reference where absent), in one walk over
// the map's keys instead of a binary search with a strcmp per probe for
// each name; most keys are told apart by their first byte. The binary
// search assumes sorted keys, which verification does not check: a map
// whose keys are not strictly ascending is looked up name by name, so the
// answers are m[name]'s whatever the data.
// strcmp's sign, inline: the keys are a few bytes long and equal to the
// name they are compared with, where a call to the library's strcmp cost
// more than the comparison (a few per event, on the reader thread).
inline int compare_keys(const char* a, const char* b) noexcept {
  for (;; ++a, ++b) {
    const auto x = static_cast<unsigned char>(*a), y = static_cast<unsigned char>(*b);
    if (x != y || x == 0) return int{x} - int{y};
  }
}

template <std::size_t N>
std::array<flexbuffers::Reference, N> fields(const flexbuffers::Map& m, const names<N>& want) {
  std::array<flexbuffers::Reference, N> out;
  const auto keys = m.Keys();
  const auto values = m.Values();
  auto byte = [](const char* s) { return static_cast<unsigned char>(s[0]); };
  const char* previous = nullptr;
  std::size_t j = 0;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    const char* key = keys[i].AsKey();
    if (previous != nullptr &&
        (byte(previous) > byte(key) || (byte(previous) == byte(key) && compare_keys(previous, key) >= 0))) {
      for (std::size_t n = 0; n < N; ++n) out[n] = m[want[n]];
      return out;
    }
    previous = key;
    while (j < N && byte(want[j]) < byte(key)) ++j;
    while (j < N && byte(want[j]) == byte(key)) {
      const int c = compare_keys(want[j], key);
      if (c > 0) break;
      if (c == 0) out[j] = values[i];
      ++j;
      if (c == 0) break;
    }
  }
  return out;
}

// norway::due_at, remembered per UTC hour of `from` on each thread (VARSLET
// steps come in bursts of nearby times). Local midnights, and so every
// boundary of a working day, fall on whole UTC hours, as do the hours
// counted, so inside one open UTC hour the due instant is either fixed
// (`from` on a day off: the count starts at the next working day) or moves
// one for one with `from`. Two instants just after the hour tell which.
// Whole hours themselves, and times outside 1970-2200, ask due_at.
std::int64_t due_at(std::int64_t from, std::int64_t hours) {
  constexpr std::int64_t hour = norway::micros_per_hour;
  constexpr std::int64_t last = 7'258'118'400LL * 1'000'000;  // 2200-01-01T00:00:00Z
  if (hours <= 0 || from <= 0 || from >= last || from % hour == 0) return norway::due_at(from, hours);
  struct remembered {
    std::int64_t hour = -1, hours = 0;
    std::int64_t due = 0;  // due_at(first) for first = the hour + 1 µs
    bool moves = false;
  };
  thread_local std::array<remembered, 512> memo;
  const std::int64_t h = from / hour;
  const std::int64_t first = h * hour + 1;
  auto& m = memo[static_cast<std::size_t>(h) % memo.size()];
  if (m.hour != h || m.hours != hours) {
    const std::int64_t a = norway::due_at(first, hours), b = norway::due_at(first + 1, hours);
    if (b != a && b != a + 1) return norway::due_at(from, hours);  // cannot happen; see above
    m = {h, hours, a, b != a};
  }
  return m.moves ? m.due + (from - first) : m.due;
}

void prepare_mottatt(const event_view& e, const std::array<flexbuffers::Reference, 7>& m, prepared_event& event) {
  event.mottatt = {};
  mottatt_fields& p = event.mottatt;
  auto refuse = [&](const char* reason) { event.reason = reason; };
  const auto avsender = string_of(m[m_avsender]);
  if (!avsender || avsender->empty()) return refuse("avsender is missing or not a non-empty string");
  const auto tittel = string_of(m[m_tittel]);
  if (!tittel) return refuse("tittel is missing or not a string");
  const auto mottaker = map_of(m[m_mottaker]);
  if (!mottaker) return refuse("mottaker is missing or not an object");
  const auto r = fields(*mottaker, mottaker_keys);
  const auto navn = string_of(r[r_navn]);
  if (!navn) return refuse("mottaker.navn is missing or not a string");
  p.avsender = *avsender;
  p.avsender_hash = interner::hash(*avsender);
  p.tittel = *tittel;
  p.navn = *navn;

  if (const auto digital = r[r_digital]; !digital.IsNull()) {
    const auto d = map_of(digital);
    std::array<flexbuffers::Reference, 2> dv;  // null references unless a map
    if (d) dv = fields(*d, digital_keys);
    const auto type = string_of(dv[d_type]);
    const auto value = string_of(dv[d_value]);
    const auto parsed = type ? parse_id_kind(*type) : std::nullopt;
    if (!parsed || (*parsed != id_kind::no_fnr && *parsed != id_kind::no_orgnr) || !value) {
      return refuse("mottaker.digitalId must be {type: NO_FNR|NO_ORGNR, value}");
    }
    const auto normal = normalise_identifier(*parsed, *value, civil_from_micros(e.time));
    // Both kinds normalise to 9 or 11 digits, so the size check never refuses.
    if (!normal || normal->size() > p.digital.size()) {
      return refuse(*parsed == id_kind::no_fnr ? "mottaker.digitalId.value is not a valid NO_FNR"
                                               : "mottaker.digitalId.value is not a valid NO_ORGNR");
    }
    p.digital_kind = static_cast<std::uint8_t>(*parsed);
    p.digital_size = static_cast<std::uint8_t>(normal->size());
    std::memcpy(p.digital.data(), normal->data(), normal->size());
    p.recipient_hash = recipient_index::hash(p.digital_kind, p.digital_value());
  }
  if (const auto b = m[m_kun_digital]; !b.IsNull()) {
    if (!b.IsBool()) return refuse("kunDigitalLevering must be a boolean");
    p.kun_digital = b.AsBool();
  }
  if (p.kun_digital && p.digital_kind == no_digital_id) return refuse("kunDigitalLevering needs mottaker.digitalId");
  if (const auto code = m[m_kontering]; !code.IsNull()) {
    const auto k = string_of(code);
    if (!k) return refuse("konteringskode must be a string");
    p.has_kontering = true;
    p.kontering = *k;
    p.kontering_hash = interner::hash(*k);
  }
  if (const auto config = m[m_utskrift]; !config.IsNull()) {
    const auto u = map_of(config);
    if (!u) return refuse("utskriftskonfigurasjon must be an object");
    if (const auto brevtype = fields(*u, utskrift_keys)[0]; !brevtype.IsNull()) {
      const auto b = string_of(brevtype);
      if (b == "APOST") {
        p.brevtype = 1;
      } else if (b == "BPOST") {
        p.brevtype = 2;
      } else {
        return refuse("utskriftskonfigurasjon.brevtype must be APOST or BPOST");
      }
    }
  }
}

void prepare_status(const event_view& e, const std::array<flexbuffers::Reference, 3>& m, const dispatch_config& c,
                    prepared_event& event) {
  event.status = {};
  status_fields& p = event.status;
  const auto text = string_of(m[s_status]);
  if (!text) {
    event.reason = "status is missing or not a string";
    return;
  }
  const auto to = parse_dispatch_status(*text);
  if (!to) {
    event.unknown_status = true;
    p.text = *text;
    return;
  }
  if (const auto r = m[s_detalj]; !r.IsNull()) {
    const auto detalj = string_of(r);
    if (!detalj) {
      event.reason = "detalj must be a string";
      return;
    }
    p.has_detalj = true;
    p.detalj = *detalj;
    p.detalj_hash = interner::hash(*detalj);
    if (detalj->size() <= p.detalj_bytes.size()) {
      std::memcpy(p.detalj_bytes.data(), detalj->data(), detalj->size());
      p.detalj_copied = true;
    }
  }
  p.to = *to;
  // Whether the step is legal depends on the state; the due instant, should
  // it be VARSLET, only on the event's time.
  if (p.to == dispatch_status::varslet) p.due = due_at(e.time, c.deadline_working_hours);
}

// "<field> is missing or not an integer >= 0", one literal per field.
constexpr std::array<const char*, 7> print_faults = {
    "sorthvitSider is missing or not an integer >= 0",
    "fargeSider is missing or not an integer >= 0",
    "konvoluttertAutomatisk is missing or not an integer >= 0",
    "konvoluttertManuelt is missing or not an integer >= 0",
    "vektGram is missing or not an integer >= 0",
    "produksjonskostnadMinor is missing or not an integer >= 0",
    "portoMinor is missing or not an integer >= 0"};

void prepare_print(const std::array<flexbuffers::Reference, 8>& m, prepared_event& p) {
  const auto out = fields_of(p.receipt);
  for (std::size_t i = 0; i < out.size(); ++i) {
    const auto v = as_int(m[print_at[i]]);
    if (!v || *v < 0) {
      p.reason = print_faults[i];
      return;
    }
    *out[i] = *v;
  }
}

// The id, whether the stream is its own, and the envelope's fault if any;
// true when the event names its forsendelse properly.
bool prepare_id(const event_view& e, flexbuffers::Reference id_field, prepared_event& p) {
  const auto id_text = string_of(id_field);
  if (!id_text) {
    p.envelope = envelope_fault::no_id;
    return false;
  }
  p.id_text = *id_text;
  const auto id = parse_lower_uuid(*id_text);
  if (!id) {
    p.envelope = envelope_fault::bad_id;
    return false;
  }
  p.id = *id;
  p.id_hash = id_table::hash(*id);
  // The forsendelse's own stream, so all its events are in one partition in order.
  p.own_stream = e.stream.size() == stream_prefix.size() + id_text->size() && e.stream.starts_with(stream_prefix) &&
                 e.stream.substr(stream_prefix.size()) == *id_text;
  if (!p.own_stream) p.envelope = envelope_fault::wrong_stream;
  return p.own_stream;
}

}  // namespace

void prepare_event(const event_view& e, const dispatch_config& config, prepared_event& p) {
  if (e.type == "ForsendelseStatusEndret") {
    p.kind = event_kind::status;
  } else if (e.type == "ForsendelseMottatt") {
    p.kind = event_kind::mottatt;
  } else if (e.type == "PrintKvittering") {
    p.kind = event_kind::print;
  }
  if (!e.data_ok || !e.data.IsMap()) {
    p.envelope = envelope_fault::unreadable;
    return;
  }
  const auto m = e.data.AsMap();
  switch (p.kind) {
    case event_kind::mottatt: {
      const auto f = fields(m, mottatt_keys);
      if (prepare_id(e, f[m_id], p)) prepare_mottatt(e, f, p);
      return;
    }
    case event_kind::status: {
      const auto f = fields(m, status_keys);
      if (prepare_id(e, f[s_id], p)) prepare_status(e, f, config, p);
      return;
    }
    case event_kind::print: {
      const auto f = fields(m, print_keys);
      if (prepare_id(e, f[p_id], p)) prepare_print(f, p);
      return;
    }
    case event_kind::unknown: prepare_id(e, fields(m, id_keys)[0], p); return;
  }
}

}  // namespace muninn::projections::dispatch_detail
