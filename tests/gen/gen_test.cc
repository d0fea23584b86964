// The scenario generator (bench/gen): every line passes event_from_json and
// produce-time validation, expected_version follows each stream, output is
// byte-identical for a seed, and an independent model of each domain's
// rules finds honest lines legal and every injected anomaly illegal.
#include <catch2/catch.hpp>
#include <flatbuffers/flexbuffers.h>

#include <map>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "bench/gen/engine.h"
#include "bench/gen/generator.h"
#include "broker/projections/calendar.h"
#include "broker/validation/validate.h"
#include "codec/json.h"

using namespace muninn;

namespace {

gen::options opts(gen::domain d, std::uint64_t seed, std::uint64_t count, double anomalies = 0.02) {
  gen::options o;
  o.kind = d;
  o.seed = seed;
  o.count = count;
  o.anomalies = anomalies;
  return o;
}

flexbuffers::Map data_of(const codec::owned_event& e) {
  return flexbuffers::GetRoot(reinterpret_cast<const std::uint8_t*>(e.data.data()), e.data.size()).AsMap();
}

std::string str(const flexbuffers::Map& m, const char* key) { return m[key].AsString().str(); }

// What every line of either domain must satisfy.
struct envelope_checker {
  validation::schema schema;
  std::unordered_map<std::string, std::int64_t> versions;  // stream -> last version
  std::unordered_set<std::string> ids;
  std::int64_t last_time = 0;

  codec::owned_event check(const std::string& line) {
    INFO(line);
    auto parsed = codec::event_from_json(line);
    if (!parsed) FAIL("event_from_json: " << parsed.error().message);
    codec::owned_event e = std::move(parsed).value();
    const auto v = validation::validate_event(schema, e.view(), 0);
    if (v) FAIL("validate_event: " << v->message());
    REQUIRE(e.id.has_value());
    REQUIRE(ids.insert(e.id->to_string()).second);
    REQUIRE(e.time >= last_time);
    last_time = e.time;
    const auto it = versions.find(e.stream);
    if (it == versions.end()) {
      REQUIRE(e.expected_version == -1);
      versions.emplace(e.stream, 0);
    } else {
      REQUIRE(e.expected_version == it->second);
      ++it->second;
    }
    return e;
  }
};

// ---- dispatch: the transitions of domain.md ---------------------------------

bool dispatch_terminal(const std::string& s) {
  return s == "AVVIST" || s == "PRINTET" || s == "MANUELT_HANDTERT" || s == "IKKE_LEVERT" || s == "SLETTET";
}

bool dispatch_legal(const std::string& from, const std::string& to) {
  static const std::map<std::string, std::set<std::string>> next = {
      {"MOTTATT", {"AKSEPTERT", "AVVIST"}},
      {"AKSEPTERT", {"VARSLET", "KLAR_FOR_MOTTAK", "SENDT_SDP", "SENDT_PRINT"}},
      {"VARSLET", {"LEST", "SENDT_PRINT", "SENDT_DIGITALT", "MANUELT_HANDTERT"}},
      {"KLAR_FOR_MOTTAK", {"LEST"}},
      {"SENDT_SDP", {"LEVERT_SDP", "IKKE_LEVERT"}},
      {"SENDT_DIGITALT", {"LEST", "IKKE_LEVERT"}},
      {"LEVERT_SDP", {"LEST"}},
      {"SENDT_PRINT", {"PRINTET", "MANUELT_HANDTERT", "LEST"}}};
  if (to == "SLETTET") return !dispatch_terminal(from);
  const auto it = next.find(from);
  return it != next.end() && it->second.count(to) != 0;
}

// The forsendelse's status after the event, or "" when the event is an anomaly.
// Also: a letter is read before its print deadline, and sent to print (or
// again digitally) only after it.
struct dispatch_model {
  std::unordered_map<std::string, std::string> status;
  std::unordered_map<std::string, std::int64_t> varslet;  // seconds
  std::map<std::string, int> seen;

  bool apply(const codec::owned_event& e) {
    const auto m = data_of(e);
    const std::string id = str(m, "forsendelseId");
    const auto it = status.find(id);
    std::string to;
    if (e.type == "ForsendelseMottatt") {
      if (it != status.end()) return false;
      status[id] = "MOTTATT";
      ++seen["MOTTATT"];
      return true;
    }
    to = e.type == "PrintKvittering" ? "PRINTET" : str(m, "status");
    if (it == status.end() || !dispatch_legal(it->second, to)) return false;
    const std::int64_t t = e.time / 1'000'000;
    if (to == "VARSLET") varslet[id] = t;
    if (it->second == "VARSLET") {
      const std::int64_t due = gen::detail::norway_due(varslet[id], 40);
      INFO("VARSLET at " << varslet[id] << ", due " << due << ", now " << t);
      if (to == "LEST") CHECK(t < due);
      if (to == "SENDT_PRINT" || to == "SENDT_DIGITALT") CHECK(t >= due);
    }
    it->second = to;
    ++seen[to];
    return true;
  }
};

// ---- reskontra: the invariants of domain.md ---------------------------------

struct reskontra_model {
  struct item {
    std::int64_t remaining = 0;
    std::string currency;
    std::int64_t deferred_until = 0;  // days; 0 none
    int plans = 0;
    bool collection = false;
  };
  struct pay {
    std::int64_t unallocated = 0;
    std::string currency;
  };
  struct alloc {
    std::string payment;
    std::vector<std::pair<std::string, std::int64_t>> lines;
    bool reversed = false;
  };
  struct supplier_item {
    std::int64_t remaining = 0;
    bool approved = false, blocked = false;
  };
  struct order {
    std::vector<std::pair<std::string, std::int64_t>> lines;
    bool rejected = false;
  };
  std::unordered_map<std::string, item> items;
  std::unordered_map<std::string, pay> payments;
  std::unordered_map<std::string, alloc> allocations;
  std::unordered_map<std::string, std::int64_t> balances;  // party value + currency
  std::unordered_map<std::string, std::pair<std::vector<std::string>, bool>> plans;  // invoices, active
  std::unordered_map<std::string, supplier_item> supplier_items;
  std::unordered_map<std::string, order> orders;
  std::unordered_set<std::string> refunds;
  std::map<std::string, int> seen;

  static std::string party_key(const flexbuffers::Map& m, const std::string& currency) {
    return m["party"].AsMap()["value"].AsString().str() + "/" + currency;
  }

  // True when the event is legal (and applied); false for an anomaly.
  bool apply(const codec::owned_event& e) {
    const auto m = data_of(e);
    const std::string& t = e.type;
    const std::int64_t today = projections::days_from_civil(projections::civil_from_micros(e.time));
    ++seen[t];
    auto amount = [&m] { return m["amountMinor"].AsInt64(); };
    if (t == "CustomerInvoiceIssued") {
      auto [it, fresh] = items.try_emplace(str(m, "invoiceId"));
      if (!fresh) return false;
      it->second.remaining = amount();
      it->second.currency = str(m, "currency");
      return true;
    }
    if (t == "PaymentReceived") {
      auto [it, fresh] = payments.try_emplace(str(m, "paymentId"));
      if (!fresh) return false;
      it->second = {amount(), str(m, "currency")};
      return true;
    }
    if (t == "SupplierInvoiceRegistered") {
      auto [it, fresh] = supplier_items.try_emplace(str(m, "invoiceId"));
      if (!fresh) return false;
      it->second.remaining = amount();
      return true;
    }
    if (t == "RefundIssued") {
      if (!refunds.insert(str(m, "refundId")).second) return false;
      auto& b = balances[party_key(m, str(m, "currency"))];
      if (amount() > b) return false;
      b -= amount();
      return true;
    }
    if (t == "PaymentPlanAgreed") {
      const std::string id = str(m, "planId");
      if (plans.count(id)) return false;
      std::vector<std::string> ids;
      const auto v = m["invoiceIds"].AsVector();
      for (std::size_t i = 0; i < v.size(); ++i) {
        ids.push_back(v[i].AsString().str());
        if (!items.count(ids.back())) return false;
      }
      for (const auto& i : ids) ++items[i].plans;
      plans[id] = {ids, true};
      return true;
    }
    if (t == "PaymentPlanBroken" || t == "PaymentPlanCompleted") {
      const auto it = plans.find(str(m, "planId"));
      if (it == plans.end() || !it->second.second) return false;
      it->second.second = false;
      for (const auto& i : it->second.first) --items[i].plans;
      return true;
    }
    if (t == "PaymentAllocated") {
      const auto p = payments.find(str(m, "paymentId"));
      if (p == payments.end()) return false;
      const auto lines = m["lines"].AsVector();
      alloc a{p->first, {}, false};
      std::int64_t total = 0;
      for (std::size_t i = 0; i < lines.size(); ++i) {
        const auto l = lines[i].AsMap();
        const auto it = items.find(str(l, "invoiceId"));
        const std::int64_t x = l["amountMinor"].AsInt64();
        if (it == items.end() || it->second.currency != p->second.currency || x > it->second.remaining) return false;
        a.lines.emplace_back(it->first, x);
        total += x;
      }
      if (total > p->second.unallocated) return false;
      if (!allocations.emplace(str(m, "allocationId"), a).second) return false;
      for (const auto& [inv, x] : a.lines) items[inv].remaining -= x;
      p->second.unallocated -= total;
      return true;
    }
    if (t == "AllocationReversed") {
      const auto it = allocations.find(str(m, "allocationId"));
      if (it == allocations.end() || it->second.reversed || e.stream != "payment-" + it->second.payment) return false;
      it->second.reversed = true;
      for (const auto& [inv, x] : it->second.lines) {
        items[inv].remaining += x;
        payments[it->second.payment].unallocated += x;
      }
      return true;
    }
    if (t == "OverpaymentRecorded") {
      const auto p = payments.find(str(m, "paymentId"));
      if (p == payments.end() || amount() > p->second.unallocated) return false;
      p->second.unallocated -= amount();
      balances[party_key(m, p->second.currency)] += amount();
      return true;
    }
    if (t.rfind("Supplier", 0) == 0 || t == "PaymentBlocked" || t == "PaymentUnblocked") {
      if (t == "SupplierPaymentSent") {
        const std::string id = str(m, "paymentOrderId");
        if (orders.count(id)) return false;
        order o;
        const auto lines = m["lines"].AsVector();
        for (std::size_t i = 0; i < lines.size(); ++i) {
          const auto l = lines[i].AsMap();
          const auto it = supplier_items.find(str(l, "invoiceId"));
          const std::int64_t x = l["amountMinor"].AsInt64();
          if (it == supplier_items.end() || !it->second.approved || it->second.blocked || x > it->second.remaining) {
            return false;
          }
          o.lines.emplace_back(it->first, x);
        }
        for (const auto& [inv, x] : o.lines) supplier_items[inv].remaining -= x;
        orders[id] = o;
        return true;
      }
      if (t == "SupplierPaymentRejected") {
        const auto it = orders.find(str(m, "paymentOrderId"));
        if (it == orders.end() || it->second.rejected) return false;
        it->second.rejected = true;
        for (const auto& [inv, x] : it->second.lines) supplier_items[inv].remaining += x;
        return true;
      }
      const auto it = supplier_items.find(str(m, "invoiceId"));
      if (it == supplier_items.end()) return false;
      if (t == "SupplierInvoiceApproved") it->second.approved = true;
      if (t == "PaymentBlocked") it->second.blocked = true;
      if (t == "PaymentUnblocked") it->second.blocked = false;
      if (t == "SupplierCreditInvoiceRegistered") {
        if (amount() > it->second.remaining) return false;
        it->second.remaining -= amount();
      }
      return true;
    }
    // The rest name a customer invoice.
    const auto it = items.find(str(m, "invoiceId"));
    if (it == items.end()) return false;
    item& v = it->second;
    if (t == "CreditNoteIssued" || t == "WriteOffRecorded") {
      if (amount() > v.remaining) return false;
      v.remaining -= amount();
    } else if (t == "ReminderSent") {
      const bool deferred = v.deferred_until != 0 && today < v.deferred_until;
      if (v.remaining == 0 || v.collection || v.plans > 0 || deferred) return false;
      v.remaining += m["feeMinor"].AsInt64();
    } else if (t == "CreditBalanceApplied") {
      auto& b = balances[party_key(m, v.currency)];
      if (amount() > b || amount() > v.remaining) return false;
      b -= amount();
      v.remaining -= amount();
    } else if (t == "DeferralGranted") {
      v.deferred_until = projections::days_from_civil(*projections::parse_iso_date(str(m, "newDueDate")));
    } else if (t == "SentToCollection") {
      v.collection = true;
    } else {
      FAIL("unexpected event type " << t);
    }
    return true;
  }
};

template <class Model>
void run_scenario(const gen::options& o, validation::schema schema, Model& model) {
  gen::scenario s(o);
  envelope_checker env{schema, {}, {}, 0};
  std::string line;
  std::uint64_t n = 0;
  while (s.next_line(line)) {
    ++n;
    const auto e = env.check(line);
    const bool legal = model.apply(e);
    INFO(line);
    if (s.last_was_anomaly()) {
      CHECK_FALSE(legal);
    } else {
      CHECK(legal);
    }
  }
  CHECK(n == o.count);
  CHECK(s.produced() == o.count);
}

}  // namespace

TEST_CASE("gen: dispatch lines validate, follow their streams and make only legal transitions",
          "[gen][dispatch]") {
  for (const std::uint64_t seed : {1ull, 2ull, 77ull, 123456789ull}) {
    dispatch_model model;
    run_scenario(opts(gen::domain::dispatch, seed, 20'000), validation::schema::dispatch, model);
    // The mix reaches every status.
    for (const char* st : {"MOTTATT", "AKSEPTERT", "AVVIST", "VARSLET", "KLAR_FOR_MOTTAK", "LEST",
                           "SENDT_DIGITALT", "SENDT_PRINT", "PRINTET", "SENDT_SDP", "LEVERT_SDP",
                           "IKKE_LEVERT", "MANUELT_HANDTERT", "SLETTET"}) {
      INFO("seed " << seed << " status " << st);
      CHECK(model.seen[st] > 0);
    }
  }
}

TEST_CASE("gen: reskontra lines validate, follow their streams and keep every invariant",
          "[gen][reskontra]") {
  for (const std::uint64_t seed : {1ull, 2ull, 77ull, 123456789ull}) {
    reskontra_model model;
    run_scenario(opts(gen::domain::reskontra, seed, 20'000), validation::schema::reskontra, model);
    for (const char* t :
         {"CustomerInvoiceIssued", "CreditNoteIssued", "ReminderSent", "PaymentReceived",
          "PaymentAllocated", "AllocationReversed", "OverpaymentRecorded", "CreditBalanceApplied",
          "RefundIssued", "WriteOffRecorded", "DeferralGranted", "PaymentPlanAgreed",
          "PaymentPlanBroken", "PaymentPlanCompleted", "SentToCollection", "SupplierInvoiceRegistered",
          "SupplierInvoiceApproved", "SupplierCreditInvoiceRegistered", "PaymentBlocked",
          "PaymentUnblocked", "SupplierPaymentSent", "SupplierPaymentRejected"}) {
      INFO("seed " << seed << " type " << t);
      CHECK(model.seen[t] > 0);
    }
  }
}

TEST_CASE("gen: the same options give byte-identical output and another seed does not",
          "[gen][determinism]") {
  for (const auto d : {gen::domain::dispatch, gen::domain::reskontra}) {
    auto all = [d](std::uint64_t seed) {
      gen::scenario s(opts(d, seed, 20'000));
      std::string out, line;
      while (s.next_line(line)) {
        out += line;
        out += '\n';
      }
      return out;
    };
    const std::string a = all(42);
    CHECK(a == all(42));
    CHECK(a != all(43));
  }
}

TEST_CASE("gen: the anomaly share follows --anomalies", "[gen][anomalies]") {
  for (const auto d : {gen::domain::dispatch, gen::domain::reskontra}) {
    for (const double f : {0.0, 0.05, 0.3}) {
      gen::scenario s(opts(d, 9, 20'000, f));
      std::string line;
      while (s.next_line(line)) {
      }
      const double share = static_cast<double>(s.anomalies_produced()) / 20'000.0;
      INFO(gen::to_string(d) << " fraction " << f << " share " << share);
      CHECK(share >= f * 0.85);
      CHECK(share <= f * 1.15);
    }
  }
}

TEST_CASE("gen: all anomalies still validate and keep stream versions", "[gen][anomalies]") {
  dispatch_model dm;
  run_scenario(opts(gen::domain::dispatch, 5, 5'000, 1.0), validation::schema::dispatch, dm);
  reskontra_model rm;
  run_scenario(opts(gen::domain::reskontra, 5, 5'000, 1.0), validation::schema::reskontra, rm);
}

TEST_CASE("gen: --start moves the calendar and business time spans the scenario days", "[gen][calendar]") {
  auto span = [](gen::domain d, projections::civil_date start) {
    gen::options o = opts(d, 3, 20'000);
    o.start = start;
    gen::scenario s(o);
    std::string line;
    std::int64_t first = 0, last = 0;
    while (s.next_line(line)) {
      const auto e = codec::event_from_json(line).value();
      if (first == 0) first = e.time;
      last = e.time;
    }
    return std::pair{projections::civil_from_micros(first), projections::civil_from_micros(last)};
  };
  const auto [d0, d1] = span(gen::domain::dispatch, {2026, 12, 1});
  CHECK(d0 >= projections::civil_date{2026, 12, 1});
  CHECK(d0 <= projections::civil_date{2026, 12, 3});
  CHECK(d1 >= projections::civil_date{2027, 1, 25});  // over Christmas into February
  const auto [r0, r1] = span(gen::domain::reskontra, {2026, 1, 1});
  CHECK(r0 <= projections::civil_date{2026, 1, 8});
  CHECK(r1 >= projections::civil_date{2026, 11, 1});
}

TEST_CASE("gen: the print deadline counts 40 Norwegian working hours", "[gen][calendar]") {
  auto utc = [](int y, unsigned m, unsigned d, int h) {
    return projections::days_from_civil({y, static_cast<std::uint8_t>(m), static_cast<std::uint8_t>(d)}) * 86400 +
           h * 3600;
  };
  // domain.md: VARSLET Friday 10:00 local, due Tuesday 02:00 local (summer: UTC+2).
  CHECK(gen::detail::norway_due(utc(2026, 6, 12, 8), 40) == utc(2026, 6, 16, 0));
  // Winter time (UTC+1): Friday 10:00 local -> Tuesday 02:00 local = 01:00 UTC.
  CHECK(gen::detail::norway_due(utc(2026, 11, 20, 9), 40) == utc(2026, 11, 24, 1));
  // Easter 2026 (5 April): Wednesday 1 April 10:00 local has 14 h; Thursday
  // to Monday are holidays or weekend; Tuesday 24 h; due Wednesday 8 April 02:00 local.
  CHECK(gen::detail::norway_due(utc(2026, 4, 1, 8), 40) == utc(2026, 4, 8, 0));
  // Saturday 16 May: the weekend and 17 May (a Sunday) count nothing, Monday
  // 18 May 24 h, Tuesday 16 h.
  CHECK(gen::detail::norway_due(utc(2026, 5, 16, 12), 40) == utc(2026, 5, 19, 14));
  // Christmas: Thursday 24 December 12:00 local (a working day) has 12 h;
  // 25-27 December count nothing; Monday 28 December 24 h; Tuesday 4 h.
  CHECK(gen::detail::norway_due(utc(2026, 12, 24, 11), 40) == utc(2026, 12, 29, 3));
  CHECK_FALSE(gen::detail::norway_working_day(projections::days_from_civil({2026, 5, 14})));  // Ascension
  CHECK_FALSE(gen::detail::norway_working_day(projections::days_from_civil({2026, 5, 25})));  // Whit Monday
  CHECK(gen::detail::norway_working_day(projections::days_from_civil({2026, 5, 26})));
}

TEST_CASE("gen: options out of range are refused", "[gen]") {
  gen::options o = opts(gen::domain::dispatch, 1, 10);
  o.anomalies = 1.5;
  CHECK(gen::check_options(o).has_value());
  CHECK_THROWS_AS(gen::scenario(o), std::invalid_argument);
  o.anomalies = 0.1;
  o.start = projections::civil_date{2026, 2, 30};
  CHECK(gen::check_options(o).has_value());
  o.start.reset();
  CHECK_FALSE(gen::check_options(o).has_value());
  CHECK(gen::domain_from_string("reskontra") == gen::domain::reskontra);
  CHECK_FALSE(gen::domain_from_string("ledger").has_value());
}
