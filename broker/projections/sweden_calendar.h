// Swedish working days for the reskontra's "overdue at D" rule (domain.md):
// a due date on a Saturday, Sunday, public holiday or non-working eve moves
// forward to the next working day. Pure functions: thread-safe, no clock.
#pragma once

#include "broker/projections/calendar.h"

namespace muninn::projections {

// nyårsdagen, trettondedag jul, långfredagen, påskdagen, annandag påsk,
// 1 maj, Kristi himmelsfärdsdag, nationaldagen, midsommardagen, alla
// helgons dag, juldagen, annandag jul (Easter by the Gregorian computus).
bool is_swedish_public_holiday(const civil_date& d) noexcept;

// midsommarafton, julafton, nyårsafton: not public holidays by law but not
// working days for the city's administration either.
bool is_swedish_non_working_eve(const civil_date& d) noexcept;

// Monday to Friday and neither of the above.
bool is_swedish_working_day(const civil_date& d) noexcept;

// `d` itself when it is a working day, else the first working day after it.
civil_date next_working_day_on_or_after(const civil_date& d) noexcept;

}  // namespace muninn::projections
