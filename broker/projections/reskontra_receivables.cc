// The reskontra handlers of receivables events (domain.md "Reskontra
// catalog", customer side): invoices, credit notes, reminders, payments and
// their allocation, credit balances, refunds, write-offs, deferrals,
// payment plans and collection.
#include <algorithm>
#include <cstring>
#include <limits>

#include "broker/projections/reskontra_apply.h"

namespace muninn::projections::reskontra_detail {

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

namespace {
std::optional<payment_source> parse_source(std::string_view s) {
  if (s == "BGMAX") return payment_source::bgmax;
  if (s == "CAMT054") return payment_source::camt054;
  if (s == "MANUAL") return payment_source::manual;
  if (s == "AUTOGIRO") return payment_source::autogiro;
  return std::nullopt;
}
}  // namespace

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

namespace {
std::string credit_short(std::string_view party, currency_code cur, money have, money want) {
  return "credit balance " + std::to_string(have) + " " + unpack_currency(cur) + " of party " +
         quote_text(party) + " is less than " + std::to_string(want);
}
}  // namespace

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

namespace {
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
}  // namespace

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

}  // namespace muninn::projections::reskontra_detail
