// The scenario generator: deterministic, realistic JSON-lines scenarios of
// the two built-in domains (docs: /work/shared/docs/domain.md, bench/gen/README.md).
// A scenario is single-threaded (one per thread); distinct scenarios share nothing.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "broker/projections/calendar.h"

namespace muninn::gen {

enum class domain : std::uint8_t { dispatch = 0, reskontra = 1 };

std::optional<domain> domain_from_string(std::string_view text) noexcept;  // "dispatch", "reskontra"
std::string_view to_string(domain d) noexcept;

struct options {
  domain kind = domain::dispatch;
  std::uint64_t seed = 1;
  std::uint64_t count = 0;  // lines to produce
  // Share of lines that pass produce-time validation but that the domain's
  // projection must record as anomalies; 0 to 1.
  double anomalies = 0.01;
  // First day of business time; nullopt: the domain's default (dispatch
  // 2026-03-16, a span that holds Easter, Ascension, 17 May and Whitsun;
  // reskontra 2026-01-01).
  std::optional<projections::civil_date> start;
  // Days the arrivals of new entities are spread over, whatever `count`
  // is (so 20 000 and 10 000 000 lines cover the same calendar); 0: the
  // domain's default (dispatch 70, reskontra 365).
  std::uint32_t days = 0;
};

// Why options are refused; the text is one line for a usage error.
std::optional<std::string> check_options(const options& o);

// One scenario: the same options give byte-identical lines, in the same
// order, on every run (no clock, no random_device; event ids are UUIDv7 made
// from the business time and the seed). Memory grows with the entities
// active at one time, not with `count`.
class scenario {
 public:
  // Throws std::invalid_argument with check_options()'s text.
  explicit scenario(const options& o);
  ~scenario();
  scenario(const scenario&) = delete;
  scenario& operator=(const scenario&) = delete;

  // Replaces `line` with the next envelope (one JSON object, no newline).
  // False, and `line` untouched, once `count` lines have been produced.
  bool next_line(std::string& line);

  std::uint64_t produced() const noexcept { return produced_; }
  std::uint64_t anomalies_produced() const noexcept { return anomalies_; }
  // Whether the line last returned is an injected anomaly (tests use this
  // to check that honest lines keep every invariant).
  bool last_was_anomaly() const noexcept { return last_anomaly_; }

  // The engine of a domain; internal (bench/gen/engine.h).
  class engine;

 private:
  std::unique_ptr<engine> engine_;
  std::uint64_t count_ = 0;
  std::uint64_t produced_ = 0;
  std::uint64_t anomalies_ = 0;
  bool last_anomaly_ = false;
};

}  // namespace muninn::gen
