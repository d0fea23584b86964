// Civil (proleptic Gregorian) dates for the domain rules: identifier birth
// dates, `YYYY-MM-DD` fields and the UTC date of an event's business time.
// Pure functions and a value type: thread-safe, no clock, no time zone.
#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace muninn::projections {

struct civil_date {
  std::int32_t year = 1970;
  std::uint8_t month = 1;  // 1-12
  std::uint8_t day = 1;    // 1-31

  auto operator<=>(const civil_date&) const = default;
};

constexpr bool is_leap_year(std::int64_t y) noexcept {
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

// 0 for a month outside 1-12, so `day <= days_in_month(...)` refuses it.
constexpr unsigned days_in_month(std::int64_t y, unsigned m) noexcept {
  constexpr unsigned days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (m < 1 || m > 12) return 0;
  return m == 2 && is_leap_year(y) ? 29 : days[m - 1];
}

// True when the year/month/day triple names a real day (year 1-9999: the
// range `YYYY-MM-DD` can spell).
constexpr bool is_real_date(std::int64_t y, unsigned m, unsigned d) noexcept {
  return y >= 1 && y <= 9999 && d >= 1 && d <= days_in_month(y, m);
}

// Days since 1970-01-01 (H. Hinnant's algorithm); the date need not be valid.
std::int64_t days_from_civil(const civil_date& c) noexcept;
civil_date civil_from_days(std::int64_t days) noexcept;

// The UTC date of a µs-since-epoch instant (floor division: negative
// instants fall on the day before the epoch, not on it).
civil_date civil_from_micros(std::int64_t micros) noexcept;

// Exactly `YYYY-MM-DD`, digits only, a real date; nullopt otherwise.
std::optional<civil_date> parse_iso_date(std::string_view text) noexcept;
std::string to_iso_string(const civil_date& c);

// Easter Sunday of a Gregorian year (the anonymous Gregorian computus,
// Meeus/Jones/Butcher); the movable holidays of Norway and Sweden hang on it.
civil_date easter_sunday(std::int32_t year) noexcept;

// 0 = Monday ... 6 = Sunday.
unsigned weekday(const civil_date& c) noexcept;

}  // namespace muninn::projections
