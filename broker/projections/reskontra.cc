// The reskontra projection object: its configuration check, prepare() and
// apply_prepared() (the envelope, the handler of the event's type,
// anomalies) and the invariant check the tests run. The handlers are in reskontra_receivables.cc and
// reskontra_payables.cc, records in reskontra_records.cc, queries in
// reskontra_query.cc.
#include "broker/projections/reskontra.h"

#include <algorithm>
#include <array>
#include <map>
#include <new>
#include <stdexcept>

#include "broker/projections/reskontra_apply.h"

namespace muninn::projections {
namespace reskontra_detail {
namespace {

using handler = outcome (*)(context&);
// projection::prefetch for one type: hint() every lookup its handler makes
// from the prepared event alone (stage 0: slots; stage 1: entities).
using hint_fn = void (*)(const state&, const prepared&, bool entities);

struct handler_entry {
  std::string_view type;
  read_fn read;
  handler run;
  hint_fn hints;
};

// Plain functions, not lambdas: GCC 12 compiles a lambda's conversion to
// a function pointer whose body is only prefetches to a bare `ret`.
//
// Lookups that only check that an id is new (an invoice issued, a payment
// received) hint too: the miss on the slot is the same, the entity hint
// finds an empty slot and asks for nothing more.
void hint_invoice(const state& s, const prepared& p, bool e) {
  hint(s.receivables, p.u.invoice.id.h, e);
  hint(s.parties, p.u.invoice.party.h, e);
}
void hint_credit_note(const state& s, const prepared& p, bool e) {
  hint(s.others, p.u.credit_note.other_h, e);
  hint(s.receivables, p.u.credit_note.invoice.h, e);
}
void hint_reminder(const state& s, const prepared& p, bool e) {
  hint(s.receivables, p.u.reminder.invoice.h, e);
}
void hint_payment(const state& s, const prepared& p, bool e) {
  hint(s.payments, p.u.payment.id.h, e);
}
void hint_allocated(const state& s, const prepared& p, bool e) {
  hint(s.allocations, p.u.allocated.allocation.h, e);
  hint(s.payments, p.u.allocated.payment.h, e);
  hint_lines(s.receivables, p.u.allocated.lines, p.fault_at, e);
}
void hint_allocation(const state& s, const prepared& p, bool e) {
  hint(s.allocations, p.u.id_text.id.h, e);
}
void hint_overpayment(const state& s, const prepared& p, bool e) {
  hint(s.payments, p.u.party_amount.id.h, e);
  hint(s.parties, p.u.party_amount.party.h, e);
}
void hint_credit_applied(const state& s, const prepared& p, bool e) {
  hint(s.receivables, p.u.party_amount.id.h, e);
  hint(s.parties, p.u.party_amount.party.h, e);
}
void hint_refund(const state& s, const prepared& p, bool e) {
  hint(s.others, p.u.refund.other_h, e);
  hint(s.parties, p.u.refund.party.h, e);
}
void hint_write_off(const state& s, const prepared& p, bool e) {
  hint(s.receivables, p.u.id_amount.id.h, e);
}
void hint_deferral(const state& s, const prepared& p, bool e) {
  hint(s.receivables, p.u.deferral.invoice.h, e);
}
void hint_plan_agreed(const state& s, const prepared& p, bool e) {
  hint(s.plans, p.u.plan.plan.h, e);
}
void hint_plan(const state& s, const prepared& p, bool e) {
  hint(s.plans, p.u.id_text.id.h, e);
}
void hint_collection(const state& s, const prepared& p, bool e) {
  hint(s.receivables, p.u.id_text.id.h, e);
}
void hint_supplier_invoice(const state& s, const prepared& p, bool e) {
  hint(s.payables, p.u.supplier_invoice.id.h, e);
  hint(s.parties, p.u.supplier_invoice.party.h, e);
}
void hint_payable(const state& s, const prepared& p, bool e) {
  hint(s.payables, p.u.id_text.id.h, e);
}
void hint_supplier_credit(const state& s, const prepared& p, bool e) {
  hint(s.others, p.u.supplier_credit.other_h, e);
  hint(s.payables, p.u.supplier_credit.invoice.h, e);
}
void hint_payment_sent(const state& s, const prepared& p, bool e) {
  hint(s.orders, p.u.payment_sent.order.h, e);
  hint_lines(s.payables, p.u.payment_sent.lines, p.fault_at, e);
}
void hint_order(const state& s, const prepared& p, bool e) {
  hint(s.orders, p.u.id_text.id.h, e);
}

constexpr handler_entry handlers[] = {
    {"CustomerInvoiceIssued", read_customer_invoice_issued, customer_invoice_issued, hint_invoice},
    {"CreditNoteIssued", read_credit_note_issued, credit_note_issued, hint_credit_note},
    {"ReminderSent", read_reminder_sent, reminder_sent, hint_reminder},
    {"PaymentReceived", read_payment_received, payment_received, hint_payment},
    {"PaymentAllocated", read_payment_allocated, payment_allocated, hint_allocated},
    {"AllocationReversed", read_allocation_reversed, allocation_reversed, hint_allocation},
    {"OverpaymentRecorded", read_overpayment_recorded, overpayment_recorded, hint_overpayment},
    {"CreditBalanceApplied", read_credit_balance_applied, credit_balance_applied, hint_credit_applied},
    {"RefundIssued", read_refund_issued, refund_issued, hint_refund},
    {"WriteOffRecorded", read_write_off_recorded, write_off_recorded, hint_write_off},
    {"DeferralGranted", read_deferral_granted, deferral_granted, hint_deferral},
    {"PaymentPlanAgreed", read_payment_plan_agreed, payment_plan_agreed, hint_plan_agreed},
    {"PaymentPlanBroken", read_payment_plan_ended, payment_plan_broken, hint_plan},
    {"PaymentPlanCompleted", read_payment_plan_ended, payment_plan_completed, hint_plan},
    {"SentToCollection", read_sent_to_collection, sent_to_collection, hint_collection},
    {"SupplierInvoiceRegistered", read_supplier_invoice_registered, supplier_invoice_registered, hint_supplier_invoice},
    {"SupplierInvoiceApproved", read_supplier_invoice_approved, supplier_invoice_approved, hint_payable},
    {"SupplierCreditInvoiceRegistered", read_supplier_credit_invoice_registered, supplier_credit_invoice_registered, hint_supplier_credit},
    {"PaymentBlocked", read_payment_blocking, payment_blocked, hint_payable},
    {"PaymentUnblocked", read_payment_blocking, payment_unblocked, hint_payable},
    {"SupplierPaymentSent", read_supplier_payment_sent, supplier_payment_sent, hint_payment_sent},
    {"SupplierPaymentRejected", read_supplier_payment_rejected, supplier_payment_rejected, hint_order},
};
static_assert(std::size(handlers) < 255);

// The handler's number + 1; 0 for a type not in the catalog.
std::uint8_t find_handler(std::string_view type) noexcept {
  for (std::size_t i = 0; i < std::size(handlers); ++i) {
    if (handlers[i].type.size() == type.size() && handlers[i].type == type) return static_cast<std::uint8_t>(i + 1);
  }
  return 0;
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
  // The same two halves a replay runs on two threads, so every path
  // applies an event through the same code.
  alignas(prepared) std::byte buffer[sizeof(prepared)];
  prepare(e, buffer);
  // One event's lookups still overlap with each other.
  prefetch(buffer, 0);
  prefetch(buffer, 1);
  apply_prepared(e, buffer);
}

void reskontra_projection::prefetch(std::span<const std::byte> in, int stage) const noexcept {
  if (in.size() < sizeof(prepared)) return;
  const prepared& p = *std::launder(reinterpret_cast<const prepared*>(in.data()));
  // A refused event's fields may be unset: nothing to ask for.
  if (p.handler == 0 || !p.readable || p.fault_at == at_start) return;
  handlers[p.handler - 1].hints(*s_, p, stage != 0);
}

std::size_t reskontra_projection::prepared_size() const noexcept { return sizeof(prepared); }

void reskontra_projection::prepare(const event_view& e, std::span<std::byte> out) const {
  // Reads the event only (no member of *this): see projection::prepare.
  auto& p = *::new (static_cast<void*>(out.data())) prepared;
  p.handler = find_handler(e.type);
  p.readable = e.data_ok && e.data.IsMap();
  p.fault_at = no_fault;
  p.f = fault{};
  std::int64_t days = e.time / 86'400'000'000;
  if (e.time % 86'400'000'000 < 0) --days;
  p.date = static_cast<day_number>(days);
  if (p.handler == 0 || !p.readable) return;
  field_reader f(e.data.AsMap());
  handlers[p.handler - 1].read(f, civil_from_days(days), p);
  if (f.failed()) {
    p.f = f.first_fault();
    p.fault_at = at_start;
  }
}

void reskontra_projection::apply_prepared(const event_view& e, std::span<const std::byte> in) {
  if (in.size() < sizeof(prepared)) {
    apply(e);  // not what prepare() made: make it
    return;
  }
  const prepared& p = *std::launder(reinterpret_cast<const prepared*>(in.data()));
  auto& s = *s_;
  s.has_last = true;
  s.last_at = e.at;
  s.last_time = e.time;
  ++s.events;
  s.meta_dirty = true;

  outcome out;
  if (p.handler == 0) {
    out = refuse("unknown event type");
  } else if (!p.readable) {
    out = refuse("data: not a readable object");
  } else if (p.fault_at == at_start) {
    out = refuse(describe(p.f));
  } else {
    context c{s, e, p};
    out = handlers[p.handler - 1].run(c);
  }
  if (!out) {
    s.drop_postings();
    s.anomalies.push_back({e.at, e.time, std::string(e.type), std::move(out.error())});
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