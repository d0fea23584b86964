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

void read_customer_invoice_issued(field_reader& f, const civil_date& civil, prepared& p) {
  auto& x = p.u.invoice;
  x.id = f.id("invoiceId");
  x.party = f.party("party", civil);
  x.invoice_no = f.text("invoiceNo");
  x.ocr = f.optional_text("ocrRef");
  x.issue = f.date("issueDate");
  x.due = f.date("dueDate");
  x.cur = f.currency("currency");
  x.amount = f.integer("amountMinor", 1);
  x.vat = f.integer("vatMinor", 0);
  x.account = f.account("revenueAccount");
}

outcome customer_invoice_issued(context& c) {
  auto& s = c.s;
  const auto& x = c.p.u.invoice;
  if (x.vat > x.amount) return refuse("field 'vatMinor': must be <= amountMinor");
  if (is_control(s, x.account)) {
    return refuse("field 'revenueAccount': must not be a control account (" + control_accounts(s) + ")");
  }
  if (find(s.receivables, x.id)) return refuse("invoice " + quote_text(x.id.s) + " already exists");
  s.debit(s.receivables_acct, x.cur, x.amount);
  s.credit(x.account, x.cur, x.amount - x.vat);
  s.credit(s.output_vat_acct, x.cur, x.vat);
  if (!s.postings_fit()) return refuse(overflow_reason());

  auto& p = *s.parties.emplace(x.party.view(), x.party.h, s.strings).first;
  p.known = true;
  auto& r = *s.receivables.add(x.id.s, x.id.h, s.strings);
  r.party = &p;
  r.invoice_no = s.strings.store(x.invoice_no);
  r.has_ocr = x.ocr.has;
  if (x.ocr.has) r.ocr_ref = s.strings.store(x.ocr.s);
  r.issue_date = x.issue;
  r.due_date = x.due;
  r.currency = x.cur;
  r.amount = x.amount;
  r.vat = x.vat;
  r.remaining = x.amount;
  r.revenue_code = x.account;
  r.next_of_party = p.receivables;
  p.receivables = &r;
  state::touch(&r, s.dirty_receivables);
  s.commit_postings();
  return {};
}

void read_credit_note_issued(field_reader& f, const civil_date&, prepared& p) {
  auto& x = p.u.credit_note;
  x.note = f.id("creditNoteId");
  x.invoice = f.id("invoiceId");
  x.amount = f.integer("amountMinor", 1);
  x.reason = f.text("reason");
  x.other_h = f.failed() ? 0 : hash_prefixed("cn/", x.note.s);
}

outcome credit_note_issued(context& c) {
  auto& s = c.s;
  const auto& x = c.p.u.credit_note;
  s.key_scratch.assign("cn/").append(x.note.s);
  if (s.others.find(s.key_scratch, x.other_h)) return refuse("credit note " + quote_text(x.note.s) + " already exists");
  auto* r = find(s.receivables, x.invoice);
  if (!r) return refuse("invoice " + quote_text(x.invoice.s) + " does not exist");
  if (x.amount > r->remaining) return refuse(exceeds_remaining("credit", x.invoice.s, x.amount, r->remaining));
  s.debit(r->revenue_code, r->currency, x.amount);
  s.credit(s.receivables_acct, r->currency, x.amount);
  if (!s.postings_fit()) return refuse(overflow_reason());

  auto& o = *s.others.add(s.key_scratch, x.other_h, s.strings);
  o.ref = r->id;
  o.text = s.strings.store(x.reason);
  o.currency = r->currency;
  o.amount = x.amount;
  state::touch(&o, s.dirty_others);
  r->remaining -= x.amount;
  state::touch(r, s.dirty_receivables);
  s.commit_postings();
  return {};
}

void read_reminder_sent(field_reader& f, const civil_date&, prepared& p) {
  auto& x = p.u.reminder;
  x.invoice = f.id("invoiceId");
  x.level = f.integer("level", 1);
  x.fee = f.integer("feeMinor", 0);
}

outcome reminder_sent(context& c) {
  auto& s = c.s;
  const auto& x = c.p.u.reminder;
  const auto id = x.invoice.s;
  auto* r = find(s.receivables, x.invoice);
  if (!r) return refuse("invoice " + quote_text(id) + " does not exist");
  switch (state_at(*r, c.p.date)) {
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
  if (__builtin_add_overflow(r->remaining, x.fee, &remaining)) return refuse(overflow_reason());
  s.debit(s.receivables_acct, r->currency, x.fee);
  s.credit(s.fee_income_acct, r->currency, x.fee);
  if (!s.postings_fit()) return refuse(overflow_reason());
  r->remaining = remaining;
  ++r->reminders;
  r->last_reminder_level = x.level;
  state::touch(r, s.dirty_receivables);
  s.commit_postings();
  return {};
}

namespace {
std::int8_t parse_source(std::string_view s) {
  if (s == "BGMAX") return static_cast<std::int8_t>(payment_source::bgmax);
  if (s == "CAMT054") return static_cast<std::int8_t>(payment_source::camt054);
  if (s == "MANUAL") return static_cast<std::int8_t>(payment_source::manual);
  if (s == "AUTOGIRO") return static_cast<std::int8_t>(payment_source::autogiro);
  return -1;
}
}  // namespace

void read_payment_received(field_reader& f, const civil_date&, prepared& p) {
  auto& x = p.u.payment;
  x.id = f.id("paymentId");
  const auto source_text = f.text("source");
  x.source_ref = f.text("sourceRef");
  x.ocr = f.optional_text("ocrRef");
  x.payer = f.optional_text("payerName");
  x.amount = f.integer("amountMinor", 1);
  x.cur = f.currency("currency");
  x.booking = f.date("bookingDate");
  x.source = parse_source(source_text);
}

outcome payment_received(context& c) {
  auto& s = c.s;
  const auto& x = c.p.u.payment;
  if (x.source < 0) return refuse("field 'source': must be one of BGMAX, CAMT054, MANUAL, AUTOGIRO");
  if (find(s.payments, x.id)) return refuse("payment " + quote_text(x.id.s) + " already exists");
  s.debit(s.bank_in_acct, x.cur, x.amount);
  s.credit(s.unidentified_acct, x.cur, x.amount);
  if (!s.postings_fit()) return refuse(overflow_reason());

  auto& p = *s.payments.add(x.id.s, x.id.h, s.strings);
  p.source = static_cast<payment_source>(x.source);
  p.source_ref = s.strings.store(x.source_ref);
  p.has_ocr = x.ocr.has;
  if (x.ocr.has) p.ocr_ref = s.strings.store(x.ocr.s);
  p.has_payer = x.payer.has;
  if (x.payer.has) p.payer_name = s.strings.store(x.payer.s);
  p.currency = x.cur;
  p.booking_date = x.booking;
  p.amount = x.amount;
  p.remaining = x.amount;
  state::touch(&p, s.dirty_payments);
  s.commit_postings();
  return {};
}

void read_payment_allocated(field_reader& f, const civil_date&, prepared& p) {
  auto& x = p.u.allocated;
  x.allocation = f.id("allocationId");
  x.payment = f.id("paymentId");
  const auto lines = f.list("lines");
  if (!f.failed()) prepare_lines(lines, "lines", x.lines, p);
}

outcome payment_allocated(context& c) {
  auto& s = c.s;
  const auto& x = c.p.u.allocated;
  if (find(s.allocations, x.allocation)) return refuse("allocation " + quote_text(x.allocation.s) + " already exists");
  auto* p = find(s.payments, x.payment);
  if (!p) return refuse("payment " + quote_text(x.payment.s) + " does not exist");

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
  for (std::size_t i = 0; i < x.lines.size; ++i) {
    if (i == c.p.fault_at) return fail(describe(c.p.f));
    const auto l = line_at(x.lines, i, "lines");
    const auto inv = l.invoice.s;
    auto* r = find(s.receivables, l.invoice);
    if (!r) return fail("invoice " + quote_text(inv) + " does not exist");
    if (r->currency != p->currency) {
      return fail(currency_mismatch("invoice " + quote_text(inv), r->currency, p->currency));
    }
    if (l.amount > r->remaining) return fail(exceeds_remaining("allocation", inv, l.amount, r->remaining));
    if (__builtin_add_overflow(total, l.amount, &total)) return fail(overflow_reason());
    r->remaining -= l.amount;
    // A copy of the id in the arena, not r->id: a checkpoint encodes the
    // lines from memory written in order instead of visiting each item.
    pool.push_back({s.strings.store(r->id), l.amount, r});
  }
  if (total > p->remaining) {
    return fail("allocations " + std::to_string(total) + " exceed the unallocated " +
                std::to_string(p->remaining) + " of payment " + quote_text(x.payment.s));
  }
  s.debit(s.unidentified_acct, p->currency, total);
  s.credit(s.receivables_acct, p->currency, total);
  if (!s.postings_fit()) return fail(overflow_reason());

  for (std::size_t i = first; i < pool.size(); ++i) state::touch(pool[i].item, s.dirty_receivables);
  p->remaining -= total;
  state::touch(p, s.dirty_payments);
  auto& a = *s.allocations.add(x.allocation.s, x.allocation.h, s.strings);
  a.payment_id = p->id;
  a.lines = line_range{static_cast<std::uint32_t>(first), static_cast<std::uint32_t>(pool.size() - first)};
  a.pay = p;
  state::touch(&a, s.dirty_allocations);
  s.commit_postings();
  return {};
}

void read_allocation_reversed(field_reader& f, const civil_date&, prepared& p) { read_id_text(f, p, "allocationId", "reason"); }

outcome allocation_reversed(context& c) {
  auto& s = c.s;
  const auto& x = c.p.u.id_text;
  const auto alloc_id = x.id.s;
  auto* a = find(s.allocations, x.id);
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
  a->reversal_reason = s.strings.store(x.text);
  state::touch(a, s.dirty_allocations);
  s.commit_postings();
  return {};
}

void read_overpayment_recorded(field_reader& f, const civil_date& civil, prepared& p) {
  auto& x = p.u.party_amount;
  x.id = f.id("paymentId");
  x.party = f.party("party", civil);
  x.amount = f.integer("amountMinor", 1);
}

outcome overpayment_recorded(context& c) {
  auto& s = c.s;
  const auto& x = c.p.u.party_amount;
  const auto amount = x.amount;
  auto* p = find(s.payments, x.id);
  if (!p) return refuse("payment " + quote_text(x.id.s) + " does not exist");
  if (amount > p->remaining) {
    return refuse("overpayment " + std::to_string(amount) + " exceeds the unallocated " +
                  std::to_string(p->remaining) + " of payment " + quote_text(x.id.s));
  }
  // The credit balance is bounded by 2482's credit total, which
  // postings_fit() bounds; overpaid by the payment's amount.
  s.debit(s.unidentified_acct, p->currency, amount);
  s.credit(s.overpayments_acct, p->currency, amount);
  if (!s.postings_fit()) return refuse(overflow_reason());
  auto& party = *s.parties.emplace(x.party.view(), x.party.h, s.strings).first;
  party.known = true;
  s.add_credit(party, p->currency, amount);
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

// The known party `r` names; nullptr when it is not known.
party_state* known_party(state& s, const party_ref& r) {
  auto* p = s.parties.find(r.view(), r.h);
  return p != nullptr && p->known ? p : nullptr;
}
}  // namespace

void read_credit_balance_applied(field_reader& f, const civil_date& civil, prepared& p) {
  auto& x = p.u.party_amount;
  x.party = f.party("party", civil);
  x.id = f.id("invoiceId");
  x.amount = f.integer("amountMinor", 1);
}

outcome credit_balance_applied(context& c) {
  auto& s = c.s;
  const auto& x = c.p.u.party_amount;
  const auto amount = x.amount;
  auto* r = find(s.receivables, x.id);
  if (!r) return refuse("invoice " + quote_text(x.id.s) + " does not exist");
  auto* party = known_party(s, x.party);
  const money have = party ? s.credit_of(*party, r->currency) : 0;
  if (amount > have) return refuse(credit_short(x.party.view(), r->currency, have, amount));
  if (amount > r->remaining) return refuse(exceeds_remaining("applied credit", x.id.s, amount, r->remaining));
  s.debit(s.overpayments_acct, r->currency, amount);
  s.credit(s.receivables_acct, r->currency, amount);
  if (!s.postings_fit()) return refuse(overflow_reason());
  s.add_credit(*party, r->currency, -amount);
  r->remaining -= amount;
  state::touch(r, s.dirty_receivables);
  s.commit_postings();
  return {};
}

void read_refund_issued(field_reader& f, const civil_date& civil, prepared& p) {
  auto& x = p.u.refund;
  x.refund = f.id("refundId");
  x.party = f.party("party", civil);
  x.cur = f.currency("currency");
  x.amount = f.integer("amountMinor", 1);
  x.other_h = f.failed() ? 0 : hash_prefixed("rf/", x.refund.s);
}

outcome refund_issued(context& c) {
  auto& s = c.s;
  const auto& x = c.p.u.refund;
  const auto amount = x.amount;
  s.key_scratch.assign("rf/").append(x.refund.s);
  if (s.others.find(s.key_scratch, x.other_h)) return refuse("refund " + quote_text(x.refund.s) + " already exists");
  auto* party = known_party(s, x.party);
  const money have = party ? s.credit_of(*party, x.cur) : 0;
  if (amount > have) return refuse(credit_short(x.party.view(), x.cur, have, amount));
  s.debit(s.overpayments_acct, x.cur, amount);
  s.credit(s.bank_out_acct, x.cur, amount);
  if (!s.postings_fit()) return refuse(overflow_reason());
  s.add_credit(*party, x.cur, -amount);
  auto& o = *s.others.add(s.key_scratch, x.other_h, s.strings);
  o.ref = party->id;
  o.currency = x.cur;
  o.amount = amount;
  state::touch(&o, s.dirty_others);
  s.commit_postings();
  return {};
}

void read_write_off_recorded(field_reader& f, const civil_date&, prepared& p) {
  auto& x = p.u.id_amount;
  x.id = f.id("invoiceId");
  x.amount = f.integer("amountMinor", 1);
}

outcome write_off_recorded(context& c) {
  auto& s = c.s;
  const auto& x = c.p.u.id_amount;
  auto* r = find(s.receivables, x.id);
  if (!r) return refuse("invoice " + quote_text(x.id.s) + " does not exist");
  if (x.amount > r->remaining) return refuse(exceeds_remaining("write-off", x.id.s, x.amount, r->remaining));
  s.debit(s.losses_acct, r->currency, x.amount);
  s.credit(s.receivables_acct, r->currency, x.amount);
  if (!s.postings_fit()) return refuse(overflow_reason());
  r->remaining -= x.amount;
  state::touch(r, s.dirty_receivables);
  s.commit_postings();
  return {};
}

void read_deferral_granted(field_reader& f, const civil_date&, prepared& p) {
  auto& x = p.u.deferral;
  x.invoice = f.id("invoiceId");
  x.new_due = f.date("newDueDate");
}

outcome deferral_granted(context& c) {
  auto& s = c.s;
  const auto& x = c.p.u.deferral;
  auto* r = find(s.receivables, x.invoice);
  if (!r) return refuse("invoice " + quote_text(x.invoice.s) + " does not exist");
  r->new_due_date = x.new_due;
  ++r->deferrals;
  state::touch(r, s.dirty_receivables);
  return {};
}

namespace {
// Element `i` of invoiceIds, which prepare() found to be an id.
std::string_view plan_invoice_id(const flexbuffers::Vector& ids, std::size_t i) {
  const auto str = ids[i].AsString();
  return {str.c_str(), str.length()};
}

bool read_installment(const flexbuffers::Vector& v, std::size_t i, installment& out, fault& f) {
  auto lf = element_reader(v, i, "installments", f);
  if (!lf) return false;
  out.due_date = lf->date("dueDate");
  out.amount = lf->integer("amountMinor", 1);
  if (lf->failed()) f = lf->first_fault();
  return !lf->failed();
}
}  // namespace

void read_payment_plan_agreed(field_reader& f, const civil_date&, prepared& p) {
  auto& x = p.u.plan;
  x.plan = f.id("planId");
  x.ids = f.list("invoiceIds");
  x.installments = f.list("installments");
  if (f.failed()) return;
  const auto ids = x.ids.AsVector();
  for (std::size_t i = 0; i < ids.size(); ++i) {
    const auto r = ids[i];
    const auto kind = !r.IsString() ? fault_kind::element_string
                      : !is_id(*as_string(r)) ? fault_kind::element_id
                                               : fault_kind::rule;
    if (kind != fault_kind::rule) {
      record_fault(p, fault{"invoiceIds", nullptr, 0, kind, nullptr, static_cast<std::int64_t>(i), {}},
                   static_cast<std::uint32_t>(i));
      return;
    }
  }
  const auto inst = x.installments.AsVector();
  for (std::size_t i = 0; i < inst.size(); ++i) {
    installment in;
    fault bad;
    if (!read_installment(inst, i, in, bad)) {
      record_fault(p, bad, after_ids);
      return;
    }
  }
}

outcome payment_plan_agreed(context& c) {
  auto& s = c.s;
  const auto& x = c.p.u.plan;
  if (find(s.plans, x.plan)) return refuse("payment plan " + quote_text(x.plan.s) + " already exists");
  const auto ids = x.ids.AsVector();
  const auto inst = x.installments.AsVector();
  plan pl;
  pl.invoice_ids.reserve(ids.size());
  pl.items.reserve(ids.size());
  const std::uint64_t epoch = ++s.mark_epoch;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (i == c.p.fault_at) return refuse(describe(c.p.f));
    const auto inv = plan_invoice_id(ids, i);
    auto* item = s.receivables.find(inv);
    if (!item) return refuse("invoice " + quote_text(inv) + " does not exist");
    if (item->mark == epoch) return refuse("field 'invoiceIds': invoice " + quote_text(inv) + " named twice");
    item->mark = epoch;
    pl.invoice_ids.push_back(item->id);
    pl.items.push_back(item);
  }
  if (c.p.fault_at == after_ids) return refuse(describe(c.p.f));
  pl.installments.reserve(inst.size());
  for (std::size_t i = 0; i < inst.size(); ++i) {
    installment in;
    fault ignored;
    read_installment(inst, i, in, ignored);  // prepare() found them all readable
    pl.installments.push_back(in);
  }
  for (auto* item : pl.items) ++item->active_plans;
  auto& made = *s.plans.add(x.plan.s, x.plan.h, s.strings);
  pl.id = made.id;
  made = std::move(pl);
  state::touch(&made, s.dirty_plans);
  return {};
}

void read_payment_plan_ended(field_reader& f, const civil_date&, prepared& p) {
  p.u.id_text.id = f.id("planId");
}

namespace {
outcome payment_plan_ended(context& c, plan_status to) {
  auto& s = c.s;
  const auto plan_id = c.p.u.id_text.id;
  auto* pl = find(s.plans, plan_id);
  if (!pl) return refuse("payment plan " + quote_text(plan_id.s) + " does not exist");
  if (pl->status != plan_status::active) {
    return refuse("payment plan " + quote_text(plan_id.s) + " is not active (already " +
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

void read_sent_to_collection(field_reader& f, const civil_date&, prepared& p) { read_id_text(f, p, "invoiceId", "agency"); }

outcome sent_to_collection(context& c) {
  auto& s = c.s;
  const auto& x = c.p.u.id_text;
  auto* r = find(s.receivables, x.id);
  if (!r) return refuse("invoice " + quote_text(x.id.s) + " does not exist");
  r->in_collection = true;
  r->agency = s.strings.store(x.text);
  state::touch(r, s.dirty_receivables);
  return {};
}

}  // namespace muninn::projections::reskontra_detail
