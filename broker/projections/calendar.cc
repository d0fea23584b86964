#include "broker/projections/calendar.h"

#include "codec/civil.h"

#include <cstdio>

namespace muninn::projections {

std::int64_t days_from_civil(const civil_date& c) noexcept {
  return codec::days_from_civil(c.year, c.month, c.day);
}

civil_date civil_from_days(std::int64_t z) noexcept {
  const auto c = codec::civil_from_days(z);
  return {static_cast<std::int32_t>(c.y), static_cast<std::uint8_t>(c.m), static_cast<std::uint8_t>(c.d)};
}

civil_date civil_from_micros(std::int64_t micros) noexcept {
  constexpr std::int64_t per_day = 86'400'000'000;
  std::int64_t days = micros / per_day;
  if (micros % per_day < 0) --days;
  return civil_from_days(days);
}

std::optional<civil_date> parse_iso_date(std::string_view s) noexcept {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return std::nullopt;
  auto num = [&s](std::size_t pos, std::size_t n, unsigned& out) {
    out = 0;
    for (std::size_t i = pos; i < pos + n; ++i) {
      if (s[i] < '0' || s[i] > '9') return false;
      out = out * 10 + static_cast<unsigned>(s[i] - '0');
    }
    return true;
  };
  unsigned y, m, d;
  if (!num(0, 4, y) || !num(5, 2, m) || !num(8, 2, d) || !is_real_date(y, m, d)) {
    return std::nullopt;
  }
  return civil_date{static_cast<std::int32_t>(y), static_cast<std::uint8_t>(m),
                    static_cast<std::uint8_t>(d)};
}

std::string to_iso_string(const civil_date& c) {
  char buf[32];
  const int n = std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", static_cast<int>(c.year),
                              static_cast<unsigned>(c.month), static_cast<unsigned>(c.day));
  return std::string(buf, static_cast<std::size_t>(n));
}

civil_date easter_sunday(std::int32_t year) noexcept {
  const std::int32_t a = year % 19, b = year / 100, c = year % 100;
  const std::int32_t d = b / 4, e = b % 4, f = (b + 8) / 25, g = (b - f + 1) / 3;
  const std::int32_t h = (19 * a + b - d - g + 15) % 30;
  const std::int32_t i = c / 4, k = c % 4;
  const std::int32_t l = (32 + 2 * e + 2 * i - h - k) % 7;
  const std::int32_t m = (a + 11 * h + 22 * l) / 451;
  const std::int32_t month = (h + l - 7 * m + 114) / 31;
  const std::int32_t day = (h + l - 7 * m + 114) % 31 + 1;
  return civil_date{year, static_cast<std::uint8_t>(month), static_cast<std::uint8_t>(day)};
}

unsigned weekday(const civil_date& c) noexcept {
  // 1970-01-01 was a Thursday (3 when Monday is 0).
  const std::int64_t d = days_from_civil(c);
  return static_cast<unsigned>(((d % 7) + 7 + 3) % 7);
}

}  // namespace muninn::projections
