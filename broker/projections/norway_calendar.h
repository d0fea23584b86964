// Norwegian working days and local time for the dispatch print deadline
// (domain.md "Print deadline"): public holidays, UTC+1/UTC+2 by the EU rule
// (no tz database), and the instant a number of working hours has passed.
// Pure functions: thread-safe, no clock; each costs O(days spanned).
#pragma once

#include <cstdint>

#include "broker/projections/calendar.h"

namespace muninn::projections::norway {

inline constexpr std::int64_t micros_per_hour = 3'600'000'000;

// 1 Jan, skjærtorsdag, langfredag, 1. and 2. påskedag, Kristi himmelfartsdag,
// 1. and 2. pinsedag, 1 May, 17 May, 25 and 26 Dec.
bool is_public_holiday(const civil_date& d) noexcept;

// Not a Saturday, a Sunday or a public holiday.
bool is_working_day(const civil_date& d) noexcept;

// The last Sunday of March / October of `year`: the days summer time
// starts and ends (at 01:00 UTC).
civil_date summer_time_start(std::int32_t year) noexcept;
civil_date summer_time_end(std::int32_t year) noexcept;

// Norwegian local time's offset from UTC at a UTC instant (µs since the
// epoch): 2 h from the last Sunday of March 01:00 UTC until the last Sunday
// of October 01:00 UTC, 1 h otherwise. In µs.
std::int64_t utc_offset(std::int64_t utc_micros) noexcept;

// The Norwegian local date of a UTC instant.
civil_date local_date(std::int64_t utc_micros) noexcept;

// The UTC instant of 00:00 local time on `d` (midnight never falls in a
// switch, so it is unambiguous). The local day `d` lasts from
// local_midnight(d) to local_midnight(d + 1): 23 h on the day summer time
// starts, 25 h on the day it ends, 24 h otherwise.
std::int64_t local_midnight(const civil_date& d) noexcept;

// The first instant at which `hours` working hours have passed since
// `from` (µs UTC): real elapsed time inside Norwegian local working days
// counts, all else does not. hours <= 0 gives `from`. `hours` is capped at
// 1,000,000 (about 114 years), far beyond any configured deadline, and
// `from` is clamped to years 1-9000 (hostile times cannot overflow).
// Example: from Friday 10:00 local, 40 h, no holidays: Tuesday 02:00 local.
std::int64_t due_at(std::int64_t from, std::int64_t hours) noexcept;

}  // namespace muninn::projections::norway
