#include "broker/projections/dispatch.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>
#include <deque>
#include <limits>
#include <map>
#include <span>
#include <unordered_map>

#include "broker/projections/identifiers.h"
#include "broker/projections/json_writer.h"
#include "broker/projections/norway_calendar.h"
#include "codec/batch.h"
#include "codec/json.h"

namespace muninn::projections {
namespace {

using codec::event_id;

// Record format version (docs/projections-dispatch.md). Bump on any change.
constexpr std::uint8_t record_version = 1;
constexpr std::string_view forsendelse_prefix = "f/";
constexpr std::string_view orphan_prefix = "a/";
constexpr std::string_view stream_prefix = "forsendelse-";

// Text copied from an event into an anomaly is bounded: hostile data must
// not make anomalies the largest thing in the state.
constexpr std::size_t max_copied = 100;

constexpr std::uint8_t no_digital_id = 0xFF;
constexpr std::uint32_t no_slot = std::numeric_limits<std::uint32_t>::max();

constexpr std::array<std::string_view, dispatch_status_count> status_names = {
    "MOTTATT",   "AKSEPTERT",   "AVVIST",    "VARSLET",    "KLAR_FOR_MOTTAK",
    "LEST",      "SENDT_DIGITALT", "SENDT_PRINT", "PRINTET", "SENDT_SDP",
    "LEVERT_SDP", "IKKE_LEVERT", "MANUELT_HANDTERT", "SLETTET"};

constexpr std::size_t operator+(dispatch_status s) { return static_cast<std::size_t>(s); }
constexpr std::uint16_t bit(dispatch_status s) { return static_cast<std::uint16_t>(1u << static_cast<unsigned>(s)); }

// domain.md's table: allowed[from] is the set of statuses `from` may go to.
constexpr std::array<std::uint16_t, dispatch_status_count> allowed = [] {
  using enum dispatch_status;
  std::array<std::uint16_t, dispatch_status_count> a{};
  a[+mottatt] = bit(akseptert) | bit(avvist);
  a[+akseptert] = bit(varslet) | bit(klar_for_mottak) | bit(sendt_sdp) | bit(sendt_print);
  a[+varslet] = bit(lest) | bit(sendt_print) | bit(sendt_digitalt) | bit(manuelt_handtert);
  a[+klar_for_mottak] = bit(lest);
  a[+sendt_sdp] = bit(levert_sdp) | bit(ikke_levert);
  a[+sendt_digitalt] = bit(lest) | bit(ikke_levert);
  a[+levert_sdp] = bit(lest);
  a[+sendt_print] = bit(printet) | bit(manuelt_handtert) | bit(lest);
  // Every status that is not terminal (LEST included) may be deleted.
  for (const auto s : {mottatt, akseptert, varslet, klar_for_mottak, lest, sendt_digitalt, sendt_print,
                       sendt_sdp, levert_sdp}) {
    a[+s] |= bit(slettet);
  }
  return a;
}();

std::string_view bounded(std::string_view s) { return s.substr(0, std::min(s.size(), max_copied)); }

// ---- the state --------------------------------------------------------------

// 24 bytes: most steps have no detalj, so the texts live beside the
// history (forsendelse::detaljer, in the order of the entries that have one).
struct history_entry {
  std::int64_t time = 0;
  std::uint64_t offset = 0;
  std::uint32_t partition = 0;
  dispatch_status status = dispatch_status::mottatt;
  bool has_detalj = false;

  position at() const noexcept { return {partition, offset}; }
};

struct anomaly {
  position at;
  std::string type;
  std::string reason;
  std::string forsendelse_id;  // orphans: the id text as read (bounded), maybe empty
};

struct print_receipt {
  std::int64_t sorthvit_sider = 0, farge_sider = 0, konvolutter_automatisk = 0,
               konvolutter_manuelt = 0, vekt_gram = 0, produksjonskostnad_minor = 0, porto_minor = 0;
};

constexpr std::array<const char*, 7> print_fields = {
    "sorthvitSider", "fargeSider", "konvoluttertAutomatisk", "konvoluttertManuelt",
    "vektGram", "produksjonskostnadMinor", "portoMinor"};

std::array<std::int64_t*, 7> fields_of(print_receipt& p) {
  return {&p.sorthvit_sider, &p.farge_sider, &p.konvolutter_automatisk, &p.konvolutter_manuelt,
          &p.vekt_gram, &p.produksjonskostnad_minor, &p.porto_minor};
}
std::array<std::int64_t, 7> values_of(const print_receipt& p) {
  return {p.sorthvit_sider, p.farge_sider, p.konvolutter_automatisk, p.konvolutter_manuelt,
          p.vekt_gram, p.produksjonskostnad_minor, p.porto_minor};
}

struct forsendelse {
  event_id id;
  std::uint32_t avsender = 0;        // interned (avsendere_)
  std::uint32_t konteringskode = 0;  // interned (konteringskoder_); 0 = none
  std::uint8_t digital_kind = no_digital_id;  // id_kind value
  std::uint8_t brevtype = 0;                  // 0 none, 1 APOST, 2 BPOST
  bool kun_digital = false;
  bool dirty = false;
  dispatch_status status = dispatch_status::mottatt;
  std::uint32_t varslet_slot = no_slot;  // index in varslet_ while VARSLET
  std::int64_t due = 0;                  // valid while VARSLET
  std::string tittel, navn, digital_value;
  std::optional<print_receipt> print;
  std::vector<history_entry> history;  // never empty: [0] is MOTTATT
  std::vector<std::string> detaljer;    // one per history entry with has_detalj
  std::vector<anomaly> anomalies;
};

// Interned names; the ids depend on arrival order, so they never reach a
// record or an answer (answers sort by the names).
class interner {
 public:
  std::uint32_t intern(std::string_view s) {
    if (const auto it = ids_.find(s); it != ids_.end()) return it->second;
    names_.emplace_back(s);
    const auto id = static_cast<std::uint32_t>(names_.size() - 1);
    ids_.emplace(names_.back(), id);
    return id;
  }
  std::optional<std::uint32_t> find(std::string_view s) const {
    const auto it = ids_.find(s);
    if (it == ids_.end()) return std::nullopt;
    return it->second;
  }
  const std::string& name(std::uint32_t id) const { return names_[id]; }
  std::size_t size() const noexcept { return names_.size(); }

 private:
  std::deque<std::string> names_;  // a deque: the map's views stay valid
  std::unordered_map<std::string_view, std::uint32_t> ids_;
};

struct time_key {
  std::int64_t time;
  position at;
  std::uint32_t idx;
};
bool older(const time_key& a, const time_key& b) {
  return a.time != b.time ? a.time < b.time : a.at < b.at;
}

struct print_totals {
  std::uint64_t receipts = 0;
  std::array<std::int64_t, 7> sums{};
};

std::int64_t saturating_add(std::int64_t a, std::int64_t b) {
  std::int64_t r;
  if (__builtin_add_overflow(a, b, &r)) return b > 0 ? std::numeric_limits<std::int64_t>::max()
                                                     : std::numeric_limits<std::int64_t>::min();
  return r;
}

// A UUID in exactly the canonical lowercase spelling. Upper case is refused
// because the stream name (so the partition) depends on the spelling: two
// spellings of one id could sit in two partitions, and then the state
// would depend on how the partitions interleave.
std::optional<event_id> parse_lower_uuid(std::string_view s) noexcept {
  static constexpr auto hex = [] {
    std::array<std::int8_t, 256> t{};
    t.fill(-1);
    for (int c = '0'; c <= '9'; ++c) t[static_cast<std::size_t>(c)] = static_cast<std::int8_t>(c - '0');
    for (int c = 'a'; c <= 'f'; ++c) t[static_cast<std::size_t>(c)] = static_cast<std::int8_t>(c - 'a' + 10);
    return t;
  }();
  static constexpr std::uint8_t at[16] = {0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34};
  if (s.size() != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-') return std::nullopt;
  event_id id;
  int bad = 0;
  for (std::size_t i = 0; i < 16; ++i) {
    const int hi = hex[static_cast<unsigned char>(s[at[i]])];
    const int lo = hex[static_cast<unsigned char>(s[at[i] + 1u])];
    bad |= hi | lo;  // negative when either is not a lowercase hex digit
    id.bytes[i] = static_cast<std::uint8_t>((hi << 4) | (lo & 15));
  }
  if (bad < 0) return std::nullopt;
  return id;
}

// Forsendelser by id: open addressing with the ids inline (one cache miss
// per lookup, no node per entry), linear probing, at most half full.
class id_table {
 public:
  static constexpr std::uint32_t none = std::numeric_limits<std::uint32_t>::max();

  std::uint32_t find(const event_id& id) const noexcept {
    if (slots_.empty()) return none;
    for (std::size_t i = home(id);; i = (i + 1) & mask_) {
      const auto& s = slots_[i];
      if (s.idx == none) return none;
      if (s.id == id) return s.idx;
    }
  }
  bool contains(const event_id& id) const noexcept { return find(id) != none; }
  // `id` must not be present.
  void insert(const event_id& id, std::uint32_t idx) {
    if ((size_ + 1) * 2 > slots_.size()) grow();
    place(id, idx);
    ++size_;
  }

 private:
  struct slot {
    event_id id;
    std::uint32_t idx = none;
  };
  std::size_t home(const event_id& id) const noexcept { return codec::event_id_hash{}(id) & mask_; }
  void place(const event_id& id, std::uint32_t idx) noexcept {
    std::size_t i = home(id);
    while (slots_[i].idx != none) i = (i + 1) & mask_;
    slots_[i] = slot{id, idx};
  }
  void grow() {
    std::vector<slot> old = std::move(slots_);
    slots_.assign(std::max<std::size_t>(1024, old.size() * 2), slot{});
    mask_ = slots_.size() - 1;
    for (const auto& s : old) {
      if (s.idx != none) place(s.id, s.idx);
    }
  }
  std::vector<slot> slots_;
  std::size_t mask_ = 0;
  std::size_t size_ = 0;
};

// Items in fixed chunks: growing never moves one (no copying of the whole
// state at each doubling, and references stay valid).
template <class T>
class chunked {
 public:
  static constexpr std::size_t chunk = 4096;
  T& operator[](std::size_t i) noexcept { return chunks_[i / chunk][i % chunk]; }
  const T& operator[](std::size_t i) const noexcept { return chunks_[i / chunk][i % chunk]; }
  std::size_t size() const noexcept { return size_; }
  T& emplace_back() {
    if (size_ % chunk == 0 && size_ / chunk == chunks_.size()) {
      chunks_.push_back(std::make_unique<T[]>(chunk));
    }
    return (*this)[size_++];
  }
  void push_back(T&& v) { emplace_back() = std::move(v); }

 private:
  std::vector<std::unique_ptr<T[]>> chunks_;
  std::size_t size_ = 0;
};

// ---- little-endian encoding -------------------------------------------------

class encoder {
 public:
  explicit encoder(std::string& out) : out_(out) {}
  void u8(std::uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void u32(std::uint32_t v) {
    char b[4];
    for (int i = 0; i < 4; ++i) b[i] = static_cast<char>(v >> (8 * i));
    out_.append(b, sizeof b);
  }
  void u64(std::uint64_t v) {
    char b[8];
    for (int i = 0; i < 8; ++i) b[i] = static_cast<char>(v >> (8 * i));
    out_.append(b, sizeof b);
  }
  void i64(std::int64_t v) { u64(static_cast<std::uint64_t>(v)); }
  void str(std::string_view s) {
    u32(static_cast<std::uint32_t>(s.size()));
    out_.append(s);
  }
  void raw(const void* p, std::size_t n) { out_.append(static_cast<const char*>(p), n); }

 private:
  std::string& out_;
};

class decoder {
 public:
  explicit decoder(std::string_view in) : in_(in) {}
  bool ok() const noexcept { return ok_; }
  bool done() const noexcept { return ok_ && pos_ == in_.size(); }
  std::uint8_t u8() { return static_cast<std::uint8_t>(take(1)[0]); }
  std::uint32_t u32() { return static_cast<std::uint32_t>(le(4)); }
  std::uint64_t u64() { return le(8); }
  std::int64_t i64() { return static_cast<std::int64_t>(le(8)); }
  std::string_view str() {
    const std::uint32_t n = u32();
    return take(n);
  }
  std::string_view take(std::size_t n) {
    static constexpr char zeros[8] = {};
    if (!ok_ || in_.size() - pos_ < n) {
      ok_ = false;
      return std::string_view(zeros, std::min<std::size_t>(n, sizeof zeros));
    }
    const auto s = in_.substr(pos_, n);
    pos_ += n;
    return s;
  }

 private:
  std::uint64_t le(std::size_t n) {
    const auto s = take(n);
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < s.size(); ++i) v |= std::uint64_t{static_cast<unsigned char>(s[i])} << (8 * i);
    return v;
  }
  std::string_view in_;
  std::size_t pos_ = 0;
  bool ok_ = true;
};

constexpr char hex_digits[] = "0123456789abcdef";

void append_hex(std::string& out, std::uint64_t v, int digits) {
  for (int i = digits - 1; i >= 0; --i) out.push_back(hex_digits[(v >> (4 * i)) & 15]);
}

std::string orphan_key(position p) {
  std::string k(orphan_prefix);
  append_hex(k, p.partition, 8);
  append_hex(k, p.offset, 16);
  return k;
}

std::string forsendelse_key(const event_id& id) {
  std::string k(forsendelse_prefix);
  k += id.to_string();
  return k;
}

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

// ---- the projection's state -------------------------------------------------

struct dispatch_projection::state {
  dispatch_config config;

  chunked<forsendelse> items;
  id_table by_id;
  std::map<position, anomaly> orphans;

  // Derived (rebuilt by load/finish_load, never records).
  interner avsendere;
  interner konteringskoder;  // id 0 is "no konteringskode"
  std::vector<std::array<std::uint64_t, dispatch_status_count>> counts;  // per avsender
  std::vector<print_totals> totals;                                      // per konteringskode
  std::vector<std::uint32_t> varslet;          // items whose status is VARSLET
  std::vector<std::uint32_t> with_anomalies;   // items holding an anomaly
  std::unordered_map<std::string, std::vector<std::uint32_t>> by_mottaker;  // kind char + value
  std::uint64_t anomaly_total = 0;
  // What search filters on, by item, packed: a scan over a million items
  // stays in cache instead of touching each item.
  struct hot_fields {
    std::uint32_t avsender;
    dispatch_status status;
  };
  std::vector<hot_fields> hot;
  // Search order by (mottatt time, position): `sorted` is in order, `pending`
  // collects new items until a query merges them (apply never sorts).
  mutable std::vector<time_key> sorted;
  mutable std::vector<time_key> pending;

  // take_changes().
  std::vector<std::uint32_t> dirty;
  std::vector<position> dirty_orphans;

  explicit state(dispatch_config c) : config(c) {
    konteringskoder.intern({});  // id 0: none; a real "" is interned with a prefix
    totals.emplace_back();
  }

  // -- helpers --

  std::uint32_t intern_kontering(std::optional<std::string_view> k) {
    if (!k) return 0;
    // A present code is stored with a leading '=' so "" differs from none.
    std::string key = "=";
    key += *k;
    const auto id = konteringskoder.intern(key);
    if (id >= totals.size()) totals.resize(id + 1);
    return id;
  }
  std::optional<std::string_view> kontering_name(std::uint32_t id) const {
    if (id == 0) return std::nullopt;
    return std::string_view(konteringskoder.name(id)).substr(1);
  }

  void mark(std::uint32_t idx) {
    auto& f = items[idx];
    if (!f.dirty) {
      f.dirty = true;
      dirty.push_back(idx);
    }
  }

  void add_orphan(const event_view& e, std::string reason, std::string_view id_text = {}) {
    anomaly a{e.at, std::string(bounded(e.type)), std::move(reason), std::string(bounded(id_text))};
    // A position is applied once; should the runner repeat one, the first wins.
    if (orphans.emplace(e.at, std::move(a)).second) {
      dirty_orphans.push_back(e.at);
      ++anomaly_total;
    }
  }

  void add_anomaly(std::uint32_t idx, const event_view& e, std::string reason) {
    auto& f = items[idx];
    if (f.anomalies.empty()) with_anomalies.push_back(idx);
    f.anomalies.push_back(anomaly{e.at, std::string(bounded(e.type)), std::move(reason), {}});
    ++anomaly_total;
    mark(idx);
  }

  void enter_varslet(std::uint32_t idx) {
    auto& f = items[idx];
    f.due = norway::due_at(f.history.back().time, config.deadline_working_hours);
    f.varslet_slot = static_cast<std::uint32_t>(varslet.size());
    varslet.push_back(idx);
  }
  void leave_varslet(std::uint32_t idx) {
    auto& f = items[idx];
    const std::uint32_t last = varslet.back();
    varslet[f.varslet_slot] = last;
    items[last].varslet_slot = f.varslet_slot;
    varslet.pop_back();
    f.varslet_slot = no_slot;
  }

  // Adds item `idx` (complete, as applied or loaded) to every derived view.
  void index(std::uint32_t idx) {
    auto& f = items[idx];
    by_id.insert(f.id, idx);
    if (hot.size() <= idx) hot.resize(idx + 1);
    hot[idx] = {f.avsender, f.status};
    if (f.avsender >= counts.size()) counts.resize(f.avsender + 1);
    ++counts[f.avsender][static_cast<std::size_t>(f.status)];
    if (f.print) add_print(f.konteringskode, *f.print);
    if (f.status == dispatch_status::varslet) enter_varslet(idx);
    if (!f.anomalies.empty()) with_anomalies.push_back(idx);
    anomaly_total += f.anomalies.size();
    if (f.digital_kind != no_digital_id) {
      std::string key(1, static_cast<char>('0' + f.digital_kind));
      key += f.digital_value;
      by_mottaker[std::move(key)].push_back(idx);
    }
    pending.push_back({f.history.front().time, f.history.front().at(), idx});
  }

  void add_print(std::uint32_t kontering, const print_receipt& p) {
    auto& t = totals[kontering];
    ++t.receipts;
    const auto v = values_of(p);
    for (std::size_t i = 0; i < v.size(); ++i) t.sums[i] = saturating_add(t.sums[i], v[i]);
  }

  void transition(std::uint32_t idx, const event_view& e, dispatch_status to,
                  std::optional<std::string_view> detalj) {
    auto& f = items[idx];
    const dispatch_status from = f.status;
    if (from == dispatch_status::varslet) leave_varslet(idx);
    auto& c = counts[f.avsender];
    --c[static_cast<std::size_t>(from)];
    ++c[static_cast<std::size_t>(to)];
    f.status = to;
    hot[idx].status = to;
    auto& h = f.history.emplace_back();
    h.time = e.time;
    h.partition = e.at.partition;
    h.offset = e.at.offset;
    h.status = to;
    if (detalj) {
      h.has_detalj = true;
      f.detaljer.emplace_back(*detalj);
    }
    if (to == dispatch_status::varslet) enter_varslet(idx);
    mark(idx);
  }

  // -- apply --

  void apply(const event_view& e);
  void mottatt(const event_view& e, const flexbuffers::Map& m, const event_id& id, std::string_view id_text);
  void status_endret(const event_view& e, const flexbuffers::Map& m, std::uint32_t idx);
  void print_kvittering(const event_view& e, const flexbuffers::Map& m, std::uint32_t idx);

  // -- records --

  // `idx` ordered by id (so by record key). The ids are copied beside the
  // indexes first: sorting through items[] would miss the cache per compare.
  std::vector<std::uint32_t> sorted_by_id(const std::vector<std::uint32_t>& idx) const {
    std::vector<std::pair<event_id, std::uint32_t>> keyed;
    keyed.reserve(idx.size());
    for (const auto i : idx) keyed.emplace_back(items[i].id, i);
    std::sort(keyed.begin(), keyed.end());
    std::vector<std::uint32_t> out;
    out.reserve(keyed.size());
    for (const auto& [id, i] : keyed) out.push_back(i);
    return out;
  }

  void encode(const forsendelse& f, std::string& out) const;
  static void encode(const anomaly& a, std::string& out);
  bool decode(std::string_view key, std::string_view value);
  bool decode_orphan(std::string_view key, std::string_view value);

  // -- queries --

  void merge_pending() const;
  void write_summary(json_writer& w, const forsendelse& f) const;
  result<std::string, query_error> get(const query_params& p) const;
  result<std::string, query_error> search(const query_params& p) const;
  result<std::string, query_error> stats(const query_params& p) const;
  result<std::string, query_error> due(const query_params& p) const;
  result<std::string, query_error> anomalies(const query_params& p) const;
};

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

// ---- records ----------------------------------------------------------------

void dispatch_projection::state::encode(const forsendelse& f, std::string& out) const {
  encoder w(out);
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
    if (h.has_detalj) w.str(f.detaljer[detalj++]);
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
  if (key != forsendelse_key(f.id) || by_id.contains(f.id)) return false;
  const auto avsender = r.str();
  f.tittel.assign(r.str());
  f.navn.assign(r.str());
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
    if (h.has_detalj) f.detaljer.emplace_back(r.str());
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
  w.field("tittel", std::string_view(f.tittel));
  w.field("mottakerNavn", std::string_view(f.navn));
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
  w.field("tittel", std::string_view(f.tittel));
  w.key("mottaker").begin_object();
  w.field("navn", std::string_view(f.navn));
  w.key("digitalId");
  if (f.digital_kind == no_digital_id) {
    w.null();
  } else {
    w.begin_object();
    w.field("type", to_string(static_cast<id_kind>(f.digital_kind)));
    w.field("value", std::string_view(f.digital_value));
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
    if (h.has_detalj) w.field("detalj", std::string_view(f.detaljer[detalj++]));
    w.end_object();
  }
  w.end_array();
  w.key("anomalies").begin_array();
  const std::string id_text = f.id.to_string();
  for (const auto& a : f.anomalies) write_anomaly(w, a, id_text);
  w.end_array();
  w.key("print");
  if (f.print) {
    w.begin_object();
    const auto v = values_of(*f.print);
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
    std::string key;
    if (auto n = normalise_identifier(id_kind::no_fnr, digits, far)) {
      key = std::string(1, static_cast<char>('0' + static_cast<int>(id_kind::no_fnr))) + *n;
    } else if (auto o = normalise_identifier(id_kind::no_orgnr, digits, far)) {
      key = std::string(1, static_cast<char>('0' + static_cast<int>(id_kind::no_orgnr))) + *o;
    } else {
      return unexpected{bad("mottaker", "must be a valid NO_FNR or NO_ORGNR")};
    }
    const auto it = by_mottaker.find(key);
    if (it == by_mottaker.end()) {
      none = true;
    } else {
      by_recipient = &it->second;
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
  // Konteringskoder with a receipt; "no konteringskode" (interned "") first.
  std::vector<std::uint32_t> codes;
  for (std::uint32_t i = 0; i < totals.size(); ++i) {
    if (totals[i].receipts != 0) codes.push_back(i);
  }
  std::sort(codes.begin(), codes.end(), [this](std::uint32_t a, std::uint32_t b) {
    return konteringskoder.name(a) < konteringskoder.name(b);
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
    w.field("tittel", std::string_view(f.tittel));
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
    for (const auto& a : items[idx].anomalies) {
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

// ---- dispatch_projection ----------------------------------------------------

dispatch_projection::dispatch_projection(dispatch_config config)
    : s_(std::make_unique<state>(config)) {}

dispatch_projection::~dispatch_projection() = default;

void dispatch_projection::apply(const event_view& e) { s_->apply(e); }

void dispatch_projection::take_changes(std::vector<record_change>& out) {
  auto& s = *s_;
  // Key order: "a/" (orphans, by position) before "f/" (by id).
  std::sort(s.dirty_orphans.begin(), s.dirty_orphans.end());
  for (const auto& at : s.dirty_orphans) {
    std::string value;
    state::encode(s.orphans.at(at), value);
    out.push_back({orphan_key(at), std::move(value)});
  }
  s.dirty_orphans.clear();
  for (const auto idx : s.sorted_by_id(s.dirty)) {
    auto& f = s.items[idx];
    f.dirty = false;
    std::string value;
    value.reserve(256);
    s.encode(f, value);
    out.push_back({forsendelse_key(f.id), std::move(value)});
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
  std::vector<std::uint32_t> all(s.items.size());
  for (std::uint32_t i = 0; i < all.size(); ++i) all[i] = i;
  for (const auto idx : s.sorted_by_id(all)) {
    value.clear();
    s.encode(s.items[idx], value);
    fn(forsendelse_key(s.items[idx].id), value);
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
