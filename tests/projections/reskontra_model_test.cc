// The reskontra projection over generated event streams: records round trip,
// invariants hold after every event, increments equal a rebuild, hostile
// data never crashes; plus the [.bench] cost and fingerprint cases.
#include <catch2/catch.hpp>

#include "tests/projections/reskontra_test_util.h"

using namespace reskontra_test;

namespace {

// A generator of random, often valid, sometimes hostile reskontra events.
struct generator {
  std::mt19937_64 rng;
  std::vector<std::string> invoices, payments, allocations, suppliers, orders, plans;
  int next = 0;
  std::int64_t day = mp::days_from_civil({2025, 1, 1});

  explicit generator(std::uint64_t seed) : rng(seed) {}

  std::uint64_t pick(std::uint64_t n) { return rng() % n; }
  template <class V>
  std::string any(const V& v, const char* fallback) {
    if (v.empty() || pick(20) == 0) return fallback;
    return v[pick(v.size())];
  }
  std::int64_t amount() {
    switch (pick(10)) {
      case 0: return std::numeric_limits<std::int64_t>::max() - static_cast<std::int64_t>(pick(3));
      case 1: return static_cast<std::int64_t>(pick(3));  // 0 is refused
      default: return 1 + static_cast<std::int64_t>(pick(20000));
    }
  }
  std::string cur() { return pick(6) == 0 ? "EUR" : "SEK"; }
  std::string party() { return pick(3) == 0 ? orgnr : pnr; }
  std::string date(int spread = 90) {
    return mp::to_iso_string(mp::civil_from_days(day + static_cast<std::int64_t>(pick(static_cast<std::uint64_t>(spread)))));
  }
  std::string fresh(const char* prefix) { return prefix + std::to_string(next++); }
  std::vector<std::pair<std::string, std::int64_t>> lines(const std::vector<std::string>& from) {
    std::vector<std::pair<std::string, std::int64_t>> out;
    const auto n = 1 + pick(3);
    for (std::uint64_t i = 0; i < n; ++i) out.emplace_back(any(from, "ghost"), amount() % 8000 + (pick(8) == 0 ? 1 : 0));
    return out;
  }

  // type, stream, json
  std::tuple<std::string, std::string, std::string> event() {
    if (pick(4) == 0) ++day;
    const auto a = std::to_string(amount());
    switch (pick(23)) {
      case 0: {
        const auto id = pick(10) == 0 ? any(invoices, "i") : fresh("i");
        invoices.push_back(id);
        const auto amt = amount();
        return {"CustomerInvoiceIssued", inv_stream(id), invoice(id, amt, pick(2) ? 0 : amt / 5, date(), cur(), party())};
      }
      case 1: return {"CreditNoteIssued", "invoice-x", R"({"creditNoteId":")" + fresh("c") + R"(","invoiceId":")" + any(invoices, "x") + R"(","amountMinor":)" + a + R"(,"reason":"r"})"};
      case 2: return {"ReminderSent", "invoice-x", R"({"invoiceId":")" + any(invoices, "x") + R"(","level":1,"feeMinor":)" + std::to_string(pick(3) * 3000) + "}"};
      case 3: {
        const auto id = fresh("p");
        payments.push_back(id);
        return {"PaymentReceived", pay_stream(id), payment(id, amount(), cur())};
      }
      case 4:
      case 5: {
        const auto id = fresh("a");
        allocations.push_back(id);
        return {"PaymentAllocated", "payment-x", allocation(id, any(payments, "x"), lines(invoices))};
      }
      case 6: {
        // The right stream most of the time.
        const auto id = any(allocations, "a");
        return {"AllocationReversed", pick(5) == 0 ? "payment-zz" : "", R"({"allocationId":")" + id + R"(","reason":"r"})"};
      }
      case 7: return {"OverpaymentRecorded", "payment-x", R"({"paymentId":")" + any(payments, "x") + R"(","party":)" + party() + R"(,"amountMinor":)" + std::to_string(amount() % 5000 + 1) + "}"};
      case 8: return {"CreditBalanceApplied", "invoice-x", R"({"party":)" + party() + R"(,"invoiceId":")" + any(invoices, "x") + R"(","amountMinor":)" + std::to_string(amount() % 3000 + 1) + "}"};
      case 9: return {"RefundIssued", "refund-x", R"({"refundId":")" + fresh("r") + R"(","party":)" + party() + R"(,"currency":")" + cur() + R"(","amountMinor":)" + std::to_string(amount() % 3000 + 1) + "}"};
      case 10: return {"WriteOffRecorded", "invoice-x", R"({"invoiceId":")" + any(invoices, "x") + R"(","amountMinor":)" + a + "}"};
      case 11: return {"DeferralGranted", "invoice-x", R"({"invoiceId":")" + any(invoices, "x") + R"(","newDueDate":")" + date(60) + R"("})"};
      case 12: {
        const auto id = fresh("n");
        plans.push_back(id);
        return {"PaymentPlanAgreed", "plan-x", R"({"planId":")" + id + R"(","invoiceIds":[")" + any(invoices, "x") + R"("],"installments":[{"dueDate":")" + date() + R"(","amountMinor":100}]})"};
      }
      case 13: return {pick(2) ? "PaymentPlanBroken" : "PaymentPlanCompleted", "plan-x", R"({"planId":")" + any(plans, "x") + R"("})"};
      case 14: return {"SentToCollection", "invoice-x", R"({"invoiceId":")" + any(invoices, "x") + R"(","agency":"Intrum"})"};
      case 15: {
        const auto id = fresh("s");
        suppliers.push_back(id);
        const auto amt = amount();
        return {"SupplierInvoiceRegistered", sup_stream(id), supplier_invoice(id, amt, pick(2) ? 0 : amt / 5, cur())};
      }
      case 16:
      case 17: return {"SupplierInvoiceApproved", "supplier-invoice-x", R"({"invoiceId":")" + any(suppliers, "x") + R"(","approver":"a"})"};
      case 18: return {"SupplierCreditInvoiceRegistered", "supplier-invoice-x", R"({"creditId":")" + fresh("k") + R"(","invoiceId":")" + any(suppliers, "x") + R"(","amountMinor":)" + a + "}"};
      case 19: return {pick(2) ? "PaymentBlocked" : "PaymentUnblocked", "supplier-invoice-x", R"({"invoiceId":")" + any(suppliers, "x") + R"(","reason":"r"})"};
      case 20: {
        const auto id = fresh("o");
        orders.push_back(id);
        return {"SupplierPaymentSent", "payment-order-x", order(id, lines(suppliers))};
      }
      case 21: return {"SupplierPaymentRejected", "payment-order-x", R"({"paymentOrderId":")" + any(orders, "x") + R"(","reasonCode":"AC04"})"};
      default: return {"Mystery", "x", R"({"invoiceId":1})"};
    }
  }
};

std::map<std::string, std::string> apply_changes(std::map<std::string, std::string>& store,
                                                 mp::projection& p) {
  mp::record_changes changes;
  p.take_changes(changes);
  for (std::size_t i = 1; i < changes.size(); ++i) REQUIRE(changes[i - 1].key < changes[i].key);
  for (const auto c : changes) {
    if (c.value) store[std::string(c.key)] = *c.value;
    else store.erase(std::string(c.key));
  }
  return store;
}

std::vector<std::string> all_answers(const mp::projection& p, const std::vector<std::string>& parties) {
  std::vector<std::string> out;
  for (const auto& what : {"trial-balance", "unallocated", "anomalies"}) out.push_back(p.query(what, {}).value());
  for (const auto& at : {"2025-02-01", "2025-06-01", "2026-01-01"}) {
    out.push_back(p.query("overdue", {{"at", at}}).value());
    for (const auto& party : parties) {
      auto r = p.query("party", {{"party", party}, {"at", at}});
      out.push_back(r ? r.value() : r.error().message);
    }
  }
  for (const auto& party : parties) {
    auto r = p.query("party", {{"party", party}});
    out.push_back(r ? r.value() : r.error().message);
  }
  return out;
}

const std::vector<std::string> test_parties{"SE_PNR:19121212-1212", "SE_ORGNR:212000-0142"};

}  // namespace

TEST_CASE("reskontra: records round-trip through take_changes and load", "[reskontra]") {
  harness h;
  generator g(7);
  std::map<std::string, std::string> store;
  for (int i = 0; i < 600; ++i) {
    auto [type, stream, json] = g.event();
    if (type == "AllocationReversed" && stream.empty()) stream = "payment-x";
    (void)h.ev(type, stream, json);
    if (i % 37 == 0) apply_changes(store, h.p);
  }
  apply_changes(store, h.p);
  // The incremental store holds exactly the records for_each_record lists.
  std::map<std::string, std::string> full;
  h.p.for_each_record([&full](std::string_view k, std::string_view v) { full.emplace(k, v); });
  CHECK(store == full);

  mp::reskontra_projection fresh;
  for (const auto& [k, v] : store) REQUIRE(fresh.load(k, v));
  fresh.finish_load();
  CHECK(digest_hex(fresh) == digest_hex(h.p));
  CHECK(all_answers(fresh, test_parties) == all_answers(h.p, test_parties));
  CHECK_FALSE(fresh.check_invariants());
  // Nothing is dirty right after a load.
  mp::record_changes none;
  fresh.take_changes(none);
  CHECK(none.empty());

  // Applying the same next event to both keeps them equal.
  harness more;
  const auto [type, stream, json] = std::tuple<std::string, std::string, std::string>{
      "CustomerInvoiceIssued", "invoice-late", invoice("late", 5, 1, "2025-12-01")};
  logged l{type, stream, std::string(muninn::codec::content_type_json), bytes_of(json), micros_at("2025-09-01"),
           {0, 100000}};
  mp::data_reader r;
  feed(fresh, r, l);
  feed(h.p, r, l);
  CHECK(digest_hex(fresh) == digest_hex(h.p));

  // A damaged record is refused rather than half read.
  mp::reskontra_projection bad;
  const auto& [k0, v0] = *store.begin();
  CHECK_FALSE(bad.load(k0, v0.substr(0, v0.size() - 1)));
  CHECK_FALSE(bad.load("q/what", "x"));
  CHECK_FALSE(bad.load("i/x", std::string("\x02", 1)));
}

TEST_CASE("reskontra: random events keep every invariant, and increments equal a rebuild", "[reskontra]") {
  for (const std::uint64_t seed : {1u, 2u, 3u}) {
    harness h;
    generator g(seed);
    std::map<std::string, std::string> store;
    for (int i = 0; i < 3000; ++i) {
      auto [type, stream, json] = g.event();
      if (type == "AllocationReversed" && stream.empty()) {
        // The stream of the allocation's payment, found through the log.
        stream = "payment-x";
        for (const auto& l : h.log) {
          if (l.type == "PaymentAllocated" &&
              std::string_view(reinterpret_cast<const char*>(l.data.data()), l.data.size())
                      .find(json.substr(16, json.find('"', 17) - 16)) != std::string_view::npos) {
            const std::string d(reinterpret_cast<const char*>(l.data.data()), l.data.size());
            const auto at = d.find("\"paymentId\":\"") + 13;
            stream = "payment-" + d.substr(at, d.find('"', at) - at);
            break;
          }
        }
      }
      h.on(mp::to_iso_string(mp::civil_from_days(g.day)));
      (void)h.ev(type, stream, json);
      if (i % 101 == 0) apply_changes(store, h.p);
    }
    apply_changes(store, h.p);
    INFO("seed " << seed << ", anomalies " << h.p.anomaly_count());
    CHECK(h.p.anomaly_count() < h.log.size());
    CHECK(h.p.anomaly_count() > 0);

    mp::reskontra_projection rebuilt;
    mp::data_reader r;
    for (const auto& l : h.log) feed(rebuilt, r, l);
    CHECK(digest_hex(rebuilt) == digest_hex(h.p));

    mp::reskontra_projection loaded;
    for (const auto& [k, v] : store) REQUIRE(loaded.load(k, v));
    loaded.finish_load();
    CHECK(digest_hex(loaded) == digest_hex(h.p));
    CHECK(all_answers(loaded, test_parties) == all_answers(h.p, test_parties));
  }
}

TEST_CASE("reskontra: events prepared ahead, as a replay does, apply exactly as one by one", "[reskontra]") {
  // A replay's reader thread prepares a whole chunk before the applying
  // thread applies any of it, so prepare() must not depend on the state:
  // the records, every take_changes() and every anomaly must be apply()'s.
  std::mt19937_64 rng(5);
  generator g(11);
  std::vector<logged> log;
  for (int i = 0; i < 6000; ++i) {
    auto [type, stream, json] = g.event();
    if (stream.empty()) stream = "payment-" + std::string(g.any(g.payments, "x"));
    auto fb = muninn::codec::json_data_to_flexbuffer(bytes_of(json));
    REQUIRE(fb);
    auto data = fb.value();
    // Some malformed data: refused by the verifier or read as other fields.
    if (rng() % 25 == 0) data[rng() % data.size()] = static_cast<std::byte>(rng());
    const auto time = (g.day * 86400 + static_cast<std::int64_t>(rng() % 86400)) * 1'000'000;
    log.push_back({type, stream, std::string(muninn::codec::content_type_flexbuffers), std::move(data), time,
                   {0, static_cast<std::uint64_t>(i)}});
  }
  std::vector<mp::event_view> views;
  mp::data_reader reader;
  for (const auto& l : log) {
    mp::event_view e;
    e.at = l.at;
    e.time = l.time;
    e.stream = l.stream;
    e.type = l.type;
    if (const auto root = reader.read(l.content_type, l.data)) {
      REQUIRE(reader.copied().empty());  // read in place: the view outlives the next read
      e.data = *root;
      e.data_ok = true;
    }
    views.push_back(e);
  }

  mp::reskontra_projection one, ahead;
  const std::size_t words = (ahead.prepared_size() + 7) / 8;
  REQUIRE(words > 0);
  std::vector<std::uint64_t> prepared;
  mp::record_changes changes_one, changes_ahead;
  auto records = [](const mp::record_changes& c) {
    std::vector<std::pair<std::string, std::string>> out;
    for (const auto r : c) out.emplace_back(std::string(r.key), r.value ? std::string(*r.value) : "(erased)");
    return out;
  };
  for (std::size_t from = 0; from < views.size();) {
    const std::size_t n = std::min<std::size_t>(views.size() - from, 1 + rng() % 700);
    prepared.assign(n * words, 0xA5A5A5A5A5A5A5A5ull);  // prepare() must not rely on zeros
    auto slot = [&](std::size_t i) {
      return std::as_writable_bytes(std::span<std::uint64_t>(prepared.data() + i * words, words))
          .first(ahead.prepared_size());
    };
    for (std::size_t i = 0; i < n; ++i) ahead.prepare(views[from + i], slot(i));
    for (std::size_t i = 0; i < n; ++i) {
      one.apply(views[from + i]);
      ahead.apply_prepared(views[from + i], slot(i));
    }
    from += n;
    changes_one.clear();
    changes_ahead.clear();
    one.take_changes(changes_one);
    ahead.take_changes(changes_ahead);
    REQUIRE(records(changes_one) == records(changes_ahead));
  }
  INFO("anomalies " << one.anomaly_count());
  CHECK(one.anomaly_count() > 100);
  CHECK(one.anomaly_count() < views.size() * 3 / 4);  // most refused: the generator aims at edges
  CHECK(digest_hex(one) == digest_hex(ahead));
  CHECK_FALSE(ahead.check_invariants());
  CHECK(all_answers(one, test_parties) == all_answers(ahead, test_parties));
  CHECK(one.query("anomalies", {{"limit", "100000"}}).value() == ahead.query("anomalies", {{"limit", "100000"}}).value());
}

TEST_CASE("reskontra: hostile data never crashes", "[reskontra]") {
  harness h;
  REQUIRE(h.ev("CustomerInvoiceIssued", "invoice-i1", invoice("i1", 100, 0, "2025-03-31")));
  REQUIRE(h.ev("PaymentReceived", "payment-p1", payment("p1", 100)));
  std::mt19937_64 rng(99);
  const char* types[] = {"CustomerInvoiceIssued", "CreditNoteIssued", "ReminderSent", "PaymentReceived",
                         "PaymentAllocated", "AllocationReversed", "OverpaymentRecorded",
                         "CreditBalanceApplied", "RefundIssued", "WriteOffRecorded", "DeferralGranted",
                         "PaymentPlanAgreed", "PaymentPlanBroken", "SentToCollection",
                         "SupplierInvoiceRegistered", "SupplierPaymentSent", "SupplierPaymentRejected"};
  for (int i = 0; i < 2000; ++i) {
    const std::string type = types[rng() % std::size(types)];
    flexbuffers::Builder b;
    b.Map([&] {
      const char* keys[] = {"invoiceId", "paymentId", "party", "amountMinor", "lines", "invoiceIds",
                            "installments", "currency", "dueDate", "vatMinor", "allocationId", "planId"};
      for (const char* k : keys) {
        switch (rng() % 7) {
          case 0: break;
          case 1: b.String(k, rng() % 2 ? "i1" : "p1"); break;
          case 2: b.Int(k, static_cast<std::int64_t>(rng())); break;
          case 3: b.Vector(k, [&] { b.Int(1); b.String("x"); b.Map([&] { b.String("invoiceId", "i1"); b.Int("amountMinor", -1); }); }); break;
          case 4: b.Map(k, [&] { b.String("type", "SE_PNR"); b.Int("value", 5); }); break;
          case 5: b.Double(k, 1.5); break;
          default: b.Bool(k, true);
        }
      }
    });
    b.Finish();
    std::vector<std::byte> data(b.GetBuffer().size());
    std::memcpy(data.data(), b.GetBuffer().data(), data.size());
    if (rng() % 4 == 0 && !data.empty()) data[rng() % data.size()] = static_cast<std::byte>(rng());
    (void)h.raw(type, "payment-p1", std::string(muninn::codec::content_type_flexbuffers), data);
  }
  CHECK_FALSE(h.p.check_invariants());
  const auto tb = h.q("trial-balance");
  CHECK(contains(tb, R"("balanceMinor":0})"));
}

TEST_CASE("reskontra: config is checked", "[reskontra]") {
  mp::reskontra_config c;
  CHECK_FALSE(c.check());
  c.losses = "1512";
  CHECK(c.check());
  c.losses = "63a1";
  CHECK_THROWS_AS(mp::reskontra_projection(c), std::invalid_argument);
  mp::reskontra_config other;
  other.receivables = "1510";
  mp::reskontra_projection p(other);
  mp::data_reader r;
  logged l{"CustomerInvoiceIssued", "invoice-i1", std::string(muninn::codec::content_type_json),
           bytes_of(invoice("i1", 100, 0, "2025-03-31")), micros_at("2025-03-01"), {0, 0}};
  feed(p, r, l);
  CHECK(contains(p.query("trial-balance", {}).value(), R"("account":"1510")"));
  CHECK_FALSE(p.check_invariants());
}

namespace {

// A realistic day's mix, mostly valid: invoices, payments matched to them,
// reminders, supplier invoices approved and paid.
std::vector<logged> realistic_log(std::size_t n) {
  std::vector<logged> log;
  log.reserve(n);
  std::mt19937_64 rng(42);
  std::size_t invoices = 0, payments = 0, suppliers = 0, orders = 0;
  const auto t = micros_at("2025-03-01");
  auto add = [&](std::string type, std::string stream, const std::string& json) {
    const auto fb = muninn::codec::json_data_to_flexbuffer(bytes_of(json));
    REQUIRE(fb);
    log.push_back({std::move(type), std::move(stream), std::string(muninn::codec::content_type_flexbuffers),
                   fb.value(), t + static_cast<std::int64_t>(log.size()) * 1'000'000, {0, log.size()}});
  };
  while (log.size() < n) {
    const auto r = rng() % 20;
    if (r < 7 || invoices == 0) {
      const auto id = "inv-" + std::to_string(invoices++);
      add("CustomerInvoiceIssued", inv_stream(id), invoice(id, 125000, 25000, "2025-03-31", "SEK", rng() % 2 ? pnr : orgnr));
    } else if (r < 11) {
      const auto id = "pay-" + std::to_string(payments++);
      add("PaymentReceived", pay_stream(id), payment(id, 50000));
      const auto inv = "inv-" + std::to_string(rng() % invoices);
      add("PaymentAllocated", pay_stream(id), allocation("al-" + id, id, {{inv, 50000}}));
    } else if (r < 13) {
      add("ReminderSent", "invoice-x", R"({"invoiceId":"inv-)" + std::to_string(rng() % invoices) + R"(","level":1,"feeMinor":6000})");
    } else if (r < 15) {
      add("WriteOffRecorded", "invoice-x", R"({"invoiceId":"inv-)" + std::to_string(rng() % invoices) + R"(","amountMinor":100})");
    } else if (r < 17) {
      const auto id = "sup-" + std::to_string(suppliers++);
      add("SupplierInvoiceRegistered", sup_stream(id), supplier_invoice(id, 80000, 16000));
      add("SupplierInvoiceApproved", sup_stream(id), R"({"invoiceId":")" + id + R"(","approver":"anna"})");
    } else if (suppliers > 0) {
      const auto id = "ord-" + std::to_string(orders++);
      add("SupplierPaymentSent", "payment-order-" + id, order(id, {{"sup-" + std::to_string(rng() % suppliers), 1000}}));
    }
  }
  log.resize(n);
  return log;
}

}  // namespace

TEST_CASE("reskontra: apply cost per event", "[.bench][reskontra-bench]") {
  // Thread CPU time: the 2-core build machine is often shared, and wall
  // time would count the time this thread waits for a core.
  auto cpu_now = [] {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return std::chrono::nanoseconds(static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec);
  };
  const bool only_realistic = std::getenv("MUNINN_BENCH_REALISTIC") != nullptr;
  const char* jsonl = std::getenv("MUNINN_BENCH_JSONL");  // e.g. from `muninn-gen reskontra`
  for (const bool realistic : {true, false}) {
    if (only_realistic && !realistic) continue;
    std::vector<logged> log;
    if (realistic && jsonl != nullptr) {
      std::ifstream in(jsonl);
      std::string line;
      while (std::getline(in, line)) {
        auto ev = muninn::codec::event_from_json(line);
        REQUIRE(ev);
        auto& o = ev.value();
        log.push_back({o.type, o.stream, o.content_type, std::move(o.data), o.time, {0, log.size()}});
      }
    } else if (realistic) {
      log = realistic_log(400000);
    } else {
      // The random property-test mix: most events are anomalies.
      generator g(42);
      for (std::uint64_t i = 0; i < 200000; ++i) {
        auto [type, stream, json] = g.event();
        if (stream.empty()) stream = "payment-x";
        const auto fb = muninn::codec::json_data_to_flexbuffer(bytes_of(json));
        REQUIRE(fb);
        log.push_back({type, stream, std::string(muninn::codec::content_type_flexbuffers), fb.value(),
                       micros_at("2025-03-01"), {0, i}});
      }
    }
    std::vector<flexbuffers::Reference> roots;
    roots.reserve(log.size());
    for (const auto& l : log) {
      mp::data_reader one;
      auto root = one.read(muninn::codec::content_type_flexbuffers, l.data);  // aligned: read in place
      roots.push_back(root ? *root : flexbuffers::Reference());
    }
    const auto view_of = [&](std::size_t i) {
      mp::event_view e;
      e.at = log[i].at;
      e.time = log[i].time;
      e.stream = log[i].stream;
      e.type = log[i].type;
      e.data = roots[i];
      e.data_ok = !roots[i].IsNull();
      return e;
    };
    // MUNINN_BENCH_REPEAT=n applies the log n more times first (for perf).
    for (int rep = std::getenv("MUNINN_BENCH_REPEAT") ? std::atoi(std::getenv("MUNINN_BENCH_REPEAT")) : 0; rep > 0; --rep) {
      mp::reskontra_projection warm;
      for (std::size_t i = 0; i < log.size(); ++i) warm.apply(view_of(i));
    }
    mp::reskontra_projection p;
    const auto t0 = cpu_now();
    for (std::size_t i = 0; i < log.size(); ++i) p.apply(view_of(i));
    const auto t1 = cpu_now();
    mp::reskontra_projection p2;
    mp::data_reader reader;
    for (const auto& l : log) feed(p2, reader, l);
    const auto t2 = cpu_now();
    // As the runner does before a checkpoint: the changes every 100,000.
    mp::reskontra_projection p3;
    mp::record_changes changes;
    std::chrono::nanoseconds taking{0};
    for (std::size_t i = 0; i < log.size(); ++i) {
      feed(p3, reader, log[i]);
      if ((i + 1) % 100000 == 0 || i + 1 == log.size()) {
        const auto t = cpu_now();
        changes.clear();
        p3.take_changes(changes);
        taking += cpu_now() - t;
      }
    }
    const auto t3 = cpu_now();
    const auto n = static_cast<double>(log.size());
    using ns = std::chrono::duration<double, std::nano>;
    const double apply_ns = ns(t1 - t0).count() / n;
    const double read_apply_ns = ns(t2 - t1).count() / n;
    const double with_changes_ns = ns(t3 - t2).count() / n;
    const char* mix = realistic ? "realistic mix" : "random mix";
    WARN(mix << ": apply " << apply_ns << " ns/event; verify+apply " << read_apply_ns
             << " ns/event; verify+apply+take_changes " << with_changes_ns << " ns/event (take_changes "
             << ns(taking).count() / n << "); anomalies " << p.anomaly_count() << " of " << log.size());
    CHECK(digest_hex(p) == digest_hex(p2));
    if (std::getenv("MUNINN_BENCH_SHOW")) WARN(p.query("anomalies", {{"limit", "5"}}).value());
  }
}

TEST_CASE("reskontra: fingerprint of a generated scenario", "[.bench][reskontra-fingerprint]") {
  // Everything observable of one rebuild, hashed: the take_changes stream
  // (every 100,000 events, as the runner takes it), the state digest, a
  // load of the records, and the queries. Run before and after a change to
  // the projection's internals: the lines must be identical.
  const char* jsonl = std::getenv("MUNINN_BENCH_JSONL");  // `muninn-gen reskontra --seed 1 --count 1000000`
  if (jsonl == nullptr) return;
  std::ifstream in(jsonl);
  std::string line;
  mp::reskontra_projection p;
  mp::data_reader reader;
  muninn::codec::sha256 changes;
  mp::record_changes out;
  std::vector<std::string> parties;
  std::uint64_t n = 0;
  auto take = [&] {
    out.clear();
    p.take_changes(out);
    for (const auto& c : out) {
      changes.update(c.key);
      changes.update("\x1f");
      changes.update(c.value ? *c.value : std::string_view("\x00deleted", 8));
      changes.update("\x1e");
    }
  };
  while (std::getline(in, line)) {
    auto ev = muninn::codec::event_from_json(line);
    REQUIRE(ev);
    auto& o = ev.value();
    logged l{o.type, o.stream, o.content_type, std::move(o.data), o.time, {0, n}};
    if (parties.size() < 50 && n % 997 == 0) {
      const auto at = line.find(R"("party":{"type":")");
      if (at != std::string::npos) {
        const auto t0 = at + 18, t1 = line.find('"', t0);
        const auto v0 = line.find(R"("value":")", t1) + 9, v1 = line.find('"', v0);
        parties.push_back(line.substr(t0, t1 - t0) + ":" + line.substr(v0, v1 - v0));
      }
    }
    feed(p, reader, l);
    if (++n % 100000 == 0) take();
  }
  take();
  const auto state = digest_hex(p);
  mp::reskontra_projection loaded;
  p.for_each_record([&](std::string_view k, std::string_view v) { REQUIRE(loaded.load(k, v)); });
  loaded.finish_load();
  CHECK(digest_hex(loaded) == state);
  muninn::codec::sha256 answers;
  auto ask = [&](std::string_view what, mp::query_params q) {
    for (const mp::projection* x : {static_cast<const mp::projection*>(&p), static_cast<const mp::projection*>(&loaded)}) {
      const auto r = x->query(what, q);
      answers.update(r ? r.value() : "ERR " + r.error().message);
    }
  };
  ask("trial-balance", {});
  ask("unallocated", {});
  ask("overdue", {{"at", "2026-06-01"}});
  ask("overdue", {{"at", "2027-06-01"}});
  ask("anomalies", {{"limit", "100000"}});
  for (const auto& party : parties) ask("party", {{"party", party}});
  WARN("events " << n << " anomalies " << p.anomaly_count() << "\nstate   " << state << "\nchanges "
                 << muninn::codec::to_hex(changes.finish()) << "\nanswers " << muninn::codec::to_hex(answers.finish())
                 << "\ninvariants " << (p.check_invariants() ? *p.check_invariants() : "ok"));
}
