// The reskontra domain (domain.md "Reskontra catalog"): a Swedish city's
// receivables and payables over a year. The engine keeps its own model of
// every open item, payment and credit balance and derives each honest
// amount from it, so honest events keep every invariant; anomalies are
// computed from the same model but never change it.
#include <string>
#include <string_view>
#include <unordered_map>

#include "bench/gen/engine.h"

namespace muninn::gen {
namespace {

using namespace detail;

enum currency : std::uint8_t { sek = 0, nok = 1, eur = 2 };
constexpr std::string_view currency_code[] = {"SEK", "NOK", "EUR"};
// Reminder fee at level 1 (Swedish law allows one fee of at most 60 kr).
constexpr std::int64_t reminder_fee[] = {6000, 3500, 500};
// Amounts are drawn in SEK and scaled: NOK about 1:1, EUR about 1:11.
constexpr std::int64_t scale_div[] = {1, 1, 11};

// ---- texts ------------------------------------------------------------------

constexpr std::string_view fornamn[] = {
    "Anna", "Erik", "Maria", "Lars", "Karin", "Johan", "Elin", "Anders", "Sara", "Per", "Emma",
    "Mikael", "Linnea", "Oskar", "Ingrid", "Björn", "Åsa", "Göran", "Fatima", "Ahmed", "Zeynep",
    "Jukka", "Noah", "Alice", "Olle", "Märta"};
constexpr std::string_view efternamn[] = {
    "Andersson", "Johansson", "Karlsson", "Nilsson", "Eriksson", "Larsson", "Olsson", "Persson",
    "Svensson", "Gustafsson", "Pettersson", "Jonsson", "Jansson", "Hansson", "Bengtsson",
    "Lindqvist", "Lindberg", "Åberg", "Öberg", "Holm", "Sandberg", "Hosseini", "Yilmaz",
    "Virtanen"};
constexpr std::string_view bolag[] = {" Fastigheter AB", " Bygg AB", " & Co HB", " Konsult AB",
                                      " Transport AB", " Städ AB", " El AB", " Handel AB"};

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

constexpr std::string_view expense_accounts[] = {"4010", "5010", "5410", "5611", "6110",
                                                 "6211", "6420", "6550", "7010", "4611"};
constexpr std::string_view approvers[] = {"anna.lindqvist", "erik.johansson", "maria.holm",
                                          "per.svensson", "karin.aberg", "johan.nilsson"};
constexpr std::string_view agencies[] = {"Intrum", "Visma Collectors", "Lowell", "Svea Inkasso"};

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
  bool handle(const action& a, std::string& out) override {
    switch (a.kind) {
      case k_issue: {
        const bool supplier = rng_.below(3) == 0;
        schedule(k_issue, 0, next_arrival());
        if (supplier) {
          register_supplier_invoice(out);
        } else {
          issue(out);
        }
        return true;
      }
      case k_invoice: {
        const bool emitted = invoice_step(a.slot, static_cast<step>(a.arg & 0xff), a.arg >> 8, out);
        inv_.drop(a.slot);
        return emitted;
      }
      case k_payment: {
        const bool emitted = payment_step_(a.slot, static_cast<payment_step>(a.arg), out);
        drop_payment(a.slot);
        return emitted;
      }
      case k_settle: return settle(a.slot, out);
      case k_supplier: {
        const bool emitted = supplier_step_(a.slot, static_cast<supplier_step>(a.arg), out);
        sup_.drop(a.slot);
        return emitted;
      }
      case k_run: return payment_run(static_cast<currency>(a.arg), out);
      case k_order: {
        const bool emitted = reject_order(a.slot, out);
        drop_order(a.slot);
        return emitted;
      }
      default: return false;
    }
  }

  // ---- parties ----------------------------------------------------------------

  party customer(std::uint32_t c) {
    const std::uint64_t h = mix64(c ^ key_ ^ 0x637573746f6dull);
    party p;
    const unsigned k = static_cast<unsigned>(h % 100);
    if (k < 70) {
      p.type = "SE_PNR";
      const std::int64_t birth = -10957 + static_cast<std::int64_t>((h >> 8) % 23741);  // 1940-2004
      // The 10-digit form only for births before 2000: its century is then
      // unambiguous for any --start this side of 2040.
      const unsigned form = static_cast<unsigned>((h >> 44) % (birth < 10957 ? 3 : 2));
      p.value = se_pnr(birth, h >> 32, form, (h >> 48) % 33 == 0);
    } else if (k < 90) {
      p.type = "SE_ORGNR";
      p.value = se_orgnr(h >> 8);
      if ((h >> 50) % 12 == 0) p.cur = eur;
    } else if (k < 96) {
      p.type = "NO_FNR";
      p.value = no_fnr(-10957 + static_cast<std::int64_t>((h >> 8) % 23741), h >> 32);
      p.cur = nok;
    } else {
      p.type = "NO_ORGNR";
      p.value = no_orgnr(h >> 8);
      p.cur = (h >> 50) % 3 == 0 ? eur : nok;
    }
    p.name.append(fornamn[(h >> 20) % std::size(fornamn)]);
    p.name.push_back(' ');
    p.name.append(efternamn[(h >> 26) % std::size(efternamn)]);
    if (k >= 70 && (k < 90 || k >= 96)) {
      p.name = std::string(efternamn[(h >> 26) % std::size(efternamn)]);
      p.name.append(bolag[(h >> 32) % std::size(bolag)]);
    }
    return p;
  }

  party supplier(std::uint32_t s) {
    const std::uint64_t h = mix64(s ^ key_ ^ 0x737570706c6965ull);
    party p;
    const unsigned k = static_cast<unsigned>(h % 100);
    if (k < 85) {
      p.type = "SE_ORGNR";
      p.value = se_orgnr(h >> 8);
      if ((h >> 50) % 10 == 0) p.cur = eur;
    } else if (k < 93) {
      p.type = "NO_ORGNR";
      p.value = no_orgnr(h >> 8);
      p.cur = nok;
    } else {
      p.type = "SE_PNR";  // enskild firma
      p.value = se_pnr(-10957 + static_cast<std::int64_t>((h >> 8) % 23741), h >> 32, 0, false);
    }
    return p;
  }

  static void put_party(std::string& out, const party& p) {
    out.append(R"({"type":")");
    out.append(p.type);
    out.append(R"(","value":")");
    out.append(p.value);
    out.append("\"}");
  }

  // ---- ids --------------------------------------------------------------------

  // `<prefix><tag>-<n>` into id_ (the stream is `<stream prefix><id_>`).
  const std::string& make_id(std::string_view prefix, std::uint64_t n) {
    id_.clear();
    id_.append(prefix);
    id_.append(tag_);
    id_.push_back('-');
    put_padded(id_, n, 6);
    return id_;
  }
  void put_id(std::string& out, std::string_view key, std::string_view prefix, std::uint64_t n) {
    out.append(key);
    out.push_back('"');
    out.append(prefix);
    out.append(tag_);
    out.push_back('-');
    put_padded(out, n, 6);
    out.push_back('"');
  }

  std::int64_t today() const { return day_of(now_); }

  // ---- receivables ------------------------------------------------------------

  void schedule_invoice(std::uint32_t slot, step s, std::int64_t at, std::int64_t amount = 0) {
    inv_.hold(slot);
    schedule(k_invoice, slot, at, static_cast<std::int64_t>(s) | (amount << 8));
  }

  void issue(std::string& out) {
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

  // Schedules the invoice's next scripted step, or nothing when its script
  // is done (the item stays as the model left it).
  void advance(std::uint32_t slot) {
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

  bool invoice_step(std::uint32_t slot, step s, std::int64_t amount, std::string& out) {
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

  void receive_payment(std::string& out, std::uint32_t inv_slot, std::int64_t amount, bool unidentified) {
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

  bool payment_step_(std::uint32_t slot, payment_step s, std::string& out) {
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

  bool overpayment(std::uint32_t slot, std::string& out) {
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

  // What is left of a customer's credit balance is paid back.
  bool settle(std::uint32_t c, std::string& out) {
    auto it = balances_.find(c);
    if (it == balances_.end()) return false;
    it->second.settle_pending = false;
    if (it->second.balance <= 0) {
      forget_balance(it);
      return false;
    }
    const party p = customer(c);
    const std::uint64_t n = refund_n_++;
    begin_event(out, "refund-", make_id("RF-", n), "RefundIssued", -1, now_);
    put_id(out, R"({"refundId":)", "RF-", n);
    out.append(R"(,"party":)");
    put_party(out, p);
    out.append(R"(,"currency":")");
    out.append(currency_code[p.cur]);
    out.append(R"(","amountMinor":)");
    put_int(out, it->second.balance);
    out.append("}");
    end_event(out);
    it->second.balance = 0;
    forget_balance(it);
    return true;
  }

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

  void register_supplier_invoice(std::string& out) {
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

  void begin_supplier_event(std::string& out, supplier_invoice& v, std::string_view type) {
    begin_event(out, "supplier-invoice-", make_id("SI-", v.n), type, v.version, now_);
    ++v.version;
    put_id(out, R"({"invoiceId":)", "SI-", v.n);
  }

  bool supplier_step_(std::uint32_t slot, supplier_step s, std::string& out) {
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

  // One payment order of up to 12 due, approved, unblocked items of a currency.
  bool payment_run(currency cur, std::string& out) {
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

  bool reject_order(std::uint32_t o, std::string& out) {
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

  void drop_order(std::uint32_t o) {
    if (orders_[o].refs != 1) {
      orders_.drop(o);
      return;
    }
    const auto lines = std::move(orders_[o].lines);
    orders_.drop(o);
    for (const auto& l : lines) sup_.drop(l.first);
  }

  // ---- anomalies --------------------------------------------------------------

  void anomaly(std::string& out) override {
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

  // An allocation above the item's remaining and the payment's unallocated amount.
  bool over_allocation(std::string& out) {
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

  // A reminder on an item that is deferred, in a plan, in collection or paid.
  bool blocked_reminder(std::string& out) {
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

  // A credit note (or write-off) above the item's remaining amount.
  bool over_credit(std::string& out, bool write_off) {
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

  std::int64_t balance_of(std::uint32_t c) const {
    const auto it = balances_.find(c);
    return it == balances_.end() ? 0 : it->second.balance;
  }

  // A refund above the customer's credit balance (often none at all).
  void over_refund(std::string& out) {
    std::uint32_t c = static_cast<std::uint32_t>(rng_.below(customers_));
    if (!balances_.empty() && rng_.percent(50)) c = balances_.begin()->first;
    const party p = customer(c);
    const std::uint64_t n = refund_n_++;
    begin_event(out, "refund-", make_id("RF-", n), "RefundIssued", -1, now_);
    put_id(out, R"({"refundId":)", "RF-", n);
    out.append(R"(,"party":)");
    put_party(out, p);
    out.append(R"(,"currency":")");
    out.append(currency_code[p.cur]);
    out.append(R"(","amountMinor":)");
    put_int(out, balance_of(c) + rng_.range(100, 100'000));
    out.append("}");
    end_event(out);
  }

  bool over_apply(std::string& out) {
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

  // A payment order naming an unapproved or blocked supplier invoice.
  bool unapproved_payment(std::string& out) {
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

  bool over_supplier_credit(std::string& out) {
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

  // Events naming an entity that never existed, each on its own new stream.
  void unknown_reference(std::string& out) {
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

}  // namespace

std::unique_ptr<scenario::engine> make_reskontra_engine(const options& o) {
  return std::make_unique<reskontra_engine>(o);
}

}  // namespace muninn::gen
