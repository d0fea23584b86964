#include <catch2/catch.hpp>

#include "broker/projections/calendar.h"
#include "broker/projections/sweden_calendar.h"

namespace mp = muninn::projections;
using mp::civil_date;

TEST_CASE("sweden_calendar: the fixed and Easter-bound public holidays", "[projections][calendar][reskontra]") {
  for (const civil_date d : {civil_date{2025, 1, 1}, civil_date{2025, 1, 6}, civil_date{2025, 5, 1},
                             civil_date{2025, 6, 6}, civil_date{2025, 12, 25}, civil_date{2025, 12, 26}}) {
    CHECK(mp::is_swedish_public_holiday(d));
  }
  // Easter 2025 is 20 April.
  CHECK(mp::is_swedish_public_holiday({2025, 4, 18}));  // långfredagen
  CHECK(mp::is_swedish_public_holiday({2025, 4, 20}));  // påskdagen
  CHECK(mp::is_swedish_public_holiday({2025, 4, 21}));  // annandag påsk
  CHECK(mp::is_swedish_public_holiday({2025, 5, 29}));  // Kristi himmelsfärdsdag
  CHECK_FALSE(mp::is_swedish_public_holiday({2025, 4, 17}));  // skärtorsdagen is a working day
  CHECK_FALSE(mp::is_swedish_public_holiday({2025, 4, 22}));
  CHECK_FALSE(mp::is_swedish_public_holiday({2025, 6, 9}));  // annandag pingst: not since 2005
  CHECK_FALSE(mp::is_swedish_public_holiday({2025, 5, 2}));
}

TEST_CASE("sweden_calendar: midsommar and alla helgons dag move with the week", "[projections][calendar][reskontra]") {
  CHECK(mp::is_swedish_public_holiday({2024, 6, 22}));
  CHECK(mp::is_swedish_public_holiday({2025, 6, 21}));
  CHECK(mp::is_swedish_public_holiday({2026, 6, 20}));
  CHECK_FALSE(mp::is_swedish_public_holiday({2026, 6, 27}));
  CHECK(mp::is_swedish_non_working_eve({2024, 6, 21}));
  CHECK(mp::is_swedish_non_working_eve({2025, 6, 20}));
  CHECK(mp::is_swedish_non_working_eve({2026, 6, 19}));
  CHECK_FALSE(mp::is_swedish_non_working_eve({2026, 6, 26}));
  CHECK(mp::is_swedish_public_holiday({2024, 11, 2}));
  CHECK(mp::is_swedish_public_holiday({2025, 11, 1}));
  CHECK(mp::is_swedish_public_holiday({2026, 10, 31}));
  CHECK_FALSE(mp::is_swedish_public_holiday({2025, 10, 31}));  // a Friday: a working day
  CHECK(mp::is_swedish_non_working_eve({2025, 12, 24}));
  CHECK(mp::is_swedish_non_working_eve({2025, 12, 31}));
  CHECK_FALSE(mp::is_swedish_non_working_eve({2025, 4, 19}));  // påskafton is a Saturday anyway
}

TEST_CASE("sweden_calendar: next working day on or after", "[projections][calendar][reskontra]") {
  using mp::next_working_day_on_or_after;
  CHECK(next_working_day_on_or_after({2025, 3, 12}) == civil_date{2025, 3, 12});  // a Wednesday
  CHECK(next_working_day_on_or_after({2025, 3, 15}) == civil_date{2025, 3, 17});  // Saturday -> Monday
  CHECK(next_working_day_on_or_after({2025, 6, 20}) == civil_date{2025, 6, 23});  // midsommarafton
  CHECK(next_working_day_on_or_after({2026, 6, 19}) == civil_date{2026, 6, 22});
  CHECK(next_working_day_on_or_after({2025, 12, 24}) == civil_date{2025, 12, 29});  // jul and a weekend
  CHECK(next_working_day_on_or_after({2025, 12, 31}) == civil_date{2026, 1, 2});    // nyår
  CHECK(next_working_day_on_or_after({2025, 4, 18}) == civil_date{2025, 4, 22});    // påsk
  CHECK(next_working_day_on_or_after({2025, 5, 29}) == civil_date{2025, 5, 30});    // himmelsfärd
  CHECK(next_working_day_on_or_after({2025, 6, 6}) == civil_date{2025, 6, 9});      // nationaldagen, Friday
  CHECK(next_working_day_on_or_after({2026, 1, 6}) == civil_date{2026, 1, 7});      // trettondedag
  CHECK(next_working_day_on_or_after({2026, 4, 30}) == civil_date{2026, 4, 30});    // valborg works
  CHECK(next_working_day_on_or_after({2026, 5, 1}) == civil_date{2026, 5, 4});      // 1 maj Friday
  // Every result is a working day and nothing between is one (a long sweep).
  std::int64_t start = mp::days_from_civil({2020, 1, 1});
  for (std::int64_t d = start; d < start + 366 * 12; ++d) {
    const auto from = mp::civil_from_days(d);
    const auto to = next_working_day_on_or_after(from);
    REQUIRE(mp::is_swedish_working_day(to));
    for (std::int64_t k = d; k < mp::days_from_civil(to); ++k) {
      REQUIRE_FALSE(mp::is_swedish_working_day(mp::civil_from_days(k)));
    }
    REQUIRE(mp::days_from_civil(to) - d <= 5);
  }
}
