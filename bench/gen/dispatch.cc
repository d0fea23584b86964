// The dispatch domain (domain.md "Dispatch catalog"): forsendelser from
// Norwegian municipalities through their whole lifecycle, one route each.
// A forsendelse keeps only its route, status, stream version and a seed its
// payload is rendered from, so memory follows the letters in flight.
#include <string>
#include <string_view>

#include "bench/gen/engine.h"

namespace muninn::gen {
namespace {

using namespace detail;

// ---- statuses and transitions (domain.md) -----------------------------------

enum class st : std::uint8_t {
  mottatt, akseptert, avvist, varslet, klar_for_mottak, lest, sendt_digitalt, sendt_print,
  printet, sendt_sdp, levert_sdp, ikke_levert, manuelt_handtert, slettet, count
};

constexpr std::string_view status_name[] = {
    "MOTTATT",     "AKSEPTERT",  "AVVIST",    "VARSLET",     "KLAR_FOR_MOTTAK",
    "LEST",        "SENDT_DIGITALT", "SENDT_PRINT", "PRINTET", "SENDT_SDP",
    "LEVERT_SDP",  "IKKE_LEVERT", "MANUELT_HANDTERT", "SLETTET"};

bool terminal(st s) {
  return s == st::avvist || s == st::printet || s == st::manuelt_handtert || s == st::ikke_levert ||
         s == st::slettet;
}

// From an existing forsendelse (MOTTATT is only legal on creation).
bool legal(st from, st to) {
  if (to == st::slettet) return !terminal(from);
  switch (from) {
    case st::mottatt: return to == st::akseptert || to == st::avvist;
    case st::akseptert:
      return to == st::varslet || to == st::klar_for_mottak || to == st::sendt_sdp || to == st::sendt_print;
    case st::varslet:
      return to == st::lest || to == st::sendt_print || to == st::sendt_digitalt || to == st::manuelt_handtert;
    case st::klar_for_mottak: return to == st::lest;
    case st::sendt_sdp: return to == st::levert_sdp || to == st::ikke_levert;
    case st::sendt_digitalt: return to == st::lest || to == st::ikke_levert;
    case st::levert_sdp: return to == st::lest;
    case st::sendt_print: return to == st::printet || to == st::manuelt_handtert || to == st::lest;
    default: return false;
  }
}

// ---- routes: the lifecycle a forsendelse is given when it arrives -----------

enum class route : std::uint8_t {
  digital,         // VARSLET -> LEST before the deadline
  print,           // not read in 40 working hours: SENDT_PRINT -> PrintKvittering
  print_read,      // SENDT_PRINT, then read digitally before printing
  print_manual,    // SENDT_PRINT -> MANUELT_HANDTERT (returned by the printer)
  varslet_manual,  // VARSLET -> MANUELT_HANDTERT
  digital_only,    // kunDigitalLevering: SENDT_DIGITALT after the deadline
  svarinn,         // organisation: KLAR_FOR_MOTTAK -> LEST
  sdp,             // SENDT_SDP -> LEVERT_SDP -> LEST
  sdp_failed,      // SENDT_SDP -> IKKE_LEVERT
  direct_print,    // no digital id: AKSEPTERT -> SENDT_PRINT -> PrintKvittering
  avvist,          // MOTTATT -> AVVIST
  stuck,           // left in VARSLET: due at T from 40 working hours on
  withdrawn,       // AKSEPTERT -> SLETTET
};

constexpr std::array<unsigned, 13> route_weight = {45, 20, 1, 1, 1, 3, 9, 9, 1, 4, 2, 3, 1};
// Events of each route (reads followed by SLETTET add delete_share).
constexpr std::array<double, 13> route_events = {4, 5, 5, 5, 4, 5, 4, 5, 4, 4, 2, 3, 3};
constexpr unsigned delete_permille = 80;  // of read letters, later deleted

// ---- the texts --------------------------------------------------------------

// Roughly by population: rng::skewed() favours the front.
constexpr std::string_view avsendere[] = {
    "Oslo kommune", "Bergen kommune", "Trondheim kommune", "Stavanger kommune", "Bærum kommune",
    "Kristiansand kommune", "Drammen kommune", "Asker kommune", "Lillestrøm kommune",
    "Fredrikstad kommune", "Sandnes kommune", "Tromsø kommune", "Sarpsborg kommune", "Skien kommune",
    "Ålesund kommune", "Bodø kommune", "Sandefjord kommune", "Larvik kommune", "Arendal kommune",
    "Tønsberg kommune", "Indre Østfold kommune", "Karmøy kommune", "Ullensaker kommune",
    "Haugesund kommune", "Porsgrunn kommune", "Nordre Follo kommune", "Ringsaker kommune",
    "Moss kommune", "Lørenskog kommune", "Hamar kommune", "Halden kommune", "Molde kommune",
    "Lillehammer kommune", "Kongsberg kommune", "Gjøvik kommune", "Harstad kommune",
    "Horten kommune", "Narvik kommune", "Alta kommune", "Steinkjer kommune",
    "Kristiansund kommune", "Elverum kommune", "Voss herad", "Vestvågøy kommune",
    "Hammerfest kommune", "Røros kommune", "Lom kommune", "Vardø kommune", "Utsira kommune",
    "Vestland fylkeskommune", "Akershus fylkeskommune", "Trøndelag fylkeskommune",
    "Nordland fylkeskommune", "Agder fylkeskommune", "Rogaland fylkeskommune",
    "Innlandet fylkeskommune", "Møre og Romsdal fylkeskommune", "Troms fylkeskommune"};

constexpr std::string_view systemer[] = {"ePhorte", "Elements", "P360", "WebSak", "Acos WebSak",
                                         "Visma Flyt Skole", "Gerica", "Profil", "Komtek", "Unit4"};

struct title {
  std::string_view text, file;
};
constexpr title titler[] = {
    {"Vedtak om byggetillatelse", "vedtak"},
    {"Faktura kommunale avgifter", "faktura"},
    {"Innkalling til foreldremøte", "innkalling"},
    {"Svar på søknad om barnehageplass", "svar"},
    {"Vedtak om tildeling av skoleplass", "vedtak"},
    {"Varsel om eiendomsskatt", "varsel"},
    {"Melding om vedtak – startlån", "vedtak"},
    {"Gebyr for oppmålingsforretning", "gebyr"},
    {"Innkalling til vaksinasjon", "innkalling"},
    {"Tildeling av kommunal bolig", "tildeling"},
    {"Vedtak om hjemmetjenester", "vedtak"},
    {"Bekreftelse på mottatt søknad", "bekreftelse"},
    {"Nabovarsel om tiltak", "nabovarsel"},
    {"Skjenkebevilling – vedtak", "vedtak"},
    {"Vedtak om parkeringstillatelse", "vedtak"},
    {"Påminnelse om feiing og tilsyn", "paaminnelse"},
    {"Svar på klage", "svar"},
    {"Informasjon om skolestart", "informasjon"},
    {"Vedtak om redusert foreldrebetaling", "vedtak"},
    {"Pålegg om utbedring av avløp", "paalegg"}};

constexpr std::string_view konteringskoder[] = {
    "BYGG-01", "PLAN.2026", "OPPVEKST", "HELSE_01", "SKOLE-ØST", "BARNEHAGE", "NAV-SOS",
    "EIENDOMSSKATT", "VAR-GEBYR", "KULTUR", "TEKNISK.DRIFT", "BARNEVERN", "PLEIE_OMSORG",
    "SKJENKEBEV", "LEGEVAKT", "RÅDMANN", "VANN-AVLØP", "RENOVASJON", "OPPMÅLING", "FEIING"};

constexpr std::string_view fornavn[] = {
    "Kari", "Ola", "Ingrid", "Lars", "Anne", "Per", "Nora", "Jonas", "Emma", "Magnus", "Sofie",
    "Henrik", "Maja", "Eirik", "Ida", "Sindre", "Astrid", "Håkon", "Solveig", "Øystein",
    "Marit", "Bjørn", "Sigrid", "Knut", "Aisha", "Mohammed", "Agnieszka", "Tomasz", "Linh", "Jens"};

constexpr std::string_view etternavn[] = {
    "Nordmann", "Hansen", "Johansen", "Olsen", "Larsen", "Andersen", "Pedersen", "Nilsen",
    "Kristiansen", "Jensen", "Karlsen", "Johnsen", "Pettersen", "Eriksen", "Berg", "Haugen",
    "Hagen", "Johannessen", "Andreassen", "Jacobsen", "Dahl", "Jørgensen", "Halvorsen",
    "Henriksen", "Lund", "Sørensen", "Solberg", "Bakke", "Østby", "Ali", "Nowak", "Nguyen"};

constexpr std::string_view gater[] = {
    "Storgata", "Kirkegata", "Skolegata", "Strandveien", "Fjellveien", "Nygårdsgaten",
    "Bygdøy allé", "Kongens gate", "Dronningens gate", "Løkkeveien", "Torggata", "Parkveien",
    "Bjørkeveien", "Granveien", "Solbakken", "Åsveien", "Eikelundveien", "Markveien",
    "Sjøgata", "Havnegata", "Elvegata", "Møllerveien", "Tårnveien", "Prestegårdsveien"};

struct sted {
  std::string_view postnummer, poststed;
};
constexpr sted steder[] = {
    {"0150", "Oslo"},        {"0557", "Oslo"},       {"0661", "Oslo"},       {"5003", "Bergen"},
    {"5089", "Bergen"},      {"7010", "Trondheim"},  {"7030", "Trondheim"},  {"4006", "Stavanger"},
    {"1337", "Sandvika"},    {"4610", "Kristiansand S"}, {"3015", "Drammen"}, {"1383", "Asker"},
    {"2000", "Lillestrøm"},  {"1606", "Fredrikstad"}, {"4306", "Sandnes"},   {"9008", "Tromsø"},
    {"1706", "Sarpsborg"},   {"3717", "Skien"},      {"6002", "Ålesund"},    {"8006", "Bodø"},
    {"3210", "Sandefjord"},  {"3262", "Larvik"},     {"4836", "Arendal"},    {"3110", "Tønsberg"},
    {"5527", "Haugesund"},   {"2317", "Hamar"},      {"6413", "Molde"},      {"2609", "Lillehammer"},
    {"9510", "Alta"},        {"7374", "Røros"},      {"2686", "Lom"},        {"9950", "Vardø"},
    {"5710", "Voss"},        {"8370", "Leknes"},     {"9600", "Hammerfest"}, {"0010", "Oslo"}};

constexpr std::string_view org_suffix[] = {" Bygg AS", " Eiendom AS", " & Sønner AS", " Transport AS",
                                           " Regnskap AS", " Rør AS", " Elektro AS", " Holding AS"};

constexpr std::string_view detalj_varslet[] = {"Varsel sendt på SMS og e-post",
                                               "Varsel sendt til digital postkasse",
                                               "Varsel sendt i Altinn"};

// The print settings, the same whenever the forsendelse is rendered.
struct print_config {
  bool duplex, color, apost;
};
print_config print_config_of(std::uint64_t data_seed) {
  const std::uint64_t h = mix64(data_seed ^ 0x5052494e54ull);
  return {h % 10 < 7, (h >> 8) % 100 < 15, (h >> 16) % 100 < 12};
}

// ---- the engine -------------------------------------------------------------

struct forsendelse {
  std::uint64_t n = 0;  // its UUID's counter
  std::uint64_t data_seed = 0;
  std::int32_t version = -1;  // the stream's last version; -1: no stream yet
  std::uint32_t refs = 0;
  st status = st::mottatt;
  route path = route::digital;
  bool delete_after_read = false;
  bool live = false;
};

enum kind : std::uint8_t { k_arrival = 0, k_step = 1 };

class dispatch_engine final : public scenario::engine {
 public:
  explicit dispatch_engine(const options& o) : engine(o, 0x646973706174636bull) {
    double per_entity = 0;
    double total = 0;
    for (std::size_t i = 0; i < route_weight.size(); ++i) {
      per_entity += route_weight[i] * route_events[i];
      total += route_weight[i];
    }
    per_entity = per_entity / total + 0.45 * delete_permille / 1000.0;
    const double honest = static_cast<double>(o.count) * (1.0 - o.anomalies);
    // Recipients repeat (searches by digital id find several letters).
    persons_ = std::clamp<std::uint64_t>(o.count / 3, 1000, 5'000'000);
    orgs_ = persons_ / 8 + 100;
    plan_arrivals(honest / per_entity, 0.08, 7 * hour, 17 * hour, true);
    schedule(k_arrival, 0, next_arrival());
  }

 private:
  bool handle(const action& a, std::string& out) override {
    if (a.kind == k_arrival) {
      schedule(k_arrival, 0, next_arrival());
      arrive(out);
      return true;
    }
    const bool emitted = step(a.slot, out);
    fs_.drop(a.slot);
    return emitted;
  }

  void next_step(std::uint32_t slot, std::int64_t at) {
    fs_.hold(slot);
    schedule(k_step, slot, at);
  }

  void arrive(std::string& out) {
    const std::uint32_t slot = fs_.make();
    forsendelse& f = fs_[slot];
    f.n = next_n_++;
    f.data_seed = rng_.next();
    f.path = static_cast<route>(weighted(rng_, route_weight));
    f.delete_after_read = rng_.permille(delete_permille);
    f.status = st::mottatt;
    mottatt(out, f, now_);
    f.version = 0;
    next_step(slot, now_ + rng_.range(2, 180));
  }

  // Emits the forsendelse's next status and schedules the one after it.
  bool step(std::uint32_t slot, std::string& out) {
    forsendelse& f = fs_[slot];
    const std::int64_t t = now_;
    switch (f.status) {
      case st::mottatt:
        if (f.path == route::avvist) {
          status(out, f, st::avvist, rng_.percent(50) ? "Dokumentet kunne ikke konverteres til PDF/A"
                                                       : "Mottaker mangler gyldig adresse");
          return true;
        }
        status(out, f, st::akseptert, {});
        next_step(slot, t + rng_.range(5, 600));
        return true;
      case st::akseptert:
        switch (f.path) {
          case route::svarinn:
            status(out, f, st::klar_for_mottak, "Tilgjengelig for nedlasting i SvarInn");
            next_step(slot, t + rng_.range(10 * minute, 3 * day));
            return true;
          case route::sdp:
          case route::sdp_failed:
            status(out, f, st::sendt_sdp, "Sendt til digital postkasse");
            next_step(slot, t + rng_.range(minute, 30 * minute));
            return true;
          case route::direct_print:
            status(out, f, st::sendt_print, "Mottaker kan ikke motta digitalt");
            next_step(slot, print_production(t));
            return true;
          case route::withdrawn:
            status(out, f, st::slettet, "Trukket tilbake av avsender");
            return true;
          default: break;
        }
        status(out, f, st::varslet, rng_.pick(detalj_varslet));
        after_varslet(slot, f, t);
        return true;
      case st::varslet:
        switch (f.path) {
          case route::digital:
            read(out, slot, f, t);
            return true;
          case route::varslet_manual:
            status(out, f, st::manuelt_handtert, "Håndtert manuelt av saksbehandler");
            return true;
          case route::digital_only:
            status(out, f, st::sendt_digitalt, "Ikke åpnet innen fristen: sendt på nytt digitalt");
            next_step(slot, t + rng_.range(hour, 5 * day));
            return true;
          default:  // the print routes
            status(out, f, st::sendt_print, "Ikke lest innen fristen");
            if (f.path == route::print_read) {
              next_step(slot, t + rng_.range(10 * minute, 10 * hour));
            } else if (f.path == route::print_manual) {
              next_step(slot, t + rng_.range(day, 5 * day));
            } else {
              next_step(slot, print_production(t));
            }
            return true;
        }
      case st::sendt_print:
        if (f.path == route::print_read) {
          read(out, slot, f, t);
        } else if (f.path == route::print_manual) {
          status(out, f, st::manuelt_handtert, "Returnert fra print: ufullstendig adresse");
        } else {
          kvittering(out, f, t);
          f.status = st::printet;
        }
        return true;
      case st::sendt_digitalt:
        if (rng_.percent(85)) {
          read(out, slot, f, t);
        } else {
          status(out, f, st::ikke_levert, "Mottaker har ikke åpnet forsendelsen");
        }
        return true;
      case st::sendt_sdp:
        if (f.path == route::sdp_failed) {
          status(out, f, st::ikke_levert, "Mottaker har reservert seg mot digital kommunikasjon");
          return true;
        }
        status(out, f, st::levert_sdp, {});
        next_step(slot, t + rng_.range(hour, 7 * day));
        return true;
      case st::klar_for_mottak:
      case st::levert_sdp:
        read(out, slot, f, t);
        return true;
      case st::lest:
        status(out, f, st::slettet, "Slettet etter arkivering");
        return true;
      default: return false;  // terminal: nothing was scheduled
    }
  }

  void after_varslet(std::uint32_t slot, forsendelse& f, std::int64_t t) {
    const std::int64_t due = norway_due(t, 40);
    switch (f.path) {
      case route::digital: {
        // Most are read early; all before the deadline.
        const double u = rng_.unit();
        next_step(slot, t + minute + static_cast<std::int64_t>(static_cast<double>(due - t - 2 * minute) * u * u));
        return;
      }
      case route::varslet_manual:
        next_step(slot, t + static_cast<std::int64_t>(static_cast<double>(due - t) * rng_.unit()));
        return;
      case route::stuck: return;  // stays VARSLET: due from `due` on
      default:  // print routes and digital_only: after the deadline
        next_step(slot, due + rng_.range(minute, 3 * hour));
        return;
    }
  }

  void read(std::string& out, std::uint32_t slot, forsendelse& f, std::int64_t t) {
    status(out, f, st::lest, {});
    if (f.delete_after_read) next_step(slot, t + rng_.range(day, 30 * day));
  }

  // The printer produces in the morning of a Norwegian working day.
  std::int64_t print_production(std::int64_t t) {
    std::int64_t at = t + rng_.range(4 * hour, 20 * hour);
    while (!norway_working_day(day_of(at + norway_utc_offset(at)))) at += day;
    return at;
  }

  // ---- events ---------------------------------------------------------------

  void begin(std::string& out, std::uint64_t n, std::string_view type, std::int64_t expected,
             std::int64_t t) {
    id_.clear();
    put_uuid(id_, uuid_v4(n, key_));
    begin_event(out, "forsendelse-", id_, type, expected, t);
    out.append(R"({"forsendelseId":")");
    out.append(id_);
    out.push_back('"');
  }

  void status(std::string& out, forsendelse& f, st s, std::string_view detalj) {
    status_line(out, f.n, f.version, s, detalj, now_);
    ++f.version;
    f.status = s;
  }

  void status_line(std::string& out, std::uint64_t n, std::int64_t expected, st s,
                   std::string_view detalj, std::int64_t t) {
    begin(out, n, "ForsendelseStatusEndret", expected, t);
    out.append(R"(,"status":")");
    out.append(status_name[static_cast<int>(s)]);
    out.push_back('"');
    if (!detalj.empty()) {
      out.append(R"(,"detalj":)");
      put_quoted(out, detalj);
    }
    out.append("}");
    end_event(out);
  }

  void kvittering(std::string& out, forsendelse& f, std::int64_t t) {
    const print_config pc = print_config_of(f.data_seed);
    rng r(f.data_seed ^ 0x4b56);
    const std::int64_t pages = 1 + r.range(0, 7) + (r.below(5) == 0 ? r.range(0, 20) : 0);
    const std::int64_t sheets = pc.duplex ? (pages + 1) / 2 : pages;
    const std::int64_t color = pc.color ? 1 + r.range(0, pages - 1) : 0;
    const bool automatic = sheets <= 8;
    const std::int64_t weight = 5 * sheets + 6;
    static constexpr std::int64_t a_porto[] = {3300, 4500, 6800, 11000};
    static constexpr std::int64_t b_porto[] = {2500, 3600, 5200, 8900};
    const int bracket = weight <= 20 ? 0 : weight <= 50 ? 1 : weight <= 100 ? 2 : 3;
    begin(out, f.n, "PrintKvittering", f.version, t);
    out.append(R"(,"sorthvitSider":)");
    put_int(out, pages - color);
    out.append(R"(,"fargeSider":)");
    put_int(out, color);
    out.append(R"(,"konvoluttertAutomatisk":)");
    put_int(out, automatic ? 1 : 0);
    out.append(R"(,"konvoluttertManuelt":)");
    put_int(out, automatic ? 0 : 1);
    out.append(R"(,"vektGram":)");
    put_int(out, weight);
    out.append(R"(,"produksjonskostnadMinor":)");
    put_int(out, sheets * 40 + (pages - color) * 35 + color * 120 + (automatic ? 150 : 900));
    out.append(R"(,"portoMinor":)");
    put_int(out, (pc.apost ? a_porto : b_porto)[bracket]);
    out.append("}");
    end_event(out);
    ++f.version;
  }

  void address(std::string& out, std::uint64_t h) {
    const sted& s = steder[(h >> 20) % std::size(steder)];
    out.append(R"(,"adresse":{"adresselinje1":)");
    line_.clear();
    line_.append(gater[(h >> 8) % std::size(gater)]);
    line_.push_back(' ');
    put_uint(line_, 1 + (h >> 32) % 120);
    if ((h >> 40) % 6 == 0) line_.push_back(static_cast<char>('A' + (h >> 44) % 4));
    put_quoted(out, line_);
    if ((h >> 48) % 12 == 0) {
      out.append(R"(,"adresselinje2":"Postboks )");
      put_uint(out, 1 + (h >> 52) % 900);
      out.push_back('"');
    }
    if ((h >> 56) % 100 == 0) {
      out.append(R"(,"postnummer":"41101","poststed":"Göteborg","land":"SE"})");
      return;
    }
    out.append(R"(,"postnummer":")");
    out.append(s.postnummer);
    out.append(R"(","poststed":)");
    put_quoted(out, s.poststed);
    out.push_back('}');
  }

  // ForsendelseMottatt, rendered from the forsendelse's seed and route.
  void mottatt(std::string& out, const forsendelse& f, std::int64_t t) {
    mottatt_line(out, f, f.version, t);
  }

  void mottatt_line(std::string& out, const forsendelse& f, std::int64_t expected, std::int64_t t) {
    rng r(f.data_seed);
    const bool digital_only = f.path == route::digital_only;
    begin(out, f.n, "ForsendelseMottatt", expected, t);
    out.append(R"(,"avsender":)");
    put_quoted(out, avsendere[r.skewed(std::size(avsendere))]);
    if (r.percent(80)) {
      out.append(R"(,"avgivendeSystem":)");
      put_quoted(out, r.pick(systemer));
    }
    const title& ti = r.pick(titler);
    const auto year = projections::civil_from_days(day_of(t)).year;
    const std::uint64_t sak = 100 + r.below(9900);
    out.append(R"(,"tittel":")");
    out.append(ti.text);
    out.push_back(' ');
    put_uint(out, static_cast<std::uint64_t>(year));
    out.push_back('/');
    put_uint(out, sak);
    out.push_back('"');

    // The recipient: a person (NO_FNR) or an organisation (NO_ORGNR).
    const bool org = f.path == route::svarinn ||
                     (f.path != route::sdp && f.path != route::sdp_failed && r.percent(15));
    const bool has_id = f.path != route::direct_print;
    out.append(R"(,"mottaker":{"navn":)");
    std::uint64_t h;
    if (org) {
      const std::uint64_t i = r.below(orgs_);
      h = mix64(i ^ key_ ^ 0x6f7267);
      line_.clear();
      line_.append(etternavn[h % std::size(etternavn)]);
      line_.append(org_suffix[(h >> 6) % std::size(org_suffix)]);
      put_quoted(out, line_);
      if (has_id) {
        out.append(R"(,"digitalId":{"type":"NO_ORGNR","value":")");
        out.append(no_orgnr(h));
        out.append("\"}");
      }
    } else {
      const std::uint64_t i = r.below(persons_);
      h = mix64(i ^ key_ ^ 0x706572);
      line_.clear();
      line_.append(fornavn[h % std::size(fornavn)]);
      line_.push_back(' ');
      line_.append(etternavn[(h >> 5) % std::size(etternavn)]);
      put_quoted(out, line_);
      if (has_id) {
        // Synthetic birth dates 1940-2007.
        const std::int64_t birth = -10957 + static_cast<std::int64_t>((h >> 12) % 24837);
        out.append(R"(,"digitalId":{"type":"NO_FNR","value":")");
        out.append(no_fnr(birth, h >> 40));
        out.append("\"}");
      }
    }
    if (!digital_only || r.percent(40)) address(out, h);
    out.push_back('}');

    if (r.percent(70)) {
      out.append(R"(,"konteringskode":)");
      put_quoted(out, r.pick(konteringskoder));
    }
    out.append(digital_only ? R"(,"kunDigitalLevering":true)" : R"(,"kunDigitalLevering":false)");
    if (!digital_only) {
      const print_config pc = print_config_of(f.data_seed);
      out.append(R"(,"utskriftskonfigurasjon":{"tosidig":)");
      out.append(pc.duplex ? "true" : "false");
      out.append(R"(,"utskriftMedFarger":)");
      out.append(pc.color ? "true" : "false");
      out.append(pc.apost ? R"(,"brevtype":"APOST"})" : R"(,"brevtype":"BPOST"})");
    }

    // Documents: a main PDF, sometimes attachments; a non-PDF one only
    // excluded from print or in a digital-only forsendelse.
    out.append(R"(,"dokumenter":[{"filnavn":")");
    out.append(ti.file);
    out.append(R"(.pdf","mimeType":"application/pdf","storrelseBytes":)");
    put_int(out, r.range(40'000, 3'000'000));
    out.append(R"(,"skalEkskluderesFraUtskrift":false})");
    const int attachments = r.below(4) == 0 ? static_cast<int>(r.range(1, 3)) : 0;
    for (int k = 1; k <= attachments; ++k) {
      const unsigned kind = static_cast<unsigned>(r.below(10));
      out.append(R"(,{"filnavn":")");
      if (kind < 6) {
        out.append("vedlegg-");
        put_uint(out, static_cast<std::uint64_t>(k));
        out.append(R"(.pdf","mimeType":"application/pdf","storrelseBytes":)");
        put_int(out, r.range(10'000, 8'000'000));
        out.append(R"(,"skalEkskluderesFraUtskrift":false})");
      } else if (digital_only && kind < 8) {
        out.append("vedlegg-");
        put_uint(out, static_cast<std::uint64_t>(k));
        out.append(R"(.odt","mimeType":"application/vnd.oasis.opendocument.text","storrelseBytes":)");
        put_int(out, r.range(10'000, 900'000));
        out.append("}");
      } else {
        out.append("kart-");
        put_uint(out, static_cast<std::uint64_t>(k));
        out.append(R"(.png","mimeType":"image/png","storrelseBytes":)");
        put_int(out, r.range(50'000, 6'000'000));
        out.append(R"(,"skalEkskluderesFraUtskrift":true})");
      }
    }
    out.push_back(']');
    if (r.percent(60)) {
      out.append(R"(,"eksternReferanse":")");
      put_uint(out, static_cast<std::uint64_t>(year));
      out.push_back('/');
      put_uint(out, sak);
      out.push_back('-');
      put_uint(out, 1 + r.below(30));
      out.push_back('"');
    }
    out.append("}");
    end_event(out);
  }

  // ---- anomalies ------------------------------------------------------------

  void anomaly(std::string& out) override {
    const unsigned what = static_cast<unsigned>(rng_.below(100));
    const std::int64_t slot = fs_.random_live(rng_, [](const forsendelse&) { return true; });
    if (slot < 0 || what < 20) {
      // A status for a forsendelse nobody sent: its own new stream.
      static constexpr st any[] = {st::akseptert, st::varslet, st::lest, st::sendt_print,
                                   st::printet, st::levert_sdp};
      status_line(out, next_n_++, codec_no_stream, rng_.pick(any), {}, now_);
      return;
    }
    forsendelse& f = fs_[static_cast<std::uint32_t>(slot)];
    if (what < 35) {
      // A second ForsendelseMottatt: (none) -> MOTTATT from an existing one.
      mottatt_line(out, f, f.version, now_);
    } else if (what < 45 && f.status != st::sendt_print) {
      kvittering(out, f, now_);  // PRINTET without SENDT_PRINT
      return;
    } else {
      st to;
      do {
        to = static_cast<st>(rng_.below(static_cast<unsigned>(st::count)));
      } while (to != st::mottatt && legal(f.status, to));
      status_line(out, f.n, f.version, to, "Uventet statusmelding", now_);
    }
    ++f.version;  // appended to its stream; the status stays (the projection ignores it)
  }

  static constexpr std::int64_t codec_no_stream = -1;

  slab<forsendelse> fs_;
  std::uint64_t next_n_ = 0;
  std::uint64_t persons_ = 1000, orgs_ = 100;
  std::string id_, line_;
};

}  // namespace

std::unique_ptr<scenario::engine> make_dispatch_engine(const options& o) {
  return std::make_unique<dispatch_engine>(o);
}

}  // namespace muninn::gen
