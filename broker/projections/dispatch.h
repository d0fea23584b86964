// The `dispatch-status` projection: each forsendelse's lifecycle, anomalies,
// print totals and print deadline (docs/projections-dispatch.md). State depends
// only on each partition's order, never on how partitions interleave.
// Not thread-safe (projection.h): one strand applies, queries and snapshots;
// only prepare() may run on another thread meanwhile (it reads the event and
// the configuration, which nothing changes after construction).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "broker/projections/projection.h"

namespace muninn::projections {

struct dispatch_config {
  // Working hours between VARSLET and due (domain.md "Print deadline").
  int deadline_working_hours = 40;
};

// Statuses with their record values. On disk: do not change the numbers.
enum class dispatch_status : std::uint8_t {
  mottatt = 0,
  akseptert = 1,
  avvist = 2,
  varslet = 3,
  klar_for_mottak = 4,
  lest = 5,
  sendt_digitalt = 6,
  sendt_print = 7,
  printet = 8,
  sendt_sdp = 9,
  levert_sdp = 10,
  ikke_levert = 11,
  manuelt_handtert = 12,
  slettet = 13,
};
inline constexpr std::size_t dispatch_status_count = 14;

std::string_view to_string(dispatch_status s) noexcept;
// The catalog's spelling; the legacy `MOTTAT` reads as MOTTATT.
std::optional<dispatch_status> parse_dispatch_status(std::string_view text) noexcept;
// domain.md's transition table (from a current status to a new one).
bool is_legal_transition(dispatch_status from, dispatch_status to) noexcept;

class dispatch_projection final : public projection {
 public:
  explicit dispatch_projection(dispatch_config config = {});
  ~dispatch_projection() override;
  dispatch_projection(const dispatch_projection&) = delete;
  dispatch_projection& operator=(const dispatch_projection&) = delete;

  std::string_view name() const noexcept override { return "dispatch-status"; }
  void apply(const event_view& e) override;
  // Parsing, ids, reasons and the due instant in prepare(); the state's
  // part in apply_prepared() (dispatch_prepared.h).
  std::size_t prepared_size() const noexcept override;
  void prepare(const event_view& e, std::span<std::byte> out) const override;
  void apply_prepared(const event_view& e, std::span<const std::byte> prepared) override;
  // Stage 0: the id's slot in the id table (and a new item's recipient
  // slot); stage 1: the item that slot holds, if it is already there.
  void prefetch(std::span<const std::byte> prepared, int stage) const noexcept override;
  void take_changes(record_changes& out) override;
  bool load(std::string_view key, std::string_view value) override;
  void finish_load() override;
  void for_each_record(
      const std::function<void(std::string_view key, std::string_view value)>& fn) const override;

  // "get" {id}, "search" {avsender?, status?, mottaker?, from?, to?, limit?,
  // after?}, "stats" {}, "due" {at, limit?, after?}, "anomalies" {limit?,
  // after?}: see docs/projections-dispatch.md.
  result<std::string, query_error> query(std::string_view what,
                                         const query_params& params) const override;

  std::uint64_t anomaly_count() const noexcept override;

  // Forsendelser held (for metrics and tests).
  std::size_t size() const noexcept;

  struct state;  // the implementation's

 private:
  std::unique_ptr<state> s_;
};

}  // namespace muninn::projections
