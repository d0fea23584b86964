// The dispatch-status queries (get, search, stats, due, anomalies), each
// answered as JSON; parameters are checked here and a bad one is a
// query_error naming it.
#include "broker/projections/dispatch_state.h"


namespace muninn::projections {

namespace {

// ---- query parameters -------------------------------------------------------

query_error bad(std::string_view param, std::string_view rule) {
  std::string m = "parameter '";
  m += param;
  m += "': ";
  m += rule;
  return {query_errc::bad_parameter, std::move(m)};
}

std::optional<query_error> only(const query_params& params, std::string_view query,
                                std::initializer_list<std::string_view> known) {
  for (const auto& [k, v] : params) {
    if (std::find(known.begin(), known.end(), k) == known.end()) {
      return bad(bounded(k), "not a parameter of '" + std::string(query) + "'");
    }
  }
  return std::nullopt;
}

const std::string* param(const query_params& p, std::string_view name) {
  const auto it = p.find(name);
  return it == p.end() ? nullptr : &it->second;
}

template <class T>
bool parse_number(std::string_view s, T& out) {
  if (s.empty() || s.size() > 20) return false;
  if (!(s[0] == '-' || (s[0] >= '0' && s[0] <= '9'))) return false;
  const auto r = std::from_chars(s.data(), s.data() + s.size(), out);
  return r.ec == std::errc{} && r.ptr == s.data() + s.size();
}

result<std::size_t, query_error> parse_limit(const query_params& p, std::size_t fallback) {
  const auto* s = param(p, "limit");
  if (!s) return fallback;
  std::size_t n = 0;
  if (!parse_number(*s, n) || n < 1 || n > 1000) {
    return unexpected{bad("limit", "must be an integer from 1 to 1000")};
  }
  return n;
}

result<std::optional<std::int64_t>, query_error> parse_time(const query_params& p, std::string_view name) {
  const auto* s = param(p, name);
  if (!s) return std::optional<std::int64_t>{};
  const auto t = codec::parse_rfc3339_micros(*s);
  if (!t) return unexpected{bad(name, "must be RFC 3339, e.g. 2026-11-23T09:15:00Z")};
  return std::optional<std::int64_t>{*t};
}

// Cursors are a few numbers joined by '_'; opaque to clients.
bool split_cursor(std::string_view s, std::span<std::string_view> parts) {
  for (std::size_t i = 0; i < parts.size(); ++i) {
    const auto cut = s.find('_');
    if ((cut == std::string_view::npos) != (i + 1 == parts.size())) return false;
    parts[i] = s.substr(0, cut);
    s = cut == std::string_view::npos ? std::string_view{} : s.substr(cut + 1);
  }
  return true;
}


}  // namespace

// ---- queries ----------------------------------------------------------------

void dispatch_projection::state::merge_pending() const {
  if (pending.empty()) return;
  std::sort(pending.begin(), pending.end(), older);
  const bool in_order = sorted.empty() || !older(pending.front(), sorted.back());
  const auto mid = static_cast<std::ptrdiff_t>(sorted.size());
  sorted.insert(sorted.end(), pending.begin(), pending.end());
  pending.clear();
  if (!in_order) std::inplace_merge(sorted.begin(), sorted.begin() + mid, sorted.end(), older);
}

namespace {

void write_time(json_writer& w, std::string_view k, std::int64_t t) {
  w.field(k, std::string_view(codec::format_rfc3339_micros(t)));
}

void write_anomaly(json_writer& w, const anomaly& a, std::optional<std::string_view> id) {
  w.begin_object();
  w.field("partition", a.at.partition);
  w.field("offset", a.at.offset);
  w.field("type", std::string_view(a.type));
  w.field("reason", std::string_view(a.reason));
  w.key("forsendelseId");
  if (id) {
    w.value(*id);
  } else {
    w.null();
  }
  w.end_object();
}

}  // namespace

void dispatch_projection::state::write_summary(json_writer& w, const forsendelse& f) const {
  w.begin_object();
  w.field("id", std::string_view(f.id.to_string()));
  w.field("status", to_string(f.status));
  w.field("avsender", std::string_view(avsendere.name(f.avsender)));
  w.field("tittel", f.tittel());
  w.field("mottakerNavn", f.navn());
  write_time(w, "mottatt", f.history.front().time);
  w.end_object();
}

result<std::string, query_error> dispatch_projection::state::get(const query_params& p) const {
  if (auto e = only(p, "get", {"id"})) return unexpected{*e};
  const auto* text = param(p, "id");
  if (!text) return unexpected{bad("id", "is required")};
  const auto id = event_id::parse(*text);
  if (!id) return unexpected{bad("id", "must be a UUID")};
  const auto idx = by_id.find(*id);
  if (idx == id_table::none) {
    return unexpected{query_error{query_errc::not_found, "no forsendelse " + id->to_string()}};
  }
  const auto& f = items[idx];
  json_writer w;
  w.begin_object();
  w.field("id", std::string_view(f.id.to_string()));
  w.field("status", to_string(f.status));
  w.field("avsender", std::string_view(avsendere.name(f.avsender)));
  w.field("tittel", f.tittel());
  w.key("mottaker").begin_object();
  w.field("navn", f.navn());
  w.key("digitalId");
  if (f.digital_kind == no_digital_id) {
    w.null();
  } else {
    w.begin_object();
    w.field("type", to_string(static_cast<id_kind>(f.digital_kind)));
    w.field("value", f.digital_value());
    w.end_object();
  }
  w.end_object();
  w.key("konteringskode");
  if (const auto k = kontering_name(f.konteringskode)) {
    w.value(*k);
  } else {
    w.null();
  }
  w.field("kunDigitalLevering", f.kun_digital);
  w.key("brevtype");
  if (f.brevtype == 0) {
    w.null();
  } else {
    w.value(f.brevtype == 1 ? "APOST" : "BPOST");
  }
  write_time(w, "mottatt", f.history.front().time);
  w.key("history").begin_array();
  std::size_t detalj = 0;
  for (const auto& h : f.history) {
    w.begin_object();
    w.field("status", to_string(h.status));
    write_time(w, "time", h.time);
    w.field("partition", h.partition);
    w.field("offset", h.offset);
    if (h.has_detalj) w.field("detalj", std::string_view(detalj_texts.name(f.detaljer[detalj++])));
    w.end_object();
  }
  w.end_array();
  w.key("anomalies").begin_array();
  const std::string id_text = f.id.to_string();
  for (const auto& a : anomalies_of(f)) write_anomaly(w, a, id_text);
  w.end_array();
  w.key("print");
  if (const auto* receipt = print_of(f)) {
    w.begin_object();
    const auto v = values_of(*receipt);
    for (std::size_t i = 0; i < v.size(); ++i) w.field(print_fields[i], v[i]);
    w.end_object();
  } else {
    w.null();
  }
  w.key("due");
  if (f.status == dispatch_status::varslet) {
    w.value(std::string_view(codec::format_rfc3339_micros(f.due)));
  } else {
    w.null();
  }
  w.end_object();
  return w.take();
}

result<std::string, query_error> dispatch_projection::state::search(const query_params& p) const {
  if (auto e = only(p, "search", {"avsender", "status", "mottaker", "from", "to", "limit", "after"})) {
    return unexpected{*e};
  }
  const auto limit = parse_limit(p, 50);
  if (!limit) return unexpected{limit.error()};
  const auto from = parse_time(p, "from");
  if (!from) return unexpected{from.error()};
  const auto to = parse_time(p, "to");
  if (!to) return unexpected{to.error()};
  std::optional<dispatch_status> status;
  if (const auto* s = param(p, "status")) {
    status = parse_dispatch_status(*s);
    if (!status) return unexpected{bad("status", "must be one of the catalog's statuses")};
  }
  // The cursor is the last answered item: (time, partition, offset).
  std::optional<time_key> after;
  if (const auto* s = param(p, "after")) {
    std::array<std::string_view, 3> parts;
    time_key k{0, {}, 0};
    if (!split_cursor(*s, parts) || !parse_number(parts[0], k.time) ||
        !parse_number(parts[1], k.at.partition) || !parse_number(parts[2], k.at.offset)) {
      return unexpected{bad("after", "must be a cursor from a previous answer's 'next'")};
    }
    after = k;
  }
  bool none = false;  // a filter that matches nothing
  std::optional<std::uint32_t> avsender;
  if (const auto* s = param(p, "avsender")) {
    avsender = avsendere.find(*s);
    if (!avsender) none = true;
  }
  std::vector<std::uint32_t> recipient_items;
  const std::vector<std::uint32_t>* by_recipient = nullptr;
  if (const auto* s = param(p, "mottaker")) {
    // Any valid spelling; the most permissive reference date accepts every
    // number that was valid when its event was written.
    // Spaces are dropped: "123 456 785" is how an orgnr is often written.
    const civil_date far{9999, 12, 31};
    std::string digits;
    for (const char c : *s) {
      if (c != ' ') digits.push_back(c);
    }
    std::uint8_t kind = 0;
    std::string value;
    if (auto n = normalise_identifier(id_kind::no_fnr, digits, far)) {
      kind = static_cast<std::uint8_t>(id_kind::no_fnr);
      value = std::move(*n);
    } else if (auto o = normalise_identifier(id_kind::no_orgnr, digits, far)) {
      kind = static_cast<std::uint8_t>(id_kind::no_orgnr);
      value = std::move(*o);
    } else {
      return unexpected{bad("mottaker", "must be a valid NO_FNR or NO_ORGNR")};
    }
    for (auto i = by_mottaker.head(recipient_index::hash(kind, value)); i != no_slot; i = items[i].same_recipient) {
      if (items[i].digital_kind == kind && items[i].digital_value() == value) recipient_items.push_back(i);
    }
    if (recipient_items.empty()) {
      none = true;
    } else {
      by_recipient = &recipient_items;
    }
  }

  if (status && !none) {
    std::uint64_t with_status = 0;
    for (std::size_t a = 0; a < counts.size(); ++a) {
      if (!avsender || a == *avsender) with_status += counts[a][static_cast<std::size_t>(*status)];
    }
    none = with_status == 0;
  }
  std::vector<time_key> own;  // the recipient's few items, in order
  const std::vector<time_key>* order = &sorted;
  if (by_recipient) {
    own.reserve(by_recipient->size());
    for (const auto idx : *by_recipient) {
      own.push_back({items[idx].history.front().time, items[idx].history.front().at(), idx});
    }
    std::sort(own.begin(), own.end(), older);
    order = &own;
  } else {
    merge_pending();
  }
  // Newest first: walk down from the first key not below the upper bounds.
  auto end = order->end();
  if (*to) {
    end = std::lower_bound(order->begin(), end, time_key{**to, {0, 0}, 0}, older);
  }
  if (after) end = std::lower_bound(order->begin(), end, *after, older);

  json_writer w;
  w.begin_object();
  w.key("items").begin_array();
  std::size_t n = 0;
  std::optional<time_key> last;  // the last item written
  bool more = false;
  for (auto it = end; !none && it != order->begin();) {
    --it;
    if (*from && it->time < **from) break;
    const auto h = hot[it->idx];
    if (status && h.status != *status) continue;
    if (avsender && h.avsender != *avsender) continue;
    const auto& f = items[it->idx];
    if (n == *limit) {
      more = true;
      break;
    }
    write_summary(w, f);
    ++n;
    last = *it;
  }
  w.end_array();
  w.key("next");
  if (more) {
    w.value(std::string_view(std::to_string(last->time) + "_" + std::to_string(last->at.partition) + "_" +
                             std::to_string(last->at.offset)));
  } else {
    w.null();
  }
  w.end_object();
  return w.take();
}

result<std::string, query_error> dispatch_projection::state::stats(const query_params& p) const {
  if (auto e = only(p, "stats", {})) return unexpected{*e};
  json_writer w;
  w.begin_object();
  w.field("forsendelser", static_cast<std::uint64_t>(items.size()));
  w.field("anomalies", anomaly_total);
  // By name, not by interned id: the ids depend on arrival order.
  std::vector<std::uint32_t> order(avsendere.size());
  for (std::uint32_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(),
            [this](std::uint32_t a, std::uint32_t b) { return avsendere.name(a) < avsendere.name(b); });
  w.key("perAvsender").begin_array();
  for (const auto a : order) {
    if (a >= counts.size()) continue;  // interned by a record load() refused
    const auto& c = counts[a];
    std::uint64_t total = 0;
    for (const auto n : c) total += n;
    if (total == 0) continue;
    w.begin_object();
    w.field("avsender", std::string_view(avsendere.name(a)));
    w.field("total", total);
    w.key("statuses").begin_object();
    for (std::size_t s = 0; s < c.size(); ++s) {
      if (c[s] != 0) w.field(status_names[s], c[s]);
    }
    w.end_object();
    w.end_object();
  }
  w.end_array();
  // Konteringskoder with a receipt; "no konteringskode" (id 0) first.
  std::vector<std::uint32_t> codes;
  for (std::uint32_t i = 0; i < totals.size(); ++i) {
    if (totals[i].receipts != 0) codes.push_back(i);
  }
  std::sort(codes.begin(), codes.end(), [this](std::uint32_t a, std::uint32_t b) {
    return kontering_name(a) < kontering_name(b);  // nullopt (none) is least
  });
  w.key("print").begin_array();
  for (const auto k : codes) {
    const auto& t = totals[k];
    w.begin_object();
    w.key("konteringskode");
    if (const auto name = kontering_name(k)) {
      w.value(*name);
    } else {
      w.null();
    }
    w.field("kvitteringer", t.receipts);
    for (std::size_t i = 0; i < t.sums.size(); ++i) w.field(print_fields[i], t.sums[i]);
    w.end_object();
  }
  w.end_array();
  w.end_object();
  return w.take();
}

result<std::string, query_error> dispatch_projection::state::due(const query_params& p) const {
  if (auto e = only(p, "due", {"at", "limit", "after"})) return unexpected{*e};
  const auto at = parse_time(p, "at");
  if (!at) return unexpected{at.error()};
  if (!*at) return unexpected{bad("at", "is required (RFC 3339)")};
  const auto limit = parse_limit(p, 1000);
  if (!limit) return unexpected{limit.error()};
  struct entry {
    std::int64_t due;
    const event_id* id;
    std::uint32_t idx;
  };
  auto before = [](const entry& a, const entry& b) {
    return a.due != b.due ? a.due < b.due : a.id->bytes < b.id->bytes;
  };
  std::optional<entry> after;
  event_id after_id;
  if (const auto* s = param(p, "after")) {
    std::array<std::string_view, 2> parts;
    std::int64_t t = 0;
    const auto id = [&]() -> std::optional<event_id> {
      if (!split_cursor(*s, parts) || !parse_number(parts[0], t)) return std::nullopt;
      return event_id::parse(parts[1]);
    }();
    if (!id) return unexpected{bad("after", "must be a cursor from a previous answer's 'next'")};
    after_id = *id;
    after = entry{t, &after_id, 0};
  }
  std::vector<entry> found;
  for (const auto idx : varslet) {
    const auto& f = items[idx];
    if (f.due > **at) continue;
    entry e{f.due, &f.id, idx};
    if (after && !before(*after, e)) continue;
    found.push_back(e);
  }
  const bool more = found.size() > *limit;
  if (more) {
    std::partial_sort(found.begin(), found.begin() + static_cast<std::ptrdiff_t>(*limit), found.end(), before);
    found.resize(*limit);
  } else {
    std::sort(found.begin(), found.end(), before);
  }
  json_writer w;
  w.begin_object();
  write_time(w, "at", **at);
  w.key("items").begin_array();
  for (const auto& e : found) {
    const auto& f = items[e.idx];
    w.begin_object();
    w.field("id", std::string_view(f.id.to_string()));
    w.field("avsender", std::string_view(avsendere.name(f.avsender)));
    w.field("tittel", f.tittel());
    write_time(w, "varslet", f.history.back().time);
    write_time(w, "due", f.due);
    w.field("action", f.kun_digital ? "SENDT_DIGITALT" : "SENDT_PRINT");
    w.end_object();
  }
  w.end_array();
  w.key("next");
  if (more) {
    w.value(std::string_view(std::to_string(found.back().due) + "_" + found.back().id->to_string()));
  } else {
    w.null();
  }
  w.end_object();
  return w.take();
}

result<std::string, query_error> dispatch_projection::state::anomalies(const query_params& p) const {
  if (auto e = only(p, "anomalies", {"limit", "after"})) return unexpected{*e};
  const auto limit = parse_limit(p, 100);
  if (!limit) return unexpected{limit.error()};
  std::optional<position> after;
  if (const auto* s = param(p, "after")) {
    std::array<std::string_view, 2> parts;
    position at;
    if (!split_cursor(*s, parts) || !parse_number(parts[0], at.partition) || !parse_number(parts[1], at.offset)) {
      return unexpected{bad("after", "must be a cursor from a previous answer's 'next'")};
    }
    after = at;
  }
  struct entry {
    const anomaly* a;
    const forsendelse* f;  // null for an orphan
  };
  std::vector<entry> all;
  for (const auto idx : with_anomalies) {
    for (const auto& a : anomalies_of(items[idx])) {
      if (!after || *after < a.at) all.push_back({&a, &items[idx]});
    }
  }
  auto it = after ? orphans.upper_bound(*after) : orphans.begin();
  for (; it != orphans.end(); ++it) all.push_back({&it->second, nullptr});
  auto by_position = [](const entry& x, const entry& y) { return x.a->at < y.a->at; };
  const bool more = all.size() > *limit;
  if (more) {
    std::partial_sort(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(*limit), all.end(), by_position);
    all.resize(*limit);
  } else {
    std::sort(all.begin(), all.end(), by_position);
  }
  json_writer w;
  w.begin_object();
  w.field("total", anomaly_total);
  w.key("items").begin_array();
  for (const auto& e : all) {
    if (e.f) {
      write_anomaly(w, *e.a, std::string_view(e.f->id.to_string()));
    } else {
      write_anomaly(w, *e.a, e.a->forsendelse_id.empty() ? std::nullopt
                                                          : std::optional<std::string_view>(e.a->forsendelse_id));
    }
  }
  w.end_array();
  w.key("next");
  if (more) {
    w.value(std::string_view(std::to_string(all.back().a->at.partition) + "_" +
                             std::to_string(all.back().a->at.offset)));
  } else {
    w.null();
  }
  w.end_object();
  return w.take();
}

}  // namespace muninn::projections
