// The dispatch catalog of domain.md, rule by rule: one refused input per
// rule (index, field, rule) and accepted examples of every event type.
#include <catch2/catch.hpp>

#include <string>

#include "tests/validation/helpers.h"

using namespace muninn::validation;
using namespace muninn::validation::test;

namespace {

constexpr schema D = schema::dispatch;

// A letter for print and digital delivery, every optional field present.
const std::string mottatt =
    R"({"stream":"forsendelse-3f6c1d2e-8a4b-4c5d-9e6f-0a1b2c3d4e5f","type":"ForsendelseMottatt",)"
    R"("expected_version":-1,"time":"2026-11-23T09:15:00Z","data":{)"
    R"("forsendelseId":"3f6c1d2e-8a4b-4c5d-9e6f-0a1b2c3d4e5f","avsender":"Bergen kommune",)"
    R"("avgivendeSystem":"ePhorte","tittel":"Vedtak om byggetillatelse",)"
    R"("mottaker":{"navn":"Kari Nordmann","digitalId":{"type":"NO_FNR","value":"20036914700"},)"
    R"("adresse":{"adresselinje1":"Storgata 1","adresselinje2":"Leilighet 3","adresselinje3":"",)"
    R"("postnummer":"5003","poststed":"Bergen","land":"NO"}},)"
    R"("konteringskode":"BYGG-2026.øæå","kunDigitalLevering":false,)"
    R"("utskriftskonfigurasjon":{"tosidig":true,"utskriftMedFarger":false,"brevtype":"BPOST"},)"
    R"("dokumenter":[{"filnavn":"vedtak.pdf","mimeType":"application/pdf","storrelseBytes":120000,)"
    R"("skalEkskluderesFraUtskrift":false},)"
    R"({"filnavn":"kart.png","mimeType":"image/png","storrelseBytes":5000,)"
    R"("skalEkskluderesFraUtskrift":true}],)"
    R"("eksternReferanse":"2026/1234"}})";

// The smallest digital-only letter: no address, no print settings.
const std::string digital_only =
    R"({"stream":"forsendelse-3f6c1d2e-8a4b-4c5d-9e6f-0a1b2c3d4e5f","type":"ForsendelseMottatt",)"
    R"("time":"2026-11-23T09:15:00Z","data":{)"
    R"("forsendelseId":"3f6c1d2e-8a4b-4c5d-9e6f-0a1b2c3d4e5f","avsender":"Bergen kommune",)"
    R"("tittel":"Svar på søknad","kunDigitalLevering":true,)"
    R"("mottaker":{"navn":"Bedrift AS","digitalId":{"type":"NO_ORGNR","value":"123456785"}},)"
    R"("dokumenter":[{"filnavn":"svar.odt","mimeType":"application/vnd.oasis.opendocument.text",)"
    R"("storrelseBytes":400000000}]}})";

const std::string status_endret =
    R"({"stream":"forsendelse-3f6c1d2e-8a4b-4c5d-9e6f-0a1b2c3d4e5f","type":"ForsendelseStatusEndret",)"
    R"("time":"2026-11-23T09:20:00Z","data":{"forsendelseId":"3f6c1d2e-8a4b-4c5d-9e6f-0a1b2c3d4e5f",)"
    R"("status":"AKSEPTERT","detalj":"validert"}})";

const std::string print_kvittering =
    R"({"stream":"forsendelse-3f6c1d2e-8a4b-4c5d-9e6f-0a1b2c3d4e5f","type":"PrintKvittering",)"
    R"("time":"2026-11-25T12:00:00Z","data":{"forsendelseId":"3f6c1d2e-8a4b-4c5d-9e6f-0a1b2c3d4e5f",)"
    R"("sorthvitSider":3,"fargeSider":0,"konvoluttertAutomatisk":1,"konvoluttertManuelt":0,)"
    R"("vektGram":20,"produksjonskostnadMinor":450,"portoMinor":2400}})";

const std::string pdf_doc =
    R"({"filnavn":"vedtak.pdf","mimeType":"application/pdf","storrelseBytes":120000,)"
    R"("skalEkskluderesFraUtskrift":false})";

std::string repeat(std::string_view s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += s;
  return out;
}

}  // namespace

// ---- accepted examples --------------------------------------------------------

TEST_CASE("dispatch: a complete ForsendelseMottatt is accepted", "[validation][dispatch]") {
  accepted(D, mottatt);
  accepted(D, digital_only);
  // The envelope's expected_version is free for dispatch events.
  accepted(D, with(mottatt, R"("expected_version":-1,)", ""));
}

TEST_CASE("dispatch: ForsendelseStatusEndret accepts every status and legacy MOTTAT",
          "[validation][dispatch]") {
  accepted(D, status_endret);
  accepted(D, with(status_endret, R"(,"detalj":"validert")", ""));
  for (const char* s : {"MOTTATT", "MOTTAT", "AKSEPTERT", "AVVIST", "VARSLET", "KLAR_FOR_MOTTAK",
                        "LEST", "SENDT_DIGITALT", "SENDT_PRINT", "PRINTET", "SENDT_SDP",
                        "LEVERT_SDP", "IKKE_LEVERT", "MANUELT_HANDTERT", "SLETTET"}) {
    accepted(D, with(status_endret, "AKSEPTERT", s));
  }
}

TEST_CASE("dispatch: a PrintKvittering is accepted", "[validation][dispatch]") {
  accepted(D, print_kvittering);
}

// ---- every event: the stream and the forsendelse id ----------------------------

TEST_CASE("dispatch: the stream must be forsendelse-<forsendelseId>", "[validation][dispatch]") {
  for (const std::string* line : {&mottatt, &status_endret, &print_kvittering}) {
    refused(D, with(*line, R"("stream":"forsendelse-3f6c1d2e-8a4b-4c5d-9e6f-0a1b2c3d4e5f")",
                    R"("stream":"forsendelse-0190a6e0-7a3b-7c4d-8e5f-0123456789ab")"),
            "stream", "must be forsendelse-<forsendelseId>");
    refused(D, with(*line, R"("stream":"forsendelse-3f6c1d2e-8a4b-4c5d-9e6f-0a1b2c3d4e5f")",
                    R"("stream":"3f6c1d2e-8a4b-4c5d-9e6f-0a1b2c3d4e5f")"),
            "stream", "must be forsendelse-<forsendelseId>");
  }
}

TEST_CASE("dispatch: forsendelseId is a required UUID, in lowercase", "[validation][dispatch]") {
  for (const std::string* line : {&mottatt, &status_endret, &print_kvittering}) {
    refused(D, with(*line, R"("forsendelseId":"3f6c1d2e-8a4b-4c5d-9e6f-0a1b2c3d4e5f")",
                    R"("forsendelseId":"3f6c1d2e")"),
            "data.forsendelseId", "must be a UUID");
    // The stream is named after the id: one spelling per forsendelse.
    std::string upper = with(*line, R"("forsendelseId":"3f6c1d2e-8a4b-4c5d-9e6f-0a1b2c3d4e5f")",
                             R"("forsendelseId":"3F6C1D2E-8A4B-4C5D-9E6F-0A1B2C3D4E5F")");
    upper = with(upper, R"("stream":"forsendelse-3f6c1d2e-8a4b-4c5d-9e6f-0a1b2c3d4e5f")",
                 R"("stream":"forsendelse-3F6C1D2E-8A4B-4C5D-9E6F-0A1B2C3D4E5F")");
    refused(D, upper, "data.forsendelseId", "must be a UUID in lowercase");
    refused(D, with(*line, R"("forsendelseId":"3f6c1d2e-8a4b-4c5d-9e6f-0a1b2c3d4e5f",)", ""),
            "data.forsendelseId", "is required");
  }
  refused(D, with(status_endret, R"("forsendelseId":"3f6c1d2e-8a4b-4c5d-9e6f-0a1b2c3d4e5f")",
                  R"("forsendelseId":42)"),
          "data.forsendelseId", "must be a string");
}

// ---- ForsendelseMottatt ---------------------------------------------------------

TEST_CASE("dispatch: avsender is required", "[validation][dispatch]") {
  refused(D, with(mottatt, R"("avsender":"Bergen kommune",)", ""), "data.avsender", "is required");
  refused(D, with(mottatt, R"("avsender":"Bergen kommune")", R"("avsender":"")"), "data.avsender",
          "must not be empty");
  refused(D, with(mottatt, R"("avsender":"Bergen kommune")", R"("avsender":null)"), "data.avsender",
          "is required");
}

TEST_CASE("dispatch: avgivendeSystem is at most 100 characters", "[validation][dispatch]") {
  // 100 two-byte characters are 200 bytes: lengths count characters.
  accepted(D, with(mottatt, R"("avgivendeSystem":"ePhorte")",
                   R"("avgivendeSystem":")" + repeat("ø", 100) + "\""));
  refused(D, with(mottatt, R"("avgivendeSystem":"ePhorte")",
                  R"("avgivendeSystem":")" + std::string(101, 'a') + "\""),
          "data.avgivendeSystem", "must be at most 100 characters");
}

TEST_CASE("dispatch: tittel is 1-1000 characters", "[validation][dispatch]") {
  accepted(D, with(mottatt, R"("tittel":"Vedtak om byggetillatelse")",
                   R"("tittel":")" + repeat("å", 1000) + "\""));
  refused(D, with(mottatt, R"("tittel":"Vedtak om byggetillatelse")", R"("tittel":"")"),
          "data.tittel", "must be 1-1000 characters");
  refused(D, with(mottatt, R"("tittel":"Vedtak om byggetillatelse")",
                  R"("tittel":")" + std::string(1001, 't') + "\""),
          "data.tittel", "must be 1-1000 characters");
  refused(D, with(mottatt, R"("tittel":"Vedtak om byggetillatelse",)", ""), "data.tittel",
          "is required");
}

TEST_CASE("dispatch: mottaker and its navn are required", "[validation][dispatch]") {
  refused(D, with(digital_only, R"("mottaker":{"navn":"Bedrift AS","digitalId":{"type":"NO_ORGNR","value":"123456785"}},)", ""),
          "data.mottaker", "is required");
  refused(D, with(mottatt, R"("navn":"Kari Nordmann",)", ""), "data.mottaker.navn", "is required");
  refused(D, with(mottatt, R"("mottaker":{)", R"("mottaker":[],"x":{)"), "data.mottaker",
          "must be an object");
}

TEST_CASE("dispatch: mottaker.digitalId is a valid NO_FNR or NO_ORGNR", "[validation][dispatch]") {
  refused(D, with(mottatt, R"("value":"20036914700")", R"("value":"20036914712")"),
          "data.mottaker.digitalId.value", "NO_FNR check digit is wrong");
  refused(D, with(mottatt, R"("value":"20036914700")", R"("value":"29020105729")"),
          "data.mottaker.digitalId.value", "NO_FNR date is not a real date");
  refused(D, with(mottatt, R"("value":"20036914700")", R"("value":"2003691470")"),
          "data.mottaker.digitalId.value", "NO_FNR must be 11 digits");
  refused(D, with(digital_only, R"("value":"123456785")", R"("value":"123456784")"),
          "data.mottaker.digitalId.value", "NO_ORGNR check digit is wrong");
  refused(D, with(mottatt, R"({"type":"NO_FNR","value":"20036914700"})",
                  R"({"type":"SE_PNR","value":"19121212-1212"})"),
          "data.mottaker.digitalId.type", "must be one of NO_FNR, NO_ORGNR");
  refused(D, with(mottatt, R"({"type":"NO_FNR","value":"20036914700"})", R"({"type":"NO_FNR"})"),
          "data.mottaker.digitalId.value", "is required");
  refused(D, with(mottatt, R"("type":"NO_FNR",)", ""), "data.mottaker.digitalId.type", "is required");
}

TEST_CASE("dispatch: digitalId is required when kunDigitalLevering", "[validation][dispatch]") {
  refused(D, with(digital_only, R"(,"digitalId":{"type":"NO_ORGNR","value":"123456785"})", ""),
          "data.mottaker.digitalId", "is required");
  // Not required for a letter that may be printed.
  accepted(D, with(mottatt, R"(,"digitalId":{"type":"NO_FNR","value":"20036914700"})", ""));
}

TEST_CASE("dispatch: poststed is required unless digital only", "[validation][dispatch]") {
  refused(D, with(mottatt, R"(,"poststed":"Bergen")", ""), "data.mottaker.adresse.poststed",
          "is required unless kunDigitalLevering");
  refused(D, with(mottatt, R"("poststed":"Bergen")", R"("poststed":"")"),
          "data.mottaker.adresse.poststed", "is required unless kunDigitalLevering");
  refused(D, with(mottatt, R"(,"adresse":{"adresselinje1":"Storgata 1","adresselinje2":"Leilighet 3","adresselinje3":"","postnummer":"5003","poststed":"Bergen","land":"NO"})", ""),
          "data.mottaker.adresse", "is required unless kunDigitalLevering");
  // Digital only: an address without poststed (or none at all) is fine.
  accepted(D, with(digital_only, R"("value":"123456785"})",
                   R"("value":"123456785"},"adresse":{"adresselinje1":"Postboks 1"})"));
}

TEST_CASE("dispatch: postnummer is 4 digits when land is absent or NO", "[validation][dispatch]") {
  for (const char* bad : {R"("postnummer":"503")", R"("postnummer":"50033")", R"("postnummer":"50A3")",
                          R"("postnummer":"")"}) {
    refused(D, with(mottatt, R"("postnummer":"5003")", bad), "data.mottaker.adresse.postnummer",
            "must be 4 digits when land is absent or NO");
  }
  refused(D, with(mottatt, R"("postnummer":"5003")", R"("postnummer":5003)"),
          "data.mottaker.adresse.postnummer", "must be a string");
  refused(D, with(mottatt, R"("adresselinje1":"Storgata 1")", R"("adresselinje1":["Storgata 1"])"),
          "data.mottaker.adresse.adresselinje1", "must be a string");
  refused(D, with(mottatt, R"("land":"NO")", R"("land":47)"), "data.mottaker.adresse.land",
          "must be a string");
  // land absent: Norway.
  const auto no_land = with(mottatt, R"(,"land":"NO")", "");
  accepted(D, no_land);
  refused(D, with(no_land, R"("postnummer":"5003")", R"("postnummer":"N-5003")"),
          "data.mottaker.adresse.postnummer", "must be 4 digits when land is absent or NO");
  refused(D, with(no_land, R"("postnummer":"5003",)", ""), "data.mottaker.adresse.postnummer",
          "must be 4 digits when land is absent or NO");
  // Another country has its own format.
  accepted(D, with(with(mottatt, R"("land":"NO")", R"("land":"SE")"), R"("postnummer":"5003")",
                   R"("postnummer":"114 55")"));
}

TEST_CASE("dispatch: konteringskode is up to 20 of ASCII letters digits _ - . and æøåÆØÅ", "[validation][dispatch]") {
  // 20 characters, 6 of them two-byte letters (26 bytes).
  accepted(D, with(mottatt, R"("konteringskode":"BYGG-2026.øæå")",
                   R"("konteringskode":"øæåØÆÅ_-.09azAZbygg1")"));
  accepted(D, with(mottatt, R"("konteringskode":"BYGG-2026.øæå")", R"("konteringskode":"")"));
  for (const char* bad : {R"("konteringskode":"øæåØÆÅ_-.09azAZbygg12")",  // 21 characters
                          R"("konteringskode":"BYGG 2026")", R"("konteringskode":"BYGG#1")",
                          R"("konteringskode":"café")", R"("konteringskode":"Ü")",
                          R"("konteringskode":"ab/c")"}) {
    refused(D, with(mottatt, R"("konteringskode":"BYGG-2026.øæå")", bad), "data.konteringskode",
            R"(must match ^[a-zA-Z0-9_\-.øæåØÆÅ]{0,20}$)");
  }
}

TEST_CASE("dispatch: kunDigitalLevering and print settings are booleans", "[validation][dispatch]") {
  refused(D, with(mottatt, R"("kunDigitalLevering":false)", R"("kunDigitalLevering":"false")"),
          "data.kunDigitalLevering", "must be a boolean");
  refused(D, with(mottatt, R"("kunDigitalLevering":false)", R"("kunDigitalLevering":0)"),
          "data.kunDigitalLevering", "must be a boolean");
  refused(D, with(mottatt, R"("tosidig":true)", R"("tosidig":"ja")"),
          "data.utskriftskonfigurasjon.tosidig", "must be a boolean");
  refused(D, with(mottatt, R"("utskriftMedFarger":false)", R"("utskriftMedFarger":1)"),
          "data.utskriftskonfigurasjon.utskriftMedFarger", "must be a boolean");
  refused(D, with(mottatt, R"("skalEkskluderesFraUtskrift":false)", R"("skalEkskluderesFraUtskrift":"nei")"),
          "data.dokumenter[0].skalEkskluderesFraUtskrift", "must be a boolean");
  accepted(D, with(mottatt, R"("kunDigitalLevering":false,)", ""));
  refused(D, with(mottatt, R"("brevtype":"BPOST")", R"("brevtype":"CPOST")"),
          "data.utskriftskonfigurasjon.brevtype", "must be one of APOST, BPOST");
  accepted(D, with(mottatt, R"("brevtype":"BPOST")", R"("brevtype":"APOST")"));
  refused(D, with(mottatt, R"("utskriftskonfigurasjon":{)", R"("utskriftskonfigurasjon":"A4","x":{)"),
          "data.utskriftskonfigurasjon", "must be an object");
}

TEST_CASE("dispatch: dokumenter has at least one document", "[validation][dispatch]") {
  refused(D, with(digital_only, R"(,"dokumenter":[{"filnavn":"svar.odt","mimeType":"application/vnd.oasis.opendocument.text","storrelseBytes":400000000}])", ""),
          "data.dokumenter", "is required");
  refused(D, with(digital_only, R"([{"filnavn":"svar.odt","mimeType":"application/vnd.oasis.opendocument.text","storrelseBytes":400000000}])", "[]"),
          "data.dokumenter", "must have at least 1 item");
  refused(D, with(digital_only, R"([{"filnavn":"svar.odt","mimeType":"application/vnd.oasis.opendocument.text","storrelseBytes":400000000}])", "{}"),
          "data.dokumenter", "must be an array");
  refused(D, with(digital_only, R"([{"filnavn":"svar.odt","mimeType":"application/vnd.oasis.opendocument.text","storrelseBytes":400000000}])", R"(["svar.odt"])"),
          "data.dokumenter[0]", "must be an object");
}

TEST_CASE("dispatch: filnavn is 1-226 characters", "[validation][dispatch]") {
  accepted(D, with(mottatt, R"("filnavn":"vedtak.pdf")",
                   R"("filnavn":")" + repeat("æ", 222) + R"(.pdf")"));
  refused(D, with(mottatt, R"("filnavn":"vedtak.pdf")", R"("filnavn":"")"),
          "data.dokumenter[0].filnavn", "must be 1-226 characters");
  refused(D, with(mottatt, R"("filnavn":"kart.png")", R"("filnavn":")" + std::string(227, 'k') + "\""),
          "data.dokumenter[1].filnavn", "must be 1-226 characters");
  refused(D, with(mottatt, R"("filnavn":"kart.png",)", ""), "data.dokumenter[1].filnavn", "is required");
}

TEST_CASE("dispatch: filnavn has none of the characters SvarUt forbids", "[validation][dispatch]") {
  for (const char* name : {"a*b.pdf", "c:vedtak.pdf", "a\\\"b.pdf", "dir\\\\vedtak.pdf", "dir/vedtak.pdf",
                           "<vedtak>.pdf", "a>b.pdf", "a|b.pdf", "hva?.pdf"}) {
    refused(D, with(mottatt, R"("filnavn":"vedtak.pdf")", R"("filnavn":")" + std::string(name) + "\""),
            "data.dokumenter[0].filnavn", R"(must not contain * : " \ / < > | ?)");
  }
}

TEST_CASE("dispatch: filnavn is unique in the forsendelse", "[validation][dispatch]") {
  const auto twice = with(mottatt, R"("filnavn":"kart.png")", R"("filnavn":"vedtak.pdf")");
  refused(D, twice, "data.dokumenter[1].filnavn", "must be unique in the forsendelse");
  // Exact spelling: a different case is another name.
  accepted(D, with(mottatt, R"("filnavn":"kart.png")", R"("filnavn":"VEDTAK.pdf")"));
}

TEST_CASE("dispatch: a non-PDF document needs digital delivery or exclusion from print",
          "[validation][dispatch]") {
  const auto printed_png = with(mottatt, R"("storrelseBytes":5000,"skalEkskluderesFraUtskrift":true)",
                                R"("storrelseBytes":5000,"skalEkskluderesFraUtskrift":false)");
  refused(D, printed_png, "data.dokumenter[1].mimeType",
          "a non-PDF document needs kunDigitalLevering or skalEkskluderesFraUtskrift");
  refused(D, with(mottatt, R"("storrelseBytes":5000,"skalEkskluderesFraUtskrift":true)",
                  R"("storrelseBytes":5000)"),
          "data.dokumenter[1].mimeType",
          "a non-PDF document needs kunDigitalLevering or skalEkskluderesFraUtskrift");
  // Digital only: allowed without the flag.
  accepted(D, with(printed_png, R"("kunDigitalLevering":false)", R"("kunDigitalLevering":true)"));
  // PDF spelled with another case or parameters is still PDF.
  accepted(D, with(mottatt, R"("mimeType":"application/pdf")", R"("mimeType":"Application/PDF; version=1.7")"));
  refused(D, with(mottatt, R"("mimeType":"application/pdf",)", ""), "data.dokumenter[0].mimeType",
          "is required");
}

TEST_CASE("dispatch: total document size is at most 350 MiB unless digital only",
          "[validation][dispatch]") {
  // 367001600 bytes = 350 MiB.
  const auto exactly = with(with(mottatt, R"("storrelseBytes":120000)", R"("storrelseBytes":366996600)"),
                            R"("storrelseBytes":5000)", R"("storrelseBytes":5000)");
  accepted(D, exactly);
  refused(D, with(exactly, R"("storrelseBytes":366996600)", R"("storrelseBytes":366996601)"),
          "data.dokumenter", "total size must be <= 350 MiB unless kunDigitalLevering");
  accepted(D, digital_only);  // 400 MB, digital only
  refused(D, with(digital_only, R"("kunDigitalLevering":true)", R"("kunDigitalLevering":false)"),
          "data.mottaker.adresse", "is required unless kunDigitalLevering");
  // Overflowing sums do not wrap around.
  refused(D, with(exactly, R"("storrelseBytes":366996600)", R"("storrelseBytes":9223372036854775807)"),
          "data.dokumenter", "total size must be <= 350 MiB unless kunDigitalLevering");
}

TEST_CASE("dispatch: storrelseBytes is an integer >= 0", "[validation][dispatch]") {
  refused(D, with(mottatt, R"("storrelseBytes":120000)", R"("storrelseBytes":-1)"),
          "data.dokumenter[0].storrelseBytes", "must be >= 0");
  refused(D, with(mottatt, R"("storrelseBytes":120000)", R"("storrelseBytes":"120000")"),
          "data.dokumenter[0].storrelseBytes", "must be an integer");
  refused(D, with(mottatt, R"("storrelseBytes":120000)", R"("storrelseBytes":1.5)"),
          "data.dokumenter[0].storrelseBytes", "must be an integer");
  refused(D, with(mottatt, R"("storrelseBytes":120000,)", ""), "data.dokumenter[0].storrelseBytes",
          "is required");
}

TEST_CASE("dispatch: eksternReferanse is at most 100 characters", "[validation][dispatch]") {
  accepted(D, with(mottatt, R"("eksternReferanse":"2026/1234")",
                   R"("eksternReferanse":")" + std::string(100, 'r') + "\""));
  refused(D, with(mottatt, R"("eksternReferanse":"2026/1234")",
                  R"("eksternReferanse":")" + std::string(101, 'r') + "\""),
          "data.eksternReferanse", "must be at most 100 characters");
}

TEST_CASE("dispatch: unknown fields are ignored (forward compatible)", "[validation][dispatch]") {
  accepted(D, with(mottatt, R"("eksternReferanse":"2026/1234")",
                   R"("eksternReferanse":"2026/1234","prioritet":"hoy")"));
}

// ---- ForsendelseStatusEndret ------------------------------------------------------

TEST_CASE("dispatch: status is one of SvarUt's statuses", "[validation][dispatch]") {
  const std::string rule =
      "must be one of MOTTATT, MOTTAT, AKSEPTERT, AVVIST, VARSLET, KLAR_FOR_MOTTAK, LEST, "
      "SENDT_DIGITALT, SENDT_PRINT, PRINTET, SENDT_SDP, LEVERT_SDP, IKKE_LEVERT, "
      "MANUELT_HANDTERT, SLETTET";
  refused(D, with(status_endret, "AKSEPTERT", "SENDT"), "data.status", rule);
  refused(D, with(status_endret, "AKSEPTERT", "akseptert"), "data.status", rule);
  refused(D, with(status_endret, R"("status":"AKSEPTERT",)", ""), "data.status", "is required");
  refused(D, with(status_endret, R"("detalj":"validert")", R"("detalj":7)"), "data.detalj",
          "must be a string");
}

// ---- PrintKvittering ----------------------------------------------------------------

TEST_CASE("dispatch: PrintKvittering counts are integers >= 0", "[validation][dispatch]") {
  for (const char* field : {"sorthvitSider", "fargeSider", "konvoluttertAutomatisk",
                            "konvoluttertManuelt", "vektGram"}) {
    INFO(field);
    const std::string key = "\"" + std::string(field) + "\":";
    const auto at = print_kvittering.find(key);
    REQUIRE(at != std::string::npos);
    const auto end = print_kvittering.find_first_of(",}", at);
    const std::string original = print_kvittering.substr(at, end - at);
    refused(D, with(print_kvittering, original, key + "-1"), "data." + std::string(field), "must be >= 0");
    refused(D, with(print_kvittering, original, key + "2.5"), "data." + std::string(field),
            "must be an integer");
    refused(D, with(print_kvittering, original + (end < print_kvittering.size() && print_kvittering[end] == ',' ? "," : ""), ""),
            "data." + std::string(field), "is required");
  }
}

TEST_CASE("dispatch: PrintKvittering money is an integer of minor units >= 0", "[validation][dispatch]") {
  for (const char* field : {"produksjonskostnadMinor", "portoMinor"}) {
    INFO(field);
    const std::string key = "\"" + std::string(field) + "\":";
    const auto at = print_kvittering.find(key);
    REQUIRE(at != std::string::npos);
    const auto end = print_kvittering.find_first_of(",}", at);
    const std::string original = print_kvittering.substr(at, end - at);
    refused(D, with(print_kvittering, original, key + "24.5"), "data." + std::string(field),
            "money must be an integer of minor units");
    refused(D, with(print_kvittering, original, key + "\"2400\""), "data." + std::string(field),
            "money must be an integer of minor units");
    refused(D, with(print_kvittering, original, key + "-1"), "data." + std::string(field), "must be >= 0");
  }
  accepted(D, with(print_kvittering, R"("portoMinor":2400)", R"("portoMinor":0)"));
}
