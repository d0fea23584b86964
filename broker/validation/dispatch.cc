// The dispatch catalog (domain.md "Dispatch catalog"): ForsendelseMottatt,
// ForsendelseStatusEndret, PrintKvittering, all on `forsendelse-<id>`.
#include <algorithm>
#include <cctype>
#include <cstdint>
#include <string>
#include <unordered_set>

#include "broker/validation/catalogs.h"

namespace muninn::validation::detail {
namespace {

constexpr std::string_view norwegian_ids[] = {"NO_FNR", "NO_ORGNR"};
constexpr std::int64_t max_print_bytes = 350LL * 1024 * 1024;  // 350 MiB

void check_stream(const object& data, const codec::event_in& e, std::string_view id) {
  if (e.stream.size() != 12 + id.size() || e.stream.substr(0, 12) != "forsendelse-" ||
      e.stream.substr(12) != id) {
    data.check().fail("stream", "must be forsendelse-<forsendelseId>");
  }
}

// `^[a-zA-Z0-9_\-.øæåØÆÅ]{0,20}$` on UTF-8: the six letters are two-byte
// sequences C3 xx, which a byte-wise std::regex would count and match wrongly.
bool konteringskode_ok(std::string_view s) noexcept {
  std::size_t chars = 0;
  for (std::size_t i = 0; i < s.size(); ++chars) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (std::isalnum(c) && c < 0x80) {
      ++i;
    } else if (c == '_' || c == '-' || c == '.') {
      ++i;
    } else if (c == 0xC3 && i + 1 < s.size()) {
      switch (static_cast<unsigned char>(s[i + 1])) {
        case 0xB8: case 0xA6: case 0xA5:  // ø æ å
        case 0x98: case 0x86: case 0x85:  // Ø Æ Å
          i += 2;
          break;
        default: return false;
      }
    } else {
      return false;
    }
  }
  return chars <= 20;
}

bool is_norway(std::optional<std::string_view> land) noexcept {
  if (!land || land->empty()) return true;
  std::string up(*land);
  for (char& c : up) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return up == "NO" || up == "NOR" || up == "NORGE" || up == "NORWAY";
}

// "application/pdf", any case, parameters (`; …`) ignored.
bool is_pdf(std::string_view mime) noexcept {
  mime = mime.substr(0, mime.find(';'));
  while (!mime.empty() && (mime.back() == ' ' || mime.back() == '\t')) mime.remove_suffix(1);
  while (!mime.empty() && (mime.front() == ' ' || mime.front() == '\t')) mime.remove_prefix(1);
  constexpr std::string_view pdf = "application/pdf";
  return mime.size() == pdf.size() &&
         std::equal(mime.begin(), mime.end(), pdf.begin(), [](char a, char b) {
           return std::tolower(static_cast<unsigned char>(a)) == b;
         });
}

void check_adresse(const object& mottaker, bool digital_only) {
  const auto adresse = mottaker.child("adresse", need::optional);
  if (!adresse) {
    if (!digital_only && !mottaker.check().failed()) {
      mottaker.check().fail(mottaker.member("adresse"), "is required unless kunDigitalLevering");
    }
    return;
  }
  for (const std::string_view line : {"adresselinje1", "adresselinje2", "adresselinje3"}) {
    adresse->text(line, {need::optional, 0, unbounded});
  }
  const auto land = adresse->text("land", {need::optional, 0, unbounded});
  const bool norway = is_norway(land);
  if (norway && (adresse->has("postnummer") || !digital_only)) {
    const auto pn = adresse->text("postnummer", {need::optional, 0, unbounded});
    const bool four = pn && pn->size() == 4 &&
                      std::all_of(pn->begin(), pn->end(), [](char c) { return c >= '0' && c <= '9'; });
    if (!four) {
      adresse->check().fail(adresse->member("postnummer"),
                            "must be 4 digits when land is absent or NO");
    }
  } else {
    adresse->text("postnummer", {need::optional, 0, unbounded});
  }
  const auto poststed = adresse->text("poststed", {need::optional, 0, unbounded});
  if (!digital_only && (!poststed || poststed->empty())) {
    adresse->check().fail(adresse->member("poststed"), "is required unless kunDigitalLevering");
  }
}

void check_dokumenter(const object& data, bool digital_only) {
  const auto docs = data.list("dokumenter", 1, need::required);
  if (!docs) return;
  checker& c = data.check();
  std::unordered_set<std::string_view> names;
  std::int64_t total = 0;
  for (std::size_t i = 0; i < docs->size() && !c.failed(); ++i) {
    const auto doc = docs->child(i);
    if (!doc) return;
    const auto filnavn = doc->text("filnavn", {need::required, 1, 226});
    if (filnavn && filnavn->find_first_of("*:\"\\/<>|?") != std::string_view::npos) {
      c.fail(doc->member("filnavn"), R"(must not contain * : " \ / < > | ?)");
    }
    if (filnavn && !names.insert(*filnavn).second) {
      c.fail(doc->member("filnavn"), "must be unique in the forsendelse");
    }
    const auto mime = doc->text("mimeType", {need::required, 1, unbounded});
    const auto size = doc->integer("storrelseBytes", 0, need::required);
    const bool excluded = doc->boolean("skalEkskluderesFraUtskrift", need::optional).value_or(false);
    if (mime && !is_pdf(*mime) && !digital_only && !excluded) {
      c.fail(doc->member("mimeType"),
             "a non-PDF document needs kunDigitalLevering or skalEkskluderesFraUtskrift");
    }
    if (size) total = *size > INT64_MAX - total ? INT64_MAX : total + *size;
  }
  if (c.failed()) return;
  if (!digital_only && total > max_print_bytes) {
    c.fail(data.member("dokumenter"), "total size must be <= 350 MiB unless kunDigitalLevering");
  }
}

void forsendelse_mottatt(const object& d, const codec::event_in& e) {
  const auto id = d.uuid("forsendelseId", need::required);
  d.text("avsender", {need::required, 1, unbounded});
  d.text("avgivendeSystem", {need::optional, 0, 100});
  d.text("tittel", {need::required, 1, 1000});
  const bool digital_only = d.boolean("kunDigitalLevering", need::optional).value_or(false);
  if (const auto m = d.child("mottaker", need::required)) {
    m->text("navn", {need::required, 1, unbounded});
    m->party("digitalId", norwegian_ids,
             digital_only ? need::required : need::optional);
    check_adresse(*m, digital_only);
  }
  if (const auto k = d.text("konteringskode", {need::optional, 0, unbounded})) {
    if (!konteringskode_ok(*k)) {
      d.check().fail(d.member("konteringskode"), R"(must match ^[a-zA-Z0-9_\-.øæåØÆÅ]{0,20}$)");
    }
  }
  if (const auto u = d.child("utskriftskonfigurasjon", need::optional)) {
    u->boolean("tosidig", need::optional);
    u->boolean("utskriftMedFarger", need::optional);
    u->one_of("brevtype", {"APOST", "BPOST"}, need::optional);
  }
  check_dokumenter(d, digital_only);
  d.text("eksternReferanse", {need::optional, 0, 100});
  if (id && !d.check().failed()) check_stream(d, e, *id);
}

void forsendelse_status_endret(const object& d, const codec::event_in& e) {
  const auto id = d.uuid("forsendelseId", need::required);
  d.one_of("status",
           {"MOTTATT", "MOTTAT", "AKSEPTERT", "AVVIST", "VARSLET", "KLAR_FOR_MOTTAK", "LEST",
            "SENDT_DIGITALT", "SENDT_PRINT", "PRINTET", "SENDT_SDP", "LEVERT_SDP", "IKKE_LEVERT",
            "MANUELT_HANDTERT", "SLETTET"},
           need::required);
  d.text("detalj", {need::optional, 0, unbounded});
  if (id && !d.check().failed()) check_stream(d, e, *id);
}

void print_kvittering(const object& d, const codec::event_in& e) {
  const auto id = d.uuid("forsendelseId", need::required);
  for (const std::string_view k :
       {"sorthvitSider", "fargeSider", "konvoluttertAutomatisk", "konvoluttertManuelt", "vektGram"}) {
    d.integer(k, 0, need::required);
  }
  d.money("produksjonskostnadMinor", 0, need::required);
  d.money("portoMinor", 0, need::required);
  if (id && !d.check().failed()) check_stream(d, e, *id);
}

constexpr event_type types[] = {
    {"ForsendelseMottatt", forsendelse_mottatt},
    {"ForsendelseStatusEndret", forsendelse_status_endret},
    {"PrintKvittering", print_kvittering},
};

}  // namespace

std::span<const event_type> dispatch_types() noexcept { return types; }

}  // namespace muninn::validation::detail
