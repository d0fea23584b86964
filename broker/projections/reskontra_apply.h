// Internal to the reskontra projection's apply (reskontra_receivables.cc,
// reskontra_payables.cc, reskontra.cc): typed reads of an event's data and
// the helpers its handlers share. A handler reads and checks everything
// first, stages its postings, and only then changes state, so an event is
// all or nothing; any refusal becomes an anomaly. Not thread-safe
// (projection.h).
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

#include "broker/projections/calendar.h"
#include "broker/projections/event.h"
#include "broker/projections/identifiers.h"
#include "broker/projections/reskontra_state.h"

namespace muninn::projections::reskontra_detail {


using outcome = result<void, std::string>;

inline unexpected<std::string> refuse(std::string reason) { return unexpected{std::move(reason)}; }

inline std::string quote_text(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  out.push_back('\'');
  out.append(s);
  out.push_back('\'');
  return out;
}

inline constexpr auto id_chars = [] {
  std::array<bool, 256> t{};
  for (int c = 0; c < 256; ++c) {
    t[static_cast<std::size_t>(c)] = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                                     c == '.' || c == '_' || c == ':' || c == '@' || c == '-';
  }
  return t;
}();

inline bool is_id_char(char c) noexcept { return id_chars[static_cast<unsigned char>(c)]; }

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

// Typed reads of one data map; the first fault wins and names the field.
// After a fault every read returns a default, so a handler reads all its
// fields and checks failed() once. The map's keys are indexed once (length
// and first 8 bytes): a handler reads most of them, and that costs a
// fraction of flexbuffers' binary search with strcmp per field.
class field_reader {
 public:
  explicit field_reader(flexbuffers::Map m, const char* list = nullptr, std::size_t index = 0)
      : m_(m), values_(m.Values()), list_(list), index_(index) {
    const auto keys = m.Keys();
    n_ = keys.size();
    if (n_ > slots_.size()) return;  // unusual: fall back to m_[key]
    for (std::size_t i = 0; i < n_; ++i) {
      // The NUL is inside the buffer (data_reader checked): one pass finds
      // the length and packs the prefix.
      const char* k = keys[i].AsKey();
      slot& sl = slots_[i];
      sl = slot{0, 0, k};
      for (; k[sl.len] != 0; ++sl.len) {
        if (sl.len < 8) sl.prefix |= static_cast<std::uint64_t>(static_cast<unsigned char>(k[sl.len])) << (8 * sl.len);
      }
    }
  }

  // The value of `key`, a null Reference when absent.
  template <std::size_t N>
  flexbuffers::Reference get(const char (&key)[N]) const {
    return get(key, N - 1);  // a literal: its length is known at compile time
  }
  flexbuffers::Reference get(const char* key) const { return get(key, std::strlen(key)); }
  flexbuffers::Reference get(const char* key, std::size_t len) const {
    if (n_ > slots_.size()) return m_[key];
    const slot want = slot_of(key, len);
    for (std::size_t i = 0; i < n_; ++i) {
      if (slots_[i].prefix == want.prefix && slots_[i].len == len &&
          (len <= 8 || std::memcmp(slots_[i].key + 8, key + 8, len - 8) == 0)) {
        return values_[i];
      }
    }
    return flexbuffers::Reference();
  }

  bool failed() const noexcept { return !fault_.empty(); }
  std::string take_fault() { return std::move(fault_); }

  void fail(const char* key, std::string_view rule) {
    if (failed()) return;
    fault_ = "field '";
    if (list_ != nullptr) {
      fault_ += list_;
      fault_ += '[';
      fault_ += std::to_string(index_);
      fault_ += "].";
    }
    fault_ += key;
    fault_ += "': ";
    fault_ += rule;
  }

  std::string_view id(const char* key) {
    const auto s = string(key, true);
    if (failed()) return {};
    if (s.size() > 100 || !std::all_of(s.begin(), s.end(), is_id_char)) {
      fail(key, "must be an id of 1-100 characters of A-Z a-z 0-9 . _ : @ -");
    }
    return s;
  }

  std::string_view text(const char* key) { return string(key, true); }

  // Absent or null: nullopt. Present but not a string: a fault.
  std::optional<std::string_view> optional_text(const char* key) {
    if (failed()) return std::nullopt;
    if (get(key).IsNull()) return std::nullopt;
    return string(key, false);
  }

  std::int64_t integer(const char* key, std::int64_t min) {
    if (failed()) return 0;
    const auto r = get(key);
    const auto v = as_int(r);
    if (!v) {
      fail(key, r.IsNull() ? "is required" : "must be an integer");
      return 0;
    }
    if (*v < min) {
      fail(key, "must be >= " + std::to_string(min));
      return 0;
    }
    return *v;
  }

  day_number date(const char* key) {
    const auto s = string(key, true);
    if (failed()) return 0;
    const auto d = parse_iso_date(s);
    if (!d) {
      fail(key, "must be a date YYYY-MM-DD");
      return 0;
    }
    return static_cast<day_number>(days_from_civil(*d));
  }

  currency_code currency(const char* key) {
    const auto s = string(key, true);
    if (failed()) return 0;
    const auto c = pack_currency(s);
    if (!c) {
      fail(key, "must be an ISO 4217 currency code (3 uppercase letters)");
      return 0;
    }
    return *c;
  }

  std::string_view account(const char* key, account_code& code) {
    const auto s = string(key, true);
    if (failed()) return {};
    const auto c = pack_account(s);
    if (!c || s.size() < 4) {
      fail(key, "must be an account number: a string of 4-8 digits");
      return {};
    }
    code = *c;
    return s;
  }

  // The party "TYPE:normalised" (reference: the event's date), interned
  // but not made known; nullptr after a fault.
  party_state* party(const char* key, const civil_date& reference, state& s) {
    if (failed()) return nullptr;
    const auto pr = get(key);
    if (!pr.IsMap()) {
      fail(key, pr.IsNull() ? "is required" : "must be an object {type, value}");
      return nullptr;
    }
    const field_reader p(pr.AsMap());
    const auto type = as_string(p.get("type"));
    const auto value = as_string(p.get("value"));
    const auto kind = type ? parse_id_kind(*type) : std::nullopt;
    if (!kind || !value) {
      fail(key, "must be {type: SE_PNR|SE_ORGNR|NO_FNR|NO_ORGNR, value}");
      return nullptr;
    }
    // Only a 10- or 11-character SE_PNR takes its century from the date;
    // NO_FNR's check digit rule changes once, in 2032. Every other valid
    // spelling names the same party whenever it comes, so its normal form
    // is looked up, not computed.
    const bool by_spelling = *kind != id_kind::se_pnr || value->size() == 12 || value->size() == 13;
    auto& spelling = s.key_scratch;
    if (by_spelling) {
      spelling.assign(*type);
      spelling.push_back(*kind == id_kind::no_fnr && reference >= civil_date{2032, 1, 1} ? '\2' : '\1');
      spelling.append(*value);
      if (const auto* known = s.spellings.find(spelling)) return known->party;
    }
    auto norm = normalise_identifier(*kind, *value, reference);
    if (!norm) {
      fail(key, "is not a valid " + std::string(*type));
      return nullptr;
    }
    norm->insert(0, ":");
    norm->insert(0, *type);
    party_state* party = s.parties.emplace(*norm, s.strings).first;
    if (by_spelling) s.spellings.emplace(spelling, s.strings).first->party = party;
    return party;
  }

  // A non-empty array.
  std::optional<flexbuffers::Vector> list(const char* key) {
    if (failed()) return std::nullopt;
    const auto r = get(key);
    const auto v = as_vector(r);
    if (!v) {
      fail(key, r.IsNull() ? "is required" : "must be an array");
      return std::nullopt;
    }
    if (v->size() == 0) {
      fail(key, "must not be empty");
      return std::nullopt;
    }
    return v;
  }

 private:
  std::string_view string(const char* key, bool required) {
    if (failed()) return {};
    const auto r = get(key);
    if (r.IsNull()) {
      fail(key, "is required");
      return {};
    }
    const auto s = as_string(r);
    if (!s) {
      fail(key, "must be a string");
      return {};
    }
    if (required && s->empty()) fail(key, "must not be empty");
    return *s;
  }

  // No initialisers: only the first n_ are ever read, and zeroing all of
  // them cost as much as indexing the keys.
  struct slot {
    std::uint64_t prefix;
    std::size_t len;
    const char* key;
  };
  static slot slot_of(const char* k, std::size_t len) noexcept {
    slot s{0, len, k};
    for (std::size_t i = 0; i < len && i < 8; ++i) {
      s.prefix |= static_cast<std::uint64_t>(static_cast<unsigned char>(k[i])) << (8 * i);
    }
    return s;
  }

  flexbuffers::Map m_;
  flexbuffers::Vector values_;
  std::array<slot, 24> slots_;
  std::size_t n_ = 0;
  const char* list_;
  std::size_t index_;
  std::string fault_;
};

// The element `i` of a list of objects, or a fault on `f`.
inline std::optional<flexbuffers::Map> element_map(field_reader& f, const char* list,
                                            const flexbuffers::Vector& v, std::size_t i) {
  const auto r = v[i];
  if (!r.IsMap()) {
    f.fail(list, "element " + std::to_string(i) + " must be an object");
    return std::nullopt;
  }
  return r.AsMap();
}

struct context {
  state& s;
  const event_view& e;
  field_reader& f;
  day_number date;  // the event's UTC business date
  civil_date civil;
};

inline std::string overflow_reason() { return "amounts overflow the ledger's 64-bit totals"; }

inline bool is_control(const state& s, account_code c) {
  return c == s.receivables_acct.code || c == s.overpayments_acct.code ||
         c == s.unidentified_acct.code || c == s.payables_acct.code;
}

inline std::string control_accounts(const state& s) {
  return std::string(s.config.receivables) + ", " + s.config.overpayments + ", " +
         s.config.unidentified + ", " + s.config.payables;
}

template <class Table>
auto* find(Table& t, std::string_view id) {
  return t.find(id);
}

inline std::string currency_mismatch(std::string_view what, currency_code want, currency_code got) {
  return "currency mismatch: " + std::string(what) + " is in " + unpack_currency(want) + ", not " +
         unpack_currency(got);
}

// Invariant 1, with the amounts in the message.
inline std::string exceeds_remaining(std::string_view what, std::string_view id, money amount,
                              money remaining) {
  return std::string(what) + " " + std::to_string(amount) + " exceeds the remaining " +
         std::to_string(remaining) + " of invoice " + quote_text(id);
}


// One handler per event type of domain.md's two tables; find_handler()
// (reskontra.cc) maps a type to its handler.
outcome customer_invoice_issued(context& c);
outcome credit_note_issued(context& c);
outcome reminder_sent(context& c);
outcome payment_received(context& c);
outcome payment_allocated(context& c);
outcome allocation_reversed(context& c);
outcome overpayment_recorded(context& c);
outcome credit_balance_applied(context& c);
outcome refund_issued(context& c);
outcome write_off_recorded(context& c);
outcome deferral_granted(context& c);
outcome payment_plan_agreed(context& c);
outcome payment_plan_broken(context& c);
outcome payment_plan_completed(context& c);
outcome sent_to_collection(context& c);
outcome supplier_invoice_registered(context& c);
outcome supplier_invoice_approved(context& c);
outcome supplier_credit_invoice_registered(context& c);
outcome payment_blocked(context& c);
outcome payment_unblocked(context& c);
outcome supplier_payment_sent(context& c);
outcome supplier_payment_rejected(context& c);

}  // namespace muninn::projections::reskontra_detail
