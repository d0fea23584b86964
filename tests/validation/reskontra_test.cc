// The reskontra catalog of domain.md, rule by rule: an accepted example of
// every event type and one refused input per rule (index, field, rule).
#include <catch2/catch.hpp>

#include <string>
#include <utility>
#include <vector>

#include "tests/validation/helpers.h"

using namespace muninn::validation;
using namespace muninn::validation::test;

namespace {

constexpr schema R = schema::reskontra;

std::string event(std::string_view type, std::string_view stream, std::string_view data,
                  bool creates = false) {
  return R"({"stream":")" + std::string(stream) + R"(","type":")" + std::string(type) + R"(",)" +
         (creates ? R"("expected_version":-1,)" : "") + R"("time":"2026-11-23T10:00:00Z","data":)" +
         std::string(data) + "}";
}

const std::string pnr = R"({"type":"SE_PNR","value":"19121212-1212"})";

const std::string invoice = event("CustomerInvoiceIssued", "invoice-INV-1001",
    R"({"invoiceId":"INV-1001","party":{"type":"SE_PNR","value":"19121212-1212"},"invoiceNo":"1001",)"
    R"("ocrRef":"10016","issueDate":"2026-11-01","dueDate":"2026-11-30","currency":"SEK",)"
    R"("amountMinor":125000,"vatMinor":25000,"revenueAccount":"3011"})", true);
const std::string credit_note = event("CreditNoteIssued", "invoice-INV-1001",
    R"({"creditNoteId":"CN-1","invoiceId":"INV-1001","amountMinor":25000,"reason":"Felaktigt belopp"})");
const std::string reminder = event("ReminderSent", "invoice-INV-1001",
    R"({"invoiceId":"INV-1001","level":1,"feeMinor":6000})");
const std::string payment = event("PaymentReceived", "payment-PAY-77",
    R"({"paymentId":"PAY-77","source":"BGMAX","sourceRef":"BGMAX-2026-11-23-1","ocrRef":"10016",)"
    R"("payerName":"Tolvan Tolvansson","amountMinor":150000,"currency":"SEK","bookingDate":"2026-11-23"})",
    true);
const std::string allocation = event("PaymentAllocated", "payment-PAY-77",
    R"({"allocationId":"AL-1","paymentId":"PAY-77","lines":[{"invoiceId":"INV-1001","amountMinor":100000},)"
    R"({"invoiceId":"INV-1002","amountMinor":25000}]})");
const std::string reversal = event("AllocationReversed", "payment-PAY-77",
    R"({"allocationId":"AL-1","reason":"Fel faktura"})");
const std::string overpayment = event("OverpaymentRecorded", "payment-PAY-77",
    R"({"paymentId":"PAY-77","party":{"type":"SE_PNR","value":"194408139089"},"amountMinor":25000})");
const std::string credit_applied = event("CreditBalanceApplied", "invoice-INV-1002",
    R"({"party":{"type":"SE_PNR","value":"194408139089"},"invoiceId":"INV-1002","amountMinor":25000})");
const std::string refund = event("RefundIssued", "refund-R-1",
    R"({"refundId":"R-1","party":{"type":"SE_PNR","value":"194408139089"},"currency":"SEK","amountMinor":25000})",
    true);
const std::string write_off = event("WriteOffRecorded", "invoice-INV-1003",
    R"({"invoiceId":"INV-1003","amountMinor":5000})");
const std::string deferral = event("DeferralGranted", "invoice-INV-1003",
    R"({"invoiceId":"INV-1003","newDueDate":"2027-01-31"})");
const std::string plan = event("PaymentPlanAgreed", "plan-PL-1",
    R"({"planId":"PL-1","invoiceIds":["INV-1003","INV-1004"],"installments":[)"
    R"({"dueDate":"2026-12-31","amountMinor":50000},{"dueDate":"2027-01-31","amountMinor":50000}]})",
    true);
const std::string plan_broken = event("PaymentPlanBroken", "plan-PL-1", R"({"planId":"PL-1"})");
const std::string plan_completed = event("PaymentPlanCompleted", "plan-PL-1", R"({"planId":"PL-1"})");
const std::string collection = event("SentToCollection", "invoice-INV-1003",
    R"({"invoiceId":"INV-1003","agency":"Intrum"})");

const std::string supplier_invoice = event("SupplierInvoiceRegistered", "supplier-invoice-SI-9",
    R"({"invoiceId":"SI-9","party":{"type":"SE_ORGNR","value":"212000-0142"},"supplierInvoiceNo":"F-55512",)"
    R"("invoiceDate":"2026-11-20","dueDate":"2026-12-20","currency":"SEK","amountMinor":62500,)"
    R"("vatMinor":12500,"expenseAccount":"4010"})", true);
const std::string approved = event("SupplierInvoiceApproved", "supplier-invoice-SI-9",
    R"({"invoiceId":"SI-9","approver":"anna.attest"})");
const std::string supplier_credit = event("SupplierCreditInvoiceRegistered", "supplier-invoice-SI-9",
    R"({"creditId":"SC-1","invoiceId":"SI-9","amountMinor":2500})");
const std::string blocked = event("PaymentBlocked", "supplier-invoice-SI-9",
    R"({"invoiceId":"SI-9","reason":"Tvist"})");
const std::string unblocked = event("PaymentUnblocked", "supplier-invoice-SI-9",
    R"({"invoiceId":"SI-9","reason":"Tvist löst"})");
const std::string payment_order = event("SupplierPaymentSent", "payment-order-PO-3",
    R"({"paymentOrderId":"PO-3","paymentDate":"2026-12-19","lines":[{"invoiceId":"SI-9","amountMinor":60000}]})",
    true);
const std::string rejected = event("SupplierPaymentRejected", "payment-order-PO-3",
    R"({"paymentOrderId":"PO-3","reasonCode":"AC04"})");

const std::vector<const std::string*> all_events{
    &invoice, &credit_note, &reminder, &payment, &allocation, &reversal, &overpayment,
    &credit_applied, &refund, &write_off, &deferral, &plan, &plan_broken, &plan_completed,
    &collection, &supplier_invoice, &approved, &supplier_credit, &blocked, &unblocked,
    &payment_order, &rejected};

}  // namespace

// ---- accepted examples ---------------------------------------------------------

TEST_CASE("reskontra: a valid example of every event type is accepted", "[validation][reskontra]") {
  CHECK(all_events.size() == 22);
  for (const auto* line : all_events) accepted(R, *line);
}

TEST_CASE("reskontra: parties may be of any of the four kinds", "[validation][reskontra]") {
  for (const char* party : {R"({"type":"SE_PNR","value":"121212-1212"})",
                            R"({"type":"SE_ORGNR","value":"2120000142"})",
                            R"({"type":"NO_FNR","value":"13097248022"})",
                            R"({"type":"NO_ORGNR","value":"123456785"})"}) {
    accepted(R, with(invoice, pnr, party));
  }
}

// ---- shared rules ----------------------------------------------------------------

TEST_CASE("reskontra: streams name the entity", "[validation][reskontra]") {
  const std::vector<std::pair<const std::string*, std::pair<std::string, std::string>>> cases{
      {&invoice, {"invoice-INV-1001", "must be invoice-<invoiceId>"}},
      {&credit_note, {"invoice-INV-1001", "must be invoice-<invoiceId>"}},
      {&reminder, {"invoice-INV-1001", "must be invoice-<invoiceId>"}},
      {&payment, {"payment-PAY-77", "must be payment-<paymentId>"}},
      {&allocation, {"payment-PAY-77", "must be payment-<paymentId>"}},
      {&overpayment, {"payment-PAY-77", "must be payment-<paymentId>"}},
      {&credit_applied, {"invoice-INV-1002", "must be invoice-<invoiceId>"}},
      {&refund, {"refund-R-1", "must be refund-<refundId>"}},
      {&write_off, {"invoice-INV-1003", "must be invoice-<invoiceId>"}},
      {&deferral, {"invoice-INV-1003", "must be invoice-<invoiceId>"}},
      {&plan, {"plan-PL-1", "must be plan-<planId>"}},
      {&plan_broken, {"plan-PL-1", "must be plan-<planId>"}},
      {&plan_completed, {"plan-PL-1", "must be plan-<planId>"}},
      {&collection, {"invoice-INV-1003", "must be invoice-<invoiceId>"}},
      {&supplier_invoice, {"supplier-invoice-SI-9", "must be supplier-invoice-<invoiceId>"}},
      {&approved, {"supplier-invoice-SI-9", "must be supplier-invoice-<invoiceId>"}},
      {&supplier_credit, {"supplier-invoice-SI-9", "must be supplier-invoice-<invoiceId>"}},
      {&blocked, {"supplier-invoice-SI-9", "must be supplier-invoice-<invoiceId>"}},
      {&unblocked, {"supplier-invoice-SI-9", "must be supplier-invoice-<invoiceId>"}},
      {&payment_order, {"payment-order-PO-3", "must be payment-order-<paymentOrderId>"}},
      {&rejected, {"payment-order-PO-3", "must be payment-order-<paymentOrderId>"}},
  };
  for (const auto& [line, expect] : cases) {
    const std::string stream = R"("stream":")" + expect.first + "\"";
    refused(R, with(*line, stream, R"("stream":"other-1")"), "stream", expect.second);
    // The id must match exactly, not just the prefix.
    refused(R, with(*line, stream, R"("stream":")" + expect.first + "0\""), "stream", expect.second);
  }
  // A customer invoice id on a supplier invoice stream is another entity.
  refused(R, with(approved, R"("stream":"supplier-invoice-SI-9")", R"("stream":"invoice-SI-9")"),
          "stream", "must be supplier-invoice-<invoiceId>");
}

TEST_CASE("reskontra: AllocationReversed goes to its payment's stream", "[validation][reskontra]") {
  accepted(R, with(reversal, "payment-PAY-77", "payment-PAY-1"));
  for (const char* stream : {"invoice-INV-1001", "payment-", "payment-order-PO-3", "allocation-AL-1"}) {
    refused(R, with(reversal, "payment-PAY-77", stream), "stream",
            "must be payment-<paymentId> of the allocation's payment");
  }
}

TEST_CASE("reskontra: a payment id may not start with order- (payment order streams)",
          "[validation][reskontra]") {
  refused(R, with(with(payment, R"("paymentId":"PAY-77")", R"("paymentId":"order-5")"), "payment-PAY-77",
                  "payment-order-5"),
          "data.paymentId", R"(must not start with "order-" (reserved for payment orders))");
}

TEST_CASE("reskontra: events that create an entity need expected_version -1",
          "[validation][reskontra]") {
  for (const auto* line : {&invoice, &payment, &refund, &plan, &supplier_invoice, &payment_order}) {
    refused(R, with(*line, R"("expected_version":-1,)", ""), "expected_version",
            "must be -1 for an event that creates its entity");
    refused(R, with(*line, R"("expected_version":-1,)", R"("expected_version":0,)"),
            "expected_version", "must be -1 for an event that creates its entity");
  }
  // Other events are free to use any expected version.
  accepted(R, with(reminder, R"("time")", R"("expected_version":3,"time")"));
}

TEST_CASE("reskontra: ids are 1-100 characters of the stream alphabet", "[validation][reskontra]") {
  const std::string rule = "must be an id of 1-100 characters of A-Z a-z 0-9 . _ : @ -";
  refused(R, with(invoice, R"("invoiceId":"INV-1001")", R"("invoiceId":"INV 1001")"), "data.invoiceId", rule);
  refused(R, with(invoice, R"("invoiceId":"INV-1001")", R"("invoiceId":"INV/1001")"), "data.invoiceId", rule);
  refused(R, with(invoice, R"("invoiceId":"INV-1001")", R"("invoiceId":")" + std::string(101, 'x') + "\""),
          "data.invoiceId", rule);
  refused(R, with(invoice, R"("invoiceId":"INV-1001")", R"("invoiceId":"")"), "data.invoiceId",
          "must not be empty");
  refused(R, with(invoice, R"("invoiceId":"INV-1001")", R"("invoiceId":1001)"), "data.invoiceId",
          "must be a string");
  refused(R, with(invoice, R"("invoiceId":"INV-1001",)", ""), "data.invoiceId", "is required");
  const std::string id100(100, 'x');
  accepted(R, with(with(invoice, R"("invoiceId":"INV-1001")", R"("invoiceId":")" + id100 + "\""),
                   "invoice-INV-1001", "invoice-" + id100));
  // Every id field of the catalog.
  refused(R, with(credit_note, R"("creditNoteId":"CN-1",)", ""), "data.creditNoteId", "is required");
  refused(R, with(allocation, R"("allocationId":"AL-1",)", ""), "data.allocationId", "is required");
  refused(R, with(reversal, R"("allocationId":"AL-1",)", ""), "data.allocationId", "is required");
  refused(R, with(refund, R"("refundId":"R-1",)", ""), "data.refundId", "is required");
  refused(R, with(plan_broken, R"({"planId":"PL-1"})", "{}"), "data.planId", "is required");
  refused(R, with(plan_completed, R"({"planId":"PL-1"})", R"({"planId":"PL 1"})"), "data.planId", rule);
  refused(R, with(supplier_credit, R"("creditId":"SC-1",)", ""), "data.creditId", "is required");
  refused(R, with(rejected, R"("paymentOrderId":"PO-3",)", ""), "data.paymentOrderId", "is required");
  refused(R, with(overpayment, R"("paymentId":"PAY-77",)", ""), "data.paymentId", "is required");
}

TEST_CASE("reskontra: parties are validated with the identifier rules", "[validation][reskontra]") {
  refused(R, with(invoice, "19121212-1212", "121212-1213"), "data.party.value",
          "SE_PNR check digit is wrong");
  refused(R, with(invoice, pnr, R"({"type":"DK_CPR","value":"0101901234"})"), "data.party.type",
          "must be one of SE_PNR, SE_ORGNR, NO_FNR, NO_ORGNR");
  refused(R, with(invoice, pnr, R"({"value":"19121212-1212"})"), "data.party.type", "is required");
  refused(R, with(invoice, pnr, R"({"type":"SE_PNR"})"), "data.party.value", "is required");
  refused(R, with(invoice, pnr, R"("19121212-1212")"), "data.party", "must be an object");
  refused(R, with(supplier_invoice, "212000-0142", "212000-0143"), "data.party.value",
          "SE_ORGNR check digit is wrong");
  refused(R, with(supplier_invoice, "212000-0142", "551212-1210"), "data.party.value",
          "SE_ORGNR digits 3-4 must be >= 20");
  refused(R, with(overpayment, R"({"type":"SE_PNR","value":"194408139089"})",
                  R"({"type":"NO_ORGNR","value":"123456784"})"),
          "data.party.value", "NO_ORGNR check digit is wrong");
  refused(R, with(credit_applied, R"({"type":"SE_PNR","value":"194408139089"})",
                  R"({"type":"NO_FNR","value":"29020105729"})"),
          "data.party.value", "NO_FNR date is not a real date");
  refused(R, with(refund, R"("party":{"type":"SE_PNR","value":"194408139089"},)", ""), "data.party",
          "is required");
}

TEST_CASE("reskontra: money must be an integer of minor units", "[validation][reskontra]") {
  const std::string rule = "money must be an integer of minor units";
  refused(R, with(invoice, R"("amountMinor":125000)", R"("amountMinor":1250.00)"), "data.amountMinor", rule);
  refused(R, with(invoice, R"("amountMinor":125000)", R"("amountMinor":"125000")"), "data.amountMinor", rule);
  refused(R, with(invoice, R"("vatMinor":25000)", R"("vatMinor":250.5)"), "data.vatMinor", rule);
  refused(R, with(reminder, R"("feeMinor":6000)", R"("feeMinor":true)"), "data.feeMinor", rule);
  refused(R, with(write_off, R"("amountMinor":5000)", R"("amountMinor":"50.00")"), "data.amountMinor", rule);
  refused(R, with(allocation, R"("amountMinor":25000)", R"("amountMinor":250.0)"),
          "data.lines[1].amountMinor", rule);
  refused(R, with(plan, R"("dueDate":"2027-01-31","amountMinor":50000)", R"("dueDate":"2027-01-31","amountMinor":5e4)"),
          "data.installments[1].amountMinor", rule);
  refused(R, with(payment_order, R"("amountMinor":60000)", R"("amountMinor":[60000])"),
          "data.lines[0].amountMinor", rule);
  refused(R, with(refund, R"("amountMinor":25000)", R"("amountMinor":null)"), "data.amountMinor", "is required");
}

TEST_CASE("reskontra: amounts are > 0", "[validation][reskontra]") {
  const std::vector<std::pair<const std::string*, std::string>> cases{
      {&invoice, R"("amountMinor":125000)"},      {&credit_note, R"("amountMinor":25000)"},
      {&payment, R"("amountMinor":150000)"},      {&overpayment, R"("amountMinor":25000)"},
      {&credit_applied, R"("amountMinor":25000)"}, {&refund, R"("amountMinor":25000)"},
      {&write_off, R"("amountMinor":5000)"},      {&supplier_invoice, R"("amountMinor":62500)"},
      {&supplier_credit, R"("amountMinor":2500)"}};
  for (const auto& [line, amount] : cases) {
    const std::string vat_free = *line == invoice    ? with(*line, R"("vatMinor":25000)", R"("vatMinor":0)")
                                 : *line == supplier_invoice ? with(*line, R"("vatMinor":12500)", R"("vatMinor":0)")
                                                             : *line;
    refused(R, with(vat_free, amount, R"("amountMinor":0)"), "data.amountMinor", "must be > 0");
    refused(R, with(vat_free, amount, R"("amountMinor":-100)"), "data.amountMinor", "must be > 0");
  }
}

TEST_CASE("reskontra: 0 <= vatMinor <= amountMinor", "[validation][reskontra]") {
  for (const auto* line : {&invoice, &supplier_invoice}) {
    const std::string vat = *line == invoice ? R"("vatMinor":25000)" : R"("vatMinor":12500)";
    const std::string amount = *line == invoice ? "125000" : "62500";
    accepted(R, with(*line, vat, R"("vatMinor":0)"));
    accepted(R, with(*line, vat, R"("vatMinor":)" + amount));
    refused(R, with(*line, vat, R"("vatMinor":-1)"), "data.vatMinor", "must be >= 0");
    refused(R, with(*line, vat, R"("vatMinor":)" + std::to_string(std::stoll(amount) + 1)), "data.vatMinor",
            "must be <= amountMinor");
    refused(R, with(*line, vat + ",", ""), "data.vatMinor", "is required");
  }
}

TEST_CASE("reskontra: currency is an ISO 4217 code of 3 uppercase letters", "[validation][reskontra]") {
  const std::string rule = "must be an ISO 4217 currency code (3 uppercase letters)";
  for (const auto* line : {&invoice, &payment, &refund, &supplier_invoice}) {
    accepted(R, with(*line, R"("currency":"SEK")", R"("currency":"NOK")"));
    for (const char* bad : {R"("currency":"sek")", R"("currency":"SEKK")", R"("currency":"SE")",
                            R"("currency":"kr")", R"("currency":"S1K")"}) {
      refused(R, with(*line, R"("currency":"SEK")", bad), "data.currency", rule);
    }
    refused(R, with(*line, R"("currency":"SEK")", R"("currency":752)"), "data.currency", "must be a string");
  }
  refused(R, with(invoice, R"("currency":"SEK",)", ""), "data.currency", "is required");
}

TEST_CASE("reskontra: dates are YYYY-MM-DD and real", "[validation][reskontra]") {
  const std::vector<std::pair<const std::string*, std::string>> dates{
      {&invoice, "issueDate"},          {&invoice, "dueDate"},
      {&payment, "bookingDate"},        {&deferral, "newDueDate"},
      {&supplier_invoice, "invoiceDate"}, {&supplier_invoice, "dueDate"},
      {&payment_order, "paymentDate"}};
  for (const auto& [line, field] : dates) {
    INFO(field);
    const std::string key = "\"" + field + "\":\"";
    const auto at = line->find(key);
    REQUIRE(at != std::string::npos);
    const std::string original = line->substr(at, key.size() + 11);  // key + date + quote
    const std::string path = "data." + field;
    refused(R, with(*line, original, key + "2026-02-30\""), path, "must be a real date");
    refused(R, with(*line, original, key + "2026-13-01\""), path, "must be a real date");
    refused(R, with(*line, original, key + "23.11.2026\""), path, "must be a date YYYY-MM-DD");
    refused(R, with(*line, original, key + "2026-11-23T00:00:00Z\""), path, "must be a date YYYY-MM-DD");
    refused(R, with(*line, original, key + "2026-1-5\""), path, "must be a date YYYY-MM-DD");
    refused(R, with(*line, original, "\"" + field + "\":20261123"), path, "must be a date YYYY-MM-DD");
    accepted(R, with(*line, original, key + "2028-02-29\""));
  }
  refused(R, with(plan, R"("dueDate":"2026-12-31")", R"("dueDate":"2027-02-29")"),
          "data.installments[0].dueDate", "must be a real date");
  refused(R, with(deferral, R"(,"newDueDate":"2027-01-31")", ""), "data.newDueDate", "is required");
}

TEST_CASE("reskontra: revenue and expense accounts are strings of 4-8 digits", "[validation][reskontra]") {
  const std::string rule = "must be an account number: a string of 4-8 digits";
  refused(R, with(invoice, R"("revenueAccount":"3011")", R"("revenueAccount":"301")"), "data.revenueAccount", rule);
  refused(R, with(invoice, R"("revenueAccount":"3011")", R"("revenueAccount":"30A1")"), "data.revenueAccount", rule);
  refused(R, with(invoice, R"("revenueAccount":"3011")", R"("revenueAccount":3011)"), "data.revenueAccount",
          "must be a string");
  refused(R, with(invoice, R"(,"revenueAccount":"3011")", ""), "data.revenueAccount", "is required");
  accepted(R, with(invoice, R"("revenueAccount":"3011")", R"("revenueAccount":"30110200")"));
  refused(R, with(supplier_invoice, R"("expenseAccount":"4010")", R"("expenseAccount":"401000001")"),
          "data.expenseAccount", rule);
}

// ---- receivables, event by event ---------------------------------------------------

TEST_CASE("reskontra: CustomerInvoiceIssued needs invoiceNo, ocrRef is optional", "[validation][reskontra]") {
  refused(R, with(invoice, R"("invoiceNo":"1001",)", ""), "data.invoiceNo", "is required");
  refused(R, with(invoice, R"("invoiceNo":"1001")", R"("invoiceNo":1001)"), "data.invoiceNo", "must be a string");
  accepted(R, with(invoice, R"("ocrRef":"10016",)", ""));
  refused(R, with(invoice, R"("ocrRef":"10016")", R"("ocrRef":10016)"), "data.ocrRef", "must be a string");
}

TEST_CASE("reskontra: CreditNoteIssued needs a reason", "[validation][reskontra]") {
  refused(R, with(credit_note, R"(,"reason":"Felaktigt belopp")", ""), "data.reason", "is required");
  refused(R, with(credit_note, R"("reason":"Felaktigt belopp")", R"("reason":"")"), "data.reason",
          "must not be empty");
}

TEST_CASE("reskontra: ReminderSent level >= 1 and fee >= 0", "[validation][reskontra]") {
  accepted(R, with(reminder, R"("feeMinor":6000)", R"("feeMinor":0)"));
  refused(R, with(reminder, R"("level":1)", R"("level":0)"), "data.level", "must be > 0");
  refused(R, with(reminder, R"("level":1)", R"("level":"1")"), "data.level", "must be an integer");
  refused(R, with(reminder, R"("feeMinor":6000)", R"("feeMinor":-6000)"), "data.feeMinor", "must be >= 0");
  refused(R, with(reminder, R"(,"feeMinor":6000)", ""), "data.feeMinor", "is required");
}

TEST_CASE("reskontra: PaymentReceived source is BGMAX, CAMT054, MANUAL or AUTOGIRO", "[validation][reskontra]") {
  for (const char* s : {"CAMT054", "MANUAL", "AUTOGIRO"}) accepted(R, with(payment, "BGMAX\"", std::string(s) + "\""));
  refused(R, with(payment, R"("source":"BGMAX")", R"("source":"SWISH")"), "data.source",
          "must be one of BGMAX, CAMT054, MANUAL, AUTOGIRO");
  refused(R, with(payment, R"("source":"BGMAX")", R"("source":"bgmax")"), "data.source",
          "must be one of BGMAX, CAMT054, MANUAL, AUTOGIRO");
  refused(R, with(payment, R"("sourceRef":"BGMAX-2026-11-23-1",)", ""), "data.sourceRef", "is required");
  accepted(R, with(with(payment, R"("ocrRef":"10016",)", ""), R"("payerName":"Tolvan Tolvansson",)", ""));
  refused(R, with(payment, R"("payerName":"Tolvan Tolvansson")", R"("payerName":false)"), "data.payerName",
          "must be a string");
}

TEST_CASE("reskontra: allocation and payment lines are non-empty with positive amounts",
          "[validation][reskontra]") {
  refused(R, with(allocation, R"([{"invoiceId":"INV-1001","amountMinor":100000},{"invoiceId":"INV-1002","amountMinor":25000}])", "[]"),
          "data.lines", "must have at least 1 item");
  refused(R, with(allocation, R"("amountMinor":25000)", R"("amountMinor":0)"), "data.lines[1].amountMinor",
          "must be > 0");
  refused(R, with(allocation, R"({"invoiceId":"INV-1002","amountMinor":25000})", R"({"amountMinor":25000})"),
          "data.lines[1].invoiceId", "is required");
  refused(R, with(allocation, R"({"invoiceId":"INV-1002","amountMinor":25000})", R"("INV-1002")"),
          "data.lines[1]", "must be an object");
  refused(R, with(payment_order, R"([{"invoiceId":"SI-9","amountMinor":60000}])", "[]"), "data.lines",
          "must have at least 1 item");
  refused(R, with(payment_order, R"("amountMinor":60000)", R"("amountMinor":-1)"), "data.lines[0].amountMinor",
          "must be > 0");
  refused(R, with(payment_order, R"(,"lines":[{"invoiceId":"SI-9","amountMinor":60000}])", ""), "data.lines",
          "is required");
  refused(R, with(payment_order, R"([{"invoiceId":"SI-9","amountMinor":60000}])", R"({"invoiceId":"SI-9"})"),
          "data.lines", "must be an array");
}

TEST_CASE("reskontra: AllocationReversed needs a reason", "[validation][reskontra]") {
  refused(R, with(reversal, R"(,"reason":"Fel faktura")", ""), "data.reason", "is required");
}

TEST_CASE("reskontra: PaymentPlanAgreed names invoices and installments", "[validation][reskontra]") {
  refused(R, with(plan, R"(["INV-1003","INV-1004"])", "[]"), "data.invoiceIds", "must have at least 1 item");
  refused(R, with(plan, R"(["INV-1003","INV-1004"])", R"(["INV-1003",1004])"), "data.invoiceIds[1]",
          "must be a string");
  refused(R, with(plan, R"(["INV-1003","INV-1004"])", R"(["INV 1003"])"), "data.invoiceIds[0]",
          "must be an id of 1-100 characters of A-Z a-z 0-9 . _ : @ -");
  refused(R, with(plan, R"("invoiceIds":["INV-1003","INV-1004"],)", ""), "data.invoiceIds", "is required");
  refused(R, with(plan, R"([{"dueDate":"2026-12-31","amountMinor":50000},{"dueDate":"2027-01-31","amountMinor":50000}])", "[]"),
          "data.installments", "must have at least 1 item");
  refused(R, with(plan, R"("dueDate":"2026-12-31","amountMinor":50000)", R"("dueDate":"2026-12-31","amountMinor":0)"),
          "data.installments[0].amountMinor", "must be > 0");
  refused(R, with(plan, R"({"dueDate":"2027-01-31","amountMinor":50000})", R"({"amountMinor":50000})"),
          "data.installments[1].dueDate", "is required");
}

TEST_CASE("reskontra: SentToCollection names the agency", "[validation][reskontra]") {
  refused(R, with(collection, R"(,"agency":"Intrum")", ""), "data.agency", "is required");
}

// ---- payables, event by event --------------------------------------------------------

TEST_CASE("reskontra: SupplierInvoiceRegistered needs the supplier's invoice number",
          "[validation][reskontra]") {
  refused(R, with(supplier_invoice, R"("supplierInvoiceNo":"F-55512",)", ""), "data.supplierInvoiceNo",
          "is required");
}

TEST_CASE("reskontra: SupplierInvoiceApproved names the approver", "[validation][reskontra]") {
  refused(R, with(approved, R"(,"approver":"anna.attest")", ""), "data.approver", "is required");
}

TEST_CASE("reskontra: PaymentBlocked and PaymentUnblocked need a reason", "[validation][reskontra]") {
  refused(R, with(blocked, R"(,"reason":"Tvist")", ""), "data.reason", "is required");
  refused(R, with(unblocked, R"(,"reason":"Tvist löst")", ""), "data.reason", "is required");
}

TEST_CASE("reskontra: SupplierPaymentRejected needs a reason code", "[validation][reskontra]") {
  refused(R, with(rejected, R"(,"reasonCode":"AC04")", ""), "data.reasonCode", "is required");
}

TEST_CASE("reskontra: SupplierCreditInvoiceRegistered refers to the invoice", "[validation][reskontra]") {
  refused(R, with(supplier_credit, R"("invoiceId":"SI-9",)", ""), "data.invoiceId", "is required");
}

TEST_CASE("reskontra: 10-digit SE_PNR parties take the century from the event time",
          "[validation][reskontra]") {
  // 301231-xxxx is born 1930 at an event in 2026, so "-" is fine either way;
  // a 10-digit spelling of someone born later than the event is impossible:
  // it resolves to the century before and must still be a real date.
  accepted(R, with(invoice, "19121212-1212", "121212-1212"));
  refused(R, with(invoice, "19121212-1212", "000229+1235"), "data.party.value",
          "SE_PNR date is not a real date");
}
