// The reskontra handlers of payables events (domain.md "Reskontra
// catalog", supplier side): supplier invoices and credit invoices, their
// approval, payment blocks, and payment orders sent or rejected.
#include <algorithm>
#include <cstring>
#include <limits>

#include "broker/projections/reskontra_apply.h"

namespace muninn::projections::reskontra_detail {

// ---- payables ---------------------------------------------------------------

void read_supplier_invoice_registered(field_reader& f, const civil_date& civil, prepared& p) {
  auto& x = p.u.supplier_invoice;
  x.id = f.id("invoiceId");
  x.party = f.party("party", civil);
  x.no = f.text("supplierInvoiceNo");
  x.invoice_date = f.date("invoiceDate");
  x.due = f.date("dueDate");
  x.cur = f.currency("currency");
  x.amount = f.integer("amountMinor", 1);
  x.vat = f.integer("vatMinor", 0);
  x.account = f.account("expenseAccount");
}

outcome supplier_invoice_registered(context& c) {
  auto& s = c.s;
  const auto& x = c.p.u.supplier_invoice;
  if (x.vat > x.amount) return refuse("field 'vatMinor': must be <= amountMinor");
  if (is_control(s, x.account)) {
    return refuse("field 'expenseAccount': must not be a control account (" + control_accounts(s) + ")");
  }
  if (find(s.payables, x.id)) return refuse("supplier invoice " + quote_text(x.id.s) + " already exists");
  s.debit(x.account, x.cur, x.amount - x.vat);
  s.debit(s.input_vat_acct, x.cur, x.vat);
  s.credit(s.payables_acct, x.cur, x.amount);
  if (!s.postings_fit()) return refuse(overflow_reason());

  auto& p = *s.parties.emplace(x.party.view(), x.party.h, s.strings).first;
  p.known = true;
  auto& y = *s.payables.add(x.id.s, x.id.h, s.strings);
  y.party = &p;
  y.supplier_invoice_no = s.strings.store(x.no);
  y.invoice_date = x.invoice_date;
  y.due_date = x.due;
  y.currency = x.cur;
  y.amount = x.amount;
  y.vat = x.vat;
  y.remaining = x.amount;
  y.expense_code = x.account;
  y.next_of_party = p.payables;
  p.payables = &y;
  state::touch(&y, s.dirty_payables);
  s.commit_postings();
  return {};
}

void read_supplier_invoice_approved(field_reader& f, const civil_date&, prepared& p) { read_id_text(f, p, "invoiceId", "approver"); }

namespace {
// Approval and blocking: a flag and who or why, on an existing supplier
// invoice.
outcome mark_payable(context& c, bool payable::*flag, bool value, std::string_view payable::*text) {
  auto& s = c.s;
  const auto& x = c.p.u.id_text;
  auto* y = find(s.payables, x.id);
  if (!y) return refuse("supplier invoice " + quote_text(x.id.s) + " does not exist");
  y->*flag = value;
  y->*text = s.strings.store(x.text);
  state::touch(y, s.dirty_payables);
  return {};
}
}  // namespace

outcome supplier_invoice_approved(context& c) { return mark_payable(c, &payable::approved, true, &payable::approver); }

void read_supplier_credit_invoice_registered(field_reader& f, const civil_date&, prepared& p) {
  auto& x = p.u.supplier_credit;
  x.credit = f.id("creditId");
  x.invoice = f.id("invoiceId");
  x.amount = f.integer("amountMinor", 1);
  x.other_h = f.failed() ? 0 : hash_prefixed("sc/", x.credit.s);
}

outcome supplier_credit_invoice_registered(context& c) {
  auto& s = c.s;
  const auto& x = c.p.u.supplier_credit;
  s.key_scratch.assign("sc/").append(x.credit.s);
  if (s.others.find(s.key_scratch, x.other_h)) {
    return refuse("supplier credit invoice " + quote_text(x.credit.s) + " already exists");
  }
  auto* y = find(s.payables, x.invoice);
  if (!y) return refuse("supplier invoice " + quote_text(x.invoice.s) + " does not exist");
  if (x.amount > y->remaining) return refuse(exceeds_remaining("supplier credit", x.invoice.s, x.amount, y->remaining));
  s.debit(s.payables_acct, y->currency, x.amount);
  s.credit(y->expense_code, y->currency, x.amount);
  if (!s.postings_fit()) return refuse(overflow_reason());
  auto& o = *s.others.add(s.key_scratch, x.other_h, s.strings);
  o.ref = y->id;
  o.currency = y->currency;
  o.amount = x.amount;
  state::touch(&o, s.dirty_others);
  y->remaining -= x.amount;
  state::touch(y, s.dirty_payables);
  s.commit_postings();
  return {};
}

void read_payment_blocking(field_reader& f, const civil_date&, prepared& p) { read_id_text(f, p, "invoiceId", "reason"); }

outcome payment_blocked(context& c) { return mark_payable(c, &payable::blocked, true, &payable::block_reason); }
outcome payment_unblocked(context& c) { return mark_payable(c, &payable::blocked, false, &payable::block_reason); }

void read_supplier_payment_sent(field_reader& f, const civil_date&, prepared& p) {
  auto& x = p.u.payment_sent;
  x.order = f.id("paymentOrderId");
  x.date = f.date("paymentDate");
  const auto lines = f.list("lines");
  if (!f.failed()) prepare_lines(lines, "lines", x.lines, p);
}

outcome supplier_payment_sent(context& c) {
  auto& s = c.s;
  const auto& x = c.p.u.payment_sent;
  if (find(s.orders, x.order)) return refuse("payment order " + quote_text(x.order.s) + " already exists");
  auto& pool = s.order_lines;
  const std::size_t first = pool.size();
  auto fail = [&](std::string reason) {
    for (std::size_t i = first; i < pool.size(); ++i) pool[i].item->remaining += pool[i].amount;
    pool.resize(first);
    s.drop_postings();
    return refuse(std::move(reason));
  };
  for (std::size_t i = 0; i < x.lines.size; ++i) {
    if (i == c.p.fault_at) return fail(describe(c.p.f));
    const auto l = line_at(x.lines, i, "lines");
    const auto inv = l.invoice.s;
    auto* y = find(s.payables, l.invoice);
    if (!y) return fail("supplier invoice " + quote_text(inv) + " does not exist");
    if (!y->approved) return fail("supplier invoice " + quote_text(inv) + " is not approved");
    if (y->blocked) return fail("supplier invoice " + quote_text(inv) + " is blocked for payment");
    if (l.amount > y->remaining) return fail(exceeds_remaining("supplier payment", inv, l.amount, y->remaining));
    y->remaining -= l.amount;
    // A copy of the id in the arena, not y->id: a checkpoint encodes the
    // lines from memory written in order instead of visiting each item.
    pool.push_back({s.strings.store(y->id), l.amount, y});
    // A line's currency is its item's: one order may pay in several.
    s.debit(s.payables_acct, y->currency, l.amount);
    s.credit(s.bank_out_acct, y->currency, l.amount);
  }
  if (!s.postings_fit()) return fail(overflow_reason());
  for (std::size_t i = first; i < pool.size(); ++i) state::touch(pool[i].item, s.dirty_payables);
  auto& o = *s.orders.add(x.order.s, x.order.h, s.strings);
  o.payment_date = x.date;
  o.lines = line_range{static_cast<std::uint32_t>(first), static_cast<std::uint32_t>(pool.size() - first)};
  state::touch(&o, s.dirty_orders);
  s.commit_postings();
  return {};
}

void read_supplier_payment_rejected(field_reader& f, const civil_date&, prepared& p) { read_id_text(f, p, "paymentOrderId", "reasonCode"); }

outcome supplier_payment_rejected(context& c) {
  auto& s = c.s;
  const auto& x = c.p.u.id_text;
  const auto order_id = x.id.s;
  auto* o = find(s.orders, x.id);
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
  o->reason_code = s.strings.store(x.text);
  state::touch(o, s.dirty_orders);
  s.commit_postings();
  return {};
}

}  // namespace muninn::projections::reskontra_detail
