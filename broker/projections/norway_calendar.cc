#include "broker/projections/norway_calendar.h"

#include <algorithm>
#include <array>
#include <limits>

#include "codec/civil.h"

namespace muninn::projections::norway {
namespace {

constexpr std::int64_t micros_per_day = 86'400'000'000;

// The last Sunday of `month` (31 days long: March and October).
civil_date last_sunday(std::int32_t year, std::uint8_t month) noexcept {
  civil_date d{year, month, 31};
  d.day = static_cast<std::uint8_t>(31 - (weekday(d) + 1) % 7);
  return d;
}

// Offset in µs at 00:00 local time of the date `days` (since the epoch):
// summer time covers the midnights after the start day up to and including
// the end day (its switch is at 03:00 local, after midnight).
std::int64_t midnight_offset(std::int64_t days) noexcept {
  const civil_date d = civil_from_days(days);
  if (d.month < 3 || d.month > 10) return micros_per_hour;
  if (d.month > 3 && d.month < 10) return 2 * micros_per_hour;
  if (d.month == 3) return d > summer_time_start(d.year) ? 2 * micros_per_hour : micros_per_hour;
  return d <= summer_time_end(d.year) ? 2 * micros_per_hour : micros_per_hour;
}

std::int64_t midnight_of_days(std::int64_t days) noexcept {
  return days * micros_per_day - midnight_offset(days);
}

unsigned weekday_of(std::int64_t days) noexcept {
  return static_cast<unsigned>(((days % 7) + 7 + 3) % 7);  // 1970-01-01 was a Thursday
}

// One year's rules as day numbers, so that due_at's walk over days needs
// no date conversion per day.
struct year_rules {
  std::int32_t year = 0;
  std::int64_t next = 0;                      // 1 January of the next year
  std::int64_t summer_start = 0, summer_end = 0;
  std::array<std::int64_t, 12> holidays{};

  explicit year_rules(std::int32_t y) noexcept : year(y) {
    auto day = [y](unsigned m, unsigned d) { return codec::days_from_civil(y, m, d); };
    next = codec::days_from_civil(y + 1, 1, 1);
    summer_start = days_from_civil(summer_time_start(y));
    summer_end = days_from_civil(summer_time_end(y));
    const std::int64_t e = days_from_civil(easter_sunday(y));
    holidays = {day(1, 1), e - 3, e - 2, e, e + 1, e + 39, e + 49, e + 50,
                day(5, 1), day(5, 17), day(12, 25), day(12, 26)};
  }
  bool working(std::int64_t d) const noexcept {
    if (weekday_of(d) >= 5) return false;
    return std::find(holidays.begin(), holidays.end(), d) == holidays.end();
  }
  // The UTC instant of local midnight starting day `d` (d <= next).
  std::int64_t midnight(std::int64_t d) const noexcept {
    const bool summer = d > summer_start && d <= summer_end;  // 1 January never is
    return d * micros_per_day - (summer ? 2 : 1) * micros_per_hour;
  }
};

}  // namespace

civil_date summer_time_start(std::int32_t year) noexcept { return last_sunday(year, 3); }
civil_date summer_time_end(std::int32_t year) noexcept { return last_sunday(year, 10); }

bool is_public_holiday(const civil_date& d) noexcept {
  switch (d.month) {
    case 1:
      if (d.day == 1) return true;
      return false;
    case 5:
      if (d.day == 1 || d.day == 17) return true;
      break;
    case 12:
      return d.day == 25 || d.day == 26;
    case 3:
    case 4:
    case 6:
      break;
    default:
      return false;
  }
  // Movable feasts: skjærtorsdag (E-3) falls on 19 Mar at the earliest,
  // 2. pinsedag (E+50) on 14 Jun at the latest.
  const std::int64_t e = days_from_civil(easter_sunday(d.year));
  const std::int64_t k = days_from_civil(d) - e;
  return k == -3 || k == -2 || k == 0 || k == 1 || k == 39 || k == 49 || k == 50;
}

bool is_working_day(const civil_date& d) noexcept {
  return weekday(d) < 5 && !is_public_holiday(d);
}

std::int64_t utc_offset(std::int64_t utc_micros) noexcept {
  const civil_date d = civil_from_micros(utc_micros);
  if (d.month < 3 || d.month > 10) return micros_per_hour;
  if (d.month > 3 && d.month < 10) return 2 * micros_per_hour;
  const civil_date sw = d.month == 3 ? summer_time_start(d.year) : summer_time_end(d.year);
  const std::int64_t switch_at = days_from_civil(sw) * micros_per_day + micros_per_hour;
  const bool after = utc_micros >= switch_at;
  return (d.month == 3) == after ? 2 * micros_per_hour : micros_per_hour;
}

civil_date local_date(std::int64_t utc_micros) noexcept {
  const std::int64_t off = utc_offset(utc_micros);
  // Saturate rather than overflow at the far end of the range.
  if (utc_micros > std::numeric_limits<std::int64_t>::max() - off) return civil_from_micros(utc_micros);
  return civil_from_micros(utc_micros + off);
}

std::int64_t local_midnight(const civil_date& d) noexcept {
  return midnight_of_days(days_from_civil(d));
}

std::int64_t due_at(std::int64_t from, std::int64_t hours) noexcept {
  if (hours <= 0) return from;
  // Far outside any real business time the arithmetic below would
  // overflow: such instants are clamped to years 1-9000.
  constexpr std::int64_t lowest = -719'162LL * micros_per_day;       // 0001-01-01
  constexpr std::int64_t highest = 2'567'655LL * micros_per_day;     // 9000-01-01
  static_assert(lowest == codec::days_from_civil(1, 1, 1) * micros_per_day);
  static_assert(highest == codec::days_from_civil(9000, 1, 1) * micros_per_day);
  from = std::clamp(from, lowest, highest);
  std::int64_t remaining = std::min<std::int64_t>(hours, 1'000'000) * micros_per_hour;
  std::int64_t day = days_from_civil(local_date(from));
  year_rules rules(civil_from_days(day).year);
  std::int64_t start = rules.midnight(day);
  // Each step is one local day; a year has at least 240 working days, so
  // the loop ends after about 1.5 days per 24 h asked for.
  for (;;) {
    if (day >= rules.next) rules = year_rules(rules.year + 1);
    const std::int64_t end = rules.midnight(day + 1);
    if (rules.working(day)) {
      const std::int64_t begin = std::max(start, from);
      if (end - begin >= remaining) return begin + remaining;
      remaining -= end - begin;
    }
    ++day;
    start = end;
  }
}

}  // namespace muninn::projections::norway
