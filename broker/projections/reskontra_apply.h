// Internal to the reskontra projection's apply (reskontra_receivables.cc,
// reskontra_payables.cc, reskontra.cc): the helpers its handlers share. A
// handler gets the fields prepare() read (reskontra_prepare.h), checks
// everything, stages its postings, and only then changes state, so an
// event is all or nothing; any refusal becomes an anomaly. Not
// thread-safe (projection.h).
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "broker/projections/calendar.h"
#include "broker/projections/event.h"
#include "broker/projections/reskontra_prepare.h"
#include "broker/projections/reskontra_state.h"

namespace muninn::projections::reskontra_detail {


// A handler's answer: applied, or refused with the anomaly's reason. Most
// events apply, so success is one null pointer: no std::string to make,
// move and destroy per event as result<void, std::string> would.
class [[nodiscard]] outcome {
 public:
  outcome() = default;
  outcome(unexpected<std::string> e) : reason_(std::make_unique<std::string>(std::move(e.error))) {}  // NOLINT
  explicit operator bool() const noexcept { return reason_ == nullptr; }
  // Only when refused.
  std::string& error() const noexcept { return *reason_; }

 private:
  std::unique_ptr<std::string> reason_;
};

inline unexpected<std::string> refuse(std::string reason) { return unexpected{std::move(reason)}; }

inline std::string quote_text(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  out.push_back('\'');
  out.append(s);
  out.push_back('\'');
  return out;
}

struct context {
  state& s;
  const event_view& e;
  const prepared& p;  // what prepare() read of e
};

// The hash prepare() keeps for "<prefix><id>" keys of state::others.
std::uint64_t hash_prefixed(std::string_view prefix, std::string_view id) noexcept;

// Asks for what finding `h` in `t` will read: its slot (entities false),
// or, once the slot is in cache, the entity it points to (entities true).
// See projection::prefetch.
template <class Table>
void hint(const Table& t, std::uint64_t h, bool entities) {
  if (entities) {
    t.prefetch_entity(h);
  } else {
    t.prefetch_slot(h);
  }
}

// hint() for the lines of `l` before the first fault that are kept inline.
template <class Table>
void hint_lines(const Table& t, const line_list& l, std::uint32_t fault_at, bool entities) {
  const std::size_t n = std::min<std::size_t>({l.size, inline_lines, fault_at});
  for (std::size_t i = 0; i < n; ++i) hint(t, l.first[i].invoice.h, entities);
}

inline std::string overflow_reason() { return "amounts overflow the ledger's 64-bit totals"; }

inline bool is_control(const state& s, account_code c) {
  return c == s.receivables_acct.code || c == s.overpayments_acct.code ||
         c == s.unidentified_acct.code || c == s.payables_acct.code;
}

inline std::string control_accounts(const state& s) {
  return std::string(s.config.receivables) + ", " + s.config.overpayments + ", " +
         s.config.unidentified + ", " + s.config.payables;
}

template <class Table>
auto* find(Table& t, const id_ref& id) {
  return t.find(id.s, id.h);
}

inline std::string currency_mismatch(std::string_view what, currency_code want, currency_code got) {
  return "currency mismatch: " + std::string(what) + " is in " + unpack_currency(want) + ", not " +
         unpack_currency(got);
}

// Invariant 1, with the amounts in the message.
inline std::string exceeds_remaining(std::string_view what, std::string_view id, money amount,
                              money remaining) {
  return std::string(what) + " " + std::to_string(amount) + " exceeds the remaining " +
         std::to_string(remaining) + " of invoice " + quote_text(id);
}


// One handler per event type of domain.md's two tables, each beside its
// read_* (reskontra_prepare.h); the table in reskontra.cc maps a type to
// both.
outcome customer_invoice_issued(context& c);
outcome credit_note_issued(context& c);
outcome reminder_sent(context& c);
outcome payment_received(context& c);
outcome payment_allocated(context& c);
outcome allocation_reversed(context& c);
outcome overpayment_recorded(context& c);
outcome credit_balance_applied(context& c);
outcome refund_issued(context& c);
outcome write_off_recorded(context& c);
outcome deferral_granted(context& c);
outcome payment_plan_agreed(context& c);
outcome payment_plan_broken(context& c);
outcome payment_plan_completed(context& c);
outcome sent_to_collection(context& c);
outcome supplier_invoice_registered(context& c);
outcome supplier_invoice_approved(context& c);
outcome supplier_credit_invoice_registered(context& c);
outcome payment_blocked(context& c);
outcome payment_unblocked(context& c);
outcome supplier_payment_sent(context& c);
outcome supplier_payment_rejected(context& c);

}  // namespace muninn::projections::reskontra_detail
