// Internal to the reskontra projection (reskontra*.cc only): its entities,
// ledger and derived indexes. Entities live in fixed chunks found through
// open-addressing id tables, and their ids and texts in an arena, so
// pointers to them (and string_views of their ids and texts) stay valid
// while the projection lives; nothing is ever erased. Not thread-safe
// (projection.h).
#pragma once

#include <algorithm>
#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <optional>
#include <limits>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "broker/projections/chunked.h"
#include "broker/projections/event.h"
#include "broker/projections/prefetch.h"
#include "broker/projections/reskontra.h"

namespace muninn::projections::reskontra_detail {

using money = std::int64_t;            // minor units
using day_number = std::int32_t;       // days since 1970-01-01
using currency_code = std::uint16_t;   // three letters A-Z, 5 bits each; 0 = none
using account_code = std::uint32_t;    // digit count << 27 | value (1-8 digits)

constexpr money money_max = std::numeric_limits<money>::max();

// Record values start with this byte (docs/projections-reskontra.md).
constexpr std::uint8_t record_format = 1;

std::optional<currency_code> pack_currency(std::string_view s) noexcept;
std::string unpack_currency(currency_code c);
// Strings of 1-8 digits; nullopt otherwise.
std::optional<account_code> pack_account(std::string_view s) noexcept;
// The digits pack_account() packed, leading zeros included: an account's
// text is never stored, only its code.
std::string account_text(account_code c);

// Bytes that never move: entities keep string_views into it. Texts are
// never freed (a replaced one stays), which costs little next to the log
// they come from.
class arena {
 public:
  std::string_view store(std::string_view s) {
    if (s.empty()) return {};
    if (s.size() > left_) {
      if (s.size() > block / 4) {
        // A long text gets a block of its own; the current one goes on.
        blocks_.push_back(std::make_unique<char[]>(s.size()));
        std::memcpy(blocks_.back().get(), s.data(), s.size());
        return {blocks_.back().get(), s.size()};
      }
      blocks_.push_back(std::make_unique<char[]>(block));
      next_ = blocks_.back().get();
      left_ = block;
    }
    char* at = next_;
    std::memcpy(at, s.data(), s.size());
    next_ += s.size();
    left_ -= s.size();
    return {at, s.size()};
  }

 private:
  static constexpr std::size_t block = 256 * 1024;
  std::vector<std::unique_ptr<char[]>> blocks_;
  char* next_ = nullptr;
  std::size_t left_ = 0;
};

// Ids are short (tens of bytes): eight bytes at a time, then a final mix.
inline std::uint64_t hash_id(std::string_view s) noexcept {
  constexpr std::uint64_t k = 0x9E3779B97F4A7C15ull;
  std::uint64_t h = k ^ (s.size() * 0xD6E8FEB86659FD93ull);
  const char* p = s.data();
  std::size_t n = s.size();
  for (; n >= 8; n -= 8, p += 8) {
    std::uint64_t w;
    std::memcpy(&w, p, 8);
    h = (h ^ w) * k;
    h ^= h >> 32;
  }
  if (n > 0) {
    std::uint64_t w = 0;
    for (std::size_t i = 0; i < n; ++i) w |= static_cast<std::uint64_t>(static_cast<unsigned char>(p[i])) << (8 * i);
    h = (h ^ w) * k;
  }
  h ^= h >> 29;
  h *= 0xBF58476D1CE4E5B9ull;
  h ^= h >> 32;
  return h;
}

// Entities in fixed chunks (chunked.h): growing never moves one; creation order.
template <class T>
using chunked = chunked_vector<T, 2048>;

// Entities of one kind by id (T has `std::string_view id`): open
// addressing, linear probing, at most half full. A slot holds 32 bits of
// the id's hash, so a probe rarely touches an entity that is not the one
// sought, and growing never reads an id again. An id of up to 23 bytes is
// kept just before its entity (T::id views it there), so a lookup costs
// the slot's cache line and the entity's, not a third for the id.
//
// An entity type may ask for its nodes to start on a cache line
// (`static constexpr std::size_t node_align = 64`): then the fields it
// keeps first share the inline id's line, and a lookup that finds it and a
// handler that checks and changes those fields cost one line, not three.
template <class T>
constexpr std::size_t node_align() noexcept {
  if constexpr (requires { T::node_align; }) {
    return T::node_align;
  } else {
    return alignof(T);
  }
}

template <class T>
class id_table {
  static constexpr std::size_t inline_id = 23;
  struct alignas(node_align<T>()) node {
    std::uint8_t len = 0;
    char id[inline_id] = {};
    T value;
  };

 public:
  T* find(std::string_view id) noexcept { return find(id, hash_id(id)); }
  const T* find(std::string_view id) const noexcept {
    return const_cast<id_table*>(this)->find(id, hash_id(id));
  }
  bool contains(std::string_view id) const noexcept { return find(id) != nullptr; }
  // Starts the misses a find(id, h) will take, so that lookups overlap
  // instead of waiting one after another (projection::prefetch, the hints
  // in reskontra.cc): prefetch_slot() first, then, events later,
  // prefetch_entity(), which reads the slot (in cache by then).
  void prefetch_slot(std::uint64_t h) const noexcept {
    if (!slots_.empty()) prefetch_line(&slots_[tag_of(h) & mask_]);
  }
  void prefetch_entity(std::uint64_t h) const noexcept {
    if (slots_.empty()) return;
    const slot s = slots_[tag_of(h) & mask_];
    // The node's first line only: with node_align its hot fields are
    // there, and every further line in flight takes a miss buffer a
    // demand load may need.
    if (s.idx != 0 && s.tag == tag_of(h)) prefetch_line(&items_[s.idx - 1]);
  }
  // For a holder of `x` (an item's party): what reading x->id and x's first
  // fields takes. The inline id is in the bytes before x, which may begin
  // on the line before x's; an id kept in the arena is not asked for.
  static void prefetch_with_id(const T* x) noexcept {
    static_assert((1 + inline_id) % alignof(T) == 0, "the entity follows the inline id directly");
    const char* v = reinterpret_cast<const char*>(x);
    prefetch_line(v - (1 + inline_id));
    prefetch_line(v - 1);
    prefetch_line(v);
  }

  // `h` is hash_id(id), computed ahead (prepare() hashes on the reader
  // thread, so the applying thread only probes).
  T* find(std::string_view id, std::uint64_t h) noexcept {
    if (slots_.empty()) return nullptr;
    const std::uint32_t tag = tag_of(h);
    for (std::size_t i = tag & mask_;; i = (i + 1) & mask_) {
      const slot s = slots_[i];
      if (s.idx == 0) return nullptr;
      if (s.tag == tag) {
        node& n = items_[s.idx - 1];
        if (id.size() <= inline_id) {
          if (n.len == id.size() && std::memcmp(n.id, id.data(), id.size()) == 0) return &n.value;
        } else if (n.value.id == id) {
          return &n.value;
        }
      }
    }
  }

  // The entity under `id`; created (a long id stored in `ids`) when absent,
  // then second is true.
  std::pair<T*, bool> emplace(std::string_view id, arena& ids) { return emplace(id, hash_id(id), ids); }
  std::pair<T*, bool> emplace(std::string_view id, std::uint64_t h, arena& ids) {
    if (T* x = find(id, h)) return {x, false};
    return {add(id, h, ids), true};
  }
  // A new entity under `id`, which the caller has just found absent.
  T* add(std::string_view id, std::uint64_t h, arena& ids) {
    if ((items_.size() + 1) * 2 > slots_.size()) grow();
    node& n = items_.emplace_back();
    if (id.size() <= inline_id) {
      n.len = static_cast<std::uint8_t>(id.size());
      std::memcpy(n.id, id.data(), id.size());
      n.value.id = std::string_view(n.id, id.size());
    } else {
      n.len = inline_id + 1;  // never equal to an inline length
      n.value.id = ids.store(id);
    }
    place(tag_of(h), static_cast<std::uint32_t>(items_.size()));
    return &n.value;
  }

  std::size_t size() const noexcept { return items_.size(); }

  template <class C, class V>
  class iter {
   public:
    iter(C* c, std::size_t i) : c_(c), i_(i) {}
    V& operator*() const { return (*c_)[i_].value; }
    V* operator->() const { return &(*c_)[i_].value; }
    iter& operator++() {
      ++i_;
      return *this;
    }
    bool operator==(const iter& o) const { return i_ == o.i_; }

   private:
    C* c_;
    std::size_t i_;
  };
  // Creation order.
  iter<chunked<node>, T> begin() { return {&items_, 0}; }
  iter<chunked<node>, T> end() { return {&items_, items_.size()}; }
  iter<const chunked<node>, const T> begin() const { return {&items_, 0}; }
  iter<const chunked<node>, const T> end() const { return {&items_, items_.size()}; }

 private:
  struct slot {
    std::uint32_t tag = 0;
    std::uint32_t idx = 0;  // entity number + 1; 0: empty
  };
  static std::uint32_t tag_of(std::uint64_t h) noexcept { return static_cast<std::uint32_t>(h >> 32); }

  void place(std::uint32_t tag, std::uint32_t idx) noexcept {
    std::size_t i = tag & mask_;
    while (slots_[i].idx != 0) i = (i + 1) & mask_;
    slots_[i] = slot{tag, idx};
  }
  void grow() {
    std::vector<slot> old = std::move(slots_);
    slots_.assign(old.empty() ? 1024 : old.size() * 2, slot{});
    mask_ = slots_.size() - 1;
    for (const auto& s : old) {
      if (s.idx != 0) place(s.tag, s.idx);
    }
  }

  std::vector<slot> slots_;
  std::size_t mask_ = 0;
  chunked<node> items_;
};

// An entity with the first 24 bytes of its id, zero-padded, as three
// big-endian words: their order is the ids' bytewise order, ties aside. A
// changed entity's key is taken when it changes (its id is in cache then),
// so sorting a checkpoint's changes never touches the entities.
template <class T>
struct id_keyed {
  std::uint64_t w[3];
  T* x;
};

template <class T>
id_keyed<T> key_of(T* x) noexcept {
  unsigned char b[24] = {};
  std::memcpy(b, x->id.data(), std::min<std::size_t>(x->id.size(), sizeof b));
  id_keyed<T> k{{0, 0, 0}, x};
  for (int i = 0; i < 3; ++i) {
    for (int j = 0; j < 8; ++j) k.w[i] = k.w[i] << 8 | b[8 * i + j];
  }
  return k;
}

namespace id_sort {
// Bits `from`..`from`+63 (from the most significant) of a key's 192.
inline std::uint64_t window(const std::uint64_t (&w)[3], unsigned from) noexcept {
  const unsigned a = from / 64, s = from % 64;
  const std::uint64_t next = a + 1 < 3 ? w[a + 1] : 0;
  return s == 0 ? w[a] : w[a] << s | next >> (64 - s);
}

// The bits of `mask` gathered, most significant first, run by run:
// decimal digits vary only in their low four bits, so a checkpoint's
// invoice numbers gather into about half the bits they span.
struct gather {
  struct run {
    unsigned shift;
    std::uint64_t bits;
    unsigned width;
  };
  run runs[8];
  unsigned count = 0, width = 0;

  // False when the mask has more than eight runs.
  bool plan(std::uint64_t mask) noexcept {
    while (mask != 0) {
      if (count == 8) return false;
      const unsigned top = 63 - static_cast<unsigned>(std::countl_zero(mask));
      const unsigned len = static_cast<unsigned>(std::countl_one(mask << (63 - top)));
      const unsigned shift = top + 1 - len;
      runs[count++] = {shift, len == 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << len) - 1, len};
      width += len;
      mask &= len == 64 ? 0 : ~(runs[count - 1].bits << shift);
    }
    return true;
  }
  std::uint64_t operator()(std::uint64_t v) const noexcept {
    std::uint64_t g = 0;
    for (unsigned i = 0; i < count; ++i) {
      g = (runs[i].width == 64 ? 0 : g << runs[i].width) | (v >> runs[i].shift & runs[i].bits);
    }
    return g;
  }
};
}  // namespace id_sort

// The keys' entities by id, bytewise. Each word of the keys compares on a
// few varying bytes (ids of a kind share a long prefix, and a checkpoint's
// ids cluster), so an LSD radix sort on the 64 bits from the first that
// differs, gathered to those that vary, takes two or three passes where
// std::sort took dozens of three-word compares per key. It moves (bits,
// entity) pairs, not the keys: fetching each key again by index afterwards
// missed the cache as often as not. Entities equal in those bits (equal in
// their first 24 bytes, or differing only further on) are ordered by their
// ids after: the one case that reads entities, rare with real ids.
template <class T>
std::vector<T*> sorted_by_id(const std::vector<id_keyed<T>>& ks) {
  const std::size_t n = ks.size();
  std::vector<T*> out(n);
  std::uint64_t d[3] = {0, 0, 0};
  for (const auto& k : ks) {
    for (int i = 0; i < 3; ++i) d[i] |= k.w[i] ^ ks[0].w[i];
  }
  unsigned from = 0;
  while (from < 192 && d[from / 64] == 0) from += 64;
  if (from < 192) from += static_cast<unsigned>(std::countl_zero(d[from / 64]));
  id_sort::gather g;
  if (n < 256 || from == 192 || !g.plan(id_sort::window(d, from))) {
    std::vector<id_keyed<T>> sorted(ks);
    std::sort(sorted.begin(), sorted.end(), [](const id_keyed<T>& a, const id_keyed<T>& b) {
      if (a.w[0] != b.w[0]) return a.w[0] < b.w[0];
      if (a.w[1] != b.w[1]) return a.w[1] < b.w[1];
      if (a.w[2] != b.w[2]) return a.w[2] < b.w[2];
      return a.x->id < b.x->id;
    });
    for (std::size_t i = 0; i < n; ++i) out[i] = sorted[i].x;
    return out;
  }
  struct item {
    std::uint64_t bits;
    T* x;
  };
  std::vector<item> a(n), b(n);
  for (std::size_t i = 0; i < n; ++i) a[i] = {g(id_sort::window(ks[i].w, from)), ks[i].x};
  const unsigned passes = (g.width + 10) / 11;
  const unsigned digit = (g.width + passes - 1) / passes;
  std::vector<std::uint32_t> count(std::size_t{1} << digit);
  for (unsigned p = 0; p < passes; ++p) {
    const unsigned shift = p * digit;
    const std::uint64_t m = count.size() - 1;
    std::fill(count.begin(), count.end(), 0);
    for (const auto& x : a) ++count[x.bits >> shift & m];
    std::uint32_t sum = 0;
    for (auto& c : count) sum += std::exchange(c, sum);
    for (const auto& x : a) b[count[x.bits >> shift & m]++] = x;
    a.swap(b);
  }
  for (std::size_t i = 0; i < n;) {
    const std::size_t first = i;
    for (; i < n && a[i].bits == a[first].bits; ++i) out[i] = a[i].x;
    if (i - first > 1) {
      std::sort(out.begin() + first, out.begin() + i, [](const T* p, const T* q) { return p->id < q->id; });
    }
  }
  return out;
}

struct party_state;

struct receivable {
  // First, in the node's first cache line with the inline id: what finding
  // an item, allocating to it, checking its state and touching it read.
  static constexpr std::size_t node_align = 64;
  std::string_view id;
  money remaining = 0;
  currency_code currency = 0;
  bool in_collection = false;
  bool dirty = false;
  day_number new_due_date = 0;
  std::uint32_t deferrals = 0;  // > 0: new_due_date is the latest deferral's
  // Derived (rebuilt in finish_load): active plans naming this item.
  std::uint32_t active_plans = 0;

  account_code revenue_code = 0;
  std::uint32_t reminders = 0;
  bool has_ocr = false;
  day_number issue_date = 0, due_date = 0;
  std::int64_t last_reminder_level = 0;
  money amount = 0, vat = 0;
  party_state* party = nullptr;
  receivable* next_of_party = nullptr;  // derived: the party's list
  std::string_view invoice_no, ocr_ref, agency;
  std::uint64_t mark = 0;  // scratch: duplicate detection within one event
};
// id_table's node puts 24 bytes (length and inline id) before the entity.
static_assert(offsetof(receivable, active_plans) + sizeof(std::uint32_t) <= 64 - 24);

struct payable {
  // First, with the inline id (receivable): what approval, blocking,
  // payment and credit check and change.
  static constexpr std::size_t node_align = 64;
  std::string_view id;
  money remaining = 0;
  currency_code currency = 0;
  bool approved = false, blocked = false;
  bool dirty = false;
  account_code expense_code = 0;

  day_number invoice_date = 0, due_date = 0;
  money amount = 0, vat = 0;
  party_state* party = nullptr;
  payable* next_of_party = nullptr;  // derived: the party's list
  std::string_view supplier_invoice_no, approver, block_reason;
};
static_assert(offsetof(payable, expense_code) + sizeof(account_code) <= 64 - 24);

enum class payment_source : std::uint8_t { bgmax = 0, camt054 = 1, manual = 2, autogiro = 3 };  // frozen

struct payment {
  // First, with the inline id (receivable): what allocation, overpayment
  // and reversal check and change.
  static constexpr std::size_t node_align = 64;
  std::string_view id;
  money remaining = 0, amount = 0;
  currency_code currency = 0;
  bool dirty = false;
  payment_source source = payment_source::manual;
  bool has_ocr = false, has_payer = false;
  day_number booking_date = 0;

  money overpaid = 0;
  std::string_view source_ref, ocr_ref, payer_name;
};
static_assert(offsetof(payment, dirty) + sizeof(bool) <= 64 - 24);

template <class Item>
struct line {
  std::string_view invoice_id;
  money amount = 0;
  Item* item = nullptr;  // derived: resolved on apply and in finish_load
};

// A range of a state's line pool: lines are never removed, so indexes stay
// valid however the pool grows, and an entity with lines allocates nothing.
struct line_range {
  std::uint32_t first = 0, count = 0;
};

struct allocation {
  std::string_view id;
  std::string_view payment_id, reversal_reason;
  payment* pay = nullptr;  // derived
  line_range lines;        // in state::allocation_lines
  bool reversed = false;
  bool dirty = false;
};

struct payment_order {
  std::string_view id;
  std::string_view reason_code;
  line_range lines;  // in state::order_lines
  day_number payment_date = 0;
  bool rejected = false;
  bool dirty = false;
};

enum class plan_status : std::uint8_t { active = 0, broken = 1, completed = 2 };  // frozen

struct installment {
  day_number due_date = 0;
  money amount = 0;
};

struct plan {
  std::string_view id;
  plan_status status = plan_status::active;
  bool dirty = false;
  std::vector<std::string_view> invoice_ids;
  std::vector<installment> installments;
  std::vector<receivable*> items;  // derived
};

struct credit_balance {
  currency_code currency = 0;
  money balance = 0;
};

// A party exists once an applied event or a record names it (then it is
// known); an event that is refused may intern one, which stays unknown and
// invisible to queries and records.
struct party_state {
  std::string_view id;  // "TYPE:normalised"
  bool known = false;
  bool dirty = false;
  std::vector<credit_balance> credits;  // sorted by currency; the c/ record exists iff non-empty
  receivable* receivables = nullptr;    // derived: a list through next_of_party
  payable* payables = nullptr;          // derived: a list through next_of_party
};

struct ledger_entry {
  std::string account;
  currency_code currency = 0;
  money debit = 0, credit = 0;
  bool dirty = false;
};

// Ids created by events that make no entity of their own: credit notes
// ("cn/"), refunds ("rf/") and supplier credit invoices ("sc/"); kept so a
// second creation is refused and so an audit can see them.
struct other_record {
  std::string_view id;   // "cn/<id>" etc.
  std::string_view ref;  // invoiceId (cn, sc) or party (rf)
  std::string_view text; // reason (cn); empty otherwise
  currency_code currency = 0;
  money amount = 0;
  bool dirty = false;
};

struct anomaly {
  position at;
  std::int64_t time = 0;
  std::string type, reason;
};

struct posting {
  std::uint32_t total = 0;  // index into state::totals
  std::uint64_t ledger_key = 0;
  currency_code currency = 0;
  money debit = 0, credit = 0;
};

struct currency_total {
  currency_code currency = 0;
  money debit = 0;    // Σ debit over all accounts (= Σ credit: postings balance)
  money pending = 0;  // scratch: this event's staged debit
};

struct state {
  reskontra_config config;
  struct account_ref {
    account_code code = 0;
  };
  account_ref receivables_acct, overpayments_acct, unidentified_acct, bank_in_acct, bank_out_acct,
      payables_acct, losses_acct, output_vat_acct, input_vat_acct, fee_income_acct;

  arena strings;  // ids and texts of every entity
  id_table<receivable> receivables;
  id_table<payable> payables;
  id_table<payment> payments;
  id_table<allocation> allocations;
  id_table<payment_order> orders;
  id_table<plan> plans;
  id_table<party_state> parties;
  id_table<other_record> others;
  std::vector<line<receivable>> allocation_lines;
  std::vector<line<payable>> order_lines;
  std::unordered_map<std::uint64_t, ledger_entry> ledger;
  std::vector<anomaly> anomalies;
  std::size_t anomalies_taken = 0;

  std::span<line<receivable>> lines_of(const allocation& a) {
    return {allocation_lines.data() + a.lines.first, a.lines.count};
  }
  std::span<const line<receivable>> lines_of(const allocation& a) const {
    return {allocation_lines.data() + a.lines.first, a.lines.count};
  }
  std::span<line<payable>> lines_of(const payment_order& o) {
    return {order_lines.data() + o.lines.first, o.lines.count};
  }
  std::span<const line<payable>> lines_of(const payment_order& o) const {
    return {order_lines.data() + o.lines.first, o.lines.count};
  }

  // The "m" record: the last event seen (applied or refused).
  bool has_last = false;
  position last_at;
  std::int64_t last_time = 0;
  std::uint64_t events = 0;
  bool meta_dirty = false;

  // Derived. A handful of currencies: a vector searched linearly is faster
  // than any map.
  std::vector<currency_total> totals;
  std::uint32_t total_index(currency_code c);
  const currency_total* find_total(currency_code c) const;

  // Dirty entities since the last take_changes().
  std::vector<id_keyed<receivable>> dirty_receivables;
  std::vector<id_keyed<payable>> dirty_payables;
  std::vector<id_keyed<payment>> dirty_payments;
  std::vector<id_keyed<allocation>> dirty_allocations;
  std::vector<id_keyed<payment_order>> dirty_orders;
  std::vector<id_keyed<plan>> dirty_plans;
  std::vector<id_keyed<party_state>> dirty_parties;
  std::vector<ledger_entry*> dirty_ledger;
  std::vector<id_keyed<other_record>> dirty_others;

  // Per-event scratch, reused so apply() does not allocate.
  std::vector<posting> postings;
  std::string key_scratch;
  std::uint64_t mark_epoch = 0;

  // Ledger entries recently posted to: a few (account, currency) pairs
  // take nearly every posting.
  struct ledger_hint {
    std::uint64_t key = ~std::uint64_t{0};
    ledger_entry* entry = nullptr;
  };
  std::array<ledger_hint, 64> ledger_hints{};

  explicit state(reskontra_config c);

  template <class T>
  static void touch(T* x, std::vector<T*>& list) {
    if (!x->dirty) {
      x->dirty = true;
      list.push_back(x);
    }
  }
  template <class T>
  static void touch(T* x, std::vector<id_keyed<T>>& list) {
    if (!x->dirty) {
      x->dirty = true;
      list.push_back(key_of(x));
    }
  }

  // Postings are staged, checked against overflow of the per-currency
  // totals (which bound every account's debit and credit and every sum a
  // query makes), then committed; a refused event clears them.
  void debit(const account_ref& a, currency_code c, money m) { debit(a.code, c, m); }
  void credit(const account_ref& a, currency_code c, money m) { credit(a.code, c, m); }
  void debit(account_code code, currency_code c, money m);
  void credit(account_code code, currency_code c, money m);
  bool postings_fit();
  void commit_postings();
  void drop_postings();

  // The known party under `key`, made known (created when absent).
  party_state& party(std::string_view key);
  // The known party under `key`; nullptr when there is none.
  const party_state* find_party(std::string_view key) const {
    const auto* p = parties.find(key);
    return p != nullptr && p->known ? p : nullptr;
  }
  money credit_of(const party_state& p, currency_code c) const;
  void add_credit(party_state& p, currency_code c, money delta);

  // Rebuilds every derived index from the entities (finish_load).
  void rebuild_derived();
};

// State of an item at a day: first that applies (domain.md).
enum class item_state : std::uint8_t { paid, in_collection, in_plan, deferred, open };
item_state state_at(const receivable& r, day_number d) noexcept;
std::string_view to_string(item_state s) noexcept;

// Record values (reskontra_records.cc).
void encode(const receivable& x, std::string& out);
void encode(const payable& x, std::string& out);
void encode(const payment& x, std::string& out);
void encode(const allocation& x, const state& s, std::string& out);
void encode(const payment_order& x, const state& s, std::string& out);
void encode(const plan& x, std::string& out);
void encode(const party_state& x, std::string& out);
void encode(const ledger_entry& x, std::string& out);
void encode(const other_record& x, std::string& out);
void encode(const anomaly& x, std::string& out);
void encode_meta(const state& s, std::string& out);
std::string anomaly_key(const position& at);
std::string ledger_record_key(const ledger_entry& e);

}  // namespace muninn::projections::reskontra_detail
