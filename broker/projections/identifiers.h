// Party and recipient identifiers of domain.md ("Identifier rules"): the
// check of each kind and its normalised spelling, one code for validation,
// projections and the client. Pure functions: thread-safe, no clock; any
// rule that depends on "now" takes the event's business date as `reference`.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "broker/projections/calendar.h"

namespace muninn::projections {

enum class id_kind : std::uint8_t { no_fnr = 0, no_orgnr = 1, se_pnr = 2, se_orgnr = 3 };

// "NO_FNR", "NO_ORGNR", "SE_PNR", "SE_ORGNR" (exact spelling, as in events).
std::optional<id_kind> parse_id_kind(std::string_view text) noexcept;
std::string_view to_string(id_kind kind) noexcept;

// Why a value is not a valid identifier of its kind.
enum class id_fault : std::uint8_t {
  none = 0,
  format = 1,       // wrong length, characters or separator
  date = 2,         // the birth date part is not a real date
  check_digit = 3,  // a mod-11 or Luhn check digit does not match
  not_an_organisation = 4,  // SE_ORGNR whose digits 3-4 are below 20
};

struct id_check {
  id_fault fault = id_fault::none;
  std::string rule;  // one phrase naming kind and rule, e.g. "NO_FNR check digit is wrong"

  bool ok() const noexcept { return fault == id_fault::none; }
};

// The first rule `value` breaks, in the order format, date, check digits.
// `reference` is the UTC date of the event's business time. It matters for:
// - SE_PNR in 10 digits: the century is the most recent one that does not
//   put the birth date after `reference` (`+`: 100 years earlier still);
// - NO_FNR: from 2032-01-01 (reference on or after it) k1 is also accepted
//   when (weighted sum + k1) mod 11 is 0, 1, 2 or 3 (Skatteetaten's new
//   numbers); before that k1 must match exactly. k2 is always exact.
id_check check_identifier(id_kind kind, std::string_view value, const civil_date& reference);

// The spelling a party is known by: NO_FNR 11 digits, NO_ORGNR 9 digits,
// SE_PNR 12 digits (century added as above), SE_ORGNR 10 digits; no
// separators. nullopt when check_identifier() would refuse the value.
std::optional<std::string> normalise_identifier(id_kind kind, std::string_view value,
                                                const civil_date& reference);

// The same normal form without a std::string, for the per-event paths.
// The digits are at most 12 plus a century the reference's year may make
// longer (up to 10 characters); capacity holds any of them.
struct normal_form {
  static constexpr std::size_t capacity = 24;
  std::uint8_t len = 0;
  char text[capacity];
  std::string_view view() const noexcept { return {text, len}; }
};
// False (out untouched) when check_identifier() would refuse the value.
bool normalise_identifier(id_kind kind, std::string_view value, const civil_date& reference, normal_form& out);

}  // namespace muninn::projections
