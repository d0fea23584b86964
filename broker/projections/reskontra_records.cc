// The reskontra projection's canonical records: keys, the versioned
// little-endian value encoding (docs/projections-reskontra.md, "Records"),
// take_changes(), load() and for_each_record().
#include <algorithm>
#include <bit>
#include <cstring>
#include <span>
#include <type_traits>

#include "broker/projections/reskontra.h"
#include "broker/projections/reskontra_state.h"

namespace muninn::projections {
namespace reskontra_detail {
namespace {

class writer {
 public:
  // Appends: a checkpoint encodes straight into record_changes' buffer.
  // Fields go to a local buffer first and reach `out` in one append when
  // the writer ends: a record is a dozen or more small fields, and a call
  // into std::string for each cost more than the stores themselves.
  explicit writer(std::string& out) : out_(out) {}
  ~writer() { flush(); }
  writer(const writer&) = delete;
  writer& operator=(const writer&) = delete;

  writer& u8(std::uint8_t v) {
    room(1);
    *at_++ = static_cast<char>(v);
    return *this;
  }
  writer& u32(std::uint32_t v) { return le(v, 4); }
  writer& u64(std::uint64_t v) { return le(v, 8); }
  writer& i32(std::int32_t v) { return le(static_cast<std::uint32_t>(v), 4); }
  writer& i64(std::int64_t v) { return le(static_cast<std::uint64_t>(v), 8); }
  writer& str(std::string_view s) {
    u32(static_cast<std::uint32_t>(s.size()));
    if (s.size() > sizeof buf_ / 2) {
      flush();
      out_.append(s);
    } else {
      room(s.size());
      std::memcpy(at_, s.data(), s.size());
      at_ += s.size();
    }
    return *this;
  }
  writer& cur(currency_code c) {
    room(3);
    for (int i = 2; i >= 0; --i) {
      const unsigned v = c & 31u;
      at_[i] = v >= 1 && v <= 26 ? static_cast<char>('A' + v - 1) : '?';
      c = static_cast<currency_code>(c >> 5);
    }
    at_ += 3;
    return *this;
  }
  // As str(): the account's digits, leading zeros included.
  writer& account(account_code c) {
    const unsigned digits = c >> 27;  // at most 8: pack_account()
    u32(digits);
    room(digits);
    std::uint32_t v = c & ((1u << 27) - 1);
    for (unsigned i = digits; i-- > 0; v /= 10) at_[i] = static_cast<char>('0' + v % 10);
    at_ += digits;
    return *this;
  }

 private:
  void flush() {
    out_.append(buf_, static_cast<std::size_t>(at_ - buf_));
    at_ = buf_;
  }
  void room(std::size_t n) {
    if (static_cast<std::size_t>(buf_ + sizeof buf_ - at_) < n) [[unlikely]] flush();
  }
  // Writes all eight bytes (room for them is made) and keeps `n`: one
  // store, however wide the field.
  [[gnu::always_inline]] writer& le(std::uint64_t v, int n) {
    room(8);
    if constexpr (std::endian::native == std::endian::little) {
      std::memcpy(at_, &v, 8);
    } else {
      for (int i = 0; i < 8; ++i) at_[i] = static_cast<char>(v >> (8 * i));
    }
    at_ += n;
    return *this;
  }
  std::string& out_;
  char buf_[512];
  char* at_ = buf_;
};

// Bounded reads; a short or malformed value clears ok() and reads zeros.
class reader {
 public:
  explicit reader(std::string_view in) : in_(in) {
    if (u8() != record_format) ok_ = false;
  }
  bool ok() const noexcept { return ok_; }
  bool done() const noexcept { return ok_ && pos_ == in_.size(); }

  std::uint8_t u8() { return static_cast<std::uint8_t>(le(1)); }
  std::uint32_t u32() { return static_cast<std::uint32_t>(le(4)); }
  std::uint64_t u64() { return le(8); }
  std::int32_t i32() { return static_cast<std::int32_t>(static_cast<std::uint32_t>(le(4))); }
  std::int64_t i64() { return static_cast<std::int64_t>(le(8)); }
  // Amounts are never negative in a sound state.
  money amount() {
    const auto v = i64();
    if (v < 0) ok_ = false;
    return v;
  }
  bool flag() {
    const auto v = u8();
    if (v > 1) ok_ = false;
    return v == 1;
  }
  // A view into the value: valid while it is.
  std::string_view str() {
    const auto n = u32();
    if (!ok_ || n > in_.size() - pos_) {
      ok_ = false;
      return {};
    }
    const auto s = in_.substr(pos_, n);
    pos_ += n;
    return s;
  }
  currency_code cur() {
    if (!ok_ || in_.size() - pos_ < 3) {
      ok_ = false;
      return 0;
    }
    const auto c = pack_currency(in_.substr(pos_, 3));
    pos_ += 3;
    if (!c) ok_ = false;
    return c.value_or(0);
  }
  account_code account() {
    const auto c = pack_account(str());
    if (!c) ok_ = false;
    return c.value_or(0);
  }
  // A count of elements each at least `min_bytes` long, so a hostile count
  // cannot make us reserve more than the value could hold.
  std::uint32_t count(std::size_t min_bytes) {
    const auto n = u32();
    if (!ok_ || n > (in_.size() - pos_) / min_bytes) {
      ok_ = false;
      return 0;
    }
    return n;
  }

 private:
  std::uint64_t le(int n) {
    if (!ok_ || in_.size() - pos_ < static_cast<std::size_t>(n)) {
      ok_ = false;
      return 0;
    }
    std::uint64_t v = 0;
    for (int i = 0; i < n; ++i) v |= static_cast<std::uint64_t>(static_cast<unsigned char>(in_[pos_ + i])) << (8 * i);
    pos_ += static_cast<std::size_t>(n);
    return v;
  }
  std::string_view in_;
  std::size_t pos_ = 0;
  bool ok_ = true;
};

}  // namespace

void encode(const receivable& x, std::string& out) {
  writer w(out);
  w.u8(record_format).str(x.party->id).str(x.invoice_no).u8(x.has_ocr).str(x.ocr_ref);
  w.i32(x.issue_date).i32(x.due_date).cur(x.currency).i64(x.amount).i64(x.vat);
  w.account(x.revenue_code).i64(x.remaining).u8(x.in_collection).u32(x.deferrals).i32(x.new_due_date);
  w.u32(x.reminders).i64(x.last_reminder_level).str(x.agency);
}

void encode(const payable& x, std::string& out) {
  writer w(out);
  w.u8(record_format).str(x.party->id).str(x.supplier_invoice_no).i32(x.invoice_date).i32(x.due_date);
  w.cur(x.currency).i64(x.amount).i64(x.vat).account(x.expense_code).i64(x.remaining);
  w.u8(x.approved).u8(x.blocked).str(x.approver).str(x.block_reason);
}

void encode(const payment& x, std::string& out) {
  writer w(out);
  w.u8(record_format).u8(static_cast<std::uint8_t>(x.source)).str(x.source_ref);
  w.u8(x.has_ocr).str(x.ocr_ref).u8(x.has_payer).str(x.payer_name);
  w.cur(x.currency).i32(x.booking_date).i64(x.amount).i64(x.remaining).i64(x.overpaid);
}

template <class Item>
void encode_lines(writer& w, std::span<const line<Item>> lines) {
  w.u32(static_cast<std::uint32_t>(lines.size()));
  for (const auto& l : lines) w.str(l.invoice_id).i64(l.amount);
}

void encode(const allocation& x, const state& s, std::string& out) {
  writer w(out);
  w.u8(record_format).str(x.payment_id).u8(x.reversed).str(x.reversal_reason);
  encode_lines(w, s.lines_of(x));
}

void encode(const payment_order& x, const state& s, std::string& out) {
  writer w(out);
  w.u8(record_format).i32(x.payment_date).u8(x.rejected).str(x.reason_code);
  encode_lines(w, s.lines_of(x));
}

void encode(const plan& x, std::string& out) {
  writer w(out);
  w.u8(record_format).u8(static_cast<std::uint8_t>(x.status));
  w.u32(static_cast<std::uint32_t>(x.invoice_ids.size()));
  for (const auto& id : x.invoice_ids) w.str(id);
  w.u32(static_cast<std::uint32_t>(x.installments.size()));
  for (const auto& i : x.installments) w.i32(i.due_date).i64(i.amount);
}

void encode(const party_state& x, std::string& out) {
  writer w(out);
  w.u8(record_format).u32(static_cast<std::uint32_t>(x.credits.size()));
  for (const auto& c : x.credits) w.cur(c.currency).i64(c.balance);
}

void encode(const ledger_entry& x, std::string& out) {
  writer w(out);
  w.u8(record_format).i64(x.debit).i64(x.credit);
}

void encode(const other_record& x, std::string& out) {
  writer w(out);
  w.u8(record_format).str(x.ref).str(x.text).cur(x.currency).i64(x.amount);
}

void encode(const anomaly& x, std::string& out) {
  writer w(out);
  w.u8(record_format).u32(x.at.partition).u64(x.at.offset).i64(x.time).str(x.type).str(x.reason);
}

void encode_meta(const state& s, std::string& out) {
  writer w(out);
  w.u8(record_format).u8(s.has_last).u32(s.last_at.partition).u64(s.last_at.offset);
  w.i64(s.last_time).u64(s.events);
}

std::string anomaly_key(const position& at) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string k = "a/";
  for (int i = 7; i >= 0; --i) k.push_back(hex[(at.partition >> (4 * i)) & 0xF]);
  for (int i = 15; i >= 0; --i) k.push_back(hex[(at.offset >> (4 * i)) & 0xF]);
  return k;
}

std::string ledger_record_key(const ledger_entry& e) {
  return "g/" + e.account + "/" + unpack_currency(e.currency);
}

namespace {

// Sorts by id without touching the entities while sorting: a sort that
// dereferenced ids would miss the cache on most of its compares.
template <class T>
void sort_by_id(std::vector<const T*>& xs) {
  std::vector<id_keyed<const T>> ks;
  ks.reserve(xs.size());
  for (std::size_t i = 0; i < xs.size(); ++i) {
    // Ask for the ids a few entities ahead so their misses overlap (the id
    // is just before its entity, the view in it).
    if (i + 16 < xs.size()) prefetch_line(xs[i + 16]);
    if (i + 8 < xs.size()) prefetch_line(xs[i + 8]->id.data());
    ks.push_back(key_of(xs[i]));
  }
  xs = sorted_by_id(ks);
}

template <class T>
void encode_any(const T& x, const state& s, std::string& out) {
  if constexpr (std::is_same_v<T, allocation> || std::is_same_v<T, payment_order>) {
    encode(x, s, out);
  } else {
    encode(x, out);
  }
}

// What encoding an entity reads besides the entity itself, asked for in
// two stages so that no prefetch waits on a miss. near(): whatever the
// entity's own fields point at (its texts in the arena, the party an item
// names, its lines), asked for a few entities ahead, once the entity is in
// cache. far(): what those point at in turn (the party's id, the texts a
// line or plan names), asked for closer, once the near lines have come:
// reading party->id or a line's view in near() would stall on their miss.
inline void prefetch(std::string_view s) {
  if (!s.empty()) prefetch_line(s.data());
}
inline void prefetch_party(const party_state* p) {
  // A party's key ("TYPE:normalised", at most 21 bytes) is always an
  // inline id. (A plain load of party->id here, which session 13 first
  // had, held up the loop on its miss; it had replaced prefetches that GCC
  // deleted, prefetch.h.)
  if (p != nullptr) id_table<party_state>::prefetch_with_id(p);
}
template <class Line>
void prefetch_lines(std::span<const Line> lines) {
  if (!lines.empty()) prefetch_line(lines.data());
}
template <class Line>
void prefetch_line_ids(std::span<const Line> lines) {
  for (std::size_t i = 0; i < lines.size() && i < 2; ++i) prefetch(lines[i].invoice_id);
}

void prefetch_near(const receivable& x, const state&) {
  prefetch_party(x.party);
  prefetch(x.invoice_no);
  prefetch(x.ocr_ref);
  prefetch(x.agency);
}
void prefetch_near(const payable& x, const state&) {
  prefetch_party(x.party);
  prefetch(x.supplier_invoice_no);
  prefetch(x.approver);
  prefetch(x.block_reason);
}
void prefetch_near(const payment& x, const state&) {
  prefetch(x.source_ref);
  prefetch(x.ocr_ref);
  prefetch(x.payer_name);
}
void prefetch_near(const allocation& x, const state& s) {
  prefetch(x.payment_id);
  prefetch(x.reversal_reason);
  prefetch_lines(s.lines_of(x));
}
void prefetch_far(const allocation& x, const state& s) { prefetch_line_ids(s.lines_of(x)); }
void prefetch_near(const payment_order& x, const state& s) {
  prefetch(x.reason_code);
  prefetch_lines(s.lines_of(x));
}
void prefetch_far(const payment_order& x, const state& s) { prefetch_line_ids(s.lines_of(x)); }
void prefetch_near(const plan& x, const state&) {
  if (!x.invoice_ids.empty()) prefetch_line(x.invoice_ids.data());
  if (!x.installments.empty()) prefetch_line(x.installments.data());
}
void prefetch_far(const plan& x, const state&) {
  for (std::size_t i = 0; i < x.invoice_ids.size() && i < 4; ++i) prefetch(x.invoice_ids[i]);
}
void prefetch_near(const party_state& x, const state&) {
  if (!x.credits.empty()) prefetch_line(x.credits.data());
}
void prefetch_near(const other_record& x, const state&) {
  prefetch(x.ref);
  prefetch(x.text);
}
// Kinds with nothing two steps away.
template <class T>
void prefetch_far(const T&, const state&) {}

// Records leave in ascending key order, and every key starts with its
// kind's letter: the kinds in letter order, each sorted by id on its own,
// give that order while sorting pointers instead of (key, value) strings.
// `emit(key, value)` is called once per record; the views are valid for
// the call. Entities may go straight into a record_changes instead.
class record_emitter {
 public:
  explicit record_emitter(const state& s) : s_(s) {}

  // `xs` sorted by id. Non-const pointers are a checkpoint's dirty
  // entities: their flags are cleared here, while each is in cache.
  template <class P, class Emit>
  void entities(std::string_view prefix, const std::vector<P>& xs, Emit&& emit) {
    using T = std::remove_cv_t<std::remove_pointer_t<P>>;
    for (std::size_t i = 0; i < xs.size(); ++i) {
      // As in sort_by_id: overlap the misses on the next entities (all of
      // each, then what they name: prefetch_near(), prefetch_far()).
      if (i + 8 < xs.size()) {
        const char* ahead = reinterpret_cast<const char*>(xs[i + 8]);
        for (std::size_t line = 0; line < sizeof(T); line += 64) prefetch_line(ahead + line);
      }
      if (i + 4 < xs.size()) prefetch_near(*xs[i + 4], s_);
      if (i + 2 < xs.size()) prefetch_far(*xs[i + 2], s_);
      const P x = xs[i];
      key_.assign(prefix).append(x->id);
      if constexpr (std::is_same_v<std::remove_cvref_t<Emit>, record_changes>) {
        encode_any(*x, s_, emit.value_buffer(key_));
        emit.end_value();
      } else {
        value_.clear();
        encode_any(*x, s_, value_);
        emit(std::string_view(key_), std::string_view(value_));
      }
      if constexpr (!std::is_const_v<std::remove_pointer_t<P>>) x->dirty = false;
    }
  }

  template <class Emit>
  void ledger(std::vector<const ledger_entry*>& es, Emit&& emit) {
    std::vector<std::pair<std::string, const ledger_entry*>> keyed;
    keyed.reserve(es.size());
    for (const auto* e : es) keyed.emplace_back(ledger_record_key(*e), e);
    std::sort(keyed.begin(), keyed.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    for (const auto& [k, e] : keyed) {
      value_.clear();
      encode(*e, value_);
      emit(std::string_view(k), std::string_view(value_));
    }
  }

  // anomaly_key() spells the position in fixed-width hex: key order is
  // position order.
  template <class Emit>
  void anomalies(std::vector<const anomaly*>& as, Emit&& emit) {
    std::sort(as.begin(), as.end(), [](const anomaly* a, const anomaly* b) { return a->at < b->at; });
    for (const auto* a : as) {
      value_.clear();
      encode(*a, value_);
      emit(std::string_view(anomaly_key(a->at)), std::string_view(value_));
    }
  }

  template <class Emit>
  void meta(Emit&& emit) {
    value_.clear();
    encode_meta(s_, value_);
    emit(std::string_view("m"), std::string_view(value_));
  }

 private:
  const state& s_;
  std::string key_, value_;
};

// Every entity of `t`, sorted by id.
template <class T>
std::vector<const T*> all_of(const id_table<T>& t) {
  std::vector<const T*> v;
  v.reserve(t.size());
  for (const auto& x : t) v.push_back(&x);
  sort_by_id(v);
  return v;
}

// Takes the ledger's dirty entries (and clears their flags).
std::vector<const ledger_entry*> take_dirty(std::vector<ledger_entry*>& list) {
  std::vector<const ledger_entry*> v(list.begin(), list.end());
  for (ledger_entry* x : list) x->dirty = false;
  list.clear();
  return v;
}

// Takes a dirty list's entities sorted by id; entities() clears their flags.
template <class T>
std::vector<T*> take_dirty(std::vector<id_keyed<T>>& list) {
  auto v = sorted_by_id(list);
  list.clear();
  return v;
}

// Lines into `pool`; on a malformed value the pool is as it was.
template <class Item>
bool decode_lines(reader& r, std::vector<line<Item>>& pool, arena& strings, line_range& out) {
  const auto n = r.count(12);
  const std::size_t first = pool.size();
  for (std::uint32_t i = 0; i < n && r.ok(); ++i) {
    line<Item> l;
    l.invoice_id = r.str();
    l.amount = r.amount();
    pool.push_back(l);
  }
  if (!r.ok()) {
    pool.resize(first);
    return false;
  }
  for (std::size_t i = first; i < pool.size(); ++i) pool[i].invoice_id = strings.store(pool[i].invoice_id);
  out = line_range{static_cast<std::uint32_t>(first), n};
  return true;
}

// A fresh entity under `id`; nullptr when the id is taken already.
template <class Table>
auto* fresh(Table& t, std::string_view id, arena& strings) {
  auto [x, inserted] = t.emplace(id, strings);
  return inserted ? x : nullptr;
}

bool load_receivable(state& s, std::string_view id, std::string_view value) {
  reader r(value);
  receivable x;
  const auto party = r.str();
  x.invoice_no = r.str();
  x.has_ocr = r.flag();
  x.ocr_ref = r.str();
  x.issue_date = r.i32();
  x.due_date = r.i32();
  x.currency = r.cur();
  x.amount = r.amount();
  x.vat = r.amount();
  x.revenue_code = r.account();
  x.remaining = r.amount();
  x.in_collection = r.flag();
  x.deferrals = r.u32();
  x.new_due_date = r.i32();
  x.reminders = r.u32();
  x.last_reminder_level = r.i64();
  x.agency = r.str();
  if (!r.done() || party.empty()) return false;
  auto* slot = fresh(s.receivables, id, s.strings);
  if (!slot) return false;
  x.party = &s.party(party);
  x.id = slot->id;
  x.invoice_no = s.strings.store(x.invoice_no);
  x.ocr_ref = s.strings.store(x.ocr_ref);
  x.agency = s.strings.store(x.agency);
  *slot = x;
  return true;
}

bool load_payable(state& s, std::string_view id, std::string_view value) {
  reader r(value);
  payable x;
  const auto party = r.str();
  x.supplier_invoice_no = r.str();
  x.invoice_date = r.i32();
  x.due_date = r.i32();
  x.currency = r.cur();
  x.amount = r.amount();
  x.vat = r.amount();
  x.expense_code = r.account();
  x.remaining = r.amount();
  x.approved = r.flag();
  x.blocked = r.flag();
  x.approver = r.str();
  x.block_reason = r.str();
  if (!r.done() || party.empty()) return false;
  auto* slot = fresh(s.payables, id, s.strings);
  if (!slot) return false;
  x.party = &s.party(party);
  x.id = slot->id;
  x.supplier_invoice_no = s.strings.store(x.supplier_invoice_no);
  x.approver = s.strings.store(x.approver);
  x.block_reason = s.strings.store(x.block_reason);
  *slot = x;
  return true;
}

bool load_payment(state& s, std::string_view id, std::string_view value) {
  reader r(value);
  payment x;
  const auto source = r.u8();
  if (source > 3) return false;
  x.source = static_cast<payment_source>(source);
  x.source_ref = r.str();
  x.has_ocr = r.flag();
  x.ocr_ref = r.str();
  x.has_payer = r.flag();
  x.payer_name = r.str();
  x.currency = r.cur();
  x.booking_date = r.i32();
  x.amount = r.amount();
  x.remaining = r.amount();
  x.overpaid = r.amount();
  if (!r.done()) return false;
  auto* slot = fresh(s.payments, id, s.strings);
  if (!slot) return false;
  x.id = slot->id;
  x.source_ref = s.strings.store(x.source_ref);
  x.ocr_ref = s.strings.store(x.ocr_ref);
  x.payer_name = s.strings.store(x.payer_name);
  *slot = x;
  return true;
}

bool load_allocation(state& s, std::string_view id, std::string_view value) {
  reader r(value);
  allocation x;
  x.payment_id = r.str();
  x.reversed = r.flag();
  x.reversal_reason = r.str();
  if (!decode_lines(r, s.allocation_lines, s.strings, x.lines) || !r.done()) return false;
  auto* slot = fresh(s.allocations, id, s.strings);
  if (!slot) return false;
  x.id = slot->id;
  x.payment_id = s.strings.store(x.payment_id);
  x.reversal_reason = s.strings.store(x.reversal_reason);
  *slot = x;
  return true;
}

bool load_order(state& s, std::string_view id, std::string_view value) {
  reader r(value);
  payment_order x;
  x.payment_date = r.i32();
  x.rejected = r.flag();
  x.reason_code = r.str();
  if (!decode_lines(r, s.order_lines, s.strings, x.lines) || !r.done()) return false;
  auto* slot = fresh(s.orders, id, s.strings);
  if (!slot) return false;
  x.id = slot->id;
  x.reason_code = s.strings.store(x.reason_code);
  *slot = x;
  return true;
}

bool load_plan(state& s, std::string_view id, std::string_view value) {
  reader r(value);
  plan x;
  const auto status = r.u8();
  if (status > 2) return false;
  x.status = static_cast<plan_status>(status);
  const auto n = r.count(4);
  x.invoice_ids.reserve(n);
  for (std::uint32_t i = 0; i < n && r.ok(); ++i) x.invoice_ids.push_back(r.str());
  const auto m = r.count(12);
  x.installments.reserve(m);
  for (std::uint32_t i = 0; i < m && r.ok(); ++i) {
    installment in;
    in.due_date = r.i32();
    in.amount = r.amount();
    x.installments.push_back(in);
  }
  if (!r.done()) return false;
  auto* slot = fresh(s.plans, id, s.strings);
  if (!slot) return false;
  x.id = slot->id;
  for (auto& inv : x.invoice_ids) inv = s.strings.store(inv);
  *slot = std::move(x);
  return true;
}

bool load_party(state& s, std::string_view id, std::string_view value) {
  reader r(value);
  std::vector<credit_balance> credits;
  const auto n = r.count(11);
  credits.reserve(n);
  for (std::uint32_t i = 0; i < n && r.ok(); ++i) {
    credit_balance c;
    c.currency = r.cur();
    c.balance = r.amount();
    if (!credits.empty() && credits.back().currency >= c.currency) return false;
    credits.push_back(c);
  }
  if (!r.done() || n == 0 || id.empty()) return false;
  auto& p = s.party(id);
  if (!p.credits.empty()) return false;
  p.credits = std::move(credits);
  return true;
}

bool load_ledger(state& s, std::string_view rest, std::string_view value) {
  const auto slash = rest.rfind('/');
  if (slash == std::string_view::npos) return false;
  const auto account = rest.substr(0, slash);
  const auto code = pack_account(account);
  const auto cur = pack_currency(rest.substr(slash + 1));
  if (!code || !cur) return false;
  reader r(value);
  ledger_entry e;
  e.account.assign(account);
  e.currency = *cur;
  e.debit = r.amount();
  e.credit = r.amount();
  if (!r.done()) return false;
  return s.ledger.try_emplace(static_cast<std::uint64_t>(*code) << 16 | *cur, std::move(e)).second;
}

bool load_other(state& s, std::string_view id, std::string_view value) {
  if (id.substr(0, 3) != "cn/" && id.substr(0, 3) != "rf/" && id.substr(0, 3) != "sc/") return false;
  reader r(value);
  other_record x;
  x.ref = r.str();
  x.text = r.str();
  x.currency = r.cur();
  x.amount = r.amount();
  if (!r.done()) return false;
  auto* slot = fresh(s.others, id, s.strings);
  if (!slot) return false;
  x.id = slot->id;
  x.ref = s.strings.store(x.ref);
  x.text = s.strings.store(x.text);
  *slot = x;
  return true;
}

bool load_anomaly(state& s, std::string_view key, std::string_view value) {
  reader r(value);
  anomaly a;
  a.at.partition = r.u32();
  a.at.offset = r.u64();
  a.time = r.i64();
  a.type = std::string(r.str());
  a.reason = std::string(r.str());
  if (!r.done() || anomaly_key(a.at) != key) return false;
  // Records arrive in key order, which is position order.
  if (!s.anomalies.empty() && !(s.anomalies.back().at < a.at)) return false;
  s.anomalies.push_back(std::move(a));
  return true;
}

bool load_meta(state& s, std::string_view value) {
  reader r(value);
  s.has_last = r.flag();
  s.last_at.partition = r.u32();
  s.last_at.offset = r.u64();
  s.last_time = r.i64();
  s.events = r.u64();
  return r.done();
}

}  // namespace
}  // namespace reskontra_detail

using namespace reskontra_detail;

void reskontra_projection::take_changes(record_changes& out) {
  auto& s = *s_;
  record_emitter r(s);
  auto emit = [&out](std::string_view k, std::string_view v) { out.put(k, v); };
  std::vector<const anomaly*> as;
  for (; s.anomalies_taken < s.anomalies.size(); ++s.anomalies_taken) as.push_back(&s.anomalies[s.anomalies_taken]);
  auto parties = take_dirty(s.dirty_parties);
  auto ledger = take_dirty(s.dirty_ledger);
  auto receivables = take_dirty(s.dirty_receivables);
  auto allocations = take_dirty(s.dirty_allocations);
  auto plans = take_dirty(s.dirty_plans);
  auto orders = take_dirty(s.dirty_orders);
  auto payments = take_dirty(s.dirty_payments);
  auto payables = take_dirty(s.dirty_payables);
  auto others = take_dirty(s.dirty_others);
  r.anomalies(as, emit);
  r.entities("c/", parties, out);
  r.ledger(ledger, emit);
  r.entities("i/", receivables, out);
  r.entities("l/", allocations, out);
  if (s.meta_dirty) {
    r.meta(emit);
    s.meta_dirty = false;
  }
  r.entities("n/", plans, out);
  r.entities("o/", orders, out);
  r.entities("p/", payments, out);
  r.entities("s/", payables, out);
  r.entities("x/", others, out);
}

bool reskontra_projection::load(std::string_view key, std::string_view value) {
  auto& s = *s_;
  if (key == "m") return load_meta(s, value);
  if (key.size() < 3 || key[1] != '/') return false;
  const auto rest = key.substr(2);
  switch (key[0]) {
    case 'a': return load_anomaly(s, key, value);
    case 'c': return load_party(s, rest, value);
    case 'g': return load_ledger(s, rest, value);
    case 'i': return load_receivable(s, rest, value);
    case 'l': return load_allocation(s, rest, value);
    case 'n': return load_plan(s, rest, value);
    case 'o': return load_order(s, rest, value);
    case 'p': return load_payment(s, rest, value);
    case 's': return load_payable(s, rest, value);
    case 'x': return load_other(s, rest, value);
    default: return false;
  }
}

void reskontra_projection::finish_load() {
  auto& s = *s_;
  s.rebuild_derived();
  s.anomalies_taken = s.anomalies.size();
  s.meta_dirty = false;
}

void reskontra_projection::for_each_record(
    const std::function<void(std::string_view key, std::string_view value)>& fn) const {
  const auto& s = *s_;
  record_emitter r(s);
  std::vector<const anomaly*> as;
  as.reserve(s.anomalies.size());
  for (const auto& a : s.anomalies) as.push_back(&a);
  r.anomalies(as, fn);
  std::vector<const party_state*> parties;
  for (const auto& p : s.parties) {
    if (p.known && !p.credits.empty()) parties.push_back(&p);
  }
  sort_by_id(parties);
  r.entities("c/", parties, fn);
  std::vector<const ledger_entry*> ledger;
  for (const auto& [k, e] : s.ledger) ledger.push_back(&e);
  r.ledger(ledger, fn);
  auto receivables = all_of(s.receivables);
  r.entities("i/", receivables, fn);
  auto allocations = all_of(s.allocations);
  r.entities("l/", allocations, fn);
  if (s.has_last || s.events > 0) r.meta(fn);
  auto plans = all_of(s.plans);
  r.entities("n/", plans, fn);
  auto orders = all_of(s.orders);
  r.entities("o/", orders, fn);
  auto payments = all_of(s.payments);
  r.entities("p/", payments, fn);
  auto payables = all_of(s.payables);
  r.entities("s/", payables, fn);
  auto others = all_of(s.others);
  r.entities("x/", others, fn);
}

}  // namespace muninn::projections
