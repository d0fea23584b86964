#include <catch2/catch.hpp>

#include <limits>
#include <random>

#include "codec/json.h"

using namespace muninn::codec;

namespace {
constexpr std::int64_t us = 1'000'000;
constexpr std::int64_t day = 86'400 * us;
}  // namespace

TEST_CASE("rfc3339: the epoch and simple instants", "[codec][rfc3339]") {
  CHECK(parse_rfc3339_micros("1970-01-01T00:00:00Z") == 0);
  CHECK(parse_rfc3339_micros("1970-01-02T00:00:01Z") == day + us);
  CHECK(parse_rfc3339_micros("2023-11-14T22:13:20Z") == 1'700'000'000 * us);
  CHECK(parse_rfc3339_micros("1969-12-31T23:59:59.999999Z") == -1);
  CHECK(parse_rfc3339_micros("0001-01-01T00:00:00Z") == -62'135'596'800 * us);
  CHECK(parse_rfc3339_micros("9999-12-31T23:59:59.999999Z") == 253'402'300'800 * us - 1);
}

TEST_CASE("rfc3339: leap days exist only in leap years", "[codec][rfc3339]") {
  CHECK(parse_rfc3339_micros("2024-02-29T00:00:00Z") ==
        *parse_rfc3339_micros("2024-02-28T00:00:00Z") + day);
  CHECK(parse_rfc3339_micros("2024-03-01T00:00:00Z") ==
        *parse_rfc3339_micros("2024-02-29T00:00:00Z") + day);
  CHECK(parse_rfc3339_micros("2000-02-29T00:00:00Z"));   // divisible by 400
  CHECK_FALSE(parse_rfc3339_micros("2023-02-29T00:00:00Z"));
  CHECK_FALSE(parse_rfc3339_micros("1900-02-29T00:00:00Z"));  // divisible by 100
  CHECK_FALSE(parse_rfc3339_micros("2024-02-30T00:00:00Z"));
  CHECK_FALSE(parse_rfc3339_micros("2024-04-31T00:00:00Z"));
}

TEST_CASE("rfc3339: offsets are subtracted to give UTC", "[codec][rfc3339]") {
  const auto utc = *parse_rfc3339_micros("2024-02-28T23:00:00Z");
  CHECK(parse_rfc3339_micros("2024-02-29T01:00:00+02:00") == utc);
  CHECK(parse_rfc3339_micros("2024-02-28T17:30:00-05:30") == utc);
  CHECK(parse_rfc3339_micros("2024-02-28T23:00:00+00:00") == utc);
  CHECK(parse_rfc3339_micros("2024-02-28T23:00:00-00:00") == utc);
  CHECK(parse_rfc3339_micros("2024-03-01T00:00:00+23:59") ==
        *parse_rfc3339_micros("2024-02-29T00:01:00Z"));
}

TEST_CASE("rfc3339: fractional seconds of any length, truncated to microseconds",
          "[codec][rfc3339]") {
  const auto base = *parse_rfc3339_micros("2024-02-29T12:00:00Z");
  CHECK(parse_rfc3339_micros("2024-02-29T12:00:00.5Z") == base + 500'000);
  CHECK(parse_rfc3339_micros("2024-02-29T12:00:00.000001Z") == base + 1);
  CHECK(parse_rfc3339_micros("2024-02-29T12:00:00.123456789Z") == base + 123'456);
  CHECK(parse_rfc3339_micros("2024-02-29T12:00:00.9999999+01:00") == base - 3600 * us + 999'999);
  CHECK(parse_rfc3339_micros("1969-12-31T23:59:59.5Z") == -500'000);
}

TEST_CASE("rfc3339: lowercase t and z and a space separator are accepted", "[codec][rfc3339]") {
  const auto v = parse_rfc3339_micros("2024-02-29T12:00:00Z");
  CHECK(parse_rfc3339_micros("2024-02-29t12:00:00z") == v);
  CHECK(parse_rfc3339_micros("2024-02-29 12:00:00Z") == v);
}

TEST_CASE("rfc3339: malformed or out-of-range text is refused", "[codec][rfc3339]") {
  for (const char* bad :
       {"", "2024-02-29", "2024-02-29T12:00:00", "2024-02-29T12:00Z", "2024-02-29T12:00:00.Z",
        "2024-02-29T12:00:00ZZ", "2024-02-29T12:00:00Z ", "2024-2-29T12:00:00Z",
        "2024-13-01T00:00:00Z", "2024-00-01T00:00:00Z", "2024-01-00T00:00:00Z",
        "2024-01-01T24:00:00Z", "2024-01-01T00:60:00Z", "2024-12-31T23:59:60Z",
        "2024-01-01T00:00:00+24:00", "2024-01-01T00:00:00+01:60", "2024-01-01T00:00:00+0100",
        "2024-01-01T00:00:00+01", "2024-01-01X00:00:00Z", "+2024-01-01T00:00:00Z",
        "2024-01-01T00:00:00.1.2Z", "２０２４-01-01T00:00:00Z"}) {
    INFO(bad);
    CHECK_FALSE(parse_rfc3339_micros(bad));
  }
}

TEST_CASE("rfc3339: formatting is UTC with six fraction digits", "[codec][rfc3339]") {
  CHECK(format_rfc3339_micros(0) == "1970-01-01T00:00:00.000000Z");
  CHECK(format_rfc3339_micros(-1) == "1969-12-31T23:59:59.999999Z");
  CHECK(format_rfc3339_micros(1'709'208'000 * us + 7) == "2024-02-29T12:00:00.000007Z");
  CHECK(format_rfc3339_micros(253'402'300'800 * us - 1) == "9999-12-31T23:59:59.999999Z");
}

TEST_CASE("rfc3339: format then parse gives the same instant for years 0001-9999",
          "[codec][rfc3339]") {
  std::mt19937_64 rng(3339);
  std::uniform_int_distribution<std::int64_t> dist(-62'135'596'800 * us,
                                                   253'402'300'800 * us - 1);
  for (int i = 0; i < 20000; ++i) {
    const auto t = dist(rng);
    const auto text = format_rfc3339_micros(t);
    INFO(t << " " << text);
    REQUIRE(parse_rfc3339_micros(text) == t);
  }
}

TEST_CASE("rfc3339: formatting the int64 extremes does not crash or overflow",
          "[codec][rfc3339]") {
  const auto lo = format_rfc3339_micros(std::numeric_limits<std::int64_t>::min());
  const auto hi = format_rfc3339_micros(std::numeric_limits<std::int64_t>::max());
  CHECK(lo.front() == '-');
  CHECK(lo.back() == 'Z');
  CHECK(hi.substr(hi.size() - 8) == ".775807Z");
}
