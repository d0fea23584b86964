// Payables: supplier invoices (approval, blocks, credit notes), payment runs
// per currency, and rejected payment orders.
#include "bench/gen/reskontra_engine.h"

namespace muninn::gen::reskontra_model {

namespace {

constexpr std::string_view expense_accounts[] = {"4010", "5010", "5410", "5611", "6110",
                                                 "6211", "6420", "6550", "7010", "4611"};
constexpr std::string_view approvers[] = {"anna.lindqvist", "erik.johansson", "maria.holm",
                                          "per.svensson", "karin.aberg", "johan.nilsson"};

}  // namespace

void reskontra_engine::register_supplier_invoice(std::string& out) {
  const std::uint32_t slot = sup_.make();
  supplier_invoice& v = sup_[slot];
  v.n = supplier_n_++;
  v.supplier = static_cast<std::uint32_t>(rng_.skewed(suppliers_));
  const party p = supplier(v.supplier);
  v.cur = p.cur;
  v.behaviour = static_cast<std::uint8_t>(weighted(rng_, supplier_weight));
  const std::int64_t amount = std::max<std::int64_t>(
      100, rng_.range(50'000, rng_.percent(10) ? 50'000'000 : 2'000'000) / scale_div[v.cur]);
  const std::int64_t vat = rng_.percent(80) ? amount / 5 : 0;
  const std::int64_t invoice_day = today() - rng_.range(0, 5);
  v.remaining = amount;
  v.due_day = static_cast<std::int32_t>(invoice_day + 30);
  v.version = 0;
  begin_event(out, "supplier-invoice-", make_id("SI-", v.n), "SupplierInvoiceRegistered", -1, now_);
  put_id(out, R"({"invoiceId":)", "SI-", v.n);
  out.append(R"(,"party":)");
  put_party(out, p);
  out.append(R"(,"supplierInvoiceNo":")");
  put_uint(out, 1000 + (mix64(v.n ^ key_) % 900'000));
  out.append(R"(","invoiceDate":")");
  put_date(out, invoice_day);
  out.append(R"(","dueDate":")");
  put_date(out, v.due_day);
  out.append(R"(","currency":")");
  out.append(currency_code[v.cur]);
  out.append(R"(","amountMinor":)");
  put_int(out, amount);
  out.append(R"(,"vatMinor":)");
  put_int(out, vat);
  out.append(R"(,"expenseAccount":")");
  out.append(rng_.pick(expense_accounts));
  out.append("\"}");
  end_event(out);
  if (v.behaviour != s_unapproved) {
    schedule_supplier(slot, s_approve, now_ + rng_.range(day, 7 * day));
  } else {
    // Awaiting approval for a long time: a target for "paid unapproved".
    schedule_supplier(slot, s_approve, now_ + rng_.range(40 * day, 80 * day));
  }
}

bool reskontra_engine::supplier_step_(std::uint32_t slot, supplier_step s, std::string& out) {
  supplier_invoice& v = sup_[slot];
  switch (s) {
    case s_approve:
      v.approved = true;
      begin_supplier_event(out, v, "SupplierInvoiceApproved");
      out.append(R"(,"approver":)");
      put_quoted(out, rng_.pick(approvers));
      out.append("}");
      end_event(out);
      if (v.behaviour == s_block) schedule_supplier(slot, s_block_step, now_ + rng_.range(hour, 2 * day));
      if (v.behaviour == s_credit) schedule_supplier(slot, s_credit_step, now_ + rng_.range(hour, 10 * day));
      schedule_supplier(slot, s_due, std::max(run_time(v.due_day), run_time(today() + 1)));
      return true;
    case s_block_step:
      v.blocked = true;
      begin_supplier_event(out, v, "PaymentBlocked");
      out.append(R"(,"reason":"Reklamation: leverans ofullständig"})");
      end_event(out);
      schedule_supplier(slot, s_unblock, now_ + rng_.range(5 * day, 25 * day));
      return true;
    case s_unblock:
      v.blocked = false;
      begin_supplier_event(out, v, "PaymentUnblocked");
      out.append(R"(,"reason":"Reklamation löst"})");
      end_event(out);
      schedule_supplier(slot, s_due, std::max(run_time(v.due_day), run_time(today() + 1)));
      return true;
    case s_credit_step: {
      if (v.remaining <= 0) return false;
      const std::int64_t credit = std::max<std::int64_t>(1, v.remaining * rng_.range(5, 100) / 100);
      begin_supplier_event(out, v, "SupplierCreditInvoiceRegistered");
      put_id(out, R"(,"creditId":)", "SC-", scredit_n_++);
      out.append(R"(,"amountMinor":)");
      put_int(out, credit);
      out.append("}");
      end_event(out);
      v.remaining -= credit;
      return true;
    }
    case s_due:
      if (v.approved && !v.blocked && v.remaining > 0 && !v.queued) {
        v.queued = true;
        sup_.hold(slot);
        run_queue_[v.cur].push_back(slot);
        if (!run_pending_[v.cur]) {
          run_pending_[v.cur] = true;
          schedule(k_run, 0, now_ + 10 * minute, v.cur);
        }
      }
      return false;
  }
  return false;
}

bool reskontra_engine::payment_run(currency cur, std::string& out) {
  auto& q = run_queue_[cur];
  std::vector<std::pair<std::uint32_t, std::int64_t>> lines;
  std::size_t taken = 0;
  while (taken < q.size() && lines.size() < 12) {
    const std::uint32_t slot = q[taken++];
    supplier_invoice& v = sup_[slot];
    v.queued = false;
    if (v.approved && !v.blocked && v.remaining > 0) {
      lines.emplace_back(slot, v.remaining);
    } else {
      sup_.drop(slot);
    }
  }
  q.erase(q.begin(), q.begin() + static_cast<std::ptrdiff_t>(taken));
  if (!q.empty()) {
    schedule(k_run, 0, now_ + rng_.range(1, 5), cur);
  } else {
    run_pending_[cur] = false;
  }
  if (lines.empty()) return false;
  const std::uint64_t n = order_n_++;
  begin_event(out, "payment-order-", make_id("PO-", n), "SupplierPaymentSent", -1, now_);
  put_id(out, R"({"paymentOrderId":)", "PO-", n);
  out.append(R"(,"paymentDate":")");
  put_date(out, today());
  out.append(R"(","lines":[)");
  for (std::size_t i = 0; i < lines.size(); ++i) {
    supplier_invoice& v = sup_[lines[i].first];
    if (i) out.push_back(',');
    put_id(out, R"({"invoiceId":)", "SI-", v.n);
    out.append(R"(,"amountMinor":)");
    put_int(out, lines[i].second);
    out.push_back('}');
    v.remaining -= lines[i].second;
  }
  out.append("]}");
  end_event(out);
  if (rng_.permille(15)) {
    // The bank refuses the order days later: the order keeps its lines
    // (and the queue's hold on their items) until then.
    const std::uint32_t o = orders_.make();
    orders_[o].n = n;
    orders_[o].lines = std::move(lines);
    orders_.hold(o);
    schedule(k_order, o, now_ + rng_.range(day, 3 * day));
  } else {
    for (const auto& l : lines) sup_.drop(l.first);
  }
  return true;
}

bool reskontra_engine::reject_order(std::uint32_t o, std::string& out) {
  payment_order& po = orders_[o];
  begin_event(out, "payment-order-", make_id("PO-", po.n), "SupplierPaymentRejected", 0, now_);
  put_id(out, R"({"paymentOrderId":)", "PO-", po.n);
  out.append(rng_.percent(50) ? R"(,"reasonCode":"AC01"})" : R"(,"reasonCode":"AM04"})");
  end_event(out);
  for (const auto& l : po.lines) {
    sup_[l.first].remaining += l.second;
    schedule_supplier(l.first, s_due, run_time(today() + 1));
  }
  return true;
}

void reskontra_engine::drop_order(std::uint32_t o) {
  if (orders_[o].refs != 1) {
    orders_.drop(o);
    return;
  }
  const auto lines = std::move(orders_[o].lines);
  orders_.drop(o);
  for (const auto& l : lines) sup_.drop(l.first);
}

}  // namespace muninn::gen::reskontra_model
