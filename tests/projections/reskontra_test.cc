#include <catch2/catch.hpp>

#include <flatbuffers/flexbuffers.h>

#include <fstream>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <limits>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "broker/projections/calendar.h"
#include "broker/projections/event.h"
#include "broker/projections/reskontra.h"
#include "codec/batch.h"
#include "codec/json.h"
#include "codec/sha256.h"

namespace mp = muninn::projections;

namespace {

std::int64_t micros_at(std::string_view date, int hour = 10) {
  const auto d = mp::parse_iso_date(date);
  REQUIRE(d);
  return (mp::days_from_civil(*d) * 86400 + hour * 3600) * 1'000'000;
}

std::vector<std::byte> bytes_of(std::string_view s) {
  std::vector<std::byte> out(s.size());
  std::memcpy(out.data(), s.data(), s.size());
  return out;
}

// One event as the log holds it: JSON data, or raw bytes of another type.
struct logged {
  std::string type, stream, content_type;
  std::vector<std::byte> data;
  std::int64_t time = 0;
  mp::position at;
};

void feed(mp::projection& p, mp::data_reader& reader, const logged& l) {
  mp::event_view e;
  e.at = l.at;
  e.time = l.time;
  e.stream = l.stream;
  e.type = l.type;
  const auto root = reader.read(l.content_type, l.data);
  if (root) {
    e.data = *root;
    e.data_ok = true;
  }
  p.apply(e);
}

std::string digest_hex(const mp::projection& p) { return muninn::codec::to_hex(mp::state_digest(p)); }

// A reskontra projection with its log, so any test can rebuild and compare.
struct harness {
  mp::reskontra_projection p;
  std::vector<logged> log;
  mp::data_reader reader;
  std::int64_t time = micros_at("2025-03-03");
  std::string last_reason;

  void on(std::string_view date) { time = micros_at(date); }

  // True when the event applied without an anomaly.
  bool raw(std::string type, std::string stream, std::string content_type, std::vector<std::byte> data) {
    logged l{std::move(type), std::move(stream), std::move(content_type), std::move(data), time,
             {0, log.size()}};
    log.push_back(std::move(l));
    const auto before = p.anomaly_count();
    feed(p, reader, log.back());
    const auto broken = p.check_invariants();
    INFO(log.back().type << " at " << log.back().at.offset);
    CHECK_FALSE(broken);
    if (broken) FAIL_CHECK(*broken);
    if (p.anomaly_count() == before) return true;
    mp::query_params q{{"after", std::to_string(log.back().at.offset - (log.back().at.offset > 0 ? 1 : 0))}};
    if (log.back().at.offset == 0) q.clear();
    last_reason = p.query("anomalies", q).value();
    return false;
  }

  bool ev(std::string type, std::string stream, std::string json) {
    return raw(std::move(type), std::move(stream), std::string(muninn::codec::content_type_json), bytes_of(json));
  }

  std::string q(std::string_view what, mp::query_params params = {}) const {
    auto r = p.query(what, params);
    if (!r) return "ERR " + std::to_string(static_cast<int>(r.error().code)) + " " + r.error().message;
    return r.value();
  }

  // {debit, credit} of one ledger account in one currency, from the
  // trial-balance answer.
  std::pair<std::int64_t, std::int64_t> acct(std::string_view account, std::string_view cur = "SEK") const {
    const auto tb = q("trial-balance");
    const std::string head = "{\"account\":\"" + std::string(account) + "\",\"currency\":\"" + std::string(cur) +
                             "\",\"debitMinor\":";
    const auto pos = tb.find(head);
    if (pos == std::string::npos) return {0, 0};
    const char* s = tb.c_str() + pos + head.size();
    char* end = nullptr;
    const auto debit = std::strtoll(s, &end, 10);
    const auto credit = std::strtoll(end + std::strlen(",\"creditMinor\":"), nullptr, 10);
    return {debit, credit};
  }
};

using pair = std::pair<std::int64_t, std::int64_t>;

const char* pnr = R"({"type":"SE_PNR","value":"19121212-1212"})";
const char* orgnr = R"({"type":"SE_ORGNR","value":"212000-0142"})";

std::string invoice(std::string_view id, std::int64_t amount, std::int64_t vat, std::string_view due,
                    std::string_view cur = "SEK", std::string_view party = pnr) {
  return R"({"invoiceId":")" + std::string(id) + R"(","party":)" + std::string(party) +
         R"(,"invoiceNo":"F-)" + std::string(id) + R"(","issueDate":"2025-03-01","dueDate":")" +
         std::string(due) + R"(","currency":")" + std::string(cur) + R"(","amountMinor":)" +
         std::to_string(amount) + R"(,"vatMinor":)" + std::to_string(vat) + R"(,"revenueAccount":"3011"})";
}

std::string payment(std::string_view id, std::int64_t amount, std::string_view cur = "SEK") {
  return R"({"paymentId":")" + std::string(id) + R"(","source":"BGMAX","sourceRef":"bg-)" + std::string(id) +
         R"(","ocrRef":"1234","amountMinor":)" + std::to_string(amount) + R"(,"currency":")" + std::string(cur) +
         R"(","bookingDate":"2025-03-04"})";
}

std::string allocation(std::string_view id, std::string_view pay,
                       std::vector<std::pair<std::string, std::int64_t>> lines) {
  std::string s = R"({"allocationId":")" + std::string(id) + R"(","paymentId":")" + std::string(pay) +
                  R"(","lines":[)";
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (i) s += ",";
    s += R"({"invoiceId":")" + lines[i].first + R"(","amountMinor":)" + std::to_string(lines[i].second) + "}";
  }
  return s + "]}";
}

std::string supplier_invoice(std::string_view id, std::int64_t amount, std::int64_t vat,
                             std::string_view cur = "SEK") {
  return R"({"invoiceId":")" + std::string(id) + R"(","party":)" + std::string(orgnr) +
         R"(,"supplierInvoiceNo":"L-1","invoiceDate":"2025-03-01","dueDate":"2025-03-31","currency":")" +
         std::string(cur) + R"(","amountMinor":)" + std::to_string(amount) + R"(,"vatMinor":)" +
         std::to_string(vat) + R"(,"expenseAccount":"4010"})";
}

std::string order(std::string_view id, std::vector<std::pair<std::string, std::int64_t>> lines) {
  std::string s = R"({"paymentOrderId":")" + std::string(id) + R"(","paymentDate":"2025-03-20","lines":[)";
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (i) s += ",";
    s += R"({"invoiceId":")" + lines[i].first + R"(","amountMinor":)" + std::to_string(lines[i].second) + "}";
  }
  return s + "]}";
}

std::string inv_stream(std::string_view id) { return "invoice-" + std::string(id); }
std::string pay_stream(std::string_view id) { return "payment-" + std::string(id); }
std::string sup_stream(std::string_view id) { return "supplier-invoice-" + std::string(id); }

bool contains(const std::string& hay, std::string_view needle) { return hay.find(needle) != std::string::npos; }

}  // namespace

TEST_CASE("reskontra: an invoice posts Dr 1512 amount, Cr revenue amount - VAT, Cr 2611 VAT", "[reskontra]") {
  harness h;
  REQUIRE(h.ev("CustomerInvoiceIssued", "invoice-i1", invoice("i1", 12500, 2500, "2025-03-31")));
  CHECK(h.acct("1512") == pair{12500, 0});
  CHECK(h.acct("3011") == pair{0, 10000});
  CHECK(h.acct("2611") == pair{0, 2500});
  const auto party = h.q("party", {{"party", "SE_PNR:19121212-1212"}});
  CHECK(contains(party, R"("party":"SE_PNR:191212121212")"));
  CHECK(contains(party, R"("receivable":[{"currency":"SEK","remainingMinor":12500}])"));
  CHECK(contains(party, R"("state":"open")"));
  // Any valid spelling answers for the normalised party.
  CHECK(h.q("party", {{"party", "SE_PNR:121212+1212"}}) == party);
  CHECK(h.q("party", {{"party", "SE_PNR:191212121212"}}) == party);
  CHECK(contains(h.q("party", {{"party", "SE_PNR:194408139089"}}), "ERR 3"));
  CHECK(contains(h.q("party", {{"party", "SE_PNR:121212-1213"}}), "parameter 'party'"));
  CHECK(contains(h.q("party", {}), "parameter 'party'"));

  // VAT 0 and VAT = amount post no zero lines.
  REQUIRE(h.ev("CustomerInvoiceIssued", "invoice-i2", invoice("i2", 800, 0, "2025-03-31")));
  CHECK(h.acct("2611") == pair{0, 2500});
  CHECK(h.acct("3011") == pair{0, 10800});
}

TEST_CASE("reskontra: credit note, write-off and reminder fee postings", "[reskontra]") {
  harness h;
  REQUIRE(h.ev("CustomerInvoiceIssued", "invoice-i1", invoice("i1", 10000, 2000, "2025-03-31")));
  REQUIRE(h.ev("CreditNoteIssued", "invoice-i1",
               R"({"creditNoteId":"cn1","invoiceId":"i1","amountMinor":1000,"reason":"price"})"));
  CHECK(h.acct("3011") == pair{1000, 8000});
  CHECK(h.acct("1512") == pair{10000, 1000});
  // The same credit note id twice: a creation of one that exists.
  CHECK_FALSE(h.ev("CreditNoteIssued", "invoice-i1",
                   R"({"creditNoteId":"cn1","invoiceId":"i1","amountMinor":1,"reason":"again"})"));
  CHECK(contains(h.last_reason, "credit note 'cn1' already exists"));

  h.on("2025-04-10");
  REQUIRE(h.ev("ReminderSent", "invoice-i1", R"({"invoiceId":"i1","level":1,"feeMinor":6000})"));
  CHECK(h.acct("1512") == pair{16000, 1000});
  CHECK(h.acct("3590") == pair{0, 6000});
  REQUIRE(h.ev("ReminderSent", "invoice-i1", R"({"invoiceId":"i1","level":2,"feeMinor":0})"));
  CHECK(h.acct("3590") == pair{0, 6000});

  REQUIRE(h.ev("WriteOffRecorded", "invoice-i1", R"({"invoiceId":"i1","amountMinor":500})"));
  CHECK(h.acct("6351") == pair{500, 0});
  CHECK(contains(h.q("party", {{"party", "SE_PNR:191212121212"}}), R"("remainingMinor":14500)"));
  // Invariant 1: a write-off above the remainder.
  CHECK_FALSE(h.ev("WriteOffRecorded", "invoice-i1", R"({"invoiceId":"i1","amountMinor":14501})"));
  CHECK(contains(h.last_reason, "exceeds the remaining 14500"));
  CHECK_FALSE(h.ev("CreditNoteIssued", "invoice-i1",
                   R"({"creditNoteId":"cn2","invoiceId":"i1","amountMinor":14501,"reason":"x"})"));
  REQUIRE(h.ev("WriteOffRecorded", "invoice-i1", R"({"invoiceId":"i1","amountMinor":14500})"));
  CHECK(contains(h.q("party", {{"party", "SE_PNR:191212121212"}}), R"("state":"paid")"));
  // Invariant 4: no reminder on a paid item.
  CHECK_FALSE(h.ev("ReminderSent", "invoice-i1", R"({"invoiceId":"i1","level":3,"feeMinor":6000})"));
  CHECK(contains(h.last_reason, "it is paid"));
  CHECK(h.acct("3590") == pair{0, 6000});
}

TEST_CASE("reskontra: payment, allocation and its exact reversal", "[reskontra]") {
  harness h;
  REQUIRE(h.ev("CustomerInvoiceIssued", "invoice-i1", invoice("i1", 10000, 0, "2025-03-31")));
  REQUIRE(h.ev("CustomerInvoiceIssued", "invoice-i2", invoice("i2", 5000, 0, "2025-03-31")));
  REQUIRE(h.ev("PaymentReceived", "payment-p1", payment("p1", 12000)));
  CHECK(h.acct("1951") == pair{12000, 0});
  CHECK(h.acct("9181") == pair{0, 12000});
  CHECK(contains(h.q("unallocated"), R"("paymentId":"p1","source":"BGMAX","sourceRef":"bg-p1","ocrRef":"1234","payerName":null,"currency":"SEK","amountMinor":12000,"remainingMinor":12000,"bookingDate":"2025-03-04")"));

  const auto before_alloc = h.q("trial-balance");
  const auto party_before = h.q("party", {{"party", "SE_PNR:191212121212"}});
  REQUIRE(h.ev("PaymentAllocated", "payment-p1", allocation("a1", "p1", {{"i1", 10000}, {"i2", 1500}})));
  CHECK(h.acct("9181") == pair{11500, 12000});
  CHECK(h.acct("1512") == pair{15000, 11500});
  CHECK(contains(h.q("unallocated"), R"("remainingMinor":500)"));

  // Reversal must come on the payment's stream.
  CHECK_FALSE(h.ev("AllocationReversed", "payment-p2", R"({"allocationId":"a1","reason":"wrong"})"));
  CHECK(contains(h.last_reason, "belongs to payment 'p1'"));
  REQUIRE(h.ev("AllocationReversed", "payment-p1", R"({"allocationId":"a1","reason":"wrong invoice"})"));
  CHECK(h.acct("1512") == pair{26500, 11500});
  CHECK(h.acct("9181") == pair{11500, 23500});
  CHECK(h.q("party", {{"party", "SE_PNR:191212121212"}}) == party_before);
  CHECK(contains(h.q("unallocated"), R"("remainingMinor":12000)"));
  // Balances (not the turnover) are as before the allocation.
  const auto tb = h.q("trial-balance");
  CHECK(contains(tb, R"("account":"1512","currency":"SEK","debitMinor":26500,"creditMinor":11500,"balanceMinor":15000)"));
  CHECK(contains(before_alloc, R"("balanceMinor":15000)"));
  // A second reversal is refused and changes nothing.
  CHECK_FALSE(h.ev("AllocationReversed", "payment-p1", R"({"allocationId":"a1","reason":"again"})"));
  CHECK(contains(h.last_reason, "already reversed"));
  CHECK(h.q("trial-balance") == tb);
  // A reversed allocation's id stays taken.
  CHECK_FALSE(h.ev("PaymentAllocated", "payment-p1", allocation("a1", "p1", {{"i1", 1}})));
  CHECK(contains(h.last_reason, "allocation 'a1' already exists"));
  CHECK_FALSE(h.ev("AllocationReversed", "payment-p1", R"({"allocationId":"zz","reason":"x"})"));
  CHECK(contains(h.last_reason, "does not exist"));
}

TEST_CASE("reskontra: allocations never exceed the payment or an item (invariants 1 and 2)", "[reskontra]") {
  harness h;
  REQUIRE(h.ev("CustomerInvoiceIssued", "invoice-i1", invoice("i1", 10000, 0, "2025-03-31")));
  REQUIRE(h.ev("CustomerInvoiceIssued", "invoice-i2", invoice("i2", 10000, 0, "2025-03-31")));
  REQUIRE(h.ev("PaymentReceived", "payment-p1", payment("p1", 15000)));
  const auto tb = h.q("trial-balance");
  const auto party = h.q("party", {{"party", "SE_PNR:191212121212"}});
  // Invariant 2: 16000 > 15000.
  CHECK_FALSE(h.ev("PaymentAllocated", "payment-p1", allocation("a1", "p1", {{"i1", 8000}, {"i2", 8000}})));
  CHECK(contains(h.last_reason, "exceed the unallocated 15000"));
  // Invariant 1: the same item twice, 6000 + 6000 > 10000 (all or nothing).
  CHECK_FALSE(h.ev("PaymentAllocated", "payment-p1", allocation("a1", "p1", {{"i1", 6000}, {"i1", 6000}})));
  CHECK(contains(h.last_reason, "exceeds the remaining 4000"));
  // An unknown invoice in the last line undoes the earlier lines.
  CHECK_FALSE(h.ev("PaymentAllocated", "payment-p1", allocation("a1", "p1", {{"i1", 6000}, {"nope", 1}})));
  CHECK(contains(h.last_reason, "invoice 'nope' does not exist"));
  CHECK_FALSE(h.ev("PaymentAllocated", "payment-p9", allocation("a1", "p9", {{"i1", 1}})));
  CHECK(contains(h.last_reason, "payment 'p9' does not exist"));
  CHECK(h.q("trial-balance") == tb);
  CHECK(h.q("party", {{"party", "SE_PNR:191212121212"}}) == party);
  // Invariant 2 with an overpayment: allocations + overpayment <= amount.
  REQUIRE(h.ev("PaymentAllocated", "payment-p1", allocation("a1", "p1", {{"i1", 10000}})));
  CHECK_FALSE(h.ev("OverpaymentRecorded", "payment-p1",
                   std::string(R"({"paymentId":"p1","party":)") + pnr + R"(,"amountMinor":5001})"));
  CHECK(contains(h.last_reason, "exceeds the unallocated 5000"));
}

TEST_CASE("reskontra: a payment is only allocated to items in its currency", "[reskontra]") {
  harness h;
  REQUIRE(h.ev("CustomerInvoiceIssued", "invoice-i1", invoice("i1", 10000, 0, "2025-03-31", "EUR")));
  REQUIRE(h.ev("PaymentReceived", "payment-p1", payment("p1", 10000, "SEK")));
  const auto tb = h.q("trial-balance");
  CHECK_FALSE(h.ev("PaymentAllocated", "payment-p1", allocation("a1", "p1", {{"i1", 100}})));
  CHECK(contains(h.last_reason, "currency mismatch"));
  CHECK(h.q("trial-balance") == tb);
  CHECK(contains(tb, R"("totals":[{"currency":"EUR","debitMinor":10000,"creditMinor":10000,"balanceMinor":0},{"currency":"SEK","debitMinor":10000,"creditMinor":10000,"balanceMinor":0}])"));
}

TEST_CASE("reskontra: overpayment, applied credit and refund (invariant 3)", "[reskontra]") {
  harness h;
  REQUIRE(h.ev("CustomerInvoiceIssued", "invoice-i1", invoice("i1", 10000, 0, "2025-03-31")));
  REQUIRE(h.ev("CustomerInvoiceIssued", "invoice-i2", invoice("i2", 3000, 0, "2025-04-30")));
  REQUIRE(h.ev("PaymentReceived", "payment-p1", payment("p1", 15000)));
  REQUIRE(h.ev("PaymentAllocated", "payment-p1", allocation("a1", "p1", {{"i1", 10000}})));
  // The party in another spelling is the same party.
  REQUIRE(h.ev("OverpaymentRecorded", "payment-p1",
               R"({"paymentId":"p1","party":{"type":"SE_PNR","value":"121212+1212"},"amountMinor":5000})"));
  CHECK(h.acct("9181") == pair{15000, 15000});
  CHECK(h.acct("2482") == pair{0, 5000});
  CHECK(contains(h.q("party", {{"party", "SE_PNR:191212121212"}}),
                 R"("creditBalance":[{"currency":"SEK","balanceMinor":5000}])"));
  CHECK(h.q("unallocated") == R"({"payments":[],"totals":[]})");

  REQUIRE(h.ev("CreditBalanceApplied", "invoice-i2",
               std::string(R"({"party":)") + pnr + R"(,"invoiceId":"i2","amountMinor":3000})"));
  CHECK(h.acct("2482") == pair{3000, 5000});
  CHECK(h.acct("1512") == pair{13000, 13000});
  CHECK_FALSE(h.ev("CreditBalanceApplied", "invoice-i1",
                   std::string(R"({"party":)") + pnr + R"(,"invoiceId":"i1","amountMinor":1})"));
  CHECK(contains(h.last_reason, "exceeds the remaining 0"));

  CHECK_FALSE(h.ev("RefundIssued", "refund-r1",
                   std::string(R"({"refundId":"r1","party":)") + pnr + R"(,"currency":"SEK","amountMinor":2001})"));
  CHECK(contains(h.last_reason, "credit balance 2000 SEK"));
  CHECK_FALSE(h.ev("RefundIssued", "refund-r1",
                   std::string(R"({"refundId":"r1","party":)") + pnr + R"(,"currency":"EUR","amountMinor":1})"));
  CHECK_FALSE(h.ev("RefundIssued", "refund-r1",
                   std::string(R"({"refundId":"r1","party":)") + orgnr + R"(,"currency":"SEK","amountMinor":1})"));
  REQUIRE(h.ev("RefundIssued", "refund-r1",
               std::string(R"({"refundId":"r1","party":)") + pnr + R"(,"currency":"SEK","amountMinor":2000})"));
  CHECK(h.acct("2482") == pair{5000, 5000});
  CHECK(h.acct("1954") == pair{0, 2000});
  CHECK_FALSE(h.ev("RefundIssued", "refund-r1",
                   std::string(R"({"refundId":"r1","party":)") + pnr + R"(,"currency":"SEK","amountMinor":1})"));
  CHECK(contains(h.last_reason, "refund 'r1' already exists"));
}

TEST_CASE("reskontra: deferral, payment plan and collection block reminders (invariant 4)", "[reskontra]") {
  harness h;
  REQUIRE(h.ev("CustomerInvoiceIssued", "invoice-i1", invoice("i1", 10000, 0, "2025-03-31")));
  REQUIRE(h.ev("CustomerInvoiceIssued", "invoice-i2", invoice("i2", 10000, 0, "2025-03-31")));
  REQUIRE(h.ev("DeferralGranted", "invoice-i1", R"({"invoiceId":"i1","newDueDate":"2025-05-15"})"));
  h.on("2025-05-14");
  CHECK(contains(h.q("party", {{"party", "SE_PNR:191212121212"}}), R"("invoiceId":"i1","invoiceNo":"F-i1","issueDate":"2025-03-01","dueDate":"2025-03-31","deferredTo":"2025-05-15","effectiveDueDate":"2025-05-15","currency":"SEK","amountMinor":10000,"remainingMinor":10000,"state":"deferred")"));
  CHECK_FALSE(h.ev("ReminderSent", "invoice-i1", R"({"invoiceId":"i1","level":1,"feeMinor":6000})"));
  CHECK(contains(h.last_reason, "deferred until 2025-05-15"));
  h.on("2025-05-15");  // on the new due date the deferral no longer protects
  REQUIRE(h.ev("ReminderSent", "invoice-i1", R"({"invoiceId":"i1","level":1,"feeMinor":6000})"));

  REQUIRE(h.ev("PaymentPlanAgreed", "plan-n1",
               R"({"planId":"n1","invoiceIds":["i1","i2"],"installments":[{"dueDate":"2025-06-30","amountMinor":8000},{"dueDate":"2025-07-31","amountMinor":18000}]})"));
  CHECK_FALSE(h.ev("ReminderSent", "invoice-i2", R"({"invoiceId":"i2","level":1,"feeMinor":0})"));
  CHECK(contains(h.last_reason, "active payment plan"));
  CHECK(contains(h.q("overdue", {{"at", "2025-06-01"}}), R"("items":[])"));
  CHECK_FALSE(h.ev("PaymentPlanAgreed", "plan-n1", R"({"planId":"n1","invoiceIds":["i1"],"installments":[{"dueDate":"2025-06-30","amountMinor":1}]})"));
  CHECK_FALSE(h.ev("PaymentPlanAgreed", "plan-n2", R"({"planId":"n2","invoiceIds":["i1","i1"],"installments":[{"dueDate":"2025-06-30","amountMinor":1}]})"));
  CHECK(contains(h.last_reason, "named twice"));
  REQUIRE(h.ev("PaymentPlanBroken", "plan-n1", R"({"planId":"n1"})"));
  CHECK_FALSE(h.ev("PaymentPlanCompleted", "plan-n1", R"({"planId":"n1"})"));
  CHECK(contains(h.last_reason, "not active (already broken)"));
  REQUIRE(h.ev("ReminderSent", "invoice-i2", R"({"invoiceId":"i2","level":1,"feeMinor":0})"));

  REQUIRE(h.ev("SentToCollection", "invoice-i2", R"({"invoiceId":"i2","agency":"Intrum"})"));
  CHECK_FALSE(h.ev("ReminderSent", "invoice-i2", R"({"invoiceId":"i2","level":2,"feeMinor":6000})"));
  CHECK(contains(h.last_reason, "in collection"));
  const auto party = h.q("party", {{"party", "SE_PNR:191212121212"}});
  CHECK(contains(party, R"("invoiceId":"i2")"));
  CHECK(contains(party, R"("state":"in_collection")"));
  CHECK(contains(party, R"("receivable":[{"currency":"SEK","remainingMinor":26000}])"));
}

TEST_CASE("reskontra: supplier invoice, approval, blocking, payment and rejection (invariant 5)", "[reskontra]") {
  harness h;
  REQUIRE(h.ev("SupplierInvoiceRegistered", "supplier-invoice-s1", supplier_invoice("s1", 12500, 2500)));
  CHECK(h.acct("4010") == pair{10000, 0});
  CHECK(h.acct("2641") == pair{2500, 0});
  CHECK(h.acct("2512") == pair{0, 12500});
  CHECK_FALSE(h.ev("SupplierPaymentSent", "payment-order-o1", order("o1", {{"s1", 12500}})));
  CHECK(contains(h.last_reason, "is not approved"));
  REQUIRE(h.ev("SupplierInvoiceApproved", sup_stream("s1"), R"({"invoiceId":"s1","approver":"anna"})"));
  REQUIRE(h.ev("PaymentBlocked", sup_stream("s1"), R"({"invoiceId":"s1","reason":"dispute"})"));
  CHECK_FALSE(h.ev("SupplierPaymentSent", "payment-order-o1", order("o1", {{"s1", 12500}})));
  CHECK(contains(h.last_reason, "is blocked"));
  REQUIRE(h.ev("PaymentUnblocked", sup_stream("s1"), R"({"invoiceId":"s1","reason":"settled"})"));
  REQUIRE(h.ev("SupplierCreditInvoiceRegistered", sup_stream("s1"),
               R"({"creditId":"k1","invoiceId":"s1","amountMinor":500})"));
  CHECK(h.acct("2512") == pair{500, 12500});
  CHECK(h.acct("4010") == pair{10000, 500});
  CHECK_FALSE(h.ev("SupplierCreditInvoiceRegistered", sup_stream("s1"),
                   R"({"creditId":"k1","invoiceId":"s1","amountMinor":1})"));
  CHECK_FALSE(h.ev("SupplierPaymentSent", "payment-order-o1", order("o1", {{"s1", 12001}})));
  CHECK(contains(h.last_reason, "exceeds the remaining 12000"));

  const auto party_before = h.q("party", {{"party", "SE_ORGNR:2120000142"}});
  REQUIRE(h.ev("SupplierPaymentSent", "payment-order-o1", order("o1", {{"s1", 12000}})));
  CHECK(h.acct("2512") == pair{12500, 12500});
  CHECK(h.acct("1954") == pair{0, 12000});
  CHECK(contains(h.q("party", {{"party", "SE_ORGNR:2120000142"}}), R"("state":"paid","approved":true,"blocked":false)"));
  CHECK_FALSE(h.ev("SupplierPaymentSent", "payment-order-o1", order("o1", {{"s1", 1}})));
  CHECK(contains(h.last_reason, "payment order 'o1' already exists"));

  REQUIRE(h.ev("SupplierPaymentRejected", "payment-order-o1", R"({"paymentOrderId":"o1","reasonCode":"AC04"})"));
  CHECK(h.acct("1954") == pair{12000, 12000});
  CHECK(h.acct("2512") == pair{12500, 24500});
  CHECK(h.q("party", {{"party", "SE_ORGNR:2120000142"}}) == party_before);
  CHECK_FALSE(h.ev("SupplierPaymentRejected", "payment-order-o1", R"({"paymentOrderId":"o1","reasonCode":"AC04"})"));
  CHECK(contains(h.last_reason, "already rejected"));
  CHECK_FALSE(h.ev("SupplierPaymentRejected", "payment-order-o9", R"({"paymentOrderId":"o9","reasonCode":"AC04"})"));
  CHECK(contains(h.last_reason, "does not exist"));
}

TEST_CASE("reskontra: creations of existing ids, unknown ids, types and unreadable data are anomalies", "[reskontra]") {
  harness h;
  REQUIRE(h.ev("CustomerInvoiceIssued", "invoice-i1", invoice("i1", 100, 0, "2025-03-31")));
  const auto digest = digest_hex(h.p);
  const auto tb = h.q("trial-balance");
  CHECK_FALSE(h.ev("CustomerInvoiceIssued", "invoice-i1", invoice("i1", 100, 0, "2025-03-31")));
  CHECK(contains(h.last_reason, "invoice 'i1' already exists"));
  REQUIRE(h.ev("PaymentReceived", "payment-p1", payment("p1", 100)));
  CHECK_FALSE(h.ev("PaymentReceived", "payment-p1", payment("p1", 100)));
  REQUIRE(h.ev("SupplierInvoiceRegistered", "supplier-invoice-s1", supplier_invoice("s1", 10, 0)));
  CHECK_FALSE(h.ev("SupplierInvoiceRegistered", "supplier-invoice-s1", supplier_invoice("s1", 10, 0)));
  CHECK_FALSE(h.ev("CreditNoteIssued", "invoice-x", R"({"creditNoteId":"c","invoiceId":"x","amountMinor":1,"reason":"r"})"));
  CHECK_FALSE(h.ev("DeferralGranted", "invoice-x", R"({"invoiceId":"x","newDueDate":"2025-05-15"})"));
  CHECK_FALSE(h.ev("SentToCollection", "invoice-x", R"({"invoiceId":"x","agency":"a"})"));
  CHECK_FALSE(h.ev("PaymentPlanBroken", "plan-x", R"({"planId":"x"})"));
  CHECK_FALSE(h.ev("SupplierInvoiceApproved", "supplier-invoice-x", R"({"invoiceId":"x","approver":"a"})"));
  CHECK_FALSE(h.ev("PaymentBlocked", "supplier-invoice-x", R"({"invoiceId":"x","reason":"a"})"));
  CHECK_FALSE(h.ev("ForsendelseMottatt", "invoice-i1", R"({})"));
  CHECK(contains(h.last_reason, "unknown event type"));
  CHECK_FALSE(h.raw("ReminderSent", "invoice-i1", "application/x-flexbuffers", bytes_of("garbage!")));
  CHECK(contains(h.last_reason, "data: not a readable object"));
  CHECK_FALSE(h.ev("ReminderSent", "invoice-i1", R"([1,2,3])"));
  CHECK_FALSE(h.ev("ReminderSent", "invoice-i1", R"({"invoiceId":"i1","level":1})"));
  CHECK(contains(h.last_reason, "field 'feeMinor': is required"));
  CHECK_FALSE(h.ev("ReminderSent", "invoice-i1", R"({"invoiceId":"i1","level":1,"feeMinor":-5})"));
  CHECK(contains(h.last_reason, "field 'feeMinor': must be >= 0"));
  CHECK_FALSE(h.ev("ReminderSent", "invoice-i1", R"({"invoiceId":"i1","level":"one","feeMinor":5})"));
  CHECK(contains(h.last_reason, "field 'level': must be an integer"));
  CHECK_FALSE(h.ev("CustomerInvoiceIssued", "invoice-i9", invoice("i9", 100, 101, "2025-03-31")));
  CHECK(contains(h.last_reason, "vatMinor"));
  CHECK_FALSE(h.ev("CustomerInvoiceIssued", "invoice-i9", invoice("i9", 100, 0, "2025-02-30")));
  CHECK(contains(h.last_reason, "field 'dueDate'"));
  CHECK_FALSE(h.ev("CustomerInvoiceIssued", "invoice-i9", invoice("i9", 100, 0, "2025-03-31", "sek")));
  CHECK(contains(h.last_reason, "field 'currency'"));
  CHECK_FALSE(h.ev("CustomerInvoiceIssued", "invoice-i9",
                   invoice("i9", 100, 0, "2025-03-31", "SEK", R"({"type":"SE_PNR","value":"121212-1213"})")));
  CHECK(contains(h.last_reason, "field 'party'"));
  // A revenue account that is a control account would break invariant 6.
  auto bad_account = invoice("i9", 100, 0, "2025-03-31");
  bad_account.replace(bad_account.find("3011"), 4, "1512");
  CHECK_FALSE(h.ev("CustomerInvoiceIssued", "invoice-i9", bad_account));
  CHECK(contains(h.last_reason, "control account"));
  CHECK_FALSE(h.ev("PaymentAllocated", "payment-p1", R"({"allocationId":"a","paymentId":"p1","lines":[]})"));
  CHECK(contains(h.last_reason, "field 'lines': must not be empty"));
  CHECK_FALSE(h.ev("PaymentAllocated", "payment-p1", R"({"allocationId":"a","paymentId":"p1","lines":[{"invoiceId":"i1"}]})"));
  CHECK(contains(h.last_reason, "field 'lines[0].amountMinor': is required"));
  CHECK_FALSE(h.ev("PaymentAllocated", "payment-p1", R"({"allocationId":"a","paymentId":"p1","lines":[7]})"));
  CHECK(contains(h.q("trial-balance"), R"("account":"1951","currency":"SEK","debitMinor":100)"));
  // Anomalies are kept in position order and paged.
  const auto all = h.q("anomalies");
  CHECK(contains(all, R"("total":)"));
  CHECK(contains(h.q("anomalies", {{"limit", "1"}}), R"("next":1)"));
  CHECK(contains(h.q("anomalies", {{"limit", "0"}}), "parameter 'limit'"));
  CHECK(contains(h.q("anomalies", {{"after", "x"}}), "parameter 'after'"));
  CHECK(contains(h.q("nope"), "ERR 1"));
  (void)digest;
  (void)tb;
}

TEST_CASE("reskontra: amounts that would overflow 64 bits are refused", "[reskontra]") {
  harness h;
  constexpr auto max = std::numeric_limits<std::int64_t>::max();
  REQUIRE(h.ev("CustomerInvoiceIssued", "invoice-i1", invoice("i1", max, 0, "2025-03-31")));
  const auto tb = h.q("trial-balance");
  CHECK_FALSE(h.ev("CustomerInvoiceIssued", "invoice-i2", invoice("i2", 1, 0, "2025-03-31")));
  CHECK(contains(h.last_reason, "overflow"));
  CHECK_FALSE(h.ev("ReminderSent", "invoice-i1", R"({"invoiceId":"i1","level":1,"feeMinor":1})"));
  CHECK(contains(h.last_reason, "overflow"));
  CHECK(h.q("trial-balance") == tb);
  // Another currency has its own room.
  REQUIRE(h.ev("CustomerInvoiceIssued", "invoice-i3", invoice("i3", max, 0, "2025-03-31", "EUR")));
  CHECK_FALSE(h.ev("PaymentReceived", "payment-p1", payment("p1", 1)));
  CHECK(contains(h.last_reason, "overflow"));
}

TEST_CASE("reskontra: overdue at D moves due dates over Swedish holidays and weekends", "[reskontra]") {
  harness h;
  REQUIRE(h.ev("CustomerInvoiceIssued", "invoice-mid", invoice("mid", 100, 0, "2025-06-20")));    // midsommarafton
  REQUIRE(h.ev("CustomerInvoiceIssued", "invoice-jul", invoice("jul", 100, 0, "2025-12-24")));    // julafton
  REQUIRE(h.ev("CustomerInvoiceIssued", "invoice-nyar", invoice("nyar", 100, 0, "2025-12-31")));  // nyårsafton
  REQUIRE(h.ev("CustomerInvoiceIssued", "invoice-pask", invoice("pask", 100, 0, "2025-04-18")));  // långfredagen
  REQUIRE(h.ev("CustomerInvoiceIssued", "invoice-sat", invoice("sat", 100, 0, "2025-03-15")));    // a Saturday
  REQUIRE(h.ev("CustomerInvoiceIssued", "invoice-wed", invoice("wed", 100, 0, "2025-03-12")));    // a Wednesday
  REQUIRE(h.ev("CustomerInvoiceIssued", "invoice-def", invoice("def", 100, 0, "2025-03-12")));
  REQUIRE(h.ev("DeferralGranted", "invoice-def", R"({"invoiceId":"def","newDueDate":"2025-04-01"})"));
  REQUIRE(h.ev("DeferralGranted", "invoice-def", R"({"invoiceId":"def","newDueDate":"2025-03-20"})"));

  auto overdue = [&h](std::string_view at) { return h.q("overdue", {{"at", std::string(at)}}); };
  auto has = [](const std::string& s, std::string_view id) {
    return contains(s, "\"invoiceId\":\"" + std::string(id) + "\"");
  };
  CHECK_FALSE(has(overdue("2025-03-12"), "wed"));
  CHECK(has(overdue("2025-03-13"), "wed"));
  CHECK_FALSE(has(overdue("2025-03-17"), "sat"));  // moved to Monday 17th
  CHECK(has(overdue("2025-03-18"), "sat"));
  // The latest deferral counts, not the largest date.
  CHECK_FALSE(has(overdue("2025-03-20"), "def"));
  CHECK(has(overdue("2025-03-21"), "def"));
  CHECK_FALSE(has(overdue("2025-04-22"), "pask"));  // Fri, Sat, Sun, annandag påsk -> Tue 22nd
  CHECK(has(overdue("2025-04-23"), "pask"));
  CHECK_FALSE(has(overdue("2025-06-23"), "mid"));  // -> Monday 23rd
  CHECK(has(overdue("2025-06-24"), "mid"));
  CHECK_FALSE(has(overdue("2025-12-29"), "jul"));  // 24-26 Dec and a weekend -> Mon 29th
  CHECK(has(overdue("2025-12-30"), "jul"));
  CHECK_FALSE(has(overdue("2026-01-02"), "nyar"));  // nyårsafton, nyårsdagen -> Fri 2 Jan
  CHECK(has(overdue("2026-01-03"), "nyar"));
  CHECK(contains(overdue("2025-03-18"), R"({"invoiceId":"wed","party":"SE_PNR:191212121212","invoiceNo":"F-wed","dueDate":"2025-03-12","effectiveDueDate":"2025-03-12","currency":"SEK","remainingMinor":100,"state":"open"})"));
  CHECK(contains(overdue("2026-06-01"), R"("totals":[{"currency":"SEK","remainingMinor":700}])"));
  CHECK(contains(h.q("overdue"), "parameter 'at'"));
  CHECK(contains(h.q("overdue", {{"at", "2025-13-01"}}), "parameter 'at'"));
  // Paid items are never overdue.
  REQUIRE(h.ev("WriteOffRecorded", "invoice-wed", R"({"invoiceId":"wed","amountMinor":100})"));
  CHECK_FALSE(has(overdue("2026-06-01"), "wed"));
}

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
    // MUNINN_BENCH_REPEAT=n applies the log n more times first (for perf).
    for (int rep = std::getenv("MUNINN_BENCH_REPEAT") ? std::atoi(std::getenv("MUNINN_BENCH_REPEAT")) : 0; rep > 0; --rep) {
      mp::reskontra_projection warm;
      for (std::size_t i = 0; i < log.size(); ++i) {
        mp::event_view e;
        e.at = log[i].at;
        e.time = log[i].time;
        e.stream = log[i].stream;
        e.type = log[i].type;
        e.data = roots[i];
        e.data_ok = !roots[i].IsNull();
        warm.apply(e);
      }
    }
    mp::reskontra_projection p;
    const auto t0 = cpu_now();
    for (std::size_t i = 0; i < log.size(); ++i) {
      mp::event_view e;
      e.at = log[i].at;
      e.time = log[i].time;
      e.stream = log[i].stream;
      e.type = log[i].type;
      e.data = roots[i];
      e.data_ok = !roots[i].IsNull();
      p.apply(e);
    }
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
