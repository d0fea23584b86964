// Anomalies: events the projection must refuse, computed from the model
// without changing it.
#include "bench/gen/reskontra_engine.h"

namespace muninn::gen::reskontra_model {

void reskontra_engine::anomaly(std::string& out) {
  const unsigned what = static_cast<unsigned>(rng_.below(100));
  if (what < 15 && over_allocation(out)) return;
  if (what < 30 && blocked_reminder(out)) return;
  if (what < 40 && over_credit(out, false)) return;
  if (what < 45 && over_credit(out, true)) return;
  if (what < 55) return over_refund(out);
  if (what < 60 && over_apply(out)) return;
  if (what < 75 && unapproved_payment(out)) return;
  if (what < 80 && over_supplier_credit(out)) return;
  unknown_reference(out);
}

bool reskontra_engine::over_allocation(std::string& out) {
  const std::int64_t slot = pay_.random_live(rng_, [](const payment&) { return true; });
  if (slot < 0) return false;
  payment& p = pay_[static_cast<std::uint32_t>(slot)];
  const invoice& v = inv_[p.target];
  begin_event(out, "payment-", make_id("PM-", p.n), "PaymentAllocated", p.version, now_);
  ++p.version;
  put_id(out, R"({"allocationId":)", "AL-", alloc_n_++);
  put_id(out, R"(,"paymentId":)", "PM-", p.n);
  put_id(out, R"(,"lines":[{"invoiceId":)", "CI-", v.n);
  out.append(R"(,"amountMinor":)");
  put_int(out, std::max(v.remaining, p.unallocated) + rng_.range(100, 50'000));
  out.append("}]}");
  end_event(out);
  return true;
}

bool reskontra_engine::blocked_reminder(std::string& out) {
  const std::int64_t t = now_;
  const std::int64_t slot = inv_.random_live(rng_, [this, t](const invoice& v) {
    return v.remaining == 0 || v.in_collection || v.plan_active ||
           (v.deferred_until != 0 && day_of(t) + 1 < v.deferred_until);
  }, 24);
  if (slot < 0) return false;
  invoice& v = inv_[static_cast<std::uint32_t>(slot)];
  begin_invoice_event(out, v, "ReminderSent");
  put_id(out, R"({"invoiceId":)", "CI-", v.n);
  out.append(R"(,"level":)");
  put_uint(out, v.level + 1u);
  out.append(R"(,"feeMinor":)");
  put_int(out, reminder_fee[v.cur]);
  out.append("}");
  end_event(out);
  return true;
}

bool reskontra_engine::over_credit(std::string& out, bool write_off) {
  const std::int64_t slot = inv_.random_live(rng_, [](const invoice&) { return true; });
  if (slot < 0) return false;
  invoice& v = inv_[static_cast<std::uint32_t>(slot)];
  const std::int64_t amount = v.remaining + rng_.range(1, 100'000);
  begin_invoice_event(out, v, write_off ? "WriteOffRecorded" : "CreditNoteIssued");
  if (!write_off) {
    put_id(out, R"({"creditNoteId":)", "CN-", credit_n_++);
    put_id(out, R"(,"invoiceId":)", "CI-", v.n);
  } else {
    put_id(out, R"({"invoiceId":)", "CI-", v.n);
  }
  out.append(R"(,"amountMinor":)");
  put_int(out, amount);
  if (!write_off) out.append(R"(,"reason":"Kreditering")");
  out.append("}");
  end_event(out);
  return true;
}

void reskontra_engine::over_refund(std::string& out) {
  std::uint32_t c = static_cast<std::uint32_t>(rng_.below(customers_));
  if (!balances_.empty() && rng_.percent(50)) c = balances_.begin()->first;
  const party p = customer(c);
  refund(out, p, balance_of(c) + rng_.range(100, 100'000));
}

bool reskontra_engine::over_apply(std::string& out) {
  const std::int64_t slot = inv_.random_live(rng_, [](const invoice& v) { return v.remaining > 0; });
  if (slot < 0) return false;
  invoice& v = inv_[static_cast<std::uint32_t>(slot)];
  begin_invoice_event(out, v, "CreditBalanceApplied");
  out.append(R"({"party":)");
  put_party(out, customer(v.customer));
  put_id(out, R"(,"invoiceId":)", "CI-", v.n);
  out.append(R"(,"amountMinor":)");
  put_int(out, balance_of(v.customer) + rng_.range(1, std::max<std::int64_t>(1, v.remaining)));
  out.append("}");
  end_event(out);
  return true;
}

bool reskontra_engine::unapproved_payment(std::string& out) {
  const std::int64_t slot = sup_.random_live(
      rng_, [](const supplier_invoice& v) { return (!v.approved || v.blocked) && v.remaining > 0; }, 24);
  if (slot < 0) return false;
  const supplier_invoice& v = sup_[static_cast<std::uint32_t>(slot)];
  const std::uint64_t n = order_n_++;
  begin_event(out, "payment-order-", make_id("PO-", n), "SupplierPaymentSent", -1, now_);
  put_id(out, R"({"paymentOrderId":)", "PO-", n);
  out.append(R"(,"paymentDate":")");
  put_date(out, today());
  put_id(out, R"(","lines":[{"invoiceId":)", "SI-", v.n);
  out.append(R"(,"amountMinor":)");
  put_int(out, v.remaining);
  out.append("}]}");
  end_event(out);
  return true;
}

bool reskontra_engine::over_supplier_credit(std::string& out) {
  const std::int64_t slot = sup_.random_live(rng_, [](const supplier_invoice&) { return true; });
  if (slot < 0) return false;
  supplier_invoice& v = sup_[static_cast<std::uint32_t>(slot)];
  begin_supplier_event(out, v, "SupplierCreditInvoiceRegistered");
  put_id(out, R"(,"creditId":)", "SC-", scredit_n_++);
  out.append(R"(,"amountMinor":)");
  put_int(out, v.remaining + rng_.range(1, 100'000));
  out.append("}");
  end_event(out);
  return true;
}

void reskontra_engine::unknown_reference(std::string& out) {
  switch (rng_.below(4)) {
    case 0: {
      const std::uint64_t n = invoice_n_++;  // a number no honest invoice gets
      begin_event(out, "invoice-", make_id("CI-", n), "ReminderSent", -1, now_);
      put_id(out, R"({"invoiceId":)", "CI-", n);
      out.append(R"(,"level":1,"feeMinor":6000})");
      break;
    }
    case 1: {
      const std::uint64_t n = plan_n_++;
      begin_event(out, "plan-", make_id("PL-", n), "PaymentPlanCompleted", -1, now_);
      put_id(out, R"({"planId":)", "PL-", n);
      out.push_back('}');
      break;
    }
    case 2: {
      const std::uint64_t n = order_n_++;
      begin_event(out, "payment-order-", make_id("PO-", n), "SupplierPaymentRejected", -1, now_);
      put_id(out, R"({"paymentOrderId":)", "PO-", n);
      out.append(R"(,"reasonCode":"AC04"})");
      break;
    }
    default: {
      // An allocation that does not exist, on a new payment's stream.
      const std::uint64_t n = payment_n_++;
      begin_event(out, "payment-", make_id("PM-", n), "AllocationReversed", -1, now_);
      put_id(out, R"({"allocationId":)", "AL-", alloc_n_++);
      out.append(R"(,"reason":"Felmatchad betalning"})");
      break;
    }
  }
  end_event(out);
}

}  // namespace muninn::gen::reskontra_model
