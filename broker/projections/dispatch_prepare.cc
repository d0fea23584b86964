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

void prepare_mottatt(const event_view& e, const flexbuffers::Map& m, prepared_event& p) {
  auto refuse = [&](const char* reason) { p.reason = reason; };
  const auto avsender = get_string(m, "avsender");
  if (!avsender || avsender->empty()) return refuse("avsender is missing or not a non-empty string");
  const auto tittel = get_string(m, "tittel");
  if (!tittel) return refuse("tittel is missing or not a string");
  const auto mottaker = get_map(m, "mottaker");
  if (!mottaker) return refuse("mottaker is missing or not an object");
  const auto navn = get_string(*mottaker, "navn");
  if (!navn) return refuse("mottaker.navn is missing or not a string");
  p.avsender = *avsender;
  p.avsender_hash = interner::hash(*avsender);
  p.tittel = *tittel;
  p.navn = *navn;

  if (const auto digital = (*mottaker)["digitalId"]; !digital.IsNull()) {
    const auto d = map_of(digital);
    const auto type = d ? get_string(*d, "type") : std::nullopt;
    const auto value = d ? get_string(*d, "value") : std::nullopt;
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
  if (const auto b = m["kunDigitalLevering"]; !b.IsNull()) {
    if (!b.IsBool()) return refuse("kunDigitalLevering must be a boolean");
    p.kun_digital = b.AsBool();
  }
  if (p.kun_digital && p.digital_kind == no_digital_id) return refuse("kunDigitalLevering needs mottaker.digitalId");
  if (const auto code = m["konteringskode"]; !code.IsNull()) {
    const auto k = string_of(code);
    if (!k) return refuse("konteringskode must be a string");
    p.has_kontering = true;
    p.kontering = *k;
    p.kontering_hash = interner::hash(*k);
  }
  if (const auto config = m["utskriftskonfigurasjon"]; !config.IsNull()) {
    const auto u = map_of(config);
    if (!u) return refuse("utskriftskonfigurasjon must be an object");
    if (const auto brevtype = (*u)["brevtype"]; !brevtype.IsNull()) {
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

void prepare_status(const event_view& e, const flexbuffers::Map& m, const dispatch_config& c,
                    prepared_event& p) {
  const auto text = get_string(m, "status");
  if (!text) {
    p.reason = "status is missing or not a string";
    return;
  }
  const auto to = parse_dispatch_status(*text);
  if (!to) {
    p.unknown_status = true;
    p.text = *text;
    return;
  }
  if (const auto r = m["detalj"]; !r.IsNull()) {
    const auto detalj = string_of(r);
    if (!detalj) {
      p.reason = "detalj must be a string";
      return;
    }
    p.has_detalj = true;
    p.detalj = *detalj;
    p.detalj_hash = interner::hash(*detalj);
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

void prepare_print(const flexbuffers::Map& m, prepared_event& p) {
  const auto fields = fields_of(p.receipt);
  for (std::size_t i = 0; i < fields.size(); ++i) {
    const auto v = get_int(m, print_fields[i]);
    if (!v || *v < 0) {
      p.reason = print_faults[i];
      return;
    }
    *fields[i] = *v;
  }
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
  const auto id_text = get_string(m, "forsendelseId");
  if (!id_text) {
    p.envelope = envelope_fault::no_id;
    return;
  }
  p.id_text = *id_text;
  const auto id = parse_lower_uuid(*id_text);
  if (!id) {
    p.envelope = envelope_fault::bad_id;
    return;
  }
  p.id = *id;
  p.id_hash = id_table::hash(*id);
  // The forsendelse's own stream, so all its events are in one partition in order.
  p.own_stream = e.stream.size() == stream_prefix.size() + id_text->size() && e.stream.starts_with(stream_prefix) &&
                 e.stream.substr(stream_prefix.size()) == *id_text;
  if (!p.own_stream) {
    p.envelope = envelope_fault::wrong_stream;
    return;
  }
  switch (p.kind) {
    case event_kind::mottatt: return prepare_mottatt(e, m, p);
    case event_kind::status: return prepare_status(e, m, config, p);
    case event_kind::print: return prepare_print(m, p);
    case event_kind::unknown: return;
  }
}

}  // namespace muninn::projections::dispatch_detail
