// Internal to bench/gen: the reskontra engine's model (domain.md "Reskontra
// catalog"): a Swedish city's receivables and payables over a year. The
// engine keeps its own model of every open item, payment and credit balance
// and derives each honest amount from it, so honest events keep every
// invariant; anomalies are computed from the same model but never change it.
// Split by idea: reskontra.cc (dispatch of actions, parties, ids),
// reskontra_receivables.cc (invoices and payments), reskontra_payables.cc
// (supplier invoices, payment runs), reskontra_anomalies.cc.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "bench/gen/engine.h"

namespace muninn::gen::reskontra_model {

using namespace detail;

enum currency : std::uint8_t { sek = 0, nok = 1, eur = 2 };
constexpr std::string_view currency_code[] = {"SEK", "NOK", "EUR"};
// Reminder fee at level 1 (Swedish law allows one fee of at most 60 kr).
constexpr std::int64_t reminder_fee[] = {6000, 3500, 500};
// Amounts are drawn in SEK and scaled: NOK about 1:1, EUR about 1:11.
constexpr std::int64_t scale_div[] = {1, 1, 11};

// ---- the model --------------------------------------------------------------

// A customer or supplier, derived from its index: nothing stored.
struct party {
  std::string_view type;
  std::string value, name;
  currency cur = sek;
};

struct invoice {
  std::uint64_t n = 0;
  std::uint64_t plan_n = 0;
  std::int64_t remaining = 0;
  std::int64_t plan_amount = 0;
  std::int32_t version = -1;
  std::int32_t plan_version = -1;
  std::int32_t due_day = 0;
  std::int32_t deferred_until = 0;  // newDueDate (days), 0: none
  std::uint32_t customer = 0;
  std::uint32_t refs = 0;
  currency cur = sek;
  std::uint8_t behaviour = 0;
  std::uint8_t stage = 0;
  std::uint8_t level = 0;  // reminders sent
  std::uint8_t plan_left = 0, plan_stop = 0;
  bool plan_active = false, plan_broken = false;
  bool in_collection = false;
  bool live = false;
};

struct payment {
  std::uint64_t n = 0;
  std::uint64_t alloc_n = 0;
  std::int64_t unallocated = 0;
  std::int64_t alloc_amount = 0;  // of the last allocation, for its reversal
  std::int32_t version = -1;
  std::uint32_t target = 0;  // invoice slot (held while the payment lives)
  std::uint32_t refs = 0;
  bool advance = false;  // the first allocation moves the invoice's script on
  bool live = false;
};

struct supplier_invoice {
  std::uint64_t n = 0;
  std::int64_t remaining = 0;
  std::int32_t version = -1;
  std::int32_t due_day = 0;
  std::uint32_t supplier = 0;
  std::uint32_t refs = 0;
  currency cur = sek;
  std::uint8_t behaviour = 0;
  bool approved = false, blocked = false, queued = false;
  bool live = false;
};

struct payment_order {
  std::uint64_t n = 0;
  std::vector<std::pair<std::uint32_t, std::int64_t>> lines;  // supplier invoice slot, amount
  std::uint32_t refs = 0;
  bool live = false;
};

struct customer_balance {
  std::int64_t balance = 0;
  bool settle_pending = false;
};

// Invoice scripts (weights in percent).
enum behaviour : std::uint8_t {
  b_ontime, b_partial, b_overpay, b_late, b_collection, b_deferral, b_plan, b_credit,
  b_small_writeoff, b_unidentified, b_never
};
constexpr std::array<unsigned, 11> behaviour_weight = {60, 8, 4, 8, 3, 4, 3, 4, 2, 2, 2};

enum supplier_behaviour : std::uint8_t { s_normal, s_block, s_credit, s_unapproved };
constexpr std::array<unsigned, 4> supplier_weight = {88, 5, 5, 2};

enum kind : std::uint8_t {
  k_issue, k_register, k_invoice, k_payment, k_settle, k_supplier, k_run, k_order
};
// Invoice steps (action arg: step | amount << 8).
enum step : std::uint8_t {
  i_pay, i_remind, i_defer, i_credit, i_collect, i_writeoff, i_apply, i_plan, i_plan_pay,
  i_plan_end, i_unidentified_pay, i_partial_pay
};
enum payment_step : std::uint8_t { p_alloc, p_over, p_reverse, p_realloc };
enum supplier_step : std::uint8_t { s_approve, s_block_step, s_unblock, s_credit_step, s_due };
class reskontra_engine final : public scenario::engine {
 public:
  explicit reskontra_engine(const options& o) : engine(o, 0x7265736b6f6e7472ull) {
    // Measured events per customer invoice and per supplier invoice, with
    // two customer invoices to one supplier invoice.
    const double honest = static_cast<double>(o.count) * (1.0 - o.anomalies);
    const double customer_invoices = honest * 2 / (2 * 3.45 + 2.35);
    customers_ = static_cast<std::uint32_t>(std::clamp(customer_invoices / 6, 200.0, 4e6));
    suppliers_ = static_cast<std::uint32_t>(std::clamp(customer_invoices / 30, 50.0, 4e5));
    plan_arrivals(customer_invoices * 1.5, 0.02, 7 * hour, 17 * hour, false);
    schedule(k_issue, 0, next_arrival());
  }

 private:
  // Both kinds of invoice arrive on the one arrival process: one in three
  // is a supplier invoice.
  bool handle(const action& a, std::string& out) override;

  // ---- parties ----------------------------------------------------------------

  party customer(std::uint32_t c);

  party supplier(std::uint32_t s);

  static void put_party(std::string& out, const party& p);

  // ---- ids --------------------------------------------------------------------

  // `<prefix><tag>-<n>` into id_ (the stream is `<stream prefix><id_>`).
  const std::string& make_id(std::string_view prefix, std::uint64_t n);
  void put_id(std::string& out, std::string_view key, std::string_view prefix, std::uint64_t n);
  // A RefundIssued of `amount` to customer `p` (honest or not: the caller decides).
  void refund(std::string& out, const party& p, std::int64_t amount);

  std::int64_t today() const { return day_of(now_); }

  // ---- receivables ------------------------------------------------------------

  void schedule_invoice(std::uint32_t slot, step s, std::int64_t at, std::int64_t amount = 0) {
    inv_.hold(slot);
    schedule(k_invoice, slot, at, static_cast<std::int64_t>(s) | (amount << 8));
  }

  void issue(std::string& out);

  // Schedules the invoice's next scripted step, or nothing when its script
  // is done (the item stays as the model left it).
  void advance(std::uint32_t slot);

  bool deferred(const invoice& v, std::int64_t at) const {
    return v.deferred_until != 0 && day_of(at) < v.deferred_until;
  }
  bool reminder_allowed(const invoice& v) const {
    return v.remaining > 0 && !v.in_collection && !v.plan_active && !deferred(v, now_);
  }

  void begin_invoice_event(std::string& out, invoice& v, std::string_view type) {
    begin_event(out, "invoice-", make_id("CI-", v.n), type, v.version, now_);
    ++v.version;
  }

  bool invoice_step(std::uint32_t slot, step s, std::int64_t amount, std::string& out);

  void forget_balance(std::unordered_map<std::uint32_t, customer_balance>::iterator it) {
    if (it->second.balance == 0 && !it->second.settle_pending) balances_.erase(it);
  }

  // ---- payments ---------------------------------------------------------------

  void schedule_payment(std::uint32_t slot, payment_step s, std::int64_t at) {
    pay_.hold(slot);
    schedule(k_payment, slot, at, s);
  }

  void drop_payment(std::uint32_t slot) {
    const std::uint32_t target = pay_[slot].target;
    if (pay_.drop(slot)) inv_.drop(target);
  }

  void receive_payment(std::string& out, std::uint32_t inv_slot, std::int64_t amount,
                       bool unidentified);

  bool payment_step_(std::uint32_t slot, payment_step s, std::string& out);

  bool overpayment(std::uint32_t slot, std::string& out);

  // What is left of a customer's credit balance is paid back.
  bool settle(std::uint32_t c, std::string& out);

  // ---- payables ---------------------------------------------------------------

  void schedule_supplier(std::uint32_t slot, supplier_step s, std::int64_t at) {
    sup_.hold(slot);
    schedule(k_supplier, slot, at, s);
  }

  // The payment run of a Swedish banking day at 05:00 UTC, on or after `d`.
  static std::int64_t run_time(std::int64_t d) {
    while (!sweden_banking_day(d)) ++d;
    return d * day + 5 * hour;
  }

  void register_supplier_invoice(std::string& out);

  void begin_supplier_event(std::string& out, supplier_invoice& v, std::string_view type) {
    begin_event(out, "supplier-invoice-", make_id("SI-", v.n), type, v.version, now_);
    ++v.version;
    put_id(out, R"({"invoiceId":)", "SI-", v.n);
  }

  bool supplier_step_(std::uint32_t slot, supplier_step s, std::string& out);

  // One payment order of up to 12 due, approved, unblocked items of a currency.
  bool payment_run(currency cur, std::string& out);

  bool reject_order(std::uint32_t o, std::string& out);

  void drop_order(std::uint32_t o);

  // ---- anomalies --------------------------------------------------------------

  void anomaly(std::string& out) override;

  // An allocation above the item's remaining and the payment's unallocated amount.
  bool over_allocation(std::string& out);

  // A reminder on an item that is deferred, in a plan, in collection or paid.
  bool blocked_reminder(std::string& out);

  // A credit note (or write-off) above the item's remaining amount.
  bool over_credit(std::string& out, bool write_off);

  std::int64_t balance_of(std::uint32_t c) const {
    const auto it = balances_.find(c);
    return it == balances_.end() ? 0 : it->second.balance;
  }

  // A refund above the customer's credit balance (often none at all).
  void over_refund(std::string& out);

  bool over_apply(std::string& out);

  // A payment order naming an unapproved or blocked supplier invoice.
  bool unapproved_payment(std::string& out);

  bool over_supplier_credit(std::string& out);

  // Events naming an entity that never existed, each on its own new stream.
  void unknown_reference(std::string& out);

  slab<invoice> inv_;
  slab<payment> pay_;
  slab<supplier_invoice> sup_;
  slab<payment_order> orders_;
  std::unordered_map<std::uint32_t, customer_balance> balances_;
  std::array<std::vector<std::uint32_t>, 3> run_queue_;
  std::array<bool, 3> run_pending_{};
  std::uint32_t customers_ = 200, suppliers_ = 50;
  std::uint64_t invoice_n_ = 1, payment_n_ = 1, alloc_n_ = 1, credit_n_ = 1, refund_n_ = 1,
                plan_n_ = 1, supplier_n_ = 1, scredit_n_ = 1, order_n_ = 1;
  std::string id_;
};

}  // namespace muninn::gen::reskontra_model
