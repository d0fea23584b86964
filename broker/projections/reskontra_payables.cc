// The reskontra handlers of payables events (domain.md "Reskontra
// catalog", supplier side): supplier invoices and credit invoices, their
// approval, payment blocks, and payment orders sent or rejected.
#include <algorithm>
#include <cstring>
#include <limits>

#include "broker/projections/reskontra_apply.h"

namespace muninn::projections::reskontra_detail {

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

namespace {
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
}  // namespace

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

}  // namespace muninn::projections::reskontra_detail
