// Internal to the reskontra projection: what prepare() makes of one event
// before any state is touched (projection.h), and the typed reads it is
// made with. Everything here reads the event and nothing else (no state,
// no cache), so a replay runs it on its reader thread while the applying
// thread changes the state. A `prepared` is trivially copyable and views
// the event's bytes; the handlers (reskontra_apply.h) act on it.
#pragma once

#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "broker/projections/calendar.h"
#include "broker/projections/event.h"
#include "broker/projections/identifiers.h"
#include "broker/projections/reskontra_state.h"

namespace muninn::projections::reskontra_detail {

// Why a field is refused, as data: made on the reader thread, turned into
// the anomaly's reason (describe()) only when the event is refused, so an
// event that applies never builds a string.
enum class fault_kind : std::uint8_t {
  rule,            // `rule`
  at_least,        // "must be >= <number>"
  not_valid,       // "is not a valid <text>"
  element_object,  // "element <number> must be an object"
  element_string,  // "element <number> must be a string"
  element_id,      // "element <number> must be an id"
};

struct fault {
  const char* key = nullptr;   // nullptr: no fault
  const char* list = nullptr;  // set when `key` is in element `index` of this list
  std::uint32_t index = 0;
  fault_kind kind = fault_kind::rule;
  const char* rule = nullptr;
  std::int64_t number = 0;
  std::string_view text;  // views the event
};

// "field 'lines[2].amountMinor': must be >= 1" (docs/projections-reskontra.md).
std::string describe(const fault& f);

inline constexpr auto id_chars = [] {
  std::array<bool, 256> t{};
  for (int c = 0; c < 256; ++c) {
    t[static_cast<std::size_t>(c)] = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                                     c == '.' || c == '_' || c == ':' || c == '@' || c == '-';
  }
  return t;
}();

inline bool is_id_char(char c) noexcept { return id_chars[static_cast<unsigned char>(c)]; }

inline bool is_id(std::string_view s) noexcept {
  // A plain loop: std::all_of through the function pointer was called per
  // character.
  if (s.empty() || s.size() > 100) return false;
  bool ok = true;
  for (const char c : s) ok &= id_chars[static_cast<unsigned char>(c)];
  return ok;
}

// event.h's get_* semantics on a Reference already found.
inline std::optional<std::string_view> as_string(flexbuffers::Reference r) {
  if (!r.IsString()) return std::nullopt;
  const auto s = r.AsString();
  return std::string_view(s.c_str(), s.length());
}

inline std::optional<flexbuffers::Vector> as_vector(flexbuffers::Reference r) {
  if (!r.IsVector() || r.IsMap() || r.IsString() || r.IsBlob()) return std::nullopt;
  return r.AsVector();
}

// An id with its hash_id(), computed where it is read.
struct id_ref {
  std::string_view s;
  std::uint64_t h = 0;
};

// A party's key "TYPE:normalised" (at most 8 + 1 + 12 bytes) and its hash.
struct party_ref {
  static constexpr std::size_t capacity = 24;
  std::uint64_t h = 0;
  std::uint8_t len = 0;
  char key[capacity];
  std::string_view view() const noexcept { return {key, len}; }
};

struct opt_text {
  std::string_view s;
  bool has = false;
};

// A field's name and its length, known at compile time where the name is
// a literal (every read below takes one), so a lookup never runs strlen.
struct field_name {
  const char* s;
  std::size_t len;
};

// Typed reads of one data map; the first fault wins and names the field.
// After a fault every read returns a default, so a reader reads all its
// fields and checks failed() once. Each key is indexed by its first two
// bytes only (two loads, no scan of the key): a handler reads most of the
// keys, and a lookup then compares the rest of the few keys whose two bytes
// match, which costs a fraction of flexbuffers' binary search with strcmp
// per field and of measuring every key. A lookup returns the first key
// that equals the name, whatever the order of the keys (hostile maps).
class field_reader {
 public:
  explicit field_reader(flexbuffers::Map m, const char* list = nullptr, std::size_t index = 0)
      : m_(m), values_(m.Values()), list_(list), index_(index) {
    const auto keys = m.Keys();
    n_ = keys.size();
    if (n_ > keys_.size()) return;  // unusual: fall back to m_[key]
    for (std::size_t i = 0; i < n_; ++i) {
      // The key's NUL is inside the buffer (data_reader checked): its
      // second byte may be read only when the first is not that NUL.
      const char* k = keys[i].AsKey();
      keys_[i] = k;
      tags_[i] = tag_of(k);
    }
  }

  // The value of `key`, a null Reference when absent.
  template <std::size_t N>
  flexbuffers::Reference get(const char (&key)[N]) const {
    return get(field_name{key, N - 1});
  }
  flexbuffers::Reference get(field_name key) const {
    if (n_ > keys_.size()) return m_[key.s];
    // Candidates in key order, so the first key equal to the name wins.
    for (std::uint32_t m = matches(tag_of(key.s)); m != 0; m &= m - 1) {
      const auto i = static_cast<std::size_t>(std::countr_zero(m));
      if (rest_equal(keys_[i], key)) return values_[i];
    }
    return flexbuffers::Reference();
  }

  bool failed() const noexcept { return fault_.key != nullptr; }
  const fault& first_fault() const noexcept { return fault_; }

  void fail(const char* key, const char* rule, fault_kind kind = fault_kind::rule, std::int64_t number = 0,
            std::string_view text = {}) {
    if (failed()) return;
    fault_ = fault{key, list_, static_cast<std::uint32_t>(index_), kind, rule, number, text};
  }

  template <std::size_t N>
  id_ref id(const char (&key)[N]) {
    return id(field_name{key, N - 1});
  }
  id_ref id(field_name key) {
    const auto s = string(key, true);
    if (failed()) return {};
    if (!is_id(s)) {
      fail(key.s, "must be an id of 1-100 characters of A-Z a-z 0-9 . _ : @ -");
      return {};
    }
    return {s, hash_id(s)};
  }

  template <std::size_t N>
  std::string_view text(const char (&key)[N]) {
    return text(field_name{key, N - 1});
  }
  std::string_view text(field_name key) { return string(key, true); }

  // Absent or null: none. Present but not a string: a fault.
  template <std::size_t N>
  opt_text optional_text(const char (&key)[N]) {
    const field_name k{key, N - 1};
    if (failed()) return {};
    if (get(k).IsNull()) return {};
    const auto s = string(k, false);
    return {s, !failed()};
  }

  template <std::size_t N>
  std::int64_t integer(const char (&key)[N], std::int64_t min) {
    return integer(field_name{key, N - 1}, min);
  }
  std::int64_t integer(field_name key, std::int64_t min) {
    if (failed()) return 0;
    const auto r = get(key);
    const auto v = as_int(r);
    if (!v) {
      fail(key.s, r.IsNull() ? "is required" : "must be an integer");
      return 0;
    }
    if (*v < min) {
      fail(key.s, nullptr, fault_kind::at_least, min);
      return 0;
    }
    return *v;
  }

  template <std::size_t N>
  day_number date(const char (&key)[N]) {
    const field_name k{key, N - 1};
    const auto s = string(k, true);
    if (failed()) return 0;
    const auto d = parse_iso_date(s);
    if (!d) {
      fail(key, "must be a date YYYY-MM-DD");
      return 0;
    }
    return static_cast<day_number>(days_from_civil(*d));
  }

  template <std::size_t N>
  currency_code currency(const char (&key)[N]) {
    const auto s = string(field_name{key, N - 1}, true);
    if (failed()) return 0;
    const auto c = pack_currency(s);
    if (!c) {
      fail(key, "must be an ISO 4217 currency code (3 uppercase letters)");
      return 0;
    }
    return *c;
  }

  template <std::size_t N>
  account_code account(const char (&key)[N]) {
    const auto s = string(field_name{key, N - 1}, true);
    if (failed()) return 0;
    const auto c = pack_account(s);
    if (!c || s.size() < 4) {
      fail(key, "must be an account number: a string of 4-8 digits");
      return 0;
    }
    return *c;
  }

  // The party "TYPE:normalised" (reference: the event's UTC date).
  template <std::size_t N>
  party_ref party(const char (&key)[N], const civil_date& reference) {
    return party(field_name{key, N - 1}, reference);
  }
  party_ref party(field_name key, const civil_date& reference);

  // A non-empty array; a null Reference after a fault.
  template <std::size_t N>
  flexbuffers::Reference list(const char (&key)[N]) {
    if (failed()) return {};
    const auto r = get(field_name{key, N - 1});
    const auto v = as_vector(r);
    if (!v) {
      fail(key, r.IsNull() ? "is required" : "must be an array");
      return {};
    }
    if (v->size() == 0) {
      fail(key, "must not be empty");
      return {};
    }
    return r;
  }

 private:
  std::string_view string(field_name key, bool required) {
    if (failed()) return {};
    const auto r = get(key);
    if (r.IsNull()) {
      fail(key.s, "is required");
      return {};
    }
    const auto s = as_string(r);
    if (!s) {
      fail(key.s, "must be a string");
      return {};
    }
    if (required && s->empty()) fail(key.s, "must not be empty");
    return *s;
  }

  // The first two bytes of a NUL-terminated key, the second read only when
  // the first is not the NUL.
  static std::uint16_t tag_of(const char* k) noexcept {
    const auto b0 = static_cast<unsigned char>(k[0]);
    if (b0 == 0) return 0;
    return static_cast<std::uint16_t>(b0 | static_cast<unsigned>(static_cast<unsigned char>(k[1])) << 8);
  }

  // Bit i set when key i (< n_ <= 24) has the tag `want`: one compare of
  // all the tags instead of a branch per key, which mispredicted as the
  // wanted field sits at a different place in each event type's map.
  std::uint32_t matches(std::uint16_t want) const noexcept {
    std::uint32_t m = 0;
#if defined(__SSE2__)
    const __m128i w = _mm_set1_epi16(static_cast<short>(want));
    const auto* t = reinterpret_cast<const __m128i*>(tags_.data());
    const __m128i a = _mm_cmpeq_epi16(_mm_load_si128(t), w);
    const __m128i b = _mm_cmpeq_epi16(_mm_load_si128(t + 1), w);
    const __m128i c = _mm_cmpeq_epi16(_mm_load_si128(t + 2), w);
    m = static_cast<std::uint32_t>(_mm_movemask_epi8(_mm_packs_epi16(a, b))) |
        (static_cast<std::uint32_t>(_mm_movemask_epi8(_mm_packs_epi16(c, c))) & 0xFFu) << 16;
#else
    for (std::size_t i = 0; i < tags_.size(); ++i) m |= static_cast<std::uint32_t>(tags_[i] == want) << i;
#endif
    return m & ((std::uint32_t{1} << n_) - 1);
  }

  // Whether `k` (whose first two bytes matched the name's) is the name:
  // byte by byte up to the name's NUL, so a shorter key stops at its own
  // NUL and no byte past it is read.
  static bool rest_equal(const char* k, field_name name) noexcept {
    for (std::size_t j = 2; j <= name.len; ++j) {
      if (k[j] != name.s[j]) return false;
    }
    return true;
  }

  flexbuffers::Map m_;
  flexbuffers::Vector values_;
  // keys_ has no initialiser (only the first n_ are read); tags_ is
  // compared whole, so it is zeroed (48 bytes, three stores).
  std::array<const char*, 24> keys_;
  alignas(16) std::array<std::uint16_t, 24> tags_{};
  std::size_t n_ = 0;
  const char* list_;
  std::size_t index_;
  fault fault_;
};

// ---- what prepare() keeps, per event type -----------------------------------

// Lines {invoiceId, amountMinor} of an allocation or a payment order: the
// first few read ahead, the rest read again by line() when applied (the
// list is verified and prepare() found where its first fault is).
inline constexpr std::size_t inline_lines = 4;

struct line_fields {
  id_ref invoice;
  money amount = 0;
};

struct line_list {
  flexbuffers::Reference ref;  // the list (a non-empty vector)
  std::uint32_t size = 0;
  line_fields first[inline_lines];
};

struct customer_invoice_fields {
  id_ref id;
  party_ref party;
  std::string_view invoice_no;
  opt_text ocr;
  day_number issue, due;
  currency_code cur;
  money amount, vat;
  account_code account;
};

struct credit_note_fields {
  id_ref note;
  std::uint64_t other_h;  // hash of "cn/<note>"
  id_ref invoice;
  money amount;
  std::string_view reason;
};

struct reminder_fields {
  id_ref invoice;
  std::int64_t level;
  money fee;
};

struct payment_received_fields {
  id_ref id;
  std::int8_t source;  // payment_source, or -1 when not one
  std::string_view source_ref;
  opt_text ocr, payer;
  money amount;
  currency_code cur;
  day_number booking;
};

struct allocated_fields {
  id_ref allocation, payment;
  line_list lines;
};

// AllocationReversed, PaymentPlanBroken/Completed (no text), SentToCollection,
// SupplierInvoiceApproved, PaymentBlocked/Unblocked, SupplierPaymentRejected.
struct id_text_fields {
  id_ref id;
  std::string_view text;
};

struct party_amount_fields {  // OverpaymentRecorded (id: payment), CreditBalanceApplied (id: invoice)
  id_ref id;
  party_ref party;
  money amount;
};

struct refund_fields {
  id_ref refund;
  std::uint64_t other_h;  // "rf/<refund>"
  party_ref party;
  currency_code cur;
  money amount;
};

struct id_amount_fields {  // WriteOffRecorded
  id_ref id;
  money amount;
};

struct deferral_fields {
  id_ref invoice;
  day_number new_due;
};

// invoiceIds and installments are read when applied (plans are rare);
// prepare() checks them and records the first fault.
struct plan_fields {
  id_ref plan;
  flexbuffers::Reference ids, installments;
};

struct supplier_invoice_fields {
  id_ref id;
  party_ref party;
  std::string_view no;
  day_number invoice_date, due;
  currency_code cur;
  money amount, vat;
  account_code account;
};

struct supplier_credit_fields {
  id_ref credit;
  std::uint64_t other_h;  // "sc/<credit>"
  id_ref invoice;
  money amount;
};

struct payment_sent_fields {
  id_ref order;
  day_number date;
  line_list lines;
};

// Where prepared::f strikes: before the handler looks at the state, at a
// line or invoiceIds element (after the earlier ones were applied or
// checked), or after a plan's invoiceIds.
inline constexpr std::uint32_t no_fault = 0xFFFFFFFF;
inline constexpr std::uint32_t at_start = 0xFFFFFFFE;
inline constexpr std::uint32_t after_ids = 0xFFFFFFFD;

struct prepared {
  std::uint8_t handler = 0;  // 0: unknown type; else its handler's number + 1
  bool readable = false;     // data present and a map
  std::uint32_t fault_at = no_fault;
  day_number date = 0;  // the event's UTC business date
  fault f;
  union fields {
    fields() {}
    customer_invoice_fields invoice;
    credit_note_fields credit_note;
    reminder_fields reminder;
    payment_received_fields payment;
    allocated_fields allocated;
    id_text_fields id_text;
    party_amount_fields party_amount;
    refund_fields refund;
    id_amount_fields id_amount;
    deferral_fields deferral;
    plan_fields plan;
    supplier_invoice_fields supplier_invoice;
    supplier_credit_fields supplier_credit;
    payment_sent_fields payment_sent;
  } u;
};
static_assert(std::is_trivially_copyable_v<prepared>);
static_assert(alignof(prepared) <= 8);

// A fault from now on, unless an earlier one struck.
inline void record_fault(prepared& p, const fault& f, std::uint32_t at) {
  if (p.fault_at != no_fault) return;
  p.f = f;
  p.fault_at = at;
}

// The reads of an event of an id and a text (u.id_text).
template <std::size_t I, std::size_t T>
void read_id_text(field_reader& f, prepared& p, const char (&id)[I], const char (&text)[T]) {
  p.u.id_text.id = f.id(id);
  p.u.id_text.text = f.text(text);
}

// Element `i` of a list of objects, as a reader of its fields; nullopt
// with `f` set when the element is not an object.
std::optional<field_reader> element_reader(const flexbuffers::Vector& v, std::size_t i, const char* list, fault& f);

// Line `i` of `v` as both prepare() and apply read it; false with `f` set
// when it cannot be read.
bool read_line(const flexbuffers::Vector& v, std::size_t i, const char* list, line_fields& out, fault& f);
// Reads every line of the list `ref` into `out` up to the first fault,
// which goes to `p` at that line.
void prepare_lines(flexbuffers::Reference ref, const char* list, line_list& out, prepared& p);
// Line `i` (< the line of the first fault) when applying.
line_fields line_at(const line_list& l, std::size_t i, const char* list);

// The reads of one event type: every field in the order the catalog
// lists them, into p.u (reskontra_receivables.cc, reskontra_payables.cc).
using read_fn = void (*)(field_reader& f, const civil_date& civil, prepared& p);

void read_customer_invoice_issued(field_reader& f, const civil_date& civil, prepared& p);
void read_credit_note_issued(field_reader& f, const civil_date& civil, prepared& p);
void read_reminder_sent(field_reader& f, const civil_date& civil, prepared& p);
void read_payment_received(field_reader& f, const civil_date& civil, prepared& p);
void read_payment_allocated(field_reader& f, const civil_date& civil, prepared& p);
void read_allocation_reversed(field_reader& f, const civil_date& civil, prepared& p);
void read_overpayment_recorded(field_reader& f, const civil_date& civil, prepared& p);
void read_credit_balance_applied(field_reader& f, const civil_date& civil, prepared& p);
void read_refund_issued(field_reader& f, const civil_date& civil, prepared& p);
void read_write_off_recorded(field_reader& f, const civil_date& civil, prepared& p);
void read_deferral_granted(field_reader& f, const civil_date& civil, prepared& p);
void read_payment_plan_agreed(field_reader& f, const civil_date& civil, prepared& p);
void read_payment_plan_ended(field_reader& f, const civil_date& civil, prepared& p);
void read_sent_to_collection(field_reader& f, const civil_date& civil, prepared& p);
void read_supplier_invoice_registered(field_reader& f, const civil_date& civil, prepared& p);
void read_supplier_invoice_approved(field_reader& f, const civil_date& civil, prepared& p);
void read_supplier_credit_invoice_registered(field_reader& f, const civil_date& civil, prepared& p);
void read_payment_blocking(field_reader& f, const civil_date& civil, prepared& p);
void read_supplier_payment_sent(field_reader& f, const civil_date& civil, prepared& p);
void read_supplier_payment_rejected(field_reader& f, const civil_date& civil, prepared& p);

}  // namespace muninn::projections::reskontra_detail
