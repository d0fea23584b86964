#include <catch2/catch.hpp>

#include <random>
#include <string>

#include "broker/projections/calendar.h"
#include "broker/projections/norway_calendar.h"
#include "codec/json.h"

namespace mp = muninn::projections;
namespace no = muninn::projections::norway;

namespace {

std::int64_t at(const char* rfc3339) {
  const auto t = muninn::codec::parse_rfc3339_micros(rfc3339);
  REQUIRE(t);
  return *t;
}

std::string fmt(std::int64_t micros) { return muninn::codec::format_rfc3339_micros(micros); }

constexpr std::int64_t hour = no::micros_per_hour;

}  // namespace

TEST_CASE("norway: public holidays of 2026", "[projections][norway]") {
  using mp::civil_date;
  // Easter Sunday 2026 is 5 April.
  for (const civil_date d : {civil_date{2026, 1, 1}, civil_date{2026, 4, 2}, civil_date{2026, 4, 3},
                             civil_date{2026, 4, 5}, civil_date{2026, 4, 6}, civil_date{2026, 5, 1},
                             civil_date{2026, 5, 14}, civil_date{2026, 5, 17}, civil_date{2026, 5, 24},
                             civil_date{2026, 5, 25}, civil_date{2026, 12, 25}, civil_date{2026, 12, 26}}) {
    INFO(mp::to_iso_string(d));
    CHECK(no::is_public_holiday(d));
    CHECK_FALSE(no::is_working_day(d));
  }
  // Påskeaften, julaften, nyttårsaften and the day after 2. påskedag are not holidays.
  for (const civil_date d : {civil_date{2026, 4, 4}, civil_date{2026, 4, 7}, civil_date{2026, 12, 24},
                             civil_date{2026, 12, 31}, civil_date{2026, 5, 13}, civil_date{2026, 5, 26},
                             civil_date{2026, 1, 2}, civil_date{2026, 6, 23}}) {
    INFO(mp::to_iso_string(d));
    CHECK_FALSE(no::is_public_holiday(d));
  }
  CHECK(no::is_working_day(civil_date{2026, 4, 7}));   // Tuesday after Easter
  CHECK(no::is_working_day(civil_date{2026, 12, 24}));  // a Thursday
  CHECK_FALSE(no::is_working_day(civil_date{2026, 11, 21}));  // Saturday
  CHECK_FALSE(no::is_working_day(civil_date{2026, 11, 22}));  // Sunday
  CHECK(no::is_working_day(civil_date{2026, 11, 23}));
  // 2027: 2. pinsedag (Easter 28 March + 50) falls on 17 May.
  CHECK(no::is_public_holiday(civil_date{2027, 5, 16}));
  CHECK(no::is_public_holiday(civil_date{2027, 5, 17}));
  CHECK(no::is_public_holiday(civil_date{2027, 5, 6}));  // Kristi himmelfartsdag
  CHECK(no::is_public_holiday(civil_date{2027, 3, 25}));  // skjærtorsdag
}

TEST_CASE("norway: summer time from the last Sunday of March to the last Sunday of October",
          "[projections][norway]") {
  CHECK(no::summer_time_start(2026) == mp::civil_date{2026, 3, 29});
  CHECK(no::summer_time_end(2026) == mp::civil_date{2026, 10, 25});
  CHECK(no::summer_time_start(2027) == mp::civil_date{2027, 3, 28});
  CHECK(no::summer_time_end(2027) == mp::civil_date{2027, 10, 31});  // 31 October is a Sunday

  CHECK(no::utc_offset(at("2026-03-29T00:59:59.999999Z")) == hour);
  CHECK(no::utc_offset(at("2026-03-29T01:00:00Z")) == 2 * hour);
  CHECK(no::utc_offset(at("2026-07-01T12:00:00Z")) == 2 * hour);
  CHECK(no::utc_offset(at("2026-10-25T00:59:59.999999Z")) == 2 * hour);
  CHECK(no::utc_offset(at("2026-10-25T01:00:00Z")) == hour);
  CHECK(no::utc_offset(at("2026-12-31T23:30:00Z")) == hour);
  CHECK(no::utc_offset(at("2026-03-01T00:00:00Z")) == hour);

  CHECK(no::local_date(at("2026-12-31T23:30:00Z")) == mp::civil_date{2027, 1, 1});
  CHECK(no::local_date(at("2026-06-30T22:00:00Z")) == mp::civil_date{2026, 7, 1});
  CHECK(no::local_date(at("2026-06-30T21:59:59Z")) == mp::civil_date{2026, 6, 30});

  // The switch days last 23 and 25 hours.
  CHECK(fmt(no::local_midnight({2026, 3, 29})) == "2026-03-28T23:00:00.000000Z");
  CHECK(fmt(no::local_midnight({2026, 3, 30})) == "2026-03-29T22:00:00.000000Z");
  CHECK(fmt(no::local_midnight({2026, 10, 25})) == "2026-10-24T22:00:00.000000Z");
  CHECK(fmt(no::local_midnight({2026, 10, 26})) == "2026-10-25T23:00:00.000000Z");
}

TEST_CASE("norway: due_at, domain.md's Friday example", "[projections][norway][deadline]") {
  // Friday 20 November 2026, 10:00 local (UTC+1): 14 h Friday, 24 h Monday,
  // 2 h Tuesday: due from Tuesday 02:00 local.
  CHECK(fmt(no::due_at(at("2026-11-20T09:00:00Z"), 40)) == "2026-11-24T01:00:00.000000Z");
  // Exactly the Friday and Monday: due at Monday's end, Tuesday 00:00 local.
  CHECK(fmt(no::due_at(at("2026-11-20T09:00:00Z"), 38)) == "2026-11-23T23:00:00.000000Z");
  // A second earlier asks for a second more on Tuesday.
  CHECK(fmt(no::due_at(at("2026-11-20T08:59:59Z"), 40)) == "2026-11-24T00:59:59.000000Z");
  CHECK(no::due_at(at("2026-11-20T09:00:00Z"), 0) == at("2026-11-20T09:00:00Z"));
  CHECK(no::due_at(at("2026-11-20T09:00:00Z"), -5) == at("2026-11-20T09:00:00Z"));
}

TEST_CASE("norway: due_at across a weekend, from a Saturday and in summer", "[projections][norway][deadline]") {
  // Friday 12 June 2026 10:00 local (UTC+2).
  CHECK(fmt(no::due_at(at("2026-06-12T08:00:00Z"), 40)) == "2026-06-16T00:00:00.000000Z");
  // Saturday: nothing counts until Monday 00:00 local; 24 + 16 h.
  CHECK(fmt(no::due_at(at("2026-06-13T08:00:00Z"), 40)) == "2026-06-16T14:00:00.000000Z");
  // Configurable: 8 working hours from Friday 20:00 local end Monday 04:00 local.
  CHECK(fmt(no::due_at(at("2026-06-12T18:00:00Z"), 8)) == "2026-06-15T02:00:00.000000Z");
}

TEST_CASE("norway: due_at over Easter 2026", "[projections][norway][deadline]") {
  // Wednesday 1 April 10:00 local (UTC+2): 14 h; Thursday to Monday are
  // skjærtorsdag, langfredag, the weekend and 2. påskedag; Tuesday 24 h;
  // Wednesday 8 April 02:00 local.
  CHECK(fmt(no::due_at(at("2026-04-01T08:00:00Z"), 40)) == "2026-04-08T00:00:00.000000Z");
}

TEST_CASE("norway: due_at over 17 May and pinse", "[projections][norway][deadline]") {
  // 2029: Wednesday 16 May 10:00 local; 17 May (Thursday) off; Friday 24 h;
  // weekend; 2. pinsedag Monday 21 May off; Tuesday 02:00 local.
  CHECK(fmt(no::due_at(at("2029-05-16T08:00:00Z"), 40)) == "2029-05-22T00:00:00.000000Z");
  // 2027: Friday 14 May; 17 May is both grunnlovsdag and 2. pinsedag.
  CHECK(fmt(no::due_at(at("2027-05-14T08:00:00Z"), 40)) == "2027-05-19T00:00:00.000000Z");
}

TEST_CASE("norway: due_at over Christmas", "[projections][norway][deadline]") {
  // Wednesday 23 December 2026 10:00 local: 14 h; julaften (Thursday) is a
  // working day, 24 h; 25 Dec to 27 Dec off; Monday 28 Dec 02:00 local.
  CHECK(fmt(no::due_at(at("2026-12-23T09:00:00Z"), 40)) == "2026-12-28T01:00:00.000000Z");
  // From 30 December 2026: 31 Dec counts, 1 Jan is nyttårsdag, the weekend.
  CHECK(fmt(no::due_at(at("2026-12-30T09:00:00Z"), 40)) == "2027-01-04T01:00:00.000000Z");
}

TEST_CASE("norway: due_at across the summer time switches", "[projections][norway][deadline]") {
  // Friday 27 March 2026 10:00 local (UTC+1); Monday and Tuesday in UTC+2.
  CHECK(fmt(no::due_at(at("2026-03-27T09:00:00Z"), 40)) == "2026-03-31T00:00:00.000000Z");
  // Friday 23 October 2026 10:00 local (UTC+2); Monday and Tuesday in UTC+1.
  CHECK(fmt(no::due_at(at("2026-10-23T08:00:00Z"), 40)) == "2026-10-27T01:00:00.000000Z");
  // From inside the switch Sunday (not a working day itself).
  CHECK(fmt(no::due_at(at("2026-03-29T01:30:00Z"), 40)) == "2026-03-31T14:00:00.000000Z");
  CHECK(fmt(no::due_at(at("2026-10-25T00:30:00Z"), 40)) == "2026-10-27T15:00:00.000000Z");
  // 100 working hours over the October switch weekend: the same whole-day count.
  CHECK(fmt(no::due_at(at("2026-10-21T22:00:00Z"), 100)) == "2026-10-28T03:00:00.000000Z");
}

TEST_CASE("norway: due_at agrees with an hour-by-hour count", "[projections][norway][deadline]") {
  // Local days begin on whole UTC hours, so each whole UTC hour lies in one
  // local day: counting hours whose local date is a working day is an
  // independent reference.
  std::mt19937_64 rng(20261123);
  const std::int64_t lo = at("2019-01-01T00:00:00Z") / hour;
  const std::int64_t hi = at("2040-01-01T00:00:00Z") / hour;
  for (int i = 0; i < 400; ++i) {
    const std::int64_t start = (lo + static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(hi - lo))) * hour;
    const std::int64_t hours = 1 + static_cast<std::int64_t>(rng() % 120);
    std::int64_t t = start, counted = 0;
    while (counted < hours) {
      if (no::is_working_day(no::local_date(t))) ++counted;
      t += hour;
    }
    INFO(fmt(start) << " + " << hours << " h");
    CHECK(fmt(no::due_at(start, hours)) == fmt(t));
  }
}

TEST_CASE("norway: due_at with an absurd number of hours stays bounded", "[projections][norway][deadline]") {
  const auto t = no::due_at(at("2026-11-20T09:00:00Z"), INT64_MAX);
  CHECK(t > at("2100-01-01T00:00:00Z"));
  CHECK(t < at("2300-01-01T00:00:00Z"));
}
