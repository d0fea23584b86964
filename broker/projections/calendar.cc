#include "broker/projections/calendar.h"

#include <cstdio>

namespace muninn::projections {

std::int64_t days_from_civil(const civil_date& c) noexcept {
  std::int64_t y = c.year;
  const unsigned m = c.month;
  const unsigned d = c.day;
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

civil_date civil_from_days(std::int64_t z) noexcept {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  return {static_cast<std::int32_t>(static_cast<std::int64_t>(yoe) + era * 400 + (m <= 2)),
          static_cast<std::uint8_t>(m), static_cast<std::uint8_t>(d)};
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

}  // namespace muninn::projections
