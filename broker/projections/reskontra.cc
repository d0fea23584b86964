// The reskontra projection's apply(): one handler per event type of
// domain.md's two tables. A handler reads and checks everything first,
// stages its postings, and only then changes state, so an event is all or
// nothing; any refusal becomes an anomaly.
#include "broker/projections/reskontra.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <limits>
#include <stdexcept>

#include "broker/projections/calendar.h"
#include "broker/projections/identifiers.h"
#include "broker/projections/reskontra_state.h"

namespace muninn::projections {
namespace reskontra_detail {

std::optional<currency_code> pack_currency(std::string_view s) noexcept {
  if (s.size() != 3) return std::nullopt;
  currency_code c = 0;
  for (const char ch : s) {
    if (ch < 'A' || ch > 'Z') return std::nullopt;
    c = static_cast<currency_code>((c << 5) | static_cast<currency_code>(ch - 'A' + 1));
  }
  return c;
}

std::string unpack_currency(currency_code c) {
  std::string s(3, '?');
  for (int i = 2; i >= 0; --i) {
    const unsigned v = c & 31u;
    s[static_cast<std::size_t>(i)] = v >= 1 && v <= 26 ? static_cast<char>('A' + v - 1) : '?';
    c = static_cast<currency_code>(c >> 5);
  }
  return s;
}

std::optional<account_code> pack_account(std::string_view s) noexcept {
  if (s.empty() || s.size() > 8) return std::nullopt;
  account_code v = 0;
  for (const char ch : s) {
    if (ch < '0' || ch > '9') return std::nullopt;
    v = v * 10 + static_cast<account_code>(ch - '0');
  }
  return static_cast<account_code>(s.size()) << 27 | v;
}

std::string account_text(account_code c) {
  const unsigned digits = c >> 27;
  std::uint32_t v = c & ((1u << 27) - 1);
  std::string s(digits, '0');
  for (unsigned i = digits; i-- > 0; v /= 10) s[i] = static_cast<char>('0' + v % 10);
  return s;
}

item_state state_at(const receivable& r, day_number d) noexcept {
  if (r.remaining == 0) return item_state::paid;
  if (r.in_collection) return item_state::in_collection;
  if (r.active_plans > 0) return item_state::in_plan;
  if (r.deferrals > 0 && d < r.new_due_date) return item_state::deferred;
  return item_state::open;
}

std::string_view to_string(item_state s) noexcept {
  switch (s) {
    case item_state::paid: return "paid";
    case item_state::in_collection: return "in_collection";
    case item_state::in_plan: return "in_plan";
    case item_state::deferred: return "deferred";
    case item_state::open: return "open";
  }
  return "open";
}

state::state(reskontra_config c) : config(std::move(c)) {
  auto ref = [](const std::string& a) { return account_ref{*pack_account(a)}; };
  receivables_acct = ref(config.receivables);
  overpayments_acct = ref(config.overpayments);
  unidentified_acct = ref(config.unidentified);
  bank_in_acct = ref(config.bank_in);
  bank_out_acct = ref(config.bank_out);
  payables_acct = ref(config.payables);
  losses_acct = ref(config.losses);
  output_vat_acct = ref(config.output_vat);
  input_vat_acct = ref(config.input_vat);
  fee_income_acct = ref(config.fee_income);
  ledger.reserve(64);
  postings.reserve(16);
}

namespace {
std::uint64_t ledger_key(account_code a, currency_code c) noexcept {
  return static_cast<std::uint64_t>(a) << 16 | c;
}
}  // namespace

std::uint32_t state::total_index(currency_code c) {
  for (std::size_t i = 0; i < totals.size(); ++i) {
    if (totals[i].currency == c) return static_cast<std::uint32_t>(i);
  }
  totals.push_back(currency_total{c, 0, 0});
  return static_cast<std::uint32_t>(totals.size() - 1);
}

const currency_total* state::find_total(currency_code c) const {
  for (const auto& t : totals) {
    if (t.currency == c) return &t;
  }
  return nullptr;
}

void state::debit(account_code code, currency_code c, money m) {
  if (m != 0) postings.push_back({total_index(c), ledger_key(code, c), c, m, 0});
}
void state::credit(account_code code, currency_code c, money m) {
  if (m != 0) postings.push_back({total_index(c), ledger_key(code, c), c, 0, m});
}

bool state::postings_fit() {
  bool ok = true;
  for (const auto& p : postings) {
    if (p.debit == 0) continue;
    auto& t = totals[p.total];
    if (__builtin_add_overflow(t.pending, p.debit, &t.pending)) ok = false;
  }
  for (const auto& p : postings) {
    auto& t = totals[p.total];
    money sum;
    if (__builtin_add_overflow(t.debit, t.pending, &sum)) ok = false;
  }
  if (!ok) drop_postings();
  return ok;
}

void state::commit_postings() {
  for (const auto& p : postings) {
    auto& t = totals[p.total];
    t.debit += t.pending;
    t.pending = 0;
    auto& hint = ledger_hints[(p.ledger_key * 0x9E3779B97F4A7C15ull) >> 58];
    if (hint.key != p.ledger_key) {
      auto [it, fresh] = ledger.try_emplace(p.ledger_key);
      if (fresh) {
        it->second.account = account_text(static_cast<account_code>(p.ledger_key >> 16));
        it->second.currency = p.currency;
      }
      hint = ledger_hint{p.ledger_key, &it->second};
    }
    auto& e = *hint.entry;
    e.debit += p.debit;
    e.credit += p.credit;
    touch(&e, dirty_ledger);
  }
  postings.clear();
}

void state::drop_postings() {
  for (const auto& p : postings) totals[p.total].pending = 0;
  postings.clear();
}

party_state& state::party(std::string_view key) {
  auto& p = *parties.emplace(key, strings).first;
  p.known = true;
  return p;
}

money state::credit_of(const party_state& p, currency_code c) const {
  for (const auto& cb : p.credits) {
    if (cb.currency == c) return cb.balance;
  }
  return 0;
}

void state::add_credit(party_state& p, currency_code c, money delta) {
  auto it = std::lower_bound(p.credits.begin(), p.credits.end(), c,
                             [](const credit_balance& a, currency_code b) { return a.currency < b; });
  if (it == p.credits.end() || it->currency != c) it = p.credits.insert(it, credit_balance{c, 0});
  it->balance += delta;
  touch(&p, dirty_parties);
}

void state::rebuild_derived() {
  totals.clear();
  for (auto& [k, e] : ledger) totals[total_index(e.currency)].debit += e.debit;
  ledger_hints.fill(ledger_hint{});
  for (auto& p : parties) {
    p.receivables = nullptr;
    p.payables = nullptr;
  }
  for (auto& r : receivables) {
    r.active_plans = 0;
    r.next_of_party = nullptr;
    if (r.party) {
      r.next_of_party = r.party->receivables;
      r.party->receivables = &r;
    }
  }
  for (auto& p : payables) {
    p.next_of_party = nullptr;
    if (p.party) {
      p.next_of_party = p.party->payables;
      p.party->payables = &p;
    }
  }
  for (auto& pl : plans) {
    pl.items.clear();
    for (const auto& id : pl.invoice_ids) {
      auto* r = receivables.find(id);
      if (r == nullptr) continue;
      pl.items.push_back(r);
      if (pl.status == plan_status::active) ++r->active_plans;
    }
  }
  for (auto& a : allocations) {
    a.pay = payments.find(a.payment_id);
    for (auto& l : lines_of(a)) l.item = receivables.find(l.invoice_id);
  }
  for (auto& o : orders) {
    for (auto& l : lines_of(o)) l.item = payables.find(l.invoice_id);
  }
}

namespace {

using outcome = result<void, std::string>;

unexpected<std::string> refuse(std::string reason) { return unexpected{std::move(reason)}; }

std::string quote_text(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  out.push_back('\'');
  out.append(s);
  out.push_back('\'');
  return out;
}

constexpr auto id_chars = [] {
  std::array<bool, 256> t{};
  for (int c = 0; c < 256; ++c) {
    t[static_cast<std::size_t>(c)] = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                                     c == '.' || c == '_' || c == ':' || c == '@' || c == '-';
  }
  return t;
}();

bool is_id_char(char c) noexcept { return id_chars[static_cast<unsigned char>(c)]; }

// event.h's get_* semantics on a Reference already found.
std::optional<std::string_view> as_string(flexbuffers::Reference r) {
  if (!r.IsString()) return std::nullopt;
  const auto s = r.AsString();
  return std::string_view(s.c_str(), s.length());
}

std::optional<std::int64_t> as_int(flexbuffers::Reference r) {
  if (r.IsInt()) return r.AsInt64();
  if (r.IsUInt()) {
    const auto u = r.AsUInt64();
    if (u <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      return static_cast<std::int64_t>(u);
    }
  }
  return std::nullopt;
}

std::optional<flexbuffers::Vector> as_vector(flexbuffers::Reference r) {
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
std::optional<flexbuffers::Map> element_map(field_reader& f, const char* list,
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

std::string overflow_reason() { return "amounts overflow the ledger's 64-bit totals"; }

bool is_control(const state& s, account_code c) {
  return c == s.receivables_acct.code || c == s.overpayments_acct.code ||
         c == s.unidentified_acct.code || c == s.payables_acct.code;
}

std::string control_accounts(const state& s) {
  return std::string(s.config.receivables) + ", " + s.config.overpayments + ", " +
         s.config.unidentified + ", " + s.config.payables;
}

template <class Table>
auto* find(Table& t, std::string_view id) {
  return t.find(id);
}

std::string currency_mismatch(std::string_view what, currency_code want, currency_code got) {
  return "currency mismatch: " + std::string(what) + " is in " + unpack_currency(want) + ", not " +
         unpack_currency(got);
}

// Invariant 1, with the amounts in the message.
std::string exceeds_remaining(std::string_view what, std::string_view id, money amount,
                              money remaining) {
  return std::string(what) + " " + std::to_string(amount) + " exceeds the remaining " +
         std::to_string(remaining) + " of invoice " + quote_text(id);
}

// ---- receivables ------------------------------------------------------------

outcome customer_invoice_issued(context& c) {
  auto& s = c.s;
  auto& f = c.f;
  const auto id = f.id("invoiceId");
  auto* party = f.party("party", c.civil, s);
  const auto invoice_no = f.text("invoiceNo");
  const auto ocr = f.optional_text("ocrRef");
  const auto issue = f.date("issueDate");
  const auto due = f.date("dueDate");
  const auto cur = f.currency("currency");
  const auto amount = f.integer("amountMinor", 1);
  const auto vat = f.integer("vatMinor", 0);
  account_code acct_code = 0;
  f.account("revenueAccount", acct_code);
  if (f.failed()) return refuse(f.take_fault());
  if (vat > amount) return refuse("field 'vatMinor': must be <= amountMinor");
  if (is_control(s, acct_code)) {
    return refuse("field 'revenueAccount': must not be a control account (" + control_accounts(s) + ")");
  }
  if (s.receivables.contains(id)) return refuse("invoice " + quote_text(id) + " already exists");
  s.debit(s.receivables_acct, cur, amount);
  s.credit(acct_code, cur, amount - vat);
  s.credit(s.output_vat_acct, cur, vat);
  if (!s.postings_fit()) return refuse(overflow_reason());

  auto& p = *party;
  p.known = true;
  auto& r = *s.receivables.emplace(id, s.strings).first;
  r.party = &p;
  r.invoice_no = s.strings.store(invoice_no);
  r.has_ocr = ocr.has_value();
  if (ocr) r.ocr_ref = s.strings.store(*ocr);
  r.issue_date = issue;
  r.due_date = due;
  r.currency = cur;
  r.amount = amount;
  r.vat = vat;
  r.remaining = amount;
  r.revenue_code = acct_code;
  r.next_of_party = p.receivables;
  p.receivables = &r;
  state::touch(&r, s.dirty_receivables);
  s.commit_postings();
  return {};
}

outcome credit_note_issued(context& c) {
  auto& s = c.s;
  auto& f = c.f;
  const auto note_id = f.id("creditNoteId");
  const auto id = f.id("invoiceId");
  const auto amount = f.integer("amountMinor", 1);
  const auto reason = f.text("reason");
  if (f.failed()) return refuse(f.take_fault());
  s.key_scratch.assign("cn/").append(note_id);
  if (s.others.contains(s.key_scratch)) return refuse("credit note " + quote_text(note_id) + " already exists");
  auto* r = find(s.receivables, id);
  if (!r) return refuse("invoice " + quote_text(id) + " does not exist");
  if (amount > r->remaining) return refuse(exceeds_remaining("credit", id, amount, r->remaining));
  s.debit(r->revenue_code, r->currency, amount);
  s.credit(s.receivables_acct, r->currency, amount);
  if (!s.postings_fit()) return refuse(overflow_reason());

  auto& o = *s.others.emplace(s.key_scratch, s.strings).first;
  o.ref = r->id;
  o.text = s.strings.store(reason);
  o.currency = r->currency;
  o.amount = amount;
  state::touch(&o, s.dirty_others);
  r->remaining -= amount;
  state::touch(r, s.dirty_receivables);
  s.commit_postings();
  return {};
}

outcome reminder_sent(context& c) {
  auto& s = c.s;
  auto& f = c.f;
  const auto id = f.id("invoiceId");
  const auto level = f.integer("level", 1);
  const auto fee = f.integer("feeMinor", 0);
  if (f.failed()) return refuse(f.take_fault());
  auto* r = find(s.receivables, id);
  if (!r) return refuse("invoice " + quote_text(id) + " does not exist");
  switch (state_at(*r, c.date)) {
    case item_state::paid: return refuse("no reminder on invoice " + quote_text(id) + ": it is paid");
    case item_state::in_collection:
      return refuse("no reminder on invoice " + quote_text(id) + ": it is in collection");
    case item_state::in_plan:
      return refuse("no reminder on invoice " + quote_text(id) + ": it is in an active payment plan");
    case item_state::deferred:
      return refuse("no reminder on invoice " + quote_text(id) + ": it is deferred until " +
                    to_iso_string(civil_from_days(r->new_due_date)));
    case item_state::open: break;
  }
  money remaining;
  if (__builtin_add_overflow(r->remaining, fee, &remaining)) return refuse(overflow_reason());
  s.debit(s.receivables_acct, r->currency, fee);
  s.credit(s.fee_income_acct, r->currency, fee);
  if (!s.postings_fit()) return refuse(overflow_reason());
  r->remaining = remaining;
  ++r->reminders;
  r->last_reminder_level = level;
  state::touch(r, s.dirty_receivables);
  s.commit_postings();
  return {};
}

std::optional<payment_source> parse_source(std::string_view s) {
  if (s == "BGMAX") return payment_source::bgmax;
  if (s == "CAMT054") return payment_source::camt054;
  if (s == "MANUAL") return payment_source::manual;
  if (s == "AUTOGIRO") return payment_source::autogiro;
  return std::nullopt;
}

outcome payment_received(context& c) {
  auto& s = c.s;
  auto& f = c.f;
  const auto id = f.id("paymentId");
  const auto source_text = f.text("source");
  const auto source_ref = f.text("sourceRef");
  const auto ocr = f.optional_text("ocrRef");
  const auto payer = f.optional_text("payerName");
  const auto amount = f.integer("amountMinor", 1);
  const auto cur = f.currency("currency");
  const auto booking = f.date("bookingDate");
  if (f.failed()) return refuse(f.take_fault());
  const auto source = parse_source(source_text);
  if (!source) return refuse("field 'source': must be one of BGMAX, CAMT054, MANUAL, AUTOGIRO");
  if (s.payments.contains(id)) return refuse("payment " + quote_text(id) + " already exists");
  s.debit(s.bank_in_acct, cur, amount);
  s.credit(s.unidentified_acct, cur, amount);
  if (!s.postings_fit()) return refuse(overflow_reason());

  auto& p = *s.payments.emplace(id, s.strings).first;
  p.source = *source;
  p.source_ref = s.strings.store(source_ref);
  p.has_ocr = ocr.has_value();
  if (ocr) p.ocr_ref = s.strings.store(*ocr);
  p.has_payer = payer.has_value();
  if (payer) p.payer_name = s.strings.store(*payer);
  p.currency = cur;
  p.booking_date = booking;
  p.amount = amount;
  p.remaining = amount;
  state::touch(&p, s.dirty_payments);
  s.commit_postings();
  return {};
}

outcome payment_allocated(context& c) {
  auto& s = c.s;
  auto& f = c.f;
  const auto alloc_id = f.id("allocationId");
  const auto pay_id = f.id("paymentId");
  const auto lines = f.list("lines");
  if (f.failed()) return refuse(f.take_fault());
  if (s.allocations.contains(alloc_id)) return refuse("allocation " + quote_text(alloc_id) + " already exists");
  auto* p = find(s.payments, pay_id);
  if (!p) return refuse("payment " + quote_text(pay_id) + " does not exist");

  // Lines go to the pool as they are taken off their items: a refusal puts
  // the amounts back and drops them.
  auto& pool = s.allocation_lines;
  const std::size_t first = pool.size();
  money total = 0;
  auto fail = [&pool, first](std::string reason) {
    for (std::size_t i = first; i < pool.size(); ++i) pool[i].item->remaining += pool[i].amount;
    pool.resize(first);
    return refuse(std::move(reason));
  };
  for (std::size_t i = 0; i < lines->size(); ++i) {
    const auto m = element_map(f, "lines", *lines, i);
    if (!m) return fail(f.take_fault());
    field_reader lf(*m, "lines", i);
    const auto inv = lf.id("invoiceId");
    const auto amount = lf.integer("amountMinor", 1);
    if (lf.failed()) return fail(lf.take_fault());
    auto* r = find(s.receivables, inv);
    if (!r) return fail("invoice " + quote_text(inv) + " does not exist");
    if (r->currency != p->currency) {
      return fail(currency_mismatch("invoice " + quote_text(inv), r->currency, p->currency));
    }
    if (amount > r->remaining) return fail(exceeds_remaining("allocation", inv, amount, r->remaining));
    if (__builtin_add_overflow(total, amount, &total)) return fail(overflow_reason());
    r->remaining -= amount;
    pool.push_back({r->id, amount, r});
  }
  if (total > p->remaining) {
    return fail("allocations " + std::to_string(total) + " exceed the unallocated " +
                std::to_string(p->remaining) + " of payment " + quote_text(pay_id));
  }
  s.debit(s.unidentified_acct, p->currency, total);
  s.credit(s.receivables_acct, p->currency, total);
  if (!s.postings_fit()) return fail(overflow_reason());

  for (std::size_t i = first; i < pool.size(); ++i) state::touch(pool[i].item, s.dirty_receivables);
  p->remaining -= total;
  state::touch(p, s.dirty_payments);
  auto& a = *s.allocations.emplace(alloc_id, s.strings).first;
  a.payment_id = p->id;
  a.lines = line_range{static_cast<std::uint32_t>(first), static_cast<std::uint32_t>(pool.size() - first)};
  a.pay = p;
  state::touch(&a, s.dirty_allocations);
  s.commit_postings();
  return {};
}

outcome allocation_reversed(context& c) {
  auto& s = c.s;
  auto& f = c.f;
  const auto alloc_id = f.id("allocationId");
  const auto reason = f.text("reason");
  if (f.failed()) return refuse(f.take_fault());
  auto* a = find(s.allocations, alloc_id);
  if (!a) return refuse("allocation " + quote_text(alloc_id) + " does not exist");
  if (a->reversed) return refuse("allocation " + quote_text(alloc_id) + " is already reversed");
  constexpr std::string_view prefix = "payment-";
  const auto stream = c.e.stream;
  if (stream.size() != prefix.size() + a->payment_id.size() || stream.substr(0, prefix.size()) != prefix ||
      stream.substr(prefix.size()) != a->payment_id) {
    return refuse("stream: allocation " + quote_text(alloc_id) + " belongs to payment " + quote_text(a->payment_id));
  }
  payment* p = a->pay;
  if (!p) return refuse("allocation " + quote_text(alloc_id) + " names a payment that does not exist");
  money total = 0;
  for (const auto& l : s.lines_of(*a)) {
    if (!l.item) return refuse("allocation " + quote_text(alloc_id) + " names an invoice that does not exist");
    if (__builtin_add_overflow(total, l.amount, &total)) return refuse(overflow_reason());
  }
  money pay_remaining;
  if (__builtin_add_overflow(p->remaining, total, &pay_remaining) || pay_remaining > p->amount) {
    return refuse("allocation " + quote_text(alloc_id) + " does not fit its payment's amount");
  }
  // Item remainders cannot overflow: each rises at most by what this
  // allocation took, and 1512's balance (bounded) covers them all.
  s.debit(s.receivables_acct, p->currency, total);
  s.credit(s.unidentified_acct, p->currency, total);
  if (!s.postings_fit()) return refuse(overflow_reason());
  for (auto& l : s.lines_of(*a)) {
    l.item->remaining += l.amount;
    state::touch(l.item, s.dirty_receivables);
  }
  p->remaining = pay_remaining;
  state::touch(p, s.dirty_payments);
  a->reversed = true;
  a->reversal_reason = s.strings.store(reason);
  state::touch(a, s.dirty_allocations);
  s.commit_postings();
  return {};
}

outcome overpayment_recorded(context& c) {
  auto& s = c.s;
  auto& f = c.f;
  const auto pay_id = f.id("paymentId");
  auto* party = f.party("party", c.civil, s);
  const auto amount = f.integer("amountMinor", 1);
  if (f.failed()) return refuse(f.take_fault());
  auto* p = find(s.payments, pay_id);
  if (!p) return refuse("payment " + quote_text(pay_id) + " does not exist");
  if (amount > p->remaining) {
    return refuse("overpayment " + std::to_string(amount) + " exceeds the unallocated " +
                  std::to_string(p->remaining) + " of payment " + quote_text(pay_id));
  }
  // The credit balance is bounded by 2482's credit total, which
  // postings_fit() bounds; overpaid by the payment's amount.
  s.debit(s.unidentified_acct, p->currency, amount);
  s.credit(s.overpayments_acct, p->currency, amount);
  if (!s.postings_fit()) return refuse(overflow_reason());
  party->known = true;
  s.add_credit(*party, p->currency, amount);
  p->remaining -= amount;
  p->overpaid += amount;
  state::touch(p, s.dirty_payments);
  s.commit_postings();
  return {};
}

std::string credit_short(std::string_view party, currency_code cur, money have, money want) {
  return "credit balance " + std::to_string(have) + " " + unpack_currency(cur) + " of party " +
         quote_text(party) + " is less than " + std::to_string(want);
}

outcome credit_balance_applied(context& c) {
  auto& s = c.s;
  auto& f = c.f;
  auto* named = f.party("party", c.civil, s);
  const auto id = f.id("invoiceId");
  const auto amount = f.integer("amountMinor", 1);
  if (f.failed()) return refuse(f.take_fault());
  auto* r = find(s.receivables, id);
  if (!r) return refuse("invoice " + quote_text(id) + " does not exist");
  auto* party = named->known ? named : nullptr;
  const money have = party ? s.credit_of(*party, r->currency) : 0;
  if (amount > have) return refuse(credit_short(named->id, r->currency, have, amount));
  if (amount > r->remaining) return refuse(exceeds_remaining("applied credit", id, amount, r->remaining));
  s.debit(s.overpayments_acct, r->currency, amount);
  s.credit(s.receivables_acct, r->currency, amount);
  if (!s.postings_fit()) return refuse(overflow_reason());
  s.add_credit(*party, r->currency, -amount);
  r->remaining -= amount;
  state::touch(r, s.dirty_receivables);
  s.commit_postings();
  return {};
}

outcome refund_issued(context& c) {
  auto& s = c.s;
  auto& f = c.f;
  const auto refund_id = f.id("refundId");
  auto* named = f.party("party", c.civil, s);
  const auto cur = f.currency("currency");
  const auto amount = f.integer("amountMinor", 1);
  if (f.failed()) return refuse(f.take_fault());
  s.key_scratch.assign("rf/").append(refund_id);
  if (s.others.contains(s.key_scratch)) return refuse("refund " + quote_text(refund_id) + " already exists");
  auto* party = named->known ? named : nullptr;
  const money have = party ? s.credit_of(*party, cur) : 0;
  if (amount > have) return refuse(credit_short(named->id, cur, have, amount));
  s.debit(s.overpayments_acct, cur, amount);
  s.credit(s.bank_out_acct, cur, amount);
  if (!s.postings_fit()) return refuse(overflow_reason());
  s.add_credit(*party, cur, -amount);
  auto& o = *s.others.emplace(s.key_scratch, s.strings).first;
  o.ref = party->id;
  o.currency = cur;
  o.amount = amount;
  state::touch(&o, s.dirty_others);
  s.commit_postings();
  return {};
}

outcome write_off_recorded(context& c) {
  auto& s = c.s;
  auto& f = c.f;
  const auto id = f.id("invoiceId");
  const auto amount = f.integer("amountMinor", 1);
  if (f.failed()) return refuse(f.take_fault());
  auto* r = find(s.receivables, id);
  if (!r) return refuse("invoice " + quote_text(id) + " does not exist");
  if (amount > r->remaining) return refuse(exceeds_remaining("write-off", id, amount, r->remaining));
  s.debit(s.losses_acct, r->currency, amount);
  s.credit(s.receivables_acct, r->currency, amount);
  if (!s.postings_fit()) return refuse(overflow_reason());
  r->remaining -= amount;
  state::touch(r, s.dirty_receivables);
  s.commit_postings();
  return {};
}

outcome deferral_granted(context& c) {
  auto& s = c.s;
  auto& f = c.f;
  const auto id = f.id("invoiceId");
  const auto new_due = f.date("newDueDate");
  if (f.failed()) return refuse(f.take_fault());
  auto* r = find(s.receivables, id);
  if (!r) return refuse("invoice " + quote_text(id) + " does not exist");
  r->new_due_date = new_due;
  ++r->deferrals;
  state::touch(r, s.dirty_receivables);
  return {};
}

outcome payment_plan_agreed(context& c) {
  auto& s = c.s;
  auto& f = c.f;
  const auto plan_id = f.id("planId");
  const auto ids = f.list("invoiceIds");
  const auto inst = f.list("installments");
  if (f.failed()) return refuse(f.take_fault());
  if (s.plans.contains(plan_id)) return refuse("payment plan " + quote_text(plan_id) + " already exists");
  plan pl;
  pl.invoice_ids.reserve(ids->size());
  pl.items.reserve(ids->size());
  const std::uint64_t epoch = ++s.mark_epoch;
  for (std::size_t i = 0; i < ids->size(); ++i) {
    const auto r = (*ids)[i];
    if (!r.IsString()) return refuse("field 'invoiceIds': element " + std::to_string(i) + " must be a string");
    const auto str = r.AsString();
    const std::string_view inv(str.c_str(), str.length());
    if (inv.empty() || inv.size() > 100 || !std::all_of(inv.begin(), inv.end(), is_id_char)) {
      return refuse("field 'invoiceIds': element " + std::to_string(i) + " must be an id");
    }
    auto* item = find(s.receivables, inv);
    if (!item) return refuse("invoice " + quote_text(inv) + " does not exist");
    if (item->mark == epoch) return refuse("field 'invoiceIds': invoice " + quote_text(inv) + " named twice");
    item->mark = epoch;
    pl.invoice_ids.push_back(item->id);
    pl.items.push_back(item);
  }
  pl.installments.reserve(inst->size());
  for (std::size_t i = 0; i < inst->size(); ++i) {
    const auto m = element_map(f, "installments", *inst, i);
    if (!m) return refuse(f.take_fault());
    field_reader lf(*m, "installments", i);
    const auto due = lf.date("dueDate");
    const auto amount = lf.integer("amountMinor", 1);
    if (lf.failed()) return refuse(lf.take_fault());
    pl.installments.push_back({due, amount});
  }
  for (auto* item : pl.items) ++item->active_plans;
  auto& made = *s.plans.emplace(plan_id, s.strings).first;
  pl.id = made.id;
  made = std::move(pl);
  state::touch(&made, s.dirty_plans);
  return {};
}

outcome payment_plan_ended(context& c, plan_status to) {
  auto& s = c.s;
  auto& f = c.f;
  const auto plan_id = f.id("planId");
  if (f.failed()) return refuse(f.take_fault());
  auto* pl = find(s.plans, plan_id);
  if (!pl) return refuse("payment plan " + quote_text(plan_id) + " does not exist");
  if (pl->status != plan_status::active) {
    return refuse("payment plan " + quote_text(plan_id) + " is not active (already " +
                  (pl->status == plan_status::broken ? "broken" : "completed") + ")");
  }
  pl->status = to;
  for (auto* item : pl->items) --item->active_plans;
  state::touch(pl, s.dirty_plans);
  return {};
}

outcome payment_plan_broken(context& c) { return payment_plan_ended(c, plan_status::broken); }
outcome payment_plan_completed(context& c) { return payment_plan_ended(c, plan_status::completed); }

outcome sent_to_collection(context& c) {
  auto& s = c.s;
  auto& f = c.f;
  const auto id = f.id("invoiceId");
  const auto agency = f.text("agency");
  if (f.failed()) return refuse(f.take_fault());
  auto* r = find(s.receivables, id);
  if (!r) return refuse("invoice " + quote_text(id) + " does not exist");
  r->in_collection = true;
  r->agency = s.strings.store(agency);
  state::touch(r, s.dirty_receivables);
  return {};
}

// ---- payables ---------------------------------------------------------------

outcome supplier_invoice_registered(context& c) {
  auto& s = c.s;
  auto& f = c.f;
  const auto id = f.id("invoiceId");
  auto* party = f.party("party", c.civil, s);
  const auto no = f.text("supplierInvoiceNo");
  const auto invoice_date = f.date("invoiceDate");
  const auto due = f.date("dueDate");
  const auto cur = f.currency("currency");
  const auto amount = f.integer("amountMinor", 1);
  const auto vat = f.integer("vatMinor", 0);
  account_code acct_code = 0;
  f.account("expenseAccount", acct_code);
  if (f.failed()) return refuse(f.take_fault());
  if (vat > amount) return refuse("field 'vatMinor': must be <= amountMinor");
  if (is_control(s, acct_code)) {
    return refuse("field 'expenseAccount': must not be a control account (" + control_accounts(s) + ")");
  }
  if (s.payables.contains(id)) return refuse("supplier invoice " + quote_text(id) + " already exists");
  s.debit(acct_code, cur, amount - vat);
  s.debit(s.input_vat_acct, cur, vat);
  s.credit(s.payables_acct, cur, amount);
  if (!s.postings_fit()) return refuse(overflow_reason());

  auto& p = *party;
  p.known = true;
  auto& x = *s.payables.emplace(id, s.strings).first;
  x.party = &p;
  x.supplier_invoice_no = s.strings.store(no);
  x.invoice_date = invoice_date;
  x.due_date = due;
  x.currency = cur;
  x.amount = amount;
  x.vat = vat;
  x.remaining = amount;
  x.expense_code = acct_code;
  x.next_of_party = p.payables;
  p.payables = &x;
  state::touch(&x, s.dirty_payables);
  s.commit_postings();
  return {};
}

outcome supplier_invoice_approved(context& c) {
  auto& s = c.s;
  auto& f = c.f;
  const auto id = f.id("invoiceId");
  const auto approver = f.text("approver");
  if (f.failed()) return refuse(f.take_fault());
  auto* x = find(s.payables, id);
  if (!x) return refuse("supplier invoice " + quote_text(id) + " does not exist");
  x->approved = true;
  x->approver = s.strings.store(approver);
  state::touch(x, s.dirty_payables);
  return {};
}

outcome supplier_credit_invoice_registered(context& c) {
  auto& s = c.s;
  auto& f = c.f;
  const auto credit_id = f.id("creditId");
  const auto id = f.id("invoiceId");
  const auto amount = f.integer("amountMinor", 1);
  if (f.failed()) return refuse(f.take_fault());
  s.key_scratch.assign("sc/").append(credit_id);
  if (s.others.contains(s.key_scratch)) {
    return refuse("supplier credit invoice " + quote_text(credit_id) + " already exists");
  }
  auto* x = find(s.payables, id);
  if (!x) return refuse("supplier invoice " + quote_text(id) + " does not exist");
  if (amount > x->remaining) return refuse(exceeds_remaining("supplier credit", id, amount, x->remaining));
  s.debit(s.payables_acct, x->currency, amount);
  s.credit(x->expense_code, x->currency, amount);
  if (!s.postings_fit()) return refuse(overflow_reason());
  auto& o = *s.others.emplace(s.key_scratch, s.strings).first;
  o.ref = x->id;
  o.currency = x->currency;
  o.amount = amount;
  state::touch(&o, s.dirty_others);
  x->remaining -= amount;
  state::touch(x, s.dirty_payables);
  s.commit_postings();
  return {};
}

outcome payment_blocking(context& c, bool block) {
  auto& s = c.s;
  auto& f = c.f;
  const auto id = f.id("invoiceId");
  const auto reason = f.text("reason");
  if (f.failed()) return refuse(f.take_fault());
  auto* x = find(s.payables, id);
  if (!x) return refuse("supplier invoice " + quote_text(id) + " does not exist");
  x->blocked = block;
  x->block_reason = s.strings.store(reason);
  state::touch(x, s.dirty_payables);
  return {};
}

outcome payment_blocked(context& c) { return payment_blocking(c, true); }
outcome payment_unblocked(context& c) { return payment_blocking(c, false); }

outcome supplier_payment_sent(context& c) {
  auto& s = c.s;
  auto& f = c.f;
  const auto order_id = f.id("paymentOrderId");
  const auto pay_date = f.date("paymentDate");
  const auto lines = f.list("lines");
  if (f.failed()) return refuse(f.take_fault());
  if (s.orders.contains(order_id)) return refuse("payment order " + quote_text(order_id) + " already exists");
  auto& pool = s.order_lines;
  const std::size_t first = pool.size();
  auto fail = [&](std::string reason) {
    for (std::size_t i = first; i < pool.size(); ++i) pool[i].item->remaining += pool[i].amount;
    pool.resize(first);
    s.drop_postings();
    return refuse(std::move(reason));
  };
  for (std::size_t i = 0; i < lines->size(); ++i) {
    const auto m = element_map(f, "lines", *lines, i);
    if (!m) return fail(f.take_fault());
    field_reader lf(*m, "lines", i);
    const auto inv = lf.id("invoiceId");
    const auto amount = lf.integer("amountMinor", 1);
    if (lf.failed()) return fail(lf.take_fault());
    auto* x = find(s.payables, inv);
    if (!x) return fail("supplier invoice " + quote_text(inv) + " does not exist");
    if (!x->approved) return fail("supplier invoice " + quote_text(inv) + " is not approved");
    if (x->blocked) return fail("supplier invoice " + quote_text(inv) + " is blocked for payment");
    if (amount > x->remaining) return fail(exceeds_remaining("supplier payment", inv, amount, x->remaining));
    x->remaining -= amount;
    pool.push_back({x->id, amount, x});
    // A line's currency is its item's: one order may pay in several.
    s.debit(s.payables_acct, x->currency, amount);
    s.credit(s.bank_out_acct, x->currency, amount);
  }
  if (!s.postings_fit()) return fail(overflow_reason());
  for (std::size_t i = first; i < pool.size(); ++i) state::touch(pool[i].item, s.dirty_payables);
  auto& o = *s.orders.emplace(order_id, s.strings).first;
  o.payment_date = pay_date;
  o.lines = line_range{static_cast<std::uint32_t>(first), static_cast<std::uint32_t>(pool.size() - first)};
  state::touch(&o, s.dirty_orders);
  s.commit_postings();
  return {};
}

outcome supplier_payment_rejected(context& c) {
  auto& s = c.s;
  auto& f = c.f;
  const auto order_id = f.id("paymentOrderId");
  const auto reason = f.text("reasonCode");
  if (f.failed()) return refuse(f.take_fault());
  auto* o = find(s.orders, order_id);
  if (!o) return refuse("payment order " + quote_text(order_id) + " does not exist");
  if (o->rejected) return refuse("payment order " + quote_text(order_id) + " is already rejected");
  for (const auto& l : s.lines_of(*o)) {
    if (!l.item) return refuse("payment order " + quote_text(order_id) + " names an invoice that does not exist");
    s.debit(s.bank_out_acct, l.item->currency, l.amount);
    s.credit(s.payables_acct, l.item->currency, l.amount);
  }
  if (!s.postings_fit()) return refuse(overflow_reason());
  for (auto& l : s.lines_of(*o)) {
    l.item->remaining += l.amount;
    state::touch(l.item, s.dirty_payables);
  }
  o->rejected = true;
  o->reason_code = s.strings.store(reason);
  state::touch(o, s.dirty_orders);
  s.commit_postings();
  return {};
}

using handler = outcome (*)(context&);

struct handler_entry {
  std::string_view type;
  handler fn;
};

constexpr handler_entry handlers[] = {
    {"CustomerInvoiceIssued", customer_invoice_issued},
    {"CreditNoteIssued", credit_note_issued},
    {"ReminderSent", reminder_sent},
    {"PaymentReceived", payment_received},
    {"PaymentAllocated", payment_allocated},
    {"AllocationReversed", allocation_reversed},
    {"OverpaymentRecorded", overpayment_recorded},
    {"CreditBalanceApplied", credit_balance_applied},
    {"RefundIssued", refund_issued},
    {"WriteOffRecorded", write_off_recorded},
    {"DeferralGranted", deferral_granted},
    {"PaymentPlanAgreed", payment_plan_agreed},
    {"PaymentPlanBroken", payment_plan_broken},
    {"PaymentPlanCompleted", payment_plan_completed},
    {"SentToCollection", sent_to_collection},
    {"SupplierInvoiceRegistered", supplier_invoice_registered},
    {"SupplierInvoiceApproved", supplier_invoice_approved},
    {"SupplierCreditInvoiceRegistered", supplier_credit_invoice_registered},
    {"PaymentBlocked", payment_blocked},
    {"PaymentUnblocked", payment_unblocked},
    {"SupplierPaymentSent", supplier_payment_sent},
    {"SupplierPaymentRejected", supplier_payment_rejected},
};

handler find_handler(std::string_view type) noexcept {
  for (const auto& h : handlers) {
    if (h.type.size() == type.size() && h.type == type) return h.fn;
  }
  return nullptr;
}

}  // namespace
}  // namespace reskontra_detail

using namespace reskontra_detail;

std::optional<std::string> reskontra_config::check() const {
  const std::array<const std::string*, 10> all{&receivables, &overpayments, &unidentified, &bank_in,
                                               &bank_out,    &payables,     &losses,       &output_vat,
                                               &input_vat,   &fee_income};
  for (std::size_t i = 0; i < all.size(); ++i) {
    if (!pack_account(*all[i])) return "account '" + *all[i] + "' must be a string of 1-8 digits";
    for (std::size_t j = 0; j < i; ++j) {
      if (*all[i] == *all[j]) return "account '" + *all[i] + "' is configured twice";
    }
  }
  return std::nullopt;
}

namespace {
reskontra_config checked(reskontra_config c) {
  if (auto bad = c.check()) throw std::invalid_argument("reskontra config: " + *bad);
  return c;
}
}  // namespace

reskontra_projection::reskontra_projection(reskontra_config config)
    : s_(std::make_unique<state>(checked(std::move(config)))) {}

reskontra_projection::~reskontra_projection() = default;

std::size_t reskontra_projection::anomaly_count() const noexcept { return s_->anomalies.size(); }

void reskontra_projection::apply(const event_view& e) {
  auto& s = *s_;
  s.has_last = true;
  s.last_at = e.at;
  s.last_time = e.time;
  ++s.events;
  s.meta_dirty = true;

  outcome out;
  const handler h = find_handler(e.type);
  if (h == nullptr) {
    out = refuse("unknown event type");
  } else if (!e.data_ok || !e.data.IsMap()) {
    out = refuse("data: not a readable object");
  } else {
    field_reader f(e.data.AsMap());
    std::int64_t days = e.time / 86'400'000'000;
    if (e.time % 86'400'000'000 < 0) --days;
    context c{s, e, f, static_cast<day_number>(days), civil_from_days(days)};
    out = h(c);
  }
  if (!out) {
    s.drop_postings();
    s.anomalies.push_back({e.at, e.time, std::string(e.type), out.error()});
  }
}

std::optional<std::string> reskontra_projection::check_invariants() const {
  const auto& s = *s_;
  struct sums {
    money ledger_debit = 0, ledger_credit = 0;
    money receivable = 0, credit = 0, unallocated = 0, payable = 0;
    money acct_receivable = 0, acct_overpay = 0, acct_unidentified = 0, acct_payable = 0;
  };
  std::map<currency_code, sums> per;
  bool overflow = false;
  auto add = [&overflow](money& to, money v) { overflow |= __builtin_add_overflow(to, v, &to); };
  for (const auto& [k, e] : s.ledger) {
    auto& x = per[e.currency];
    add(x.ledger_debit, e.debit);
    add(x.ledger_credit, e.credit);
    if (e.debit < 0 || e.credit < 0) return "ledger " + e.account + " has a negative total";
    const account_code code = static_cast<account_code>(k >> 16);
    const money bal = e.debit - e.credit;  // both in [0, max]: no overflow
    if (code == s.receivables_acct.code) x.acct_receivable = bal;
    if (code == s.overpayments_acct.code) x.acct_overpay = -bal;
    if (code == s.unidentified_acct.code) x.acct_unidentified = -bal;
    if (code == s.payables_acct.code) x.acct_payable = -bal;
  }
  for (const auto& r : s.receivables) {
    if (r.remaining < 0) return "invoice '" + std::string(r.id) + "' has a negative remainder";
    add(per[r.currency].receivable, r.remaining);
  }
  for (const auto& p : s.payables) {
    if (p.remaining < 0) return "supplier invoice '" + std::string(p.id) + "' has a negative remainder";
    add(per[p.currency].payable, p.remaining);
  }
  for (const auto& p : s.payments) {
    if (p.remaining < 0 || p.remaining > p.amount) return "payment '" + std::string(p.id) + "' remainder outside 0..amount";
    add(per[p.currency].unallocated, p.remaining);
  }
  for (const auto& p : s.parties) {
    for (const auto& cb : p.credits) {
      if (cb.balance < 0) return "party '" + std::string(p.id) + "' has a negative credit balance";
      add(per[cb.currency].credit, cb.balance);
    }
  }
  if (overflow) return std::string("a sum overflows");
  for (const auto& [cur, x] : per) {
    const auto c = unpack_currency(cur);
    if (x.ledger_debit != x.ledger_credit) return "trial balance in " + c + " is not zero";
    const auto* t = s.find_total(cur);
    if (x.ledger_debit != 0 && (t == nullptr || t->debit != x.ledger_debit)) {
      return "the derived debit total of " + c + " is stale";
    }
    if (x.acct_receivable != x.receivable) return s.config.receivables + " in " + c + " != Σ receivable remainders";
    if (x.acct_overpay != x.credit) return s.config.overpayments + " in " + c + " != Σ credit balances";
    if (x.acct_unidentified != x.unallocated) {
      return s.config.unidentified + " in " + c + " != Σ unallocated payment remainders";
    }
    if (x.acct_payable != x.payable) return s.config.payables + " in " + c + " != Σ payable remainders";
  }
  return std::nullopt;
}

}  // namespace muninn::projections
