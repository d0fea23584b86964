#include "broker/projections/identifiers.h"

#include <array>
#include <charconv>
#include <cstring>

namespace muninn::projections {
namespace {

bool all_digits(std::string_view s) noexcept {
  for (const char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

unsigned digit(std::string_view s, std::size_t i) noexcept {
  return static_cast<unsigned>(s[i] - '0');
}

unsigned number(std::string_view s, std::size_t pos, std::size_t n) noexcept {
  unsigned v = 0;
  for (std::size_t i = pos; i < pos + n; ++i) v = v * 10 + digit(s, i);
  return v;
}

// Luhn over all digits of `s`, the last one being the check digit.
bool luhn_ok(std::string_view s) noexcept {
  unsigned sum = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    // Weights 2,1,2,1,... from the left; the length is even (10) here, so
    // this equals the usual "double every second digit from the right".
    unsigned x = digit(s, i) * ((s.size() - i) % 2 == 0 ? 2 : 1);
    sum += x / 10 + x % 10;
  }
  return sum % 10 == 0;
}

// The normal form is built in place (normal_form): a party is normalised
// per event on the replay's reader thread, where building std::strings
// showed in the profile.
struct outcome {
  id_fault fault = id_fault::none;
  normal_form normalised;  // valid only when fault == none
};

outcome failed(id_fault f) noexcept {
  outcome o;
  o.fault = f;
  return o;
}

outcome valid(std::string_view digits) noexcept {
  outcome o;
  std::memcpy(o.normalised.text, digits.data(), digits.size());
  o.normalised.len = static_cast<std::uint8_t>(digits.size());
  return o;
}

// ---- NO_FNR -----------------------------------------------------------------

outcome check_no_fnr(std::string_view v, const civil_date& reference) {
  if (v.size() != 11 || !all_digits(v)) return failed(id_fault::format);

  unsigned day = number(v, 0, 2);
  unsigned month = number(v, 2, 2);
  const unsigned yy = number(v, 4, 2);
  const unsigned individual = number(v, 6, 3);
  if (day > 40) day -= 40;  // D-nummer
  if (month > 80) {
    month -= 80;  // synthetic test numbers (Tenor)
  } else if (month > 40) {
    month -= 40;  // H-nummer
  }
  // The individual number encodes the century (Skatteetaten's table); a
  // combination outside the table gets the benefit of either modern century,
  // since only 29 February depends on it.
  std::array<unsigned, 2> centuries{0, 0};
  if (individual <= 499) {
    centuries = {1900, 1900};
  } else if (individual <= 749 && yy >= 54) {
    centuries = {1800, 1800};
  } else if (yy <= 39) {
    centuries = {2000, 2000};
  } else if (individual >= 900) {
    centuries = {1900, 1900};
  } else {
    centuries = {1900, 2000};
  }
  if (!is_real_date(centuries[0] + yy, month, day) &&
      !is_real_date(centuries[1] + yy, month, day)) {
    return failed(id_fault::date);
  }

  static constexpr unsigned w1[] = {3, 7, 6, 1, 8, 9, 4, 5, 2};
  static constexpr unsigned w2[] = {5, 4, 3, 2, 7, 6, 5, 4, 3, 2};
  unsigned s1 = 0, s2 = 0;
  for (std::size_t i = 0; i < 9; ++i) s1 += w1[i] * digit(v, i);
  for (std::size_t i = 0; i < 10; ++i) s2 += w2[i] * digit(v, i);
  // check = 11 - (sum mod 11), 11 -> 0, 10 -> invalid is the same as
  // (sum + check) mod 11 == 0 for a check digit 0-9.
  const unsigned r1 = (s1 + digit(v, 9)) % 11;
  const bool relaxed = reference >= civil_date{2032, 1, 1};
  const bool k1_ok = relaxed ? r1 <= 3 : r1 == 0;
  const bool k2_ok = (s2 + digit(v, 10)) % 11 == 0;
  if (!k1_ok || !k2_ok) return failed(id_fault::check_digit);
  return valid(v);
}

// ---- NO_ORGNR ---------------------------------------------------------------

outcome check_no_orgnr(std::string_view v) {
  if (v.size() != 9 || !all_digits(v)) return failed(id_fault::format);
  static constexpr unsigned w[] = {3, 2, 7, 6, 5, 4, 3, 2};
  unsigned sum = 0;
  for (std::size_t i = 0; i < 8; ++i) sum += w[i] * digit(v, i);
  const unsigned remainder = sum % 11;
  if (remainder == 1) return failed(id_fault::check_digit);
  const unsigned check = remainder == 0 ? 0 : 11 - remainder;
  if (digit(v, 8) != check) return failed(id_fault::check_digit);
  return valid(v);
}

// ---- SE_PNR -----------------------------------------------------------------

outcome check_se_pnr(std::string_view v, const civil_date& reference) {
  // YYMMDD[-+]NNNN, YYMMDDNNNN, YYYYMMDD[-]NNNN, YYYYMMDDNNNN. A `+` in the
  // 12-digit form would be redundant or contradict the written century, so
  // it is refused rather than interpreted.
  char sep = 0;
  // Room for the century written in front of 10 digits (below).
  char buf[normal_form::capacity];
  std::size_t head = 0;  // where the digits start in buf
  std::size_t n = 0;
  if (v.size() == 11 || v.size() == 13) {
    sep = v[v.size() - 5];
    if (sep != '-' && sep != '+') return failed(id_fault::format);
    if (v.size() == 13 && sep == '+') return failed(id_fault::format);
    n = v.size() - 1;
    head = sizeof buf - n;
    std::memcpy(buf + head, v.data(), v.size() - 5);
    std::memcpy(buf + head + v.size() - 5, v.data() + v.size() - 4, 4);
  } else if (v.size() == 10 || v.size() == 12) {
    n = v.size();
    head = sizeof buf - n;
    std::memcpy(buf + head, v.data(), n);
  } else {
    return failed(id_fault::format);
  }
  std::string_view digits(buf + head, n);
  if (!all_digits(digits)) return failed(id_fault::format);

  const std::string_view last10 = digits.substr(digits.size() - 10);
  const unsigned month = number(last10, 2, 2);
  unsigned day = number(last10, 4, 2);
  if (day > 60) day -= 60;  // samordningsnummer
  std::int64_t year;
  if (digits.size() == 12) {
    year = number(digits, 0, 4);
  } else {
    // The most recent year ending in YY whose birthday is not after the
    // reference date; `+` (100 years or older) one century before that.
    const std::int64_t yy = number(last10, 0, 2);
    year = reference.year - (((reference.year - yy) % 100) + 100) % 100;
    const civil_date birthday{static_cast<std::int32_t>(year), static_cast<std::uint8_t>(month),
                              static_cast<std::uint8_t>(day)};
    if (birthday > reference) year -= 100;
    if (sep == '+') year -= 100;
  }
  if (!is_real_date(year, month, day)) return failed(id_fault::date);
  if (!luhn_ok(last10)) return failed(id_fault::check_digit);
  if (digits.size() == 10) {
    // The century as std::to_string spells it, at least two characters.
    char century[24];
    const auto end = std::to_chars(century, century + sizeof century, year / 100).ptr;
    auto len = static_cast<std::size_t>(end - century);
    if (len < 2) {
      buf[--head] = century[0];
      buf[--head] = '0';
    } else {
      if (len > head) return failed(id_fault::date);  // unreachable: a real date's year fits
      head -= len;
      std::memcpy(buf + head, century, len);
    }
    digits = std::string_view(buf + head, sizeof buf - head);
  }
  return valid(digits);
}

// ---- SE_ORGNR ---------------------------------------------------------------

outcome check_se_orgnr(std::string_view v) {
  // NNNNNN[-]NNNN; also the 12-digit "16" prefix some systems write.
  std::string_view body = v;
  if (body.size() >= 12 && body.substr(0, 2) == "16") body.remove_prefix(2);
  char buf[10];
  if (body.size() == 11 && body[6] == '-') {
    std::memcpy(buf, body.data(), 6);
    std::memcpy(buf + 6, body.data() + 7, 4);
  } else if (body.size() == 10) {
    std::memcpy(buf, body.data(), 10);
  } else {
    return failed(id_fault::format);
  }
  const std::string_view digits(buf, sizeof buf);
  if (!all_digits(digits)) return failed(id_fault::format);
  if (number(digits, 2, 2) < 20) return failed(id_fault::not_an_organisation);
  if (!luhn_ok(digits)) return failed(id_fault::check_digit);
  return valid(digits);
}

outcome analyse(id_kind kind, std::string_view value, const civil_date& reference) {
  switch (kind) {
    case id_kind::no_fnr: return check_no_fnr(value, reference);
    case id_kind::no_orgnr: return check_no_orgnr(value);
    case id_kind::se_pnr: return check_se_pnr(value, reference);
    case id_kind::se_orgnr: return check_se_orgnr(value);
  }
  return failed(id_fault::format);
}

std::string_view format_rule(id_kind kind) noexcept {
  switch (kind) {
    case id_kind::no_fnr: return "must be 11 digits";
    case id_kind::no_orgnr: return "must be 9 digits";
    case id_kind::se_pnr: return "must be 10 or 12 digits (optional - or + before the last 4)";
    case id_kind::se_orgnr: return "must be 10 digits (optional - before the last 4)";
  }
  return "has the wrong format";
}

}  // namespace

std::optional<id_kind> parse_id_kind(std::string_view text) noexcept {
  if (text == "NO_FNR") return id_kind::no_fnr;
  if (text == "NO_ORGNR") return id_kind::no_orgnr;
  if (text == "SE_PNR") return id_kind::se_pnr;
  if (text == "SE_ORGNR") return id_kind::se_orgnr;
  return std::nullopt;
}

std::string_view to_string(id_kind kind) noexcept {
  switch (kind) {
    case id_kind::no_fnr: return "NO_FNR";
    case id_kind::no_orgnr: return "NO_ORGNR";
    case id_kind::se_pnr: return "SE_PNR";
    case id_kind::se_orgnr: return "SE_ORGNR";
  }
  return "?";
}

id_check check_identifier(id_kind kind, std::string_view value, const civil_date& reference) {
  const outcome o = analyse(kind, value, reference);
  id_check c;
  c.fault = o.fault;
  std::string_view what;
  switch (o.fault) {
    case id_fault::none: return c;
    case id_fault::format: what = format_rule(kind); break;
    case id_fault::date: what = "date is not a real date"; break;
    case id_fault::check_digit: what = "check digit is wrong"; break;
    case id_fault::not_an_organisation: what = "digits 3-4 must be >= 20"; break;
  }
  c.rule = std::string(to_string(kind)) + " " + std::string(what);
  return c;
}

std::optional<std::string> normalise_identifier(id_kind kind, std::string_view value,
                                                const civil_date& reference) {
  const outcome o = analyse(kind, value, reference);
  if (o.fault != id_fault::none) return std::nullopt;
  return std::string(o.normalised.view());
}

bool normalise_identifier(id_kind kind, std::string_view value, const civil_date& reference, normal_form& out) {
  const outcome o = analyse(kind, value, reference);
  if (o.fault != id_fault::none) return false;
  out = o.normalised;
  return true;
}

}  // namespace muninn::projections
