// The reskontra state's own operations: packing of currencies and
// accounts, the ledger and its staged postings, parties and their credit
// balances, and the derived indexes rebuilt after a load.
#include <algorithm>
#include <cstring>
#include <limits>

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

}  // namespace reskontra_detail
}  // namespace muninn::projections
