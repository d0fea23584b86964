// Internal to the dispatch-status projection (dispatch*.cc only): its
// state, the item and anomaly types and the record encoding helpers (the
// containers are in dispatch_storage.h). Items live in fixed chunks
// (indexes stay valid, nothing moves as the state grows) found through an
// open-addressing id table; derived views (counts, totals, VARSLET set,
// search order) are rebuilt by index() from complete items, so they never
// become records.
// Not thread-safe (projection.h).
#pragma once

#include "broker/projections/dispatch.h"
#include "broker/projections/dispatch_prepared.h"
#include "broker/projections/dispatch_storage.h"

#include <algorithm>
#include <array>
#include <bit>
#include <charconv>
#include <cstddef>
#include <cstring>
#include <deque>
#include <initializer_list>
#include <limits>
#include <map>
#include <memory>
#include <span>
#include <type_traits>
#include <unordered_map>

#include "broker/projections/identifiers.h"
#include "broker/projections/json_writer.h"
#include "broker/projections/norway_calendar.h"
#include "codec/batch.h"
#include "codec/json.h"

namespace muninn::projections::dispatch_detail {


using codec::event_id;

// Record format version (docs/projections-dispatch.md). Bump on any change.
inline constexpr std::uint8_t record_version = 1;
inline constexpr std::string_view forsendelse_prefix = "f/";
inline constexpr std::string_view orphan_prefix = "a/";
inline constexpr std::string_view stream_prefix = "forsendelse-";

// Text copied from an event into an anomaly is bounded: hostile data must
// not make anomalies the largest thing in the state.
inline constexpr std::size_t max_copied = 100;

inline constexpr std::uint8_t no_digital_id = 0xFF;

inline constexpr std::array<std::string_view, dispatch_status_count> status_names = {
    "MOTTATT",   "AKSEPTERT",   "AVVIST",    "VARSLET",    "KLAR_FOR_MOTTAK",
    "LEST",      "SENDT_DIGITALT", "SENDT_PRINT", "PRINTET", "SENDT_SDP",
    "LEVERT_SDP", "IKKE_LEVERT", "MANUELT_HANDTERT", "SLETTET"};

constexpr std::size_t operator+(dispatch_status s) { return static_cast<std::size_t>(s); }
constexpr std::uint16_t bit(dispatch_status s) { return static_cast<std::uint16_t>(1u << static_cast<unsigned>(s)); }

// domain.md's table: allowed[from] is the set of statuses `from` may go to.
inline constexpr std::array<std::uint16_t, dispatch_status_count> allowed = [] {
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

inline std::string_view bounded(std::string_view s) { return s.substr(0, std::min(s.size(), max_copied)); }

// ---- the state --------------------------------------------------------------

// 24 bytes: most steps have no detalj, so the texts live beside the
// history (forsendelse::detaljer, in the order of the entries that have one,
// as ids of the projection's interned detalj texts).
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

inline constexpr std::array<const char*, 7> print_fields = {
    "sorthvitSider", "fargeSider", "konvoluttertAutomatisk", "konvoluttertManuelt",
    "vektGram", "produksjonskostnadMinor", "portoMinor"};

inline std::array<std::int64_t*, 7> fields_of(print_receipt& p) {
  return {&p.sorthvit_sider, &p.farge_sider, &p.konvolutter_automatisk, &p.konvolutter_manuelt,
          &p.vekt_gram, &p.produksjonskostnad_minor, &p.porto_minor};
}
inline std::array<std::int64_t, 7> values_of(const print_receipt& p) {
  return {p.sorthvit_sider, p.farge_sider, p.konvolutter_automatisk, p.konvolutter_manuelt,
          p.vekt_gram, p.produksjonskostnad_minor, p.porto_minor};
}

// Two cache lines. The first holds all a status step reads and writes (id,
// status, avsender, dirty, varslet_slot, the history's place and size), so
// that apply touches that line and the history's end; what only Mottatt,
// take_changes and queries read is in the second. Rare parts (a print
// receipt, anomalies) sit in the state's side tables, by index.
struct alignas(64) forsendelse {
  event_id id;
  std::uint32_t avsender = 0;              // interned (avsendere_)
  std::uint32_t konteringskode = 0;        // interned (konteringskoder_); 0 = none
  std::uint32_t varslet_slot = no_slot;    // index in varslet_ while VARSLET
  std::uint32_t same_recipient = no_slot;  // the previous item in its recipient_index chain
  std::uint32_t print = no_slot;           // index in state::prints, if it has a receipt
  std::uint32_t anomalies = no_slot;       // index in state::anomaly_lists, if it has any
  std::uint8_t digital_kind = no_digital_id;  // id_kind value
  std::uint8_t brevtype = 0;                  // 0 none, 1 APOST, 2 BPOST
  bool kun_digital = false;
  bool dirty = false;
  dispatch_status status = dispatch_status::mottatt;
  arena_list<history_entry> history;  // never empty: [0] is MOTTATT
  // -- the first cache line ends here --
  arena_list<std::uint32_t> detaljer;  // one per history entry with has_detalj (detalj_texts)
  std::int64_t due = 0;                // valid while VARSLET
  // tittel, navn and the digital id's value, one after the other in the
  // state's text_arena: one pointer for three texts.
  const char* text = nullptr;
  std::uint32_t tittel_size = 0, navn_size = 0, digital_size = 0;

  std::string_view tittel() const noexcept { return {text, tittel_size}; }
  std::string_view navn() const noexcept { return {text + tittel_size, navn_size}; }
  std::string_view digital_value() const noexcept { return {text + tittel_size + navn_size, digital_size}; }
};
static_assert(sizeof(forsendelse) == 128);
static_assert(offsetof(forsendelse, detaljer) == 64, "a status step's fields fill the first line");

struct time_key {
  std::int64_t time;
  position at;
  std::uint32_t idx;
};
inline bool older(const time_key& a, const time_key& b) {
  return a.time != b.time ? a.time < b.time : a.at < b.at;
}

struct print_totals {
  std::uint64_t receipts = 0;
  std::array<std::int64_t, 7> sums{};
};

inline std::int64_t saturating_add(std::int64_t a, std::int64_t b) {
  std::int64_t r;
  if (__builtin_add_overflow(a, b, &r)) return b > 0 ? std::numeric_limits<std::int64_t>::max()
                                                     : std::numeric_limits<std::int64_t>::min();
  return r;
}

// A UUID in exactly the canonical lowercase spelling. Upper case is refused
// because the stream name (so the partition) depends on the spelling: two
// spellings of one id could sit in two partitions, and then the state
// would depend on how the partitions interleave.
inline std::optional<event_id> parse_lower_uuid(std::string_view s) noexcept {
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

// The item encoding's two passes (state::encode): one counts the bytes, the
// other writes them through a pointer into space reserved once, instead of
// a capacity check and a call per field.
class size_counter {
 public:
  void u8(std::uint8_t) noexcept { n_ += 1; }
  void u32(std::uint32_t) noexcept { n_ += 4; }
  void u64(std::uint64_t) noexcept { n_ += 8; }
  void i64(std::int64_t) noexcept { n_ += 8; }
  void str(std::string_view s) noexcept { n_ += 4 + s.size(); }
  void raw(const void*, std::size_t n) noexcept { n_ += n; }
  std::size_t size() const noexcept { return n_; }

 private:
  std::size_t n_ = 0;
};

class pointer_writer {
 public:
  explicit pointer_writer(char* at) noexcept : at_(at) {}
  void u8(std::uint8_t v) noexcept { *at_++ = static_cast<char>(v); }
  void u32(std::uint32_t v) noexcept { le(v, 4); }
  void u64(std::uint64_t v) noexcept { le(v, 8); }
  void i64(std::int64_t v) noexcept { le(static_cast<std::uint64_t>(v), 8); }
  void str(std::string_view s) noexcept {
    u32(static_cast<std::uint32_t>(s.size()));
    raw(s.data(), s.size());
  }
  void raw(const void* p, std::size_t n) noexcept {
    if (n != 0) std::memcpy(at_, p, n);
    at_ += n;
  }
  const char* at() const noexcept { return at_; }

 private:
  void le(std::uint64_t v, int n) noexcept {
    for (int i = 0; i < n; ++i) at_[i] = static_cast<char>(v >> (8 * i));
    at_ += n;
  }
  char* at_;
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

inline constexpr char hex_digits[] = "0123456789abcdef";

inline void append_hex(std::string& out, std::uint64_t v, int digits) {
  for (int i = digits - 1; i >= 0; --i) out.push_back(hex_digits[(v >> (4 * i)) & 15]);
}

inline std::string orphan_key(position p) {
  std::string k(orphan_prefix);
  append_hex(k, p.partition, 8);
  append_hex(k, p.offset, 16);
  return k;
}

// "f/" and the id's canonical spelling, without a heap string: take_changes
// writes one per changed forsendelse.
inline constexpr std::size_t forsendelse_key_size = 2 + 36;
inline std::string_view forsendelse_key(const event_id& id, std::array<char, forsendelse_key_size>& buf) {
  std::size_t n = 0;
  for (const char c : forsendelse_prefix) buf[n++] = c;
  for (std::size_t i = 0; i < id.bytes.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) buf[n++] = '-';
    buf[n++] = hex_digits[id.bytes[i] >> 4];
    buf[n++] = hex_digits[id.bytes[i] & 15];
  }
  return {buf.data(), n};
}


}  // namespace muninn::projections::dispatch_detail

namespace muninn::projections {

// The dispatch files share the detail names unqualified, as one file did.
using namespace dispatch_detail;

// ---- the projection's state -------------------------------------------------

struct dispatch_projection::state {
  dispatch_config config;

  chunked<forsendelse> items;
  id_table by_id;
  std::map<position, anomaly> orphans;
  text_arena texts;  // items' tittel, navn and digital id
  list_arena<history_entry> histories;
  list_arena<std::uint32_t> detalj_lists;
  // What few items have, by forsendelse::print and ::anomalies.
  chunked<print_receipt> prints;
  std::vector<std::vector<anomaly>> anomaly_lists;
  // Detalj texts: a few distinct ones in practice (the dispatch systems'
  // messages), so an id per history entry instead of a string each.
  interner detalj_texts;

  // Derived (rebuilt by load/finish_load, never records).
  interner avsendere;
  interner konteringskoder;  // by intern_kontering: id 0 is "no konteringskode"
  std::vector<std::array<std::uint64_t, dispatch_status_count>> counts;  // per avsender
  std::vector<print_totals> totals;                                      // per konteringskode
  std::vector<std::uint32_t> varslet;          // items whose status is VARSLET
  std::vector<std::uint32_t> with_anomalies;   // items holding an anomaly
  recipient_index by_mottaker;
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
  // Changed items with their ids, copied while the item is in cache: the
  // sort into key order then reads this array, not the items.
  struct dirty_item {
    id_key key;
    std::uint32_t idx;
    bool operator<(const dirty_item& o) const noexcept { return key < o.key; }
  };
  std::vector<dirty_item> dirty;
  std::vector<dirty_item> dirty_sorted;  // sort_dirty's, kept for its capacity
  std::vector<std::uint32_t> dirty_buckets;
  std::vector<position> dirty_orphans;

  explicit state(dispatch_config c) : config(c) {
    totals.emplace_back();  // konteringskode 0: none
  }

  // -- helpers --

  // A konteringskode's id is its interned id + 1: 0 is none, so that ""
  // differs from none. `h` is interner::hash(*k).
  std::uint32_t intern_kontering(std::optional<std::string_view> k, std::uint64_t h) {
    if (!k) return 0;
    const auto id = konteringskoder.intern(*k, h) + 1;
    if (id >= totals.size()) totals.resize(id + 1);
    return id;
  }
  std::uint32_t intern_kontering(std::optional<std::string_view> k) {
    return intern_kontering(k, k ? interner::hash(*k) : 0);
  }
  std::optional<std::string_view> kontering_name(std::uint32_t id) const {
    if (id == 0) return std::nullopt;
    return std::string_view(konteringskoder.name(id - 1));
  }

  void mark(std::uint32_t idx) {
    auto& f = items[idx];
    if (!f.dirty) {
      f.dirty = true;
      dirty.push_back({id_key::of(f.id), idx});
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

  const print_receipt* print_of(const forsendelse& f) const noexcept {
    return f.print == no_slot ? nullptr : &prints[f.print];
  }
  std::span<const anomaly> anomalies_of(const forsendelse& f) const noexcept {
    if (f.anomalies == no_slot) return {};
    return anomaly_lists[f.anomalies];
  }
  void set_print(forsendelse& f, const print_receipt& p) {
    if (f.print == no_slot) {
      f.print = static_cast<std::uint32_t>(prints.size());
      prints.emplace_back();
    }
    prints[f.print] = p;
  }
  // Appends a history entry (its status MOTTATT, no detalj) and returns it.
  history_entry& add_step(forsendelse& f, const event_view& e) {
    // Room for MOTTATT, AKSEPTERT, VARSLET, SENDT_PRINT, PRINTET.
    auto& h = histories.push(f.history, 5);
    h.time = e.time;
    h.partition = e.at.partition;
    h.offset = e.at.offset;
    return h;
  }

  void add_anomaly(std::uint32_t idx, const event_view& e, std::string reason) {
    auto& f = items[idx];
    if (f.anomalies == no_slot) {
      with_anomalies.push_back(idx);
      f.anomalies = static_cast<std::uint32_t>(anomaly_lists.size());
      anomaly_lists.emplace_back();
    }
    anomaly_lists[f.anomalies].push_back(anomaly{e.at, std::string(bounded(e.type)), std::move(reason), {}});
    ++anomaly_total;
    mark(idx);
  }

  // `due`: the deadline from the VARSLET step's time (prepare computes it).
  void enter_varslet(std::uint32_t idx, std::int64_t due) {
    auto& f = items[idx];
    f.due = due;
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
  // The hashes are the item's id's and digital recipient's, when known.
  void index(std::uint32_t idx) {
    const auto& f = items[idx];
    index(idx, id_table::hash(f.id),
          f.digital_kind != no_digital_id ? recipient_index::hash(f.digital_kind, f.digital_value()) : 0);
  }
  void index(std::uint32_t idx, std::uint64_t id_hash, std::uint64_t recipient_hash) {
    auto& f = items[idx];
    by_id.insert(f.id, id_hash, idx);
    if (hot.size() <= idx) hot.resize(idx + 1);
    hot[idx] = {f.avsender, f.status};
    if (f.avsender >= counts.size()) counts.resize(f.avsender + 1);
    ++counts[f.avsender][static_cast<std::size_t>(f.status)];
    if (const auto* p = print_of(f)) add_print(f.konteringskode, *p);
    if (f.status == dispatch_status::varslet) {
      enter_varslet(idx, norway::due_at(f.history.back().time, config.deadline_working_hours));
    }
    if (f.anomalies != no_slot) with_anomalies.push_back(idx);
    anomaly_total += anomalies_of(f).size();
    if (f.digital_kind != no_digital_id) {
      f.same_recipient = by_mottaker.push(recipient_hash, idx);
    }
    pending.push_back({f.history.front().time, f.history.front().at(), idx});
  }

  void add_print(std::uint32_t kontering, const print_receipt& p) {
    auto& t = totals[kontering];
    ++t.receipts;
    const auto v = values_of(p);
    for (std::size_t i = 0; i < v.size(); ++i) t.sums[i] = saturating_add(t.sums[i], v[i]);
  }

  // `step`: the status event's fields; null for a print receipt (no detalj).
  void transition(std::uint32_t idx, const event_view& e, dispatch_status to, const status_fields* step) {
    auto& f = items[idx];
    const dispatch_status from = f.status;
    if (from == dispatch_status::varslet) leave_varslet(idx);
    auto& c = counts[f.avsender];
    --c[static_cast<std::size_t>(from)];
    ++c[static_cast<std::size_t>(to)];
    f.status = to;
    hot[idx].status = to;
    auto& h = add_step(f, e);
    h.status = to;
    if (step != nullptr && step->has_detalj) {
      h.has_detalj = true;
      detalj_lists.push(f.detaljer, 2) = detalj_texts.intern(step->detalj_text(), step->detalj_hash);
    }
    // Only a status event steps to VARSLET (a receipt steps to PRINTET).
    if (to == dispatch_status::varslet) enter_varslet(idx, step->due);
    mark(idx);
  }

  // -- apply --

  // apply(e) is apply(e, p) with p = prepare_event(e): one path for both.
  void apply(const event_view& e, const prepared_event& p);
  void mottatt(const event_view& e, const prepared_event& p);
  void status_endret(const event_view& e, const prepared_event& p, std::uint32_t idx);
  void print_kvittering(const event_view& e, const prepared_event& p, std::uint32_t idx);

  // -- records --

  // Orders `dirty` by key (so by record key).
  void sort_dirty();

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
  template <class W>
  void encode_to(const forsendelse& f, W& w) const;
  // Asks for the lines encode(f) reads: the item, then what it points to.
  void prefetch_item(std::uint32_t idx) const noexcept;
  void prefetch_texts(std::uint32_t idx) const noexcept;
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


}  // namespace muninn::projections
