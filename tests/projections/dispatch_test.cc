#include <catch2/catch.hpp>

#include "tests/projections/dispatch_test_util.h"

#include "broker/projections/norway_calendar.h"

using namespace dispatch_test;

TEST_CASE("dispatch: statuses and the transition table", "[projections][dispatch]") {
  CHECK(mp::parse_dispatch_status("MOTTAT") == dispatch_status::mottatt);
  CHECK(mp::parse_dispatch_status("MOTTATT") == dispatch_status::mottatt);
  CHECK(mp::parse_dispatch_status("SLETTET") == dispatch_status::slettet);
  CHECK_FALSE(mp::parse_dispatch_status("mottatt"));
  CHECK_FALSE(mp::parse_dispatch_status(""));
  for (std::size_t i = 0; i < mp::dispatch_status_count; ++i) {
    const auto s = static_cast<dispatch_status>(i);
    CHECK(mp::parse_dispatch_status(mp::to_string(s)) == s);
  }
  int legal = 0;
  for (std::size_t a = 0; a < mp::dispatch_status_count; ++a) {
    for (std::size_t b = 0; b < mp::dispatch_status_count; ++b) {
      legal += mp::is_legal_transition(static_cast<dispatch_status>(a), static_cast<dispatch_status>(b));
    }
  }
  CHECK(legal == 28);
  CHECK(mp::is_legal_transition(dispatch_status::lest, dispatch_status::slettet));
  CHECK(mp::is_legal_transition(dispatch_status::sendt_print, dispatch_status::lest));
  CHECK_FALSE(mp::is_legal_transition(dispatch_status::printet, dispatch_status::slettet));
  CHECK_FALSE(mp::is_legal_transition(dispatch_status::varslet, dispatch_status::varslet));
  CHECK_FALSE(mp::is_legal_transition(dispatch_status::akseptert, dispatch_status::mottatt));
}

TEST_CASE("dispatch: every transition, legal ones applied, illegal ones an anomaly", "[projections][dispatch]") {
  const std::int64_t t0 = at("2026-11-20T09:00:00Z");
  for (const auto& [from, path] : paths()) {
    for (std::size_t b = 0; b < mp::dispatch_status_count; ++b) {
      const auto to = static_cast<dispatch_status>(b);
      mp::dispatch_projection p;
      writer w;
      std::int64_t t = t0;
      apply(p, w.mottatt(3, t, id1, mottatt_json(id1)));
      for (const auto s : path) apply(p, w.status(3, t += 1'000'000, id1, s));
      REQUIRE(status_of(p, id1) == mp::to_string(from));
      REQUIRE(p.anomaly_count() == 0);
      apply(p, w.status(3, t += 1'000'000, id1, mp::to_string(to)));
      INFO(mp::to_string(from) << " -> " << mp::to_string(to));
      if (mp::is_legal_transition(from, to)) {
        CHECK(status_of(p, id1) == mp::to_string(to));
        CHECK(p.anomaly_count() == 0);
      } else {
        CHECK(status_of(p, id1) == mp::to_string(from));
        CHECK(p.anomaly_count() == 1);
        const auto j = q(p, "get", {{"id", id1}});
        CHECK(j.find("illegal transition " + std::string(mp::to_string(from)) + " -> " +
                     std::string(mp::to_string(to))) != std::string::npos);
      }
    }
  }
}

TEST_CASE("dispatch: the legacy spelling MOTTAT reads as MOTTATT", "[projections][dispatch]") {
  mp::dispatch_projection p;
  writer w;
  apply(p, w.mottatt(1, at("2026-11-20T09:00:00Z"), id1, mottatt_json(id1)));
  apply(p, w.status(1, at("2026-11-20T09:01:00Z"), id1, "AKSEPTERT"));
  apply(p, w.status(1, at("2026-11-20T09:02:00Z"), id1, "MOTTAT"));
  const auto j = q(p, "anomalies");
  CHECK(j.find("illegal transition AKSEPTERT -> MOTTATT") != std::string::npos);
  CHECK(j.find("unknown status") == std::string::npos);
}

TEST_CASE("dispatch: get answers the forsendelse as JSON", "[projections][dispatch][query]") {
  mp::dispatch_projection p;
  writer w;
  apply(p, w.mottatt(5, at("2026-11-20T09:15:00Z"), id1, mottatt_json(id1)));
  apply(p, w.status(5, at("2026-11-20T09:15:04Z"), id1, "AKSEPTERT"));
  apply(p, w.status(5, at("2026-11-20T09:16:30Z"), id1, "VARSLET", "Varsel sendt"));
  apply(p, w.status(5, at("2026-11-20T09:17:00Z"), id1, "AKSEPTERT"));  // illegal
  CHECK(q(p, "get", {{"id", id1}}) ==
        R"({"id":"3f6c1d2e-8a4b-4c5d-9e6f-7a8b9c0d1e2f","status":"VARSLET","avsender":"Bergen kommune",)"
        R"("tittel":"Vedtak om byggesak","mottaker":{"navn":"Kari Nordmann","digitalId":{"type":"NO_FNR",)"
        R"("value":"20036914700"}},"konteringskode":"BYGG-01","kunDigitalLevering":false,"brevtype":"BPOST",)"
        R"("mottatt":"2026-11-20T09:15:00.000000Z","history":[)"
        R"({"status":"MOTTATT","time":"2026-11-20T09:15:00.000000Z","partition":5,"offset":0},)"
        R"({"status":"AKSEPTERT","time":"2026-11-20T09:15:04.000000Z","partition":5,"offset":1},)"
        R"({"status":"VARSLET","time":"2026-11-20T09:16:30.000000Z","partition":5,"offset":2,"detalj":"Varsel sendt"}],)"
        R"("anomalies":[{"partition":5,"offset":3,"type":"ForsendelseStatusEndret",)"
        R"("reason":"illegal transition VARSLET -> AKSEPTERT","forsendelseId":"3f6c1d2e-8a4b-4c5d-9e6f-7a8b9c0d1e2f"}],)"
        R"("print":null,"due":"2026-11-24T01:16:30.000000Z"})");
  // Any case finds it; unknown ids and bad parameters are errors naming the parameter.
  std::string upper = id1;
  std::transform(upper.begin(), upper.end(), upper.begin(), [](char c) { return static_cast<char>(std::toupper(c)); });
  CHECK(q(p, "get", {{"id", upper}}) == q(p, "get", {{"id", id1}}));
  CHECK(q_error(p, "get", {{"id", uuid(9)}}).code == mp::query_errc::not_found);
  CHECK(q_error(p, "get", {{"id", "nope"}}).message == "parameter 'id': must be a UUID");
  CHECK(q_error(p, "get", {}).message == "parameter 'id': is required");
  CHECK(q_error(p, "get", {{"id", id1}, {"x", "1"}}).message == "parameter 'x': not a parameter of 'get'");
  CHECK(q_error(p, "nope", {}).code == mp::query_errc::unknown_query);
}

TEST_CASE("dispatch: print receipts set PRINTET and add up per konteringskode", "[projections][dispatch]") {
  mp::dispatch_projection p;
  writer w;
  const std::string a = uuid(1), b = uuid(2), c = uuid(3);
  std::int64_t t = at("2026-11-20T09:00:00Z");
  apply(p, w.mottatt(0, t, a, mottatt_json(a)));
  apply(p, w.mottatt(1, t, b, mottatt_json(b, "Oslo kommune", "")));  // no konteringskode
  apply(p, w.mottatt(2, t, c, mottatt_json(c)));
  for (const auto& [id, part] : {std::pair{a, 0u}, std::pair{b, 1u}, std::pair{c, 2u}}) {
    apply(p, w.status(part, ++t, id, "AKSEPTERT"));
  }
  apply(p, w.status(0, ++t, a, "SENDT_PRINT"));
  apply(p, w.status(1, ++t, b, "SENDT_PRINT"));
  apply(p, w.print(0, ++t, a));
  apply(p, w.print(1, ++t, b));
  apply(p, w.print(0, ++t, a));  // second receipt: PRINTET is terminal
  apply(p, w.print(2, ++t, c));  // not sent to print
  apply(p, w.make(1, ++t, b, "PrintKvittering", R"({"forsendelseId":")" + b + R"(","sorthvitSider":-1})"));
  CHECK(status_of(p, a) == "PRINTET");
  CHECK(status_of(p, b) == "PRINTET");
  CHECK(status_of(p, c) == "AKSEPTERT");
  CHECK(p.anomaly_count() == 3);
  const auto ja = q(p, "get", {{"id", a}});
  CHECK(ja.find(R"("print":{"sorthvitSider":4,"fargeSider":1,"konvoluttertAutomatisk":1,"konvoluttertManuelt":0,)"
                R"("vektGram":20,"produksjonskostnadMinor":850,"portoMinor":2300})") != std::string::npos);
  CHECK(ja.find("illegal transition PRINTET -> PRINTET") != std::string::npos);
  CHECK(q(p, "get", {{"id", c}}).find("illegal transition AKSEPTERT -> PRINTET") != std::string::npos);
  CHECK(q(p, "get", {{"id", b}}).find("sorthvitSider is missing or not an integer >= 0") != std::string::npos);

  CHECK(q(p, "stats") ==
        R"({"forsendelser":3,"anomalies":3,"perAvsender":[)"
        R"({"avsender":"Bergen kommune","total":2,"statuses":{"AKSEPTERT":1,"PRINTET":1}},)"
        R"({"avsender":"Oslo kommune","total":1,"statuses":{"PRINTET":1}}],"print":[)"
        R"({"konteringskode":null,"kvitteringer":1,"sorthvitSider":4,"fargeSider":1,"konvoluttertAutomatisk":1,)"
        R"("konvoluttertManuelt":0,"vektGram":20,"produksjonskostnadMinor":850,"portoMinor":2300},)"
        R"({"konteringskode":"BYGG-01","kvitteringer":1,"sorthvitSider":4,"fargeSider":1,"konvoluttertAutomatisk":1,)"
        R"("konvoluttertManuelt":0,"vektGram":20,"produksjonskostnadMinor":850,"portoMinor":2300}]})");
  CHECK(q_error(p, "stats", {{"avsender", "x"}}).message == "parameter 'avsender': not a parameter of 'stats'");
}

TEST_CASE("dispatch: orphans, duplicates and unreadable events are anomalies, never state",
          "[projections][dispatch]") {
  mp::dispatch_projection p;
  writer w;
  std::int64_t t = at("2026-11-20T09:00:00Z");
  const std::string a = uuid(1), b = uuid(2);
  apply(p, w.status(2, ++t, b, "AKSEPTERT"));                     // before any Mottatt: orphan
  apply(p, w.mottatt(0, ++t, a, mottatt_json(a)));
  apply(p, w.mottatt(0, ++t, a, mottatt_json(a, "Someone else")));  // duplicate
  apply(p, w.make(0, ++t, a, "ForsendelseArkivert", R"({"forsendelseId":")" + a + R"("})"));  // unknown type
  apply(p, w.make(3, ++t, "x", "Whatever", "{}"));                   // unknown type, no forsendelse
  apply(p, w.make(3, ++t, b, "ForsendelseStatusEndret", R"({"status":"AKSEPTERT"})"));  // no id
  std::string upper = "ABCDEF00-0000-4000-8000-000000000001";
  apply(p, w.make(3, ++t, upper, "ForsendelseMottatt", mottatt_json(upper)));  // uppercase id
  ev wrong_stream = w.mottatt(3, ++t, b, mottatt_json(b));
  wrong_stream.stream = "forsendelse-" + a;
  apply(p, wrong_stream);
  apply(p, w.make(3, ++t, b, "ForsendelseMottatt", R"({"forsendelseId":")" + b + R"(","avsender":"X"})"));
  ev junk = w.make(3, ++t, b, "ForsendelseStatusEndret", "");
  junk.raw_flex = true;
  junk.flex.assign(16, std::byte{0xff});
  apply(p, junk);
  apply(p, w.make(0, ++t, a, "ForsendelseStatusEndret", R"({"forsendelseId":")" + a + R"(","status":7})"));
  apply(p, w.make(0, ++t, a, "ForsendelseStatusEndret", R"({"forsendelseId":")" + a + R"(","status":"NOPE"})"));
  apply(p, w.make(0, ++t, a, "ForsendelseStatusEndret",
                  R"({"forsendelseId":")" + a + R"(","status":"AKSEPTERT","detalj":12})"));

  CHECK(p.size() == 1);
  CHECK(p.anomaly_count() == 12);
  CHECK(status_of(p, a) == "MOTTATT");
  CHECK(q(p, "get", {{"id", a}}).find(R"("avsender":"Bergen kommune")") != std::string::npos);
  CHECK(q_error(p, "get", {{"id", b}}).code == mp::query_errc::not_found);
  const auto j = q(p, "anomalies");
  CHECK(j ==
        R"({"total":12,"items":[)"
        R"({"partition":0,"offset":1,"type":"ForsendelseMottatt","reason":"duplicate ForsendelseMottatt","forsendelseId":"00000000-0000-4000-8000-000000000001"},)"
        R"({"partition":0,"offset":2,"type":"ForsendelseArkivert","reason":"unknown event type","forsendelseId":"00000000-0000-4000-8000-000000000001"},)"
        R"({"partition":0,"offset":3,"type":"ForsendelseStatusEndret","reason":"status is missing or not a string","forsendelseId":"00000000-0000-4000-8000-000000000001"},)"
        R"({"partition":0,"offset":4,"type":"ForsendelseStatusEndret","reason":"unknown status 'NOPE'","forsendelseId":"00000000-0000-4000-8000-000000000001"},)"
        R"({"partition":0,"offset":5,"type":"ForsendelseStatusEndret","reason":"detalj must be a string","forsendelseId":"00000000-0000-4000-8000-000000000001"},)"
        R"({"partition":2,"offset":0,"type":"ForsendelseStatusEndret","reason":"no ForsendelseMottatt for this forsendelse before it","forsendelseId":"00000000-0000-4000-8000-000000000002"},)"
        R"({"partition":3,"offset":0,"type":"Whatever","reason":"unknown event type","forsendelseId":null},)"
        R"({"partition":3,"offset":1,"type":"ForsendelseStatusEndret","reason":"forsendelseId is missing or not a string","forsendelseId":null},)"
        R"({"partition":3,"offset":2,"type":"ForsendelseMottatt","reason":"forsendelseId must be a UUID in lowercase","forsendelseId":"ABCDEF00-0000-4000-8000-000000000001"},)"
        R"({"partition":3,"offset":3,"type":"ForsendelseMottatt","reason":"stream must be forsendelse-<forsendelseId>","forsendelseId":"00000000-0000-4000-8000-000000000002"},)"
        R"({"partition":3,"offset":4,"type":"ForsendelseMottatt","reason":"tittel is missing or not a string","forsendelseId":"00000000-0000-4000-8000-000000000002"},)"
        R"({"partition":3,"offset":5,"type":"ForsendelseStatusEndret","reason":"data is not a readable map","forsendelseId":null}],"next":null})");
  // Paging: two at a time, the cursor continuing after the last.
  const auto page1 = q(p, "anomalies", {{"limit", "2"}});
  CHECK(page1.ends_with(R"("next":"0_2"})"));
  const auto page2 = q(p, "anomalies", {{"limit", "2"}, {"after", "0_2"}});
  CHECK(page2.find(R"("offset":3,)") != std::string::npos);
  CHECK(page2.find(R"("offset":2,)") == std::string::npos);
  CHECK(q_error(p, "anomalies", {{"limit", "0"}}).message == "parameter 'limit': must be an integer from 1 to 1000");
  CHECK(q_error(p, "anomalies", {{"after", "zz"}}).message.starts_with("parameter 'after'"));

  // Orphans are records of their own, keyed by position.
  const auto recs = records(p);
  REQUIRE(recs.size() == 8);
  CHECK(recs[0].first == "a/" "00000002" "0000000000000000");
  CHECK(recs[1].first == "a/" "00000003" "0000000000000000");
  CHECK(recs[7].first == "f/" + a);
}

TEST_CASE("dispatch: Mottatt with missing or ill-typed fields creates nothing", "[projections][dispatch]") {
  const std::string a = uuid(1);
  const std::string base = R"({"forsendelseId":")" + a + R"(","avsender":"A","tittel":"T","mottaker":{"navn":"N")";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"({"forsendelseId":")" + a + R"(","tittel":"T","mottaker":{"navn":"N"}})", "avsender is missing"},
      {R"({"forsendelseId":")" + a + R"(","avsender":5,"tittel":"T","mottaker":{"navn":"N"}})", "avsender is missing"},
      {R"({"forsendelseId":")" + a + R"(","avsender":"A","tittel":"T"})", "mottaker is missing"},
      {R"({"forsendelseId":")" + a + R"(","avsender":"A","tittel":"T","mottaker":[1]})", "mottaker is missing"},
      {R"({"forsendelseId":")" + a + R"(","avsender":"A","tittel":"T","mottaker":{}})", "mottaker.navn is missing"},
      {base + R"(,"digitalId":{"type":"SE_PNR","value":"194408139089"}}})", "mottaker.digitalId must be"},
      {base + R"(,"digitalId":{"type":"NO_FNR","value":"20036914712"}}})", "not a valid NO_FNR"},
      {base + R"(,"digitalId":"20036914700"}})", "mottaker.digitalId must be"},
      {base + R"(},"kunDigitalLevering":true})", "kunDigitalLevering needs mottaker.digitalId"},
      {base + R"(},"kunDigitalLevering":"yes"})", "kunDigitalLevering must be a boolean"},
      {base + R"(},"konteringskode":12})", "konteringskode must be a string"},
      {base + R"(},"utskriftskonfigurasjon":{"brevtype":"CPOST"}})", "brevtype must be APOST or BPOST"},
      {base + R"(},"utskriftskonfigurasjon":true})", "utskriftskonfigurasjon must be an object"},
      {R"([1,2,3])", "data is not a readable map"},
      {R"("text")", "data is not a readable map"},
      {R"({"forsendelseId":["x"]})", "forsendelseId is missing"},
  };
  for (const auto& [json, reason] : cases) {
    INFO(json);
    mp::dispatch_projection p;
    writer w;
    apply(p, w.mottatt(0, 1, a, json));
    CHECK(p.size() == 0);
    CHECK(p.anomaly_count() == 1);
    CHECK(q(p, "anomalies").find(reason) != std::string::npos);
  }
  // The minimal Mottatt is enough.
  mp::dispatch_projection p;
  writer w;
  apply(p, w.mottatt(0, 1, a, base + "}}"));
  CHECK(p.size() == 1);
  CHECK(p.anomaly_count() == 0);
  CHECK(q(p, "get", {{"id", a}}).find(R"("digitalId":null},"konteringskode":null,"kunDigitalLevering":false,"brevtype":null)") !=
        std::string::npos);
}

TEST_CASE("dispatch: search, newest first, filtered and paged", "[projections][dispatch][query]") {
  mp::dispatch_projection p;
  writer w;
  const std::int64_t t0 = at("2026-11-20T00:00:00Z");
  const std::int64_t hour = 3'600'000'000;
  // 12 forsendelser an hour apart; even ones from Bergen, odd from Oslo; the
  // last four to an organisation; two share their time (tie by position).
  for (int i = 0; i < 12; ++i) {
    const std::string id = uuid(i);
    const std::string digital = i >= 8 ? R"("digitalId":{"type":"NO_ORGNR","value":"123456785"},)"
                                       : R"("digitalId":{"type":"NO_FNR","value":"20036914700"},)";
    const std::int64_t t = t0 + (i == 11 ? 10 : i) * hour;
    apply(p, w.mottatt(static_cast<std::uint32_t>(i % 8), t, id,
                       mottatt_json(id, i % 2 == 0 ? "Bergen kommune" : "Oslo kommune", "", digital)));
    if (i % 3 == 0) apply(p, w.status(static_cast<std::uint32_t>(i % 8), t + 1, id, "AKSEPTERT"));
  }
  auto ids_of = [](const std::string& j) {
    std::vector<int> out;
    for (std::size_t k = j.find("\"id\":\""); k != std::string::npos; k = j.find("\"id\":\"", k + 1)) {
      out.push_back(std::stoi(j.substr(k + 6 + 24, 12)));
    }
    return out;
  };
  const auto all = q(p, "search");
  // uuid(11) and uuid(10) share a time; 11 sits at (3, 2), 10 at (2, 1).
  CHECK(ids_of(all) == std::vector<int>{11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0});
  CHECK(all.ends_with(R"("next":null})"));
  CHECK(all.starts_with(
      R"({"items":[{"id":"00000000-0000-4000-8000-000000000011","status":"MOTTATT","avsender":"Oslo kommune",)"
      R"("tittel":"Vedtak om byggesak","mottakerNavn":"Kari Nordmann","mottatt":"2026-11-20T10:00:00.000000Z"},)"));

  CHECK(ids_of(q(p, "search", {{"avsender", "Bergen kommune"}})) == std::vector<int>{10, 8, 6, 4, 2, 0});
  CHECK(ids_of(q(p, "search", {{"status", "AKSEPTERT"}})) == std::vector<int>{9, 6, 3, 0});
  CHECK(ids_of(q(p, "search", {{"status", "AKSEPTERT"}, {"avsender", "Oslo kommune"}})) == std::vector<int>{9, 3});
  CHECK(ids_of(q(p, "search", {{"mottaker", "123 456 785"}})) == std::vector<int>{11, 10, 9, 8});
  CHECK(ids_of(q(p, "search", {{"mottaker", "20036914700"}, {"status", "MOTTATT"}})) == std::vector<int>{7, 5, 4, 2, 1});
  CHECK(ids_of(q(p, "search", {{"from", "2026-11-20T02:00:00Z"}, {"to", "2026-11-20T05:00:00Z"}})) ==
        std::vector<int>{4, 3, 2});
  CHECK(ids_of(q(p, "search", {{"from", "2026-11-20T03:00:00+01:00"}, {"mottaker", "20036914700"}})) ==
        std::vector<int>{7, 6, 5, 4, 3, 2});
  CHECK(ids_of(q(p, "search", {{"avsender", "Nobody"}})).empty());
  CHECK(ids_of(q(p, "search", {{"mottaker", "13097248022"}})).empty());

  // Pages of 5 walk everything once, ties included.
  std::vector<int> walked;
  std::string after;
  for (int page = 0; page < 10; ++page) {
    mp::query_params params{{"limit", "5"}};
    if (!after.empty()) params["after"] = after;
    const auto j = q(p, "search", params);
    const auto ids = ids_of(j);
    walked.insert(walked.end(), ids.begin(), ids.end());
    const auto k = j.rfind("\"next\":");
    if (j.compare(k, 11, "\"next\":null") == 0) break;
    after = j.substr(k + 8, j.size() - k - 8 - 2);
  }
  CHECK(walked == std::vector<int>{11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0});
  // The page boundary may split the tie: 1 per page.
  const auto one = q(p, "search", {{"limit", "1"}});
  CHECK(one.ends_with(R"("next":")" + std::to_string(t0 + 10 * hour) + R"(_3_2"})"));
  CHECK(ids_of(q(p, "search", {{"limit", "1"}, {"after", std::to_string(t0 + 10 * hour) + "_3_2"}})) ==
        std::vector<int>{10});

  CHECK(q_error(p, "search", {{"status", "DONE"}}).message == "parameter 'status': must be one of the catalog's statuses");
  CHECK(q_error(p, "search", {{"mottaker", "123"}}).message == "parameter 'mottaker': must be a valid NO_FNR or NO_ORGNR");
  CHECK(q_error(p, "search", {{"from", "yesterday"}}).message.starts_with("parameter 'from': must be RFC 3339"));
  CHECK(q_error(p, "search", {{"limit", "1001"}}).message.starts_with("parameter 'limit'"));
  CHECK(q_error(p, "search", {{"limit", "+5"}}).message.starts_with("parameter 'limit'"));
  CHECK(q_error(p, "search", {{"after", "1_2"}}).message.starts_with("parameter 'after'"));
  CHECK(q_error(p, "search", {{"after", "1_2_3_4"}}).message.starts_with("parameter 'after'"));
}

TEST_CASE("dispatch: due at T, for print or digital delivery, in deadline order", "[projections][dispatch][query]") {
  mp::dispatch_projection p;
  writer w;
  const std::string a = uuid(1), b = uuid(2), c = uuid(3), d = uuid(4);
  const std::string kun = R"("kunDigitalLevering":true,)";
  apply(p, w.mottatt(0, at("2026-11-20T08:00:00Z"), a, mottatt_json(a)));
  apply(p, w.mottatt(1, at("2026-11-20T08:00:00Z"), b, mottatt_json(b, "Oslo kommune", kun)));
  apply(p, w.mottatt(2, at("2026-11-20T08:00:00Z"), c, mottatt_json(c)));
  apply(p, w.mottatt(3, at("2026-11-20T08:00:00Z"), d, mottatt_json(d)));
  for (const auto& [id, part] : {std::pair{a, 0u}, std::pair{b, 1u}, std::pair{c, 2u}, std::pair{d, 3u}}) {
    apply(p, w.status(part, at("2026-11-20T08:30:00Z"), id, "AKSEPTERT"));
  }
  // Friday 10:00 local: due Tuesday 02:00 local (01:00Z).
  apply(p, w.status(0, at("2026-11-20T09:00:00Z"), a, "VARSLET"));
  apply(p, w.status(1, at("2026-11-20T09:00:00Z"), b, "VARSLET"));
  // Monday 10:00 local: due Wednesday 02:00 local.
  apply(p, w.status(2, at("2026-11-23T09:00:00Z"), c, "VARSLET"));
  // Read: no longer due.
  apply(p, w.status(3, at("2026-11-20T09:00:00Z"), d, "VARSLET"));
  apply(p, w.status(3, at("2026-11-21T09:00:00Z"), d, "LEST"));

  CHECK(q(p, "due", {{"at", "2026-11-24T00:59:59Z"}}) == R"({"at":"2026-11-24T00:59:59.000000Z","items":[],"next":null})");
  CHECK(q(p, "due", {{"at", "2026-11-24T01:00:00Z"}}) ==
        R"({"at":"2026-11-24T01:00:00.000000Z","items":[)"
        R"({"id":"00000000-0000-4000-8000-000000000001","avsender":"Bergen kommune","tittel":"Vedtak om byggesak",)"
        R"("varslet":"2026-11-20T09:00:00.000000Z","due":"2026-11-24T01:00:00.000000Z","action":"SENDT_PRINT"},)"
        R"({"id":"00000000-0000-4000-8000-000000000002","avsender":"Oslo kommune","tittel":"Vedtak om byggesak",)"
        R"("varslet":"2026-11-20T09:00:00.000000Z","due":"2026-11-24T01:00:00.000000Z","action":"SENDT_DIGITALT"}],"next":null})");
  const auto later = q(p, "due", {{"at", "2026-12-01T00:00:00Z"}, {"limit", "2"}});
  CHECK(later.ends_with(R"("next":")" + std::to_string(at("2026-11-24T01:00:00Z")) + "_" + b + "\"}"));
  const auto rest = q(p, "due", {{"at", "2026-12-01T00:00:00Z"}, {"after", std::to_string(at("2026-11-24T01:00:00Z")) + "_" + b}});
  CHECK(rest.find(c) != std::string::npos);
  CHECK(rest.find("\"due\":\"2026-11-25T01:00:00.000000Z\"") != std::string::npos);
  CHECK(rest.find(a) == std::string::npos);
  // Once printed, it is no longer due.
  apply(p, w.status(0, at("2026-11-24T07:00:00Z"), a, "SENDT_PRINT"));
  CHECK(q(p, "due", {{"at", "2026-12-01T00:00:00Z"}}).find(a) == std::string::npos);
  CHECK(q_error(p, "due", {}).message == "parameter 'at': is required (RFC 3339)");
  CHECK(q_error(p, "due", {{"at", "2026-13-01T00:00:00Z"}}).message.starts_with("parameter 'at'"));

  // The deadline is configuration.
  mp::dispatch_projection short_deadline(mp::dispatch_config{8});
  writer w2;
  apply(short_deadline, w2.mottatt(0, at("2026-11-20T08:00:00Z"), a, mottatt_json(a)));
  apply(short_deadline, w2.status(0, at("2026-11-20T08:30:00Z"), a, "AKSEPTERT"));
  apply(short_deadline, w2.status(0, at("2026-11-20T09:00:00Z"), a, "VARSLET"));
  CHECK(q(short_deadline, "get", {{"id", a}}).ends_with(R"("due":"2026-11-20T17:00:00.000000Z"})"));
}

TEST_CASE("dispatch: the due instant is due_at's at every time of an hour, on working days and days off",
          "[projections][dispatch][query]") {
  // prepare() remembers the due instant per UTC hour: instants in one hour,
  // whole hours, the microseconds around them, weekends, holidays and both
  // summer time switches must all give what norway::due_at gives.
  std::vector<std::int64_t> times;
  for (const char* day : {"2026-11-20", "2026-11-21", "2026-11-22", "2026-03-28", "2026-03-29", "2026-04-01",
                          "2026-04-02", "2026-05-16", "2026-10-24", "2026-10-25", "2026-12-24", "2031-12-31"}) {
    for (const char* hour : {"00", "01", "02", "08", "21", "22", "23"}) {
      const std::int64_t h = at(std::string(day) + "T" + hour + ":00:00Z");
      for (const std::int64_t d : {0LL, 1LL, 2LL, 999'999LL, 1'800'000'000LL, 3'599'999'999LL}) times.push_back(h + d);
      times.push_back(h - 1);
    }
  }
  std::mt19937_64 rng(7);
  const std::int64_t from = at("2024-01-01T00:00:00Z"), span = at("2036-01-01T00:00:00Z") - from;
  for (int i = 0; i < 400; ++i) times.push_back(from + static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(span)));
  for (const int hours : {40, 1, 8}) {
    INFO("deadline " << hours << " h");
    mp::dispatch_projection p(mp::dispatch_config{hours});
    writer w;
    std::vector<std::pair<std::string, std::int64_t>> ids;
    for (std::size_t i = 0; i < times.size(); ++i) {
      const std::string id = uuid(static_cast<int>(i));
      apply(p, w.mottatt(0, times[i], id, mottatt_json(id)));
      apply(p, w.status(0, times[i], id, "AKSEPTERT"));
      apply(p, w.status(0, times[i], id, "VARSLET"));
      ids.emplace_back(id, times[i]);
    }
    // Prepared ahead on another path, too: the same instants.
    std::vector<ev> events;
    writer w2;
    for (const auto& [id, t] : ids) {
      events.push_back(w2.mottatt(0, t, id, mottatt_json(id)));
      events.push_back(w2.status(0, t, id, "AKSEPTERT"));
      events.push_back(w2.status(0, t, id, "VARSLET"));
    }
    mp::dispatch_projection split(mp::dispatch_config{hours});
    apply_prepared_chunks(split, events, 64);
    for (const auto& [id, t] : ids) {
      INFO(muninn::codec::format_rfc3339_micros(t));
      const std::string due = R"("due":")" + muninn::codec::format_rfc3339_micros(mp::norway::due_at(t, hours)) + "\"}";
      CHECK(q(p, "get", {{"id", id}}).ends_with(due));
      CHECK(q(split, "get", {{"id", id}}).ends_with(due));
    }
  }
}

TEST_CASE("dispatch: an empty konteringskode is a code of its own, not none", "[projections][dispatch]") {
  mp::dispatch_projection p;
  writer w;
  const std::string a = uuid(1), b = uuid(2), c = uuid(3);
  std::int64_t t = at("2026-11-20T09:00:00Z");
  apply(p, w.mottatt(0, t, a, mottatt_json(a, "Oslo kommune", R"("konteringskode":"",)")));
  apply(p, w.mottatt(1, t, b, mottatt_json(b, "Oslo kommune", "")));
  apply(p, w.mottatt(2, t, c, mottatt_json(c)));
  for (const auto& [id, part] : {std::pair{a, 0u}, std::pair{b, 1u}, std::pair{c, 2u}}) {
    apply(p, w.status(part, ++t, id, "AKSEPTERT"));
    apply(p, w.status(part, ++t, id, "SENDT_PRINT"));
    apply(p, w.print(part, ++t, id));
  }
  CHECK(q(p, "get", {{"id", a}}).find(R"("konteringskode":"",)") != std::string::npos);
  CHECK(q(p, "get", {{"id", b}}).find(R"("konteringskode":null,)") != std::string::npos);
  // None first, then by the code's text.
  const auto stats = q(p, "stats");
  const auto none = stats.find(R"({"konteringskode":null,"kvitteringer":1)");
  const auto empty = stats.find(R"({"konteringskode":"","kvitteringer":1)");
  const auto bygg = stats.find(R"({"konteringskode":"BYGG-01","kvitteringer":1)");
  REQUIRE(none != std::string::npos);
  REQUIRE(empty != std::string::npos);
  REQUIRE(bygg != std::string::npos);
  CHECK(none < empty);
  CHECK(empty < bygg);
  // And so after a load.
  mp::record_changes changes;
  p.take_changes(changes);
  mp::dispatch_projection loaded;
  for (const auto& ch : changes) REQUIRE(loaded.load(ch.key, *ch.value));
  loaded.finish_load();
  CHECK(q(loaded, "stats") == stats);
  CHECK(mp::state_digest(loaded) == mp::state_digest(p));
}

TEST_CASE("dispatch: detalj texts short and long read back as sent, on both apply paths", "[projections][dispatch]") {
  // prepare() copies a short detalj beside the prepared step; a long one is
  // read from the event. Both must intern the same text.
  const std::string a = uuid(1), b = uuid(2);
  const std::string short_text = "Varsel sendt på SMS og e-post";
  const std::string edge(56, 'x'), over(57, 'y'), long_text(300, 'z');
  std::vector<ev> events;
  writer w;
  std::int64_t t = at("2026-11-20T09:00:00Z");
  for (const auto& id : {a, b}) events.push_back(w.mottatt(0, t, id, mottatt_json(id)));
  events.push_back(w.status(0, ++t, a, "AKSEPTERT", edge));
  events.push_back(w.status(0, ++t, a, "VARSLET", short_text));
  events.push_back(w.status(0, ++t, a, "LEST", long_text));
  events.push_back(w.status(0, ++t, b, "AKSEPTERT", over));
  events.push_back(w.status(0, ++t, b, "VARSLET", short_text));
  mp::dispatch_projection plain, split;
  for (const auto& e : events) apply(plain, e);
  apply_prepared_chunks(split, events, 3);
  for (const auto* p : {&plain, &split}) {
    const auto ja = q(*p, "get", {{"id", a}});
    const auto jb = q(*p, "get", {{"id", b}});
    for (const auto& text : {edge, short_text, long_text}) CHECK(ja.find(R"("detalj":")" + text + "\"") != std::string::npos);
    for (const auto& text : {over, short_text}) CHECK(jb.find(R"("detalj":")" + text + "\"") != std::string::npos);
  }
  CHECK(mp::state_digest(split) == mp::state_digest(plain));
}
