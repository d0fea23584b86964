// The reskontra catalog (domain.md "Reskontra catalog"): receivables and
// payables. Streams name the entity; the mapping is in README.md.
#include <string>

#include "broker/validation/catalogs.h"

namespace muninn::validation::detail {
namespace {

constexpr std::string_view all_parties[] = {"SE_PNR", "SE_ORGNR", "NO_FNR", "NO_ORGNR"};

// The stream of an event about entity `id`: `<prefix><id>`.
void check_stream(const object& d, const codec::event_in& e, std::string_view prefix,
                  std::optional<std::string_view> id, std::string_view field) {
  if (!id || d.check().failed()) return;
  if (e.stream.size() != prefix.size() + id->size() || e.stream.substr(0, prefix.size()) != prefix ||
      e.stream.substr(prefix.size()) != *id) {
    d.check().fail("stream", "must be " + std::string(prefix) + "<" + std::string(field) + ">");
  }
}

// An event that creates its entity must be the stream's first event, so the
// broker itself refuses a second creation of the same id (domain.md).
void check_creates(const object& d, const codec::event_in& e) {
  if (d.check().failed()) return;
  if (e.expected_version != codec::expect_no_stream) {
    d.check().fail("expected_version", "must be -1 for an event that creates its entity");
  }
}

// `payment-<paymentId>` and `payment-order-<paymentOrderId>` share a prefix:
// a payment id starting with "order-" would name a payment order's stream.
std::optional<std::string_view> payment_id(const object& d) {
  const auto id = d.entity_id("paymentId");
  if (id && id->substr(0, 6) == "order-") {
    d.check().fail(d.member("paymentId"), R"(must not start with "order-" (reserved for payment orders))");
    return std::nullopt;
  }
  return id;
}

void account(const object& d, std::string_view key) {
  const auto a = d.text(key, {need::required, 1, unbounded});
  if (a && (a->size() < 4 || a->size() > 8 ||
            a->find_first_not_of("0123456789") != std::string_view::npos)) {
    d.check().fail(d.member(key), "must be an account number: a string of 4-8 digits");
  }
}

void amount_and_vat(const object& d) {
  const auto amount = d.money("amountMinor", 1, need::required);
  const auto vat = d.money("vatMinor", 0, need::required);
  if (amount && vat && *vat > *amount) d.check().fail(d.member("vatMinor"), "must be <= amountMinor");
}

// lines[{invoiceId, amountMinor > 0}], at least one.
void invoice_lines(const object& d) {
  const auto lines = d.list("lines", 1, need::required);
  if (!lines) return;
  for (std::size_t i = 0; i < lines->size() && !d.check().failed(); ++i) {
    const auto line = lines->child(i);
    if (!line) return;
    line->entity_id("invoiceId");
    line->money("amountMinor", 1, need::required);
  }
}

constexpr text_rule required_text{need::required, 1, unbounded};
constexpr text_rule optional_text{need::optional, 0, unbounded};

// ---- receivables ------------------------------------------------------------

void customer_invoice_issued(const object& d, const codec::event_in& e) {
  const auto id = d.entity_id("invoiceId");
  d.party("party", all_parties, need::required);
  d.text("invoiceNo", required_text);
  d.text("ocrRef", optional_text);
  d.date("issueDate", need::required);
  d.date("dueDate", need::required);
  d.currency("currency");
  amount_and_vat(d);
  account(d, "revenueAccount");
  check_stream(d, e, "invoice-", id, "invoiceId");
  check_creates(d, e);
}

void credit_note_issued(const object& d, const codec::event_in& e) {
  d.entity_id("creditNoteId");
  const auto id = d.entity_id("invoiceId");
  d.money("amountMinor", 1, need::required);
  d.text("reason", required_text);
  check_stream(d, e, "invoice-", id, "invoiceId");
}

void reminder_sent(const object& d, const codec::event_in& e) {
  const auto id = d.entity_id("invoiceId");
  d.integer("level", 1, need::required);
  d.money("feeMinor", 0, need::required);
  check_stream(d, e, "invoice-", id, "invoiceId");
}

void payment_received(const object& d, const codec::event_in& e) {
  const auto id = payment_id(d);
  d.one_of("source", {"BGMAX", "CAMT054", "MANUAL", "AUTOGIRO"}, need::required);
  d.text("sourceRef", required_text);
  d.text("ocrRef", optional_text);
  d.text("payerName", optional_text);
  d.money("amountMinor", 1, need::required);
  d.currency("currency");
  d.date("bookingDate", need::required);
  check_stream(d, e, "payment-", id, "paymentId");
  check_creates(d, e);
}

void payment_allocated(const object& d, const codec::event_in& e) {
  d.entity_id("allocationId");
  const auto id = payment_id(d);
  invoice_lines(d);
  check_stream(d, e, "payment-", id, "paymentId");
}

void allocation_reversed(const object& d, const codec::event_in& e) {
  d.entity_id("allocationId");
  d.text("reason", required_text);
  if (d.check().failed()) return;
  // The event names no payment: it goes to the stream of the payment the
  // allocation belongs to (the projection checks that it does).
  const std::string_view prefix = "payment-";
  const bool ok = e.stream.substr(0, prefix.size()) == prefix &&
                  is_entity_id(e.stream.substr(prefix.size())) &&
                  e.stream.substr(prefix.size(), 6) != "order-";
  if (!ok) d.check().fail("stream", "must be payment-<paymentId> of the allocation's payment");
}

void overpayment_recorded(const object& d, const codec::event_in& e) {
  const auto id = payment_id(d);
  d.party("party", all_parties, need::required);
  d.money("amountMinor", 1, need::required);
  check_stream(d, e, "payment-", id, "paymentId");
}

void credit_balance_applied(const object& d, const codec::event_in& e) {
  d.party("party", all_parties, need::required);
  const auto id = d.entity_id("invoiceId");
  d.money("amountMinor", 1, need::required);
  check_stream(d, e, "invoice-", id, "invoiceId");
}

void refund_issued(const object& d, const codec::event_in& e) {
  const auto id = d.entity_id("refundId");
  d.party("party", all_parties, need::required);
  d.currency("currency");
  d.money("amountMinor", 1, need::required);
  check_stream(d, e, "refund-", id, "refundId");
  check_creates(d, e);
}

void write_off_recorded(const object& d, const codec::event_in& e) {
  const auto id = d.entity_id("invoiceId");
  d.money("amountMinor", 1, need::required);
  check_stream(d, e, "invoice-", id, "invoiceId");
}

void deferral_granted(const object& d, const codec::event_in& e) {
  const auto id = d.entity_id("invoiceId");
  d.date("newDueDate", need::required);
  check_stream(d, e, "invoice-", id, "invoiceId");
}

void payment_plan_agreed(const object& d, const codec::event_in& e) {
  const auto id = d.entity_id("planId");
  if (const auto ids = d.list("invoiceIds", 1, need::required)) {
    for (std::size_t i = 0; i < ids->size() && !d.check().failed(); ++i) {
      const auto r = ids->get(i);
      if (!r) return;
      read_entity_id(d.check(), *r, ids->element(i));
    }
  }
  if (const auto inst = d.list("installments", 1, need::required)) {
    for (std::size_t i = 0; i < inst->size() && !d.check().failed(); ++i) {
      const auto one = inst->child(i);
      if (!one) return;
      one->date("dueDate", need::required);
      one->money("amountMinor", 1, need::required);
    }
  }
  check_stream(d, e, "plan-", id, "planId");
  check_creates(d, e);
}

void payment_plan_ended(const object& d, const codec::event_in& e) {
  const auto id = d.entity_id("planId");
  check_stream(d, e, "plan-", id, "planId");
}

void sent_to_collection(const object& d, const codec::event_in& e) {
  const auto id = d.entity_id("invoiceId");
  d.text("agency", required_text);
  check_stream(d, e, "invoice-", id, "invoiceId");
}

// ---- payables ---------------------------------------------------------------

void supplier_invoice_registered(const object& d, const codec::event_in& e) {
  const auto id = d.entity_id("invoiceId");
  d.party("party", all_parties, need::required);
  d.text("supplierInvoiceNo", required_text);
  d.date("invoiceDate", need::required);
  d.date("dueDate", need::required);
  d.currency("currency");
  amount_and_vat(d);
  account(d, "expenseAccount");
  check_stream(d, e, "supplier-invoice-", id, "invoiceId");
  check_creates(d, e);
}

void supplier_invoice_approved(const object& d, const codec::event_in& e) {
  const auto id = d.entity_id("invoiceId");
  d.text("approver", required_text);
  check_stream(d, e, "supplier-invoice-", id, "invoiceId");
}

void supplier_credit_invoice_registered(const object& d, const codec::event_in& e) {
  d.entity_id("creditId");
  const auto id = d.entity_id("invoiceId");
  d.money("amountMinor", 1, need::required);
  check_stream(d, e, "supplier-invoice-", id, "invoiceId");
}

void payment_blocking(const object& d, const codec::event_in& e) {
  const auto id = d.entity_id("invoiceId");
  d.text("reason", required_text);
  check_stream(d, e, "supplier-invoice-", id, "invoiceId");
}

void supplier_payment_sent(const object& d, const codec::event_in& e) {
  const auto id = d.entity_id("paymentOrderId");
  d.date("paymentDate", need::required);
  invoice_lines(d);
  check_stream(d, e, "payment-order-", id, "paymentOrderId");
  check_creates(d, e);
}

void supplier_payment_rejected(const object& d, const codec::event_in& e) {
  const auto id = d.entity_id("paymentOrderId");
  d.text("reasonCode", required_text);
  check_stream(d, e, "payment-order-", id, "paymentOrderId");
}

constexpr event_type types[] = {
    {"CustomerInvoiceIssued", customer_invoice_issued},
    {"CreditNoteIssued", credit_note_issued},
    {"ReminderSent", reminder_sent},
    {"PaymentReceived", payment_received},
    {"PaymentAllocated", payment_allocated},
    {"AllocationReversed", allocation_reversed},
    {"OverpaymentRecorded", overpayment_recorded},
    {"CreditBalanceApplied", credit_balance_applied},
    {"RefundIssued", refund_issued},
    {"WriteOffRecorded", write_off_recorded},
    {"DeferralGranted", deferral_granted},
    {"PaymentPlanAgreed", payment_plan_agreed},
    {"PaymentPlanBroken", payment_plan_ended},
    {"PaymentPlanCompleted", payment_plan_ended},
    {"SentToCollection", sent_to_collection},
    {"SupplierInvoiceRegistered", supplier_invoice_registered},
    {"SupplierInvoiceApproved", supplier_invoice_approved},
    {"SupplierCreditInvoiceRegistered", supplier_credit_invoice_registered},
    {"PaymentBlocked", payment_blocking},
    {"PaymentUnblocked", payment_blocking},
    {"SupplierPaymentSent", supplier_payment_sent},
    {"SupplierPaymentRejected", supplier_payment_rejected},
};

}  // namespace

std::span<const event_type> reskontra_types() noexcept { return types; }

}  // namespace muninn::validation::detail
