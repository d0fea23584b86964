// Shared helpers for the validation tests: events are written as JSON lines
// (codec::event_from_json), so a test reads like domain.md. Single-threaded.
#pragma once

#include <catch2/catch.hpp>

#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "broker/validation/validate.h"
#include "codec/json.h"

namespace muninn::validation {
inline std::ostream& operator<<(std::ostream& os, const violation& v) { return os << v.message(); }
}  // namespace muninn::validation

namespace muninn::validation::test {

inline codec::owned_event parse(const std::string& line) {
  auto r = codec::event_from_json(line);
  INFO(line);
  if (!r) FAIL("event_from_json refused the test line: " << r.error().message);
  return std::move(r).value();
}

// `s` with its one occurrence of `from` replaced by `to`; fails the test
// when `from` is absent or ambiguous, so a variant never silently equals
// the valid original.
inline std::string with(std::string s, std::string_view from, std::string_view to) {
  const auto at = s.find(from);
  INFO("looking for " << from);
  REQUIRE(at != std::string::npos);
  REQUIRE(s.find(from, at + 1) == std::string::npos);
  s.replace(at, from.size(), to);
  return s;
}

inline std::optional<violation> validate_line(schema s, const std::string& line,
                                              std::int64_t commit_time = 0) {
  const auto ev = parse(line);
  return validate_event(s, ev.view(), 0, commit_time);
}

// A valid event of each schema, placed before the event under test so that
// refusals also show the index of the event at fault.
inline const std::string& valid_lead(schema s) {
  static const std::string dispatch =
      R"({"stream":"forsendelse-0190a6e0-7a3b-7c4d-8e5f-0123456789ab","type":"ForsendelseStatusEndret",)"
      R"("time":"2026-11-23T10:00:00Z","data":{"forsendelseId":"0190a6e0-7a3b-7c4d-8e5f-0123456789ab",)"
      R"("status":"AKSEPTERT"}})";
  static const std::string reskontra =
      R"({"stream":"plan-P-1","type":"PaymentPlanBroken","time":"2026-11-23T10:00:00Z",)"
      R"("data":{"planId":"P-1"}})";
  return s == schema::dispatch ? dispatch : reskontra;
}

inline void accepted(schema s, const std::string& line) {
  INFO(line);
  const auto v = validate_line(s, line);
  INFO("refused: " << (v ? v->message() : std::string()));
  CHECK_FALSE(v.has_value());
}

// Validates [valid_lead, line] as one batch and checks the violation.
inline void refused(schema s, const std::string& line, std::string_view field,
                    std::string_view rule) {
  INFO(line);
  const auto lead = parse(valid_lead(s));
  const auto ev = parse(line);
  const std::vector<codec::event_in> batch{lead.view(), ev.view()};
  const auto v = validate_batch(s, batch);
  REQUIRE(v);
  CHECK(v->event_index == 1);
  CHECK(v->field == field);
  CHECK(v->rule == rule);
}

}  // namespace muninn::validation::test
