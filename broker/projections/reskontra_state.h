// Internal to the reskontra projection (reskontra*.cc only): its entities,
// ledger and derived indexes. Entities live in node-based maps so pointers
// to them (and to their ids, the map keys) stay valid while the projection
// lives; nothing is ever erased. Not thread-safe (projection.h).
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "broker/projections/event.h"
#include "broker/projections/reskontra.h"

namespace muninn::projections::reskontra_detail {

using money = std::int64_t;            // minor units
using day_number = std::int32_t;       // days since 1970-01-01
using currency_code = std::uint16_t;   // three letters A-Z, 5 bits each; 0 = none
using account_code = std::uint32_t;    // digit count << 27 | value (1-8 digits)

constexpr money money_max = std::numeric_limits<money>::max();

// Record values start with this byte (docs/projections-reskontra.md).
constexpr std::uint8_t record_format = 1;

// Deliberately not noexcept: libstdc++ then caches each node's hash code, so
// a lookup compares hashes before strings and a rehash does not hash every
// id again (measured: apply about 3x faster on a realistic mix).
struct string_hash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const {
    return std::hash<std::string_view>{}(s);
  }
};
template <class T>
using by_id = std::unordered_map<std::string, T, string_hash, std::equal_to<>>;

std::optional<currency_code> pack_currency(std::string_view s) noexcept;
std::string unpack_currency(currency_code c);
// Strings of 1-8 digits; nullopt otherwise.
std::optional<account_code> pack_account(std::string_view s) noexcept;

struct party_state;

struct receivable {
  const std::string* id = nullptr;  // the map's key
  party_state* party = nullptr;
  std::string invoice_no, ocr_ref, revenue_account, agency;
  bool has_ocr = false;
  bool in_collection = false;
  day_number issue_date = 0, due_date = 0, new_due_date = 0;
  std::uint32_t deferrals = 0;  // > 0: new_due_date is the latest deferral's
  std::uint32_t reminders = 0;
  std::int64_t last_reminder_level = 0;
  currency_code currency = 0;
  account_code revenue_code = 0;
  money amount = 0, vat = 0, remaining = 0;
  // Derived (rebuilt in finish_load): active plans naming this item.
  std::uint32_t active_plans = 0;
  std::uint64_t mark = 0;  // scratch: duplicate detection within one event
  bool dirty = false;
};

struct payable {
  const std::string* id = nullptr;
  party_state* party = nullptr;
  std::string supplier_invoice_no, expense_account, approver, block_reason;
  day_number invoice_date = 0, due_date = 0;
  currency_code currency = 0;
  account_code expense_code = 0;
  bool approved = false, blocked = false;
  money amount = 0, vat = 0, remaining = 0;
  bool dirty = false;
};

enum class payment_source : std::uint8_t { bgmax = 0, camt054 = 1, manual = 2, autogiro = 3 };  // frozen

struct payment {
  const std::string* id = nullptr;
  payment_source source = payment_source::manual;
  std::string source_ref, ocr_ref, payer_name;
  bool has_ocr = false, has_payer = false;
  currency_code currency = 0;
  day_number booking_date = 0;
  money amount = 0, remaining = 0, overpaid = 0;
  bool dirty = false;
};

template <class Item>
struct line {
  std::string invoice_id;
  money amount = 0;
  Item* item = nullptr;  // derived: resolved on apply and in finish_load
};

struct allocation {
  const std::string* id = nullptr;
  std::string payment_id, reversal_reason;
  bool reversed = false;
  std::vector<line<receivable>> lines;
  payment* pay = nullptr;  // derived
  bool dirty = false;
};

struct payment_order {
  const std::string* id = nullptr;
  day_number payment_date = 0;
  bool rejected = false;
  std::string reason_code;
  std::vector<line<payable>> lines;
  bool dirty = false;
};

enum class plan_status : std::uint8_t { active = 0, broken = 1, completed = 2 };  // frozen

struct installment {
  day_number due_date = 0;
  money amount = 0;
};

struct plan {
  const std::string* id = nullptr;
  plan_status status = plan_status::active;
  std::vector<std::string> invoice_ids;
  std::vector<installment> installments;
  std::vector<receivable*> items;  // derived
  bool dirty = false;
};

struct credit_balance {
  currency_code currency = 0;
  money balance = 0;
};

struct party_state {
  const std::string* key = nullptr;  // "TYPE:normalised"
  std::vector<credit_balance> credits;  // sorted by currency; the c/ record exists iff non-empty
  std::vector<receivable*> receivables;  // derived
  std::vector<payable*> payables;        // derived
  bool dirty = false;
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
  const std::string* key = nullptr;  // "cn/<id>" etc.
  std::string ref;   // invoiceId (cn, sc) or party (rf)
  std::string text;  // reason (cn); empty otherwise
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
  std::string_view account;  // valid during apply (config or event data)
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
    std::string_view name;  // into config
  };
  account_ref receivables_acct, overpayments_acct, unidentified_acct, bank_in_acct, bank_out_acct,
      payables_acct, losses_acct, output_vat_acct, input_vat_acct, fee_income_acct;

  by_id<receivable> receivables;
  by_id<payable> payables;
  by_id<payment> payments;
  by_id<allocation> allocations;
  by_id<payment_order> orders;
  by_id<plan> plans;
  by_id<party_state> parties;
  by_id<other_record> others;
  std::unordered_map<std::uint64_t, ledger_entry> ledger;
  std::vector<anomaly> anomalies;
  std::size_t anomalies_taken = 0;

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
  std::vector<receivable*> dirty_receivables;
  std::vector<payable*> dirty_payables;
  std::vector<payment*> dirty_payments;
  std::vector<allocation*> dirty_allocations;
  std::vector<payment_order*> dirty_orders;
  std::vector<plan*> dirty_plans;
  std::vector<party_state*> dirty_parties;
  std::vector<ledger_entry*> dirty_ledger;
  std::vector<other_record*> dirty_others;

  // Per-event scratch, reused so apply() does not allocate.
  std::vector<posting> postings;
  std::string key_scratch;
  std::uint64_t mark_epoch = 0;

  explicit state(reskontra_config c);

  template <class T>
  static void touch(T* x, std::vector<T*>& list) {
    if (!x->dirty) {
      x->dirty = true;
      list.push_back(x);
    }
  }

  // Postings are staged, checked against overflow of the per-currency
  // totals (which bound every account's debit and credit and every sum a
  // query makes), then committed; a refused event clears them.
  void debit(const account_ref& a, currency_code c, money m);
  void credit(const account_ref& a, currency_code c, money m);
  void debit(std::string_view account, account_code code, currency_code c, money m);
  void credit(std::string_view account, account_code code, currency_code c, money m);
  bool postings_fit();
  void commit_postings();
  void drop_postings();

  party_state& party(std::string_view key);
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
void encode(const allocation& x, std::string& out);
void encode(const payment_order& x, std::string& out);
void encode(const plan& x, std::string& out);
void encode(const party_state& x, std::string& out);
void encode(const ledger_entry& x, std::string& out);
void encode(const other_record& x, std::string& out);
void encode(const anomaly& x, std::string& out);
void encode_meta(const state& s, std::string& out);
std::string anomaly_key(const position& at);
std::string ledger_record_key(const ledger_entry& e);

}  // namespace muninn::projections::reskontra_detail
