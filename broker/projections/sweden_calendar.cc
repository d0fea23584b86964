#include "broker/projections/sweden_calendar.h"

namespace muninn::projections {
namespace {

// The Saturday of the week whose first day is `first` (inclusive range
// first .. first + 6): midsommardagen (20-26 Jun), alla helgons dag
// (31 Oct - 6 Nov).
civil_date saturday_from(const civil_date& first) noexcept {
  const unsigned wd = weekday(first);  // 0 = Monday, 5 = Saturday
  return civil_from_days(days_from_civil(first) + static_cast<std::int64_t>((5 + 7 - wd) % 7));
}

civil_date plus_days(const civil_date& d, std::int64_t n) noexcept {
  return civil_from_days(days_from_civil(d) + n);
}

}  // namespace

bool is_swedish_public_holiday(const civil_date& d) noexcept {
  const unsigned m = d.month, day = d.day;
  if ((m == 1 && (day == 1 || day == 6)) || (m == 5 && day == 1) || (m == 6 && day == 6) ||
      (m == 12 && (day == 25 || day == 26))) {
    return true;
  }
  if (m == 6 && day >= 20 && day <= 26) return d == saturday_from({d.year, 6, 20});
  if ((m == 10 && day == 31) || (m == 11 && day <= 6)) return d == saturday_from({d.year, 10, 31});
  if (m >= 3 && m <= 6) {
    const std::int64_t easter = days_from_civil(easter_sunday(d.year));
    const std::int64_t off = days_from_civil(d) - easter;
    return off == -2 || off == 0 || off == 1 || off == 39;
  }
  return false;
}

bool is_swedish_non_working_eve(const civil_date& d) noexcept {
  if (d.month == 12 && (d.day == 24 || d.day == 31)) return true;
  if (d.month == 6 && d.day >= 19 && d.day <= 25) {
    return d == plus_days(saturday_from({d.year, 6, 20}), -1);
  }
  return false;
}

bool is_swedish_working_day(const civil_date& d) noexcept {
  return weekday(d) < 5 && !is_swedish_public_holiday(d) && !is_swedish_non_working_eve(d);
}

civil_date next_working_day_on_or_after(const civil_date& d) noexcept {
  // At most a handful of steps (Christmas to the weekend after it); the
  // bound only guards a date outside any sane calendar.
  civil_date c = d;
  for (int i = 0; i < 32 && !is_swedish_working_day(c); ++i) c = plus_days(c, 1);
  return c;
}

}  // namespace muninn::projections
