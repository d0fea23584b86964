#include <catch2/catch.hpp>

#include "tests/projections/reskontra_test_util.h"

using namespace reskontra_test;

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

TEST_CASE("reskontra: long lists apply every line, and a fault in a late element names it", "[reskontra]") {
  // prepare() keeps the first few lines and the position of the first
  // fault; lines after those are read again when applied.
  harness h;
  std::vector<std::pair<std::string, std::int64_t>> lines;
  for (int i = 0; i < 7; ++i) {
    const auto id = "i" + std::to_string(i);
    REQUIRE(h.ev("CustomerInvoiceIssued", inv_stream(id), invoice(id, 1000, 0, "2025-03-31")));
    lines.emplace_back(id, 100 + i);
  }
  REQUIRE(h.ev("PaymentReceived", "payment-p1", payment("p1", 5000)));
  const std::string last_amount = R"("amountMinor":106)";
  auto bad = allocation("a0", "p1", lines);
  bad.replace(bad.rfind(last_amount), last_amount.size(), R"("amountMinor":-6)");
  CHECK_FALSE(h.ev("PaymentAllocated", "payment-p1", bad));
  CHECK(contains(h.last_reason, "field 'lines[6].amountMinor': must be >= 1"));
  auto ghost = lines;
  ghost[5].first = "ghost";
  CHECK_FALSE(h.ev("PaymentAllocated", "payment-p1", allocation("a0", "p1", ghost)));
  CHECK(contains(h.last_reason, "invoice 'ghost' does not exist"));
  // The unknown invoice comes first: the later malformed line is not reached.
  auto both = allocation("a0", "p1", ghost);
  both.replace(both.rfind(last_amount), last_amount.size(), R"("amountMinor":-6)");
  CHECK_FALSE(h.ev("PaymentAllocated", "payment-p1", both));
  CHECK(contains(h.last_reason, "invoice 'ghost' does not exist"));
  const auto digest = digest_hex(h.p);
  REQUIRE(h.ev("PaymentAllocated", "payment-p1", allocation("a1", "p1", lines)));
  CHECK(h.acct("9181") == pair{100 + 101 + 102 + 103 + 104 + 105 + 106, 5000});
  CHECK(contains(h.q("party", {{"party", "SE_PNR:19121212-1212"}}), R"("invoiceId":"i6","invoiceNo":"F-i6")"));
  CHECK(digest != digest_hex(h.p));

  std::vector<std::pair<std::string, std::int64_t>> payables;
  for (int i = 0; i < 6; ++i) {
    const auto id = "s" + std::to_string(i);
    REQUIRE(h.ev("SupplierInvoiceRegistered", sup_stream(id), supplier_invoice(id, 1000, 0)));
    if (i != 5) REQUIRE(h.ev("SupplierInvoiceApproved", sup_stream(id), R"({"invoiceId":")" + id + R"(","approver":"a"})"));
    payables.emplace_back(id, 10);
  }
  CHECK_FALSE(h.ev("SupplierPaymentSent", "payment-order-o1", order("o1", payables)));
  CHECK(contains(h.last_reason, "supplier invoice 's5' is not approved"));
  REQUIRE(h.ev("SupplierInvoiceApproved", "supplier-invoice-s5", R"({"invoiceId":"s5","approver":"a"})"));
  auto element = order("o1", payables);
  const std::string last_line = R"({"invoiceId":"s5","amountMinor":10})";
  element.replace(element.rfind(last_line), last_line.size(), "7");
  CHECK_FALSE(h.ev("SupplierPaymentSent", "payment-order-o1", element));
  CHECK(contains(h.last_reason, "field 'lines': element 5 must be an object"));
  REQUIRE(h.ev("SupplierPaymentSent", "payment-order-o1", order("o1", payables)));
  CHECK(h.acct("2512") == pair{60, 6000});
  REQUIRE(h.ev("SupplierPaymentRejected", "payment-order-o1", R"({"paymentOrderId":"o1","reasonCode":"AC04"})"));
  CHECK(h.acct("2512") == pair{60, 6060});

  const std::string plan_head = R"({"planId":"n1","invoiceIds":["i0","i1","i2","i3","i4")";
  CHECK_FALSE(h.ev("PaymentPlanAgreed", "plan-n1", plan_head + R"(,"i 5"],"installments":[{"dueDate":"2025-04-01","amountMinor":1}]})"));
  CHECK(contains(h.last_reason, "field 'invoiceIds': element 5 must be an id"));
  CHECK_FALSE(h.ev("PaymentPlanAgreed", "plan-n1", plan_head + R"(,"ghost",5],"installments":[{"dueDate":"2025-04-01","amountMinor":1}]})"));
  CHECK(contains(h.last_reason, "invoice 'ghost' does not exist"));
  CHECK_FALSE(h.ev("PaymentPlanAgreed", "plan-n1", plan_head + R"(,"i1"],"installments":[{"dueDate":"2025-04-01","amountMinor":1},{"dueDate":"x"}]})"));
  CHECK(contains(h.last_reason, "field 'invoiceIds': invoice 'i1' named twice"));
  CHECK_FALSE(h.ev("PaymentPlanAgreed", "plan-n1", plan_head + R"(],"installments":[{"dueDate":"2025-04-01","amountMinor":1},{"dueDate":"x"}]})"));
  CHECK(contains(h.last_reason, "field 'installments[1].dueDate': must be a date YYYY-MM-DD"));
  REQUIRE(h.ev("PaymentPlanAgreed", "plan-n1", plan_head + R"(],"installments":[{"dueDate":"2025-04-01","amountMinor":1},{"dueDate":"2025-05-01","amountMinor":2}]})"));
  const auto party = h.q("party", {{"party", "SE_PNR:19121212-1212"}});
  CHECK(contains(party.substr(party.find(R"("invoiceId":"i4")")), R"("remainingMinor":896,"state":"in_plan")"));
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
