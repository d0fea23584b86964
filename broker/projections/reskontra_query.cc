// The reskontra projection's queries (docs/projections-reskontra.md,
// "Queries"). Answers are built from the state with a fixed key order and
// explicit sorting, so they do not depend on hash-map iteration order and
// are the same after a rebuild or a load.
#include <algorithm>
#include <map>

#include "broker/projections/calendar.h"
#include "broker/projections/identifiers.h"
#include "broker/projections/json_writer.h"
#include "broker/projections/reskontra.h"
#include "broker/projections/reskontra_state.h"
#include "broker/projections/sweden_calendar.h"

namespace muninn::projections {
namespace reskontra_detail {
namespace {

using answer = result<std::string, query_error>;

unexpected<query_error> bad(std::string message) {
  return unexpected{query_error{query_errc::bad_parameter, std::move(message)}};
}

std::string iso(day_number d) { return to_iso_string(civil_from_days(d)); }

day_number last_event_date(const state& s) {
  std::int64_t days = s.last_time / 86'400'000'000;
  if (s.last_time % 86'400'000'000 < 0) --days;
  return static_cast<day_number>(days);
}

// `name` as YYYY-MM-DD; `fallback` when absent and not required.
result<day_number, query_error> date_param(const query_params& p, const char* name,
                                           std::optional<day_number> fallback) {
  const auto it = p.find(name);
  if (it == p.end()) {
    if (fallback) return *fallback;
    return bad(std::string("parameter '") + name + "': is required (YYYY-MM-DD)");
  }
  const auto d = parse_iso_date(it->second);
  if (!d) return bad(std::string("parameter '") + name + "': must be a date YYYY-MM-DD");
  return static_cast<day_number>(days_from_civil(*d));
}

result<std::uint64_t, query_error> uint_param(const query_params& p, const char* name,
                                              std::uint64_t fallback, std::uint64_t min,
                                              std::uint64_t max) {
  const auto it = p.find(name);
  if (it == p.end()) return fallback;
  const auto& t = it->second;
  std::uint64_t v = 0;
  bool ok = !t.empty() && t.size() <= 19;
  for (const char c : t) {
    if (c < '0' || c > '9') ok = false;
    else v = v * 10 + static_cast<std::uint64_t>(c - '0');
  }
  if (!ok || v < min || v > max) {
    return bad(std::string("parameter '") + name + "': must be an integer " + std::to_string(min) +
               "-" + std::to_string(max));
  }
  return v;
}

day_number effective_due(day_number due) {
  return static_cast<day_number>(
      days_from_civil(next_working_day_on_or_after(civil_from_days(due))));
}

day_number effective_due(const receivable& r) {
  return effective_due(r.deferrals > 0 ? r.new_due_date : r.due_date);
}

void currency_sums(json_writer& w, std::string_view key, std::string_view amount_key,
                   const std::map<std::string, money>& sums) {
  w.key(key).begin_array();
  for (const auto& [cur, v] : sums) w.begin_object().field("currency", cur).field(amount_key, v).end_object();
  w.end_array();
}

answer party_query(const state& s, const query_params& p) {
  const auto at = date_param(p, "at", last_event_date(s));
  if (!at) return unexpected{at.error()};
  const auto it = p.find("party");
  if (it == p.end()) return bad("parameter 'party': is required (TYPE:VALUE)");
  const std::string_view text = it->second;
  const auto colon = text.find(':');
  const auto kind = colon == std::string_view::npos ? std::nullopt : parse_id_kind(text.substr(0, colon));
  if (!kind) return bad("parameter 'party': must be TYPE:VALUE with TYPE SE_PNR, SE_ORGNR, NO_FNR or NO_ORGNR");
  const auto norm = normalise_identifier(*kind, text.substr(colon + 1), civil_from_days(*at));
  if (!norm) return bad("parameter 'party': not a valid " + std::string(text.substr(0, colon)));
  const std::string key = std::string(text.substr(0, colon)) + ":" + *norm;
  const party_state* found = s.find_party(key);
  if (found == nullptr) {
    return unexpected{query_error{query_errc::not_found, "party '" + key + "' is not known"}};
  }
  const party_state& party = *found;

  std::vector<const receivable*> rs;
  std::vector<const payable*> ps;
  for (const receivable* r = party.receivables; r != nullptr; r = r->next_of_party) rs.push_back(r);
  for (const payable* x = party.payables; x != nullptr; x = x->next_of_party) ps.push_back(x);
  std::sort(rs.begin(), rs.end(), [](auto* a, auto* b) { return a->id < b->id; });
  std::sort(ps.begin(), ps.end(), [](auto* a, auto* b) { return a->id < b->id; });
  std::map<std::string, money> receivable_sums, credit_sums, payable_sums;
  // No overflow: each sum is a part of a control account's balance.
  for (auto* r : rs) receivable_sums[unpack_currency(r->currency)] += r->remaining;
  for (auto* x : ps) payable_sums[unpack_currency(x->currency)] += x->remaining;
  for (const auto& c : party.credits) credit_sums[unpack_currency(c.currency)] += c.balance;

  json_writer w;
  w.begin_object().field("party", key).field("at", iso(*at));
  currency_sums(w, "receivable", "remainingMinor", receivable_sums);
  currency_sums(w, "creditBalance", "balanceMinor", credit_sums);
  currency_sums(w, "payable", "remainingMinor", payable_sums);
  w.key("items").begin_array();
  for (auto* r : rs) {
    w.begin_object().field("kind", "receivable").field("invoiceId", r->id).field("invoiceNo", r->invoice_no);
    w.field("issueDate", iso(r->issue_date)).field("dueDate", iso(r->due_date));
    w.key("deferredTo");
    if (r->deferrals > 0) w.value(iso(r->new_due_date));
    else w.null();
    w.field("effectiveDueDate", iso(effective_due(*r))).field("currency", unpack_currency(r->currency));
    w.field("amountMinor", r->amount).field("remainingMinor", r->remaining);
    w.field("state", to_string(state_at(*r, *at))).end_object();
  }
  for (auto* x : ps) {
    w.begin_object().field("kind", "payable").field("invoiceId", x->id).field("invoiceNo", x->supplier_invoice_no);
    w.field("issueDate", iso(x->invoice_date)).field("dueDate", iso(x->due_date));
    w.key("deferredTo").null();
    w.field("effectiveDueDate", iso(effective_due(x->due_date))).field("currency", unpack_currency(x->currency));
    w.field("amountMinor", x->amount).field("remainingMinor", x->remaining);
    w.field("state", x->remaining == 0 ? "paid" : "open");
    w.field("approved", x->approved).field("blocked", x->blocked).end_object();
  }
  w.end_array().end_object();
  return w.take();
}

answer trial_balance_query(const state& s) {
  std::vector<const ledger_entry*> es;
  es.reserve(s.ledger.size());
  for (const auto& [k, e] : s.ledger) es.push_back(&e);
  std::sort(es.begin(), es.end(), [](auto* a, auto* b) {
    return a->account != b->account ? a->account < b->account
                                    : unpack_currency(a->currency) < unpack_currency(b->currency);
  });
  struct total {
    money debit = 0, credit = 0;
  };
  std::map<std::string, total> totals;
  json_writer w;
  w.begin_object().key("accounts").begin_array();
  for (auto* e : es) {
    const auto cur = unpack_currency(e->currency);
    w.begin_object().field("account", e->account).field("currency", cur);
    w.field("debitMinor", e->debit).field("creditMinor", e->credit).field("balanceMinor", e->debit - e->credit);
    w.end_object();
    // Per currency Σ debit is bounded by the overflow guard of apply().
    totals[cur].debit += e->debit;
    totals[cur].credit += e->credit;
  }
  w.end_array().key("totals").begin_array();
  for (const auto& [cur, t] : totals) {
    w.begin_object().field("currency", cur).field("debitMinor", t.debit).field("creditMinor", t.credit);
    w.field("balanceMinor", t.debit - t.credit).end_object();
  }
  w.end_array().end_object();
  return w.take();
}

std::string_view to_string(payment_source s) {
  switch (s) {
    case payment_source::bgmax: return "BGMAX";
    case payment_source::camt054: return "CAMT054";
    case payment_source::manual: return "MANUAL";
    case payment_source::autogiro: return "AUTOGIRO";
  }
  return "MANUAL";
}

answer unallocated_query(const state& s) {
  std::vector<const payment*> ps;
  for (const auto& x : s.payments) {
    if (x.remaining > 0) ps.push_back(&x);
  }
  std::sort(ps.begin(), ps.end(), [](auto* a, auto* b) {
    return a->booking_date != b->booking_date ? a->booking_date < b->booking_date : a->id < b->id;
  });
  std::map<std::string, money> sums;
  json_writer w;
  w.begin_object().key("payments").begin_array();
  for (auto* x : ps) {
    const auto cur = unpack_currency(x->currency);
    w.begin_object().field("paymentId", x->id).field("source", to_string(x->source));
    w.field("sourceRef", x->source_ref);
    w.key("ocrRef");
    if (x->has_ocr) w.value(x->ocr_ref);
    else w.null();
    w.key("payerName");
    if (x->has_payer) w.value(x->payer_name);
    else w.null();
    w.field("currency", cur).field("amountMinor", x->amount).field("remainingMinor", x->remaining);
    w.field("bookingDate", iso(x->booking_date)).end_object();
    sums[cur] += x->remaining;
  }
  w.end_array();
  currency_sums(w, "totals", "remainingMinor", sums);
  w.end_object();
  return w.take();
}

answer overdue_query(const state& s, const query_params& p) {
  const auto at = date_param(p, "at", std::nullopt);
  if (!at) return unexpected{at.error()};
  struct row {
    const receivable* r;
    day_number due;
  };
  std::vector<row> rows;
  for (const auto& r : s.receivables) {
    if (r.remaining == 0 || r.active_plans > 0) continue;
    const auto due = effective_due(r);
    if (due < *at) rows.push_back({&r, due});
  }
  std::sort(rows.begin(), rows.end(), [](const row& a, const row& b) {
    return a.due != b.due ? a.due < b.due : a.r->id < b.r->id;
  });
  std::map<std::string, money> sums;
  json_writer w;
  w.begin_object().field("at", iso(*at)).key("items").begin_array();
  for (const auto& [r, due] : rows) {
    const auto cur = unpack_currency(r->currency);
    w.begin_object().field("invoiceId", r->id).field("party", r->party->id).field("invoiceNo", r->invoice_no);
    w.field("dueDate", iso(r->due_date)).field("effectiveDueDate", iso(due)).field("currency", cur);
    w.field("remainingMinor", r->remaining).field("state", to_string(state_at(*r, *at))).end_object();
    sums[cur] += r->remaining;
  }
  w.end_array();
  currency_sums(w, "totals", "remainingMinor", sums);
  w.end_object();
  return w.take();
}

answer anomalies_query(const state& s, const query_params& p) {
  const auto limit = uint_param(p, "limit", 1000, 1, 100000);
  if (!limit) return unexpected{limit.error()};
  const bool has_after = p.contains("after");
  const auto after = uint_param(p, "after", 0, 0, std::numeric_limits<std::int64_t>::max());
  if (!after) return unexpected{after.error()};
  auto it = s.anomalies.begin();
  if (has_after) {
    it = std::upper_bound(s.anomalies.begin(), s.anomalies.end(), *after,
                          [](std::uint64_t off, const anomaly& a) { return off < a.at.offset; });
  }
  json_writer w;
  w.begin_object().field("total", static_cast<std::uint64_t>(s.anomalies.size())).key("anomalies").begin_array();
  std::uint64_t n = 0;
  for (; it != s.anomalies.end() && n < *limit; ++it, ++n) {
    w.begin_object().field("partition", it->at.partition).field("offset", static_cast<std::uint64_t>(it->at.offset));
    w.field("time", it->time).field("type", it->type).field("reason", it->reason).end_object();
  }
  w.end_array().key("next");
  if (it != s.anomalies.end() && n > 0) w.value(static_cast<std::uint64_t>(std::prev(it)->at.offset));
  else w.null();
  w.end_object();
  return w.take();
}

}  // namespace
}  // namespace reskontra_detail

using namespace reskontra_detail;

result<std::string, query_error> reskontra_projection::query(std::string_view what,
                                                             const query_params& params) const {
  const auto& s = *s_;
  if (what == "party") return party_query(s, params);
  if (what == "trial-balance") return trial_balance_query(s);
  if (what == "unallocated") return unallocated_query(s);
  if (what == "overdue") return overdue_query(s, params);
  if (what == "anomalies") return anomalies_query(s, params);
  return unexpected{query_error{query_errc::unknown_query,
                                "unknown query '" + std::string(what) +
                                    "' (party, trial-balance, unallocated, overdue, anomalies)"}};
}

}  // namespace muninn::projections
