#include <catch2/catch.hpp>

#include <string>

#include "broker/projections/calendar.h"
#include "broker/projections/identifiers.h"

using namespace muninn::projections;

namespace {

constexpr civil_date in_2026{2026, 11, 23};
constexpr civil_date before_2032{2031, 12, 31};
constexpr civil_date from_2032{2032, 1, 1};

std::string rule_of(id_kind k, std::string_view v, civil_date ref = in_2026) {
  return check_identifier(k, v, ref).rule;
}

}  // namespace

TEST_CASE("identifiers: the NO_FNR test values of domain.md", "[validation][identifiers]") {
  for (const char* v : {"20036914700", "03851598730", "13097248022"}) {
    INFO(v);
    CHECK(check_identifier(id_kind::no_fnr, v, in_2026).ok());
    CHECK(check_identifier(id_kind::no_fnr, v, from_2032).ok());
  }
  CHECK(rule_of(id_kind::no_fnr, "20036914712") == "NO_FNR check digit is wrong");
  CHECK(rule_of(id_kind::no_fnr, "13097248032") == "NO_FNR check digit is wrong");
  CHECK(rule_of(id_kind::no_fnr, "29020105729") == "NO_FNR date is not a real date");
  // The invalid ones stay invalid under the 2032 rule: it relaxes k1 only.
  CHECK(rule_of(id_kind::no_fnr, "20036914712", from_2032) == "NO_FNR check digit is wrong");
  CHECK(rule_of(id_kind::no_fnr, "13097248032", from_2032) == "NO_FNR check digit is wrong");
  CHECK(rule_of(id_kind::no_fnr, "29020105729", from_2032) == "NO_FNR date is not a real date");
}

TEST_CASE("identifiers: NO_FNR k1 may leave remainder 0-3 from 2032 (business date)",
          "[validation][identifiers]") {
  CHECK(check_identifier(id_kind::no_fnr, "30108299939", from_2032).ok());
  CHECK(check_identifier(id_kind::no_fnr, "30108299939", civil_date{2040, 6, 1}).ok());
  const auto before = check_identifier(id_kind::no_fnr, "30108299939", before_2032);
  CHECK(before.fault == id_fault::check_digit);
  CHECK(before.rule == "NO_FNR check digit is wrong");
  CHECK(normalise_identifier(id_kind::no_fnr, "30108299939", from_2032) == "30108299939");
  CHECK_FALSE(normalise_identifier(id_kind::no_fnr, "30108299939", before_2032));
}

TEST_CASE("identifiers: NO_FNR D-, H- and synthetic numbers shift day or month",
          "[validation][identifiers]") {
  CHECK(check_identifier(id_kind::no_fnr, "53097248016", in_2026).ok());  // D: day 13 + 40
  CHECK(check_identifier(id_kind::no_fnr, "13527248013", in_2026).ok());  // H: month 12 + 40
  CHECK(check_identifier(id_kind::no_fnr, "03851598730", in_2026).ok());  // synthetic: 5 + 80
}

TEST_CASE("identifiers: NO_FNR 29 February depends on the century of the individual number",
          "[validation][identifiers]") {
  CHECK(check_identifier(id_kind::no_fnr, "29020405781", in_2026).ok());  // 057: 1904
  CHECK(check_identifier(id_kind::no_fnr, "29020450132", in_2026).ok());  // 501, yy 04: 2004
  CHECK(rule_of(id_kind::no_fnr, "29020005708") == "NO_FNR date is not a real date");  // 1900
}

TEST_CASE("identifiers: NO_FNR must be 11 digits", "[validation][identifiers]") {
  for (const char* v : {"", "2003691470", "200369147000", "2003691470a", "200369-14700"}) {
    INFO(v);
    const auto c = check_identifier(id_kind::no_fnr, v, in_2026);
    CHECK(c.fault == id_fault::format);
    CHECK(c.rule == "NO_FNR must be 11 digits");
  }
  CHECK(rule_of(id_kind::no_fnr, "32036914700") == "NO_FNR date is not a real date");
  CHECK(rule_of(id_kind::no_fnr, "20136914700") == "NO_FNR date is not a real date");
}

TEST_CASE("identifiers: NO_ORGNR mod 11 with weights 3,2,7,6,5,4,3,2",
          "[validation][identifiers]") {
  CHECK(check_identifier(id_kind::no_orgnr, "123456785", in_2026).ok());
  CHECK(rule_of(id_kind::no_orgnr, "123456784") == "NO_ORGNR check digit is wrong");
  // Remainder 1 has no valid check digit at all.
  for (char d = '0'; d <= '9'; ++d) {
    CHECK(rule_of(id_kind::no_orgnr, std::string("12345670") + d) == "NO_ORGNR check digit is wrong");
  }
  CHECK(rule_of(id_kind::no_orgnr, "12345678") == "NO_ORGNR must be 9 digits");
  CHECK(rule_of(id_kind::no_orgnr, "123 456 785") == "NO_ORGNR must be 9 digits");
  CHECK(normalise_identifier(id_kind::no_orgnr, "123456785", in_2026) == "123456785");
}

TEST_CASE("identifiers: the SE_PNR test values of domain.md", "[validation][identifiers]") {
  CHECK(check_identifier(id_kind::se_pnr, "19121212-1212", in_2026).ok());
  CHECK(check_identifier(id_kind::se_pnr, "194408139089", in_2026).ok());
  CHECK(rule_of(id_kind::se_pnr, "121212-1213") == "SE_PNR check digit is wrong");
}

TEST_CASE("identifiers: SE_PNR normalises to 12 digits with the century from the business date",
          "[validation][identifiers]") {
  CHECK(normalise_identifier(id_kind::se_pnr, "19121212-1212", in_2026) == "191212121212");
  CHECK(normalise_identifier(id_kind::se_pnr, "194408139089", in_2026) == "194408139089");
  // 12 digits: the written century wins over the 10-digit rule.
  CHECK(normalise_identifier(id_kind::se_pnr, "18121212-1212", in_2026) == "181212121212");
  CHECK(normalise_identifier(id_kind::se_pnr, "121212-1212", in_2026) == "201212121212");
  CHECK(normalise_identifier(id_kind::se_pnr, "1212121212", in_2026) == "201212121212");
  // Not in the future of the reference: on 2012-12-11 the same spelling is 1912.
  CHECK(normalise_identifier(id_kind::se_pnr, "121212-1212", civil_date{2012, 12, 11}) ==
        "191212121212");
  CHECK(normalise_identifier(id_kind::se_pnr, "121212-1212", civil_date{2012, 12, 12}) ==
        "201212121212");
  // `+`: 100 years or older.
  CHECK(normalise_identifier(id_kind::se_pnr, "121212+1212", in_2026) == "191212121212");
  CHECK(normalise_identifier(id_kind::se_pnr, "440813+9089", in_2026) == "184408139089");
  CHECK(normalise_identifier(id_kind::se_pnr, "440813-9089", in_2026) == "194408139089");
}

TEST_CASE("identifiers: SE_PNR date must be real, samordningsnummer day + 60",
          "[validation][identifiers]") {
  CHECK(normalise_identifier(id_kind::se_pnr, "701063-2391", in_2026) == "197010632391");
  CHECK(check_identifier(id_kind::se_pnr, "000229-1235", in_2026).ok());  // 2000: leap
  CHECK(rule_of(id_kind::se_pnr, "000229+1235") == "SE_PNR date is not a real date");  // 1900
  CHECK(rule_of(id_kind::se_pnr, "990229-1237") == "SE_PNR date is not a real date");
  CHECK(rule_of(id_kind::se_pnr, "19991301-1234") == "SE_PNR date is not a real date");
}

TEST_CASE("identifiers: SE_PNR must be 10 or 12 digits with an optional - or +",
          "[validation][identifiers]") {
  for (const char* v : {"", "12121212", "121212/1212", "19121212+1212", "1212121-212",
                        "12121212121", "19121212-12x2", "191212121212-"}) {
    INFO(v);
    CHECK(rule_of(id_kind::se_pnr, v) ==
          "SE_PNR must be 10 or 12 digits (optional - or + before the last 4)");
  }
}

TEST_CASE("identifiers: SE_ORGNR Luhn and digits 3-4 >= 20", "[validation][identifiers]") {
  CHECK(check_identifier(id_kind::se_orgnr, "212000-0142", in_2026).ok());
  CHECK(rule_of(id_kind::se_orgnr, "212000-0143") == "SE_ORGNR check digit is wrong");
  CHECK(rule_of(id_kind::se_orgnr, "5512121210") == "SE_ORGNR digits 3-4 must be >= 20");
  CHECK(rule_of(id_kind::se_orgnr, "21200-00142") ==
        "SE_ORGNR must be 10 digits (optional - before the last 4)");
  CHECK(normalise_identifier(id_kind::se_orgnr, "212000-0142", in_2026) == "2120000142");
  CHECK(normalise_identifier(id_kind::se_orgnr, "2120000142", in_2026) == "2120000142");
  CHECK(normalise_identifier(id_kind::se_orgnr, "162120000142", in_2026) == "2120000142");
  CHECK_FALSE(normalise_identifier(id_kind::se_orgnr, "212000-0143", in_2026));
}

TEST_CASE("identifiers: kinds are spelled as in events", "[validation][identifiers]") {
  for (const auto k : {id_kind::no_fnr, id_kind::no_orgnr, id_kind::se_pnr, id_kind::se_orgnr}) {
    CHECK(parse_id_kind(to_string(k)) == k);
  }
  CHECK(to_string(id_kind::se_pnr) == "SE_PNR");
  CHECK_FALSE(parse_id_kind("se_pnr"));
  CHECK_FALSE(parse_id_kind("DK_CPR"));
}

TEST_CASE("calendar: ISO dates are parsed strictly and instants map to UTC days",
          "[validation][calendar]") {
  CHECK(parse_iso_date("2024-02-29") == civil_date{2024, 2, 29});
  CHECK_FALSE(parse_iso_date("2023-02-29"));
  CHECK_FALSE(parse_iso_date("2026-13-01"));
  CHECK_FALSE(parse_iso_date("2026-1-01"));
  CHECK_FALSE(parse_iso_date("2026-01-01T00:00:00Z"));
  CHECK_FALSE(parse_iso_date("0000-01-01"));
  CHECK(to_iso_string(civil_date{812, 3, 4}) == "0812-03-04");
  CHECK(civil_from_micros(0) == civil_date{1970, 1, 1});
  CHECK(civil_from_micros(-1) == civil_date{1969, 12, 31});
  CHECK(civil_from_days(days_from_civil(civil_date{2032, 1, 1})) == civil_date{2032, 1, 1});
}
