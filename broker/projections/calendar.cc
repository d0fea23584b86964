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

}  // namespace muninn::projections
