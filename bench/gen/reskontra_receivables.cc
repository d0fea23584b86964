// Receivables: customer invoices through their scripts (reminders, deferrals,
// plans, collection, credit notes, write-offs) and the payments against them.
#include "bench/gen/reskontra_engine.h"

namespace muninn::gen::reskontra_model {

namespace {

struct revenue {
  std::string_view account;
  unsigned vat_percent;  // 0, 6, 12 or 25, included in the amount
  std::int64_t min_sek, max_sek;
};
constexpr revenue revenues[] = {
    {"3011", 25, 500, 8000},   // VA-taxa
    {"3012", 25, 300, 3000},   // avfallstaxa
    {"3021", 0, 500, 1700},    // barnomsorgsavgift
    {"3031", 25, 5000, 80000}, // lokalhyra
    {"3041", 0, 2000, 40000},  // bygglovsavgift
    {"3051", 0, 200, 2500},    // äldreomsorgsavgift
    {"3061", 25, 1000, 20000}, // markupplåtelse
    {"3071", 25, 500, 100000}, // tjänsteförsäljning
    {"3081", 6, 200, 3000},    // kultur, entréavgifter
    {"3091", 12, 300, 5000},   // måltider
};
constexpr std::string_view agencies[] = {"Intrum", "Visma Collectors", "Lowell", "Svea Inkasso"};

}  // namespace

void reskontra_engine::issue(std::string& out) {
  const std::uint32_t slot = inv_.make();
  invoice& v = inv_[slot];
  v.n = invoice_n_++;
  v.customer = static_cast<std::uint32_t>(rng_.below(customers_));
  const party p = customer(v.customer);
  v.cur = p.cur;
  const revenue& rev = rng_.pick(revenues);
  const std::int64_t amount = std::max<std::int64_t>(
      100, rng_.range(rev.min_sek * 100, rev.max_sek * 100) / scale_div[v.cur] / 100 * 100 +
               (rng_.percent(30) ? rng_.range(0, 99) : 0));
  const std::int64_t vat = amount * rev.vat_percent / (100 + rev.vat_percent);
  v.remaining = amount;
  v.due_day = static_cast<std::int32_t>(today() + 30);
  v.behaviour = static_cast<std::uint8_t>(weighted(rng_, behaviour_weight));
  v.version = 0;
  begin_event(out, "invoice-", make_id("CI-", v.n), "CustomerInvoiceIssued", -1, now_);
  put_id(out, R"({"invoiceId":)", "CI-", v.n);
  out.append(R"(,"party":)");
  put_party(out, p);
  out.append(R"(,"invoiceNo":")");
  put_uint(out, 10'000'000 + v.n);
  out.append(R"(","ocrRef":")");
  out.append(ocr_ref(10'000'000 + v.n));
  out.append(R"(","issueDate":")");
  put_date(out, today());
  out.append(R"(","dueDate":")");
  put_date(out, v.due_day);
  out.append(R"(","currency":")");
  out.append(currency_code[v.cur]);
  out.append(R"(","amountMinor":)");
  put_int(out, amount);
  out.append(R"(,"vatMinor":)");
  put_int(out, vat);
  out.append(R"(,"revenueAccount":")");
  out.append(rev.account);
  out.append("\"}");
  end_event(out);

  // A credit balance from an earlier overpayment goes to the next invoice.
  const auto it = balances_.find(v.customer);
  if (it != balances_.end() && it->second.balance > 0) {
    schedule_invoice(slot, i_apply, now_ + rng_.range(hour, 3 * day));
  }
  advance(slot);
}

void reskontra_engine::advance(std::uint32_t slot) {
  invoice& v = inv_[slot];
  const std::uint8_t s = v.stage++;
  const std::int64_t due = static_cast<std::int64_t>(v.due_day) * day;
  auto around = [&](std::int64_t from, std::int64_t to) {
    return std::max(now_ + minute, due + rng_.range(from, to) + rng_.range(7 * hour, 17 * hour));
  };
  // Steps days away happen in office hours (07-17 UTC); short ones as they come.
  auto later = [&](std::int64_t from, std::int64_t to) {
    const std::int64_t t = now_ + rng_.range(from, to);
    return std::max(now_ + minute, day_of(t) * day + rng_.range(7 * hour, 17 * hour));
  };
  switch (v.behaviour) {
    case b_ontime:
      if (s == 0) schedule_invoice(slot, i_pay, around(-10 * day, 2 * day));
      return;
    case b_partial:
      if (s == 0) schedule_invoice(slot, i_partial_pay, around(-8 * day, 0));
      if (s == 1) schedule_invoice(slot, i_partial_pay, later(10 * day, 25 * day));
      if (s == 2) schedule_invoice(slot, i_pay, later(10 * day, 25 * day));
      return;
    case b_overpay:
      if (s == 0) schedule_invoice(slot, i_pay, around(-5 * day, 0), rng_.range(100, 50'000));
      return;
    case b_late:
      if (s == 0) schedule_invoice(slot, i_remind, around(10 * day, 15 * day));
      if (s == 1) schedule_invoice(slot, i_pay, later(3 * day, 20 * day));
      return;
    case b_collection:
      if (s == 0) schedule_invoice(slot, i_remind, around(10 * day, 15 * day));
      if (s == 1) schedule_invoice(slot, i_remind, later(14 * day, 20 * day));
      if (s == 2) schedule_invoice(slot, i_collect, later(14 * day, 20 * day));
      if (s == 3) {
        if (rng_.percent(50)) {
          schedule_invoice(slot, i_pay, later(30 * day, 90 * day));
        } else {
          schedule_invoice(slot, i_writeoff, later(60 * day, 120 * day));
        }
      }
      return;
    case b_deferral:
      if (s == 0) schedule_invoice(slot, i_defer, around(-7 * day, -day));
      if (s == 1) {
        if (rng_.percent(80)) {
          schedule_invoice(slot, i_pay, around(-7 * day, 0));
        } else {
          v.stage = 10;
          schedule_invoice(slot, i_remind, around(8 * day, 14 * day));
        }
      }
      if (s == 10) schedule_invoice(slot, i_pay, later(5 * day, 15 * day));
      return;
    case b_plan:
      if (s == 0) schedule_invoice(slot, i_remind, around(10 * day, 15 * day));
      if (s == 1) schedule_invoice(slot, i_plan, later(5 * day, 15 * day));
      if (s >= 2 && v.plan_active) {
        v.stage = 2;
        const bool stop = v.plan_broken && v.plan_stop == 0;
        if (v.plan_left > 0 && !stop) {
          schedule_invoice(slot, i_plan_pay, later(27 * day, 33 * day));
        } else {
          v.stage = 3;
          schedule_invoice(slot, i_plan_end, later(stop ? 14 * day : day, stop ? 20 * day : 3 * day));
        }
      } else if (s == 3 && v.plan_broken) {
        schedule_invoice(slot, i_collect, later(10 * day, 20 * day));
      } else if (s == 4 && v.plan_broken) {
        schedule_invoice(slot, i_writeoff, later(60 * day, 120 * day));
      }
      return;
    case b_credit:
      if (s == 0) schedule_invoice(slot, i_credit, later(2 * day, 10 * day));
      if (s == 1) schedule_invoice(slot, i_pay, around(-5 * day, 2 * day));
      return;
    case b_small_writeoff:
      if (s == 0) schedule_invoice(slot, i_pay, around(-5 * day, 0), -rng_.range(1, 99));
      if (s == 1) schedule_invoice(slot, i_writeoff, later(30 * day, 45 * day));
      return;
    case b_unidentified:
      if (s == 0) schedule_invoice(slot, i_unidentified_pay, around(-5 * day, 2 * day));
      return;
    default: return;  // b_never: stays open, overdue from its due date on
  }
}

bool reskontra_engine::invoice_step(std::uint32_t slot, step s, std::int64_t amount, std::string& out) {
  invoice& v = inv_[slot];
  switch (s) {
    case i_pay:
    case i_partial_pay:
    case i_plan_pay:
    case i_unidentified_pay: {
      std::int64_t pay = v.remaining;
      if (s == i_partial_pay) pay = std::max<std::int64_t>(1, v.remaining * rng_.range(35, 65) / 100);
      if (s == i_plan_pay) {
        pay = v.plan_left > 1 ? std::min(v.plan_amount, v.remaining) : v.remaining;
        --v.plan_left;
        if (v.plan_stop > 0) --v.plan_stop;
      }
      pay += amount;  // extra (overpayment) or short (left for a write-off)
      if (v.remaining <= 0 || pay <= 0) {
        advance(slot);
        return false;
      }
      receive_payment(out, slot, pay, s == i_unidentified_pay);
      return true;
    }
    case i_remind: {
      if (!reminder_allowed(v)) {
        advance(slot);
        return false;
      }
      const std::int64_t fee = v.level == 0 ? reminder_fee[v.cur] : 0;
      ++v.level;
      begin_invoice_event(out, v, "ReminderSent");
      put_id(out, R"({"invoiceId":)", "CI-", v.n);
      out.append(R"(,"level":)");
      put_uint(out, v.level);
      out.append(R"(,"feeMinor":)");
      put_int(out, fee);
      out.append("}");
      end_event(out);
      v.remaining += fee;
      advance(slot);
      return true;
    }
    case i_defer: {
      if (v.remaining <= 0 || v.in_collection || v.plan_active) {
        advance(slot);
        return false;
      }
      v.due_day += 30;
      v.deferred_until = v.due_day;
      begin_invoice_event(out, v, "DeferralGranted");
      put_id(out, R"({"invoiceId":)", "CI-", v.n);
      out.append(R"(,"newDueDate":")");
      put_date(out, v.due_day);
      out.append("\"}");
      end_event(out);
      advance(slot);
      return true;
    }
    case i_credit: {
      if (v.remaining <= 0) {
        advance(slot);
        return false;
      }
      const std::int64_t credit =
          rng_.percent(25) ? v.remaining : std::max<std::int64_t>(1, v.remaining * rng_.range(10, 90) / 100);
      begin_invoice_event(out, v, "CreditNoteIssued");
      put_id(out, R"({"creditNoteId":)", "CN-", credit_n_++);
      put_id(out, R"(,"invoiceId":)", "CI-", v.n);
      out.append(R"(,"amountMinor":)");
      put_int(out, credit);
      out.append(credit == v.remaining ? R"(,"reason":"Felaktig debitering"})"
                                       : R"(,"reason":"Prisjustering"})");
      end_event(out);
      v.remaining -= credit;
      advance(slot);
      return true;
    }
    case i_collect: {
      if (v.remaining <= 0 || v.in_collection || v.plan_active) {
        advance(slot);
        return false;
      }
      v.in_collection = true;
      begin_invoice_event(out, v, "SentToCollection");
      put_id(out, R"({"invoiceId":)", "CI-", v.n);
      out.append(R"(,"agency":)");
      put_quoted(out, rng_.pick(agencies));
      out.append("}");
      end_event(out);
      advance(slot);
      return true;
    }
    case i_writeoff: {
      if (v.remaining <= 0) {
        advance(slot);
        return false;
      }
      begin_invoice_event(out, v, "WriteOffRecorded");
      put_id(out, R"({"invoiceId":)", "CI-", v.n);
      out.append(R"(,"amountMinor":)");
      put_int(out, v.remaining);
      out.append("}");
      end_event(out);
      v.remaining = 0;
      advance(slot);
      return true;
    }
    case i_apply: {
      auto it = balances_.find(v.customer);
      if (it == balances_.end() || it->second.balance <= 0 || v.remaining <= 0) return false;
      const std::int64_t apply = std::min(it->second.balance, v.remaining);
      begin_invoice_event(out, v, "CreditBalanceApplied");
      out.append(R"({"party":)");
      put_party(out, customer(v.customer));
      put_id(out, R"(,"invoiceId":)", "CI-", v.n);
      out.append(R"(,"amountMinor":)");
      put_int(out, apply);
      out.append("}");
      end_event(out);
      v.remaining -= apply;
      it->second.balance -= apply;
      forget_balance(it);
      return true;  // a side step: the script goes on by itself
    }
    case i_plan: {
      if (v.remaining < 300 || v.in_collection || v.plan_active) {
        v.stage = 20;  // no plan: the script ends
        return false;
      }
      const int k = static_cast<int>(rng_.range(3, 6));
      v.plan_n = plan_n_++;
      v.plan_version = 0;
      v.plan_active = true;
      v.plan_left = static_cast<std::uint8_t>(k);
      v.plan_amount = v.remaining / k;
      v.plan_broken = rng_.percent(25);
      v.plan_stop = static_cast<std::uint8_t>(v.plan_broken ? rng_.range(0, k - 1) : k);
      begin_event(out, "plan-", make_id("PL-", v.plan_n), "PaymentPlanAgreed", -1, now_);
      put_id(out, R"({"planId":)", "PL-", v.plan_n);
      put_id(out, R"(,"invoiceIds":[)", "CI-", v.n);
      out.append(R"(],"installments":[)");
      std::int64_t left = v.remaining;
      for (int i = 0; i < k; ++i) {
        if (i) out.push_back(',');
        out.append(R"({"dueDate":")");
        put_date(out, today() + 30 * (i + 1));
        out.append(R"(","amountMinor":)");
        put_int(out, i + 1 < k ? v.plan_amount : left);
        out.push_back('}');
        left -= v.plan_amount;
      }
      out.append("]}");
      end_event(out);
      advance(slot);
      return true;
    }
    case i_plan_end: {
      if (!v.plan_active) return false;
      const bool completed = v.remaining == 0 && !v.plan_broken;
      if (!completed) v.plan_broken = true;
      v.plan_active = false;
      begin_event(out, "plan-", make_id("PL-", v.plan_n),
                  completed ? "PaymentPlanCompleted" : "PaymentPlanBroken", v.plan_version, now_);
      ++v.plan_version;
      put_id(out, R"({"planId":)", "PL-", v.plan_n);
      out.append("}");
      end_event(out);
      advance(slot);
      return true;
    }
  }
  return false;
}

void reskontra_engine::receive_payment(std::string& out, std::uint32_t inv_slot, std::int64_t amount, bool unidentified) {
  const invoice& v = inv_[inv_slot];
  const std::uint32_t slot = pay_.make();
  payment& p = pay_[slot];
  p.n = payment_n_++;
  p.unallocated = amount;
  p.target = inv_slot;
  p.advance = true;
  p.version = 0;
  inv_.hold(inv_slot);
  const party c = customer(v.customer);
  static constexpr std::string_view sources[] = {"BGMAX", "BGMAX", "BGMAX", "BGMAX", "BGMAX",
                                                 "AUTOGIRO", "AUTOGIRO", "CAMT054", "CAMT054", "MANUAL"};
  const std::string_view source = v.cur != sek ? std::string_view("CAMT054")
                                  : v.in_collection ? std::string_view("MANUAL")
                                                    : rng_.pick(sources);
  begin_event(out, "payment-", make_id("PM-", p.n), "PaymentReceived", -1, now_);
  put_id(out, R"({"paymentId":)", "PM-", p.n);
  out.append(R"(,"source":")");
  out.append(source);
  out.append(R"(","sourceRef":")");
  out.append(source);
  out.push_back('-');
  put_date(out, today());
  out.push_back('-');
  put_padded(out, p.n % 10000, 4);
  out.push_back('"');
  if (!unidentified) {
    out.append(R"(,"ocrRef":")");
    out.append(ocr_ref(10'000'000 + v.n));
    out.push_back('"');
  }
  if (unidentified || rng_.percent(50)) {
    out.append(R"(,"payerName":)");
    put_quoted(out, c.name);
  }
  out.append(R"(,"amountMinor":)");
  put_int(out, amount);
  out.append(R"(,"currency":")");
  out.append(currency_code[v.cur]);
  out.append(R"(","bookingDate":")");
  put_date(out, today());
  out.append("\"}");
  end_event(out);
  // Matched in the next run, or by hand days later when the OCR is missing.
  schedule_payment(slot, p_alloc, unidentified ? now_ + rng_.range(2 * day, 7 * day)
                                               : now_ + rng_.range(20 * minute, 6 * hour));
}

bool reskontra_engine::payment_step_(std::uint32_t slot, payment_step s, std::string& out) {
  payment& p = pay_[slot];
  invoice& v = inv_[p.target];
  switch (s) {
    case p_alloc:
    case p_realloc: {
      const std::int64_t a = std::min(p.unallocated, v.remaining);
      bool emitted = false;
      if (a > 0) {
        p.alloc_n = alloc_n_++;
        p.alloc_amount = a;
        begin_event(out, "payment-", make_id("PM-", p.n), "PaymentAllocated", p.version, now_);
        ++p.version;
        put_id(out, R"({"allocationId":)", "AL-", p.alloc_n);
        put_id(out, R"(,"paymentId":)", "PM-", p.n);
        put_id(out, R"(,"lines":[{"invoiceId":)", "CI-", v.n);
        out.append(R"(,"amountMinor":)");
        put_int(out, a);
        out.append("}]}");
        end_event(out);
        p.unallocated -= a;
        v.remaining -= a;
        emitted = true;
        if (p.unallocated > 0) schedule_payment(slot, p_over, now_ + rng_.range(1, 120));
        // Now and then the matching was wrong and is undone, then redone.
        if (s == p_alloc && rng_.permille(10)) schedule_payment(slot, p_reverse, now_ + rng_.range(day, 5 * day));
      } else if (p.unallocated > 0) {
        emitted = overpayment(slot, out);
      }
      if (p.advance) {
        p.advance = false;
        advance(p.target);
      }
      return emitted;
    }
    case p_over: return overpayment(slot, out);
    case p_reverse: {
      begin_event(out, "payment-", make_id("PM-", p.n), "AllocationReversed", p.version, now_);
      ++p.version;
      put_id(out, R"({"allocationId":)", "AL-", p.alloc_n);
      out.append(R"(,"reason":"Felmatchad betalning"})");
      end_event(out);
      p.unallocated += p.alloc_amount;
      v.remaining += p.alloc_amount;
      p.alloc_amount = 0;
      schedule_payment(slot, p_realloc, now_ + rng_.range(hour, 4 * hour));
      return true;
    }
  }
  return false;
}

bool reskontra_engine::overpayment(std::uint32_t slot, std::string& out) {
  payment& p = pay_[slot];
  if (p.unallocated <= 0) return false;
  const invoice& v = inv_[p.target];
  begin_event(out, "payment-", make_id("PM-", p.n), "OverpaymentRecorded", p.version, now_);
  ++p.version;
  put_id(out, R"({"paymentId":)", "PM-", p.n);
  out.append(R"(,"party":)");
  put_party(out, customer(v.customer));
  out.append(R"(,"amountMinor":)");
  put_int(out, p.unallocated);
  out.append("}");
  end_event(out);
  customer_balance& b = balances_[v.customer];
  b.balance += p.unallocated;
  p.unallocated = 0;
  if (!b.settle_pending) {
    b.settle_pending = true;
    schedule(k_settle, v.customer, now_ + rng_.range(20 * day, 45 * day));
  }
  return true;
}

bool reskontra_engine::settle(std::uint32_t c, std::string& out) {
  auto it = balances_.find(c);
  if (it == balances_.end()) return false;
  it->second.settle_pending = false;
  if (it->second.balance <= 0) {
    forget_balance(it);
    return false;
  }
  const party p = customer(c);
  refund(out, p, it->second.balance);
  it->second.balance = 0;
  forget_balance(it);
  return true;
}

}  // namespace muninn::gen::reskontra_model
