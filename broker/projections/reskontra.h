// The `reskontra` projection (domain.md "Reskontra catalog"): receivables
// and payables of one total order of events, their postings in a ledger
// per account and currency, credit balances, unallocated payments and
// anomalies. Invariants 1-6 hold after every apply(): an event that would
// break one has no effect and is recorded as an anomaly. Record encoding and
// queries: docs/projections-reskontra.md. Not thread-safe (projection.h).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "broker/projections/projection.h"

namespace muninn::projections {

// Account numbers (strings of 1-8 digits); defaults from domain.md.
struct reskontra_config {
  std::string receivables = "1512";   // customer receivables (control account)
  std::string overpayments = "2482";  // customer overpayments (control account)
  std::string unidentified = "9181";  // unidentified payments (control account)
  std::string bank_in = "1951";
  std::string bank_out = "1954";
  std::string payables = "2512";  // supplier payables (control account)
  std::string losses = "6351";
  std::string output_vat = "2611";
  std::string input_vat = "2641";
  std::string fee_income = "3590";

  // nullopt when usable: every account 1-8 digits, all ten distinct.
  std::optional<std::string> check() const;
};

namespace reskontra_detail {
struct state;
}

class reskontra_projection final : public projection {
 public:
  // Throws std::invalid_argument when config.check() fails (a programming
  // or configuration error, caught at start-up).
  explicit reskontra_projection(reskontra_config config = {});
  ~reskontra_projection() override;
  reskontra_projection(const reskontra_projection&) = delete;
  reskontra_projection& operator=(const reskontra_projection&) = delete;

  std::string_view name() const noexcept override { return "reskontra"; }
  void apply(const event_view& e) override;
  // All reading of the event (type, fields, parties, ids' hashes) happens
  // in prepare(); apply_prepared() only looks up and changes state.
  std::size_t prepared_size() const noexcept override;
  void prepare(const event_view& e, std::span<std::byte> out) const override;
  void apply_prepared(const event_view& e, std::span<const std::byte> prepared) override;
  // The slots, then the entities, of the ids apply_prepared() will look up.
  void prefetch(std::span<const std::byte> prepared, int stage) const noexcept override;
  void take_changes(record_changes& out) override;
  bool load(std::string_view key, std::string_view value) override;
  void finish_load() override;
  void for_each_record(
      const std::function<void(std::string_view key, std::string_view value)>& fn) const override;

  // Queries: "party", "trial-balance", "unallocated", "overdue", "anomalies".
  result<std::string, query_error> query(std::string_view what,
                                         const query_params& params) const override;

  // For tests and audits: invariant 6 in full (trial balance zero per
  // currency; 1512, 2482, 9181 and 2512 equal their subledgers), no negative
  // remainder or credit balance, and every payment's remainder within its
  // amount. nullopt when all hold, else the first broken one.
  std::optional<std::string> check_invariants() const;

  std::size_t anomaly_count() const noexcept;

 private:
  std::unique_ptr<reskontra_detail::state> s_;
};

}  // namespace muninn::projections
