// Helpers shared by the dispatch projection tests: events built from JSON
// text as the feeder would see them, writers that keep per-partition offsets,
// and query shortcuts that fail the test on an error.
#pragma once

#include <catch2/catch.hpp>

#include <flatbuffers/flexbuffers.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "broker/projections/dispatch.h"
#include "broker/projections/event.h"
#include "broker/projections/json_writer.h"
#include "broker/projections/projection.h"
#include "codec/batch.h"
#include "codec/json.h"
#include "codec/sha256.h"

namespace mp = muninn::projections;
using mp::dispatch_status;

namespace dispatch_test {

inline std::int64_t at(const std::string& rfc3339) {
  const auto t = muninn::codec::parse_rfc3339_micros(rfc3339);
  REQUIRE(t);
  return *t;
}

inline std::string uuid(int n) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "00000000-0000-4000-8000-%012d", n);
  return buf;
}

// One stored event, owning its bytes; `json` is the data (content type JSON)
// unless `flex` is set.
struct ev {
  std::uint32_t partition = 0;
  std::uint64_t offset = 0;
  std::int64_t time = 0;
  std::string stream;
  std::string type;
  std::string json;
  std::vector<std::byte> flex;
  bool raw_flex = false;
};

inline void apply(mp::projection& p, const ev& e) {
  static mp::data_reader reader;
  mp::event_view v;
  v.at = {e.partition, e.offset};
  v.time = e.time;
  v.stream = e.stream;
  v.type = e.type;
  std::optional<flexbuffers::Reference> root;
  if (e.raw_flex) {
    root = reader.read(muninn::codec::content_type_flexbuffers, e.flex);
  } else {
    std::vector<std::byte> bytes(e.json.size());
    if (!e.json.empty()) std::memcpy(bytes.data(), e.json.data(), e.json.size());  // memcpy from null is UB
    root = reader.read(muninn::codec::content_type_json, bytes);
  }
  if (root) {
    v.data = *root;
    v.data_ok = true;
  }
  p.apply(v);
}

// An event_view whose data stays readable while the held_event lives, for
// tests that prepare many events before applying any (as a replay's reader
// thread does): the reader's own copy is copied out.
struct held_event {
  mp::event_view v;
  std::vector<std::uint64_t> data;  // 8-aligned, as FlexBuffers need
};

inline held_event hold(const ev& e) {
  mp::data_reader reader;
  held_event h;
  h.v.at = {e.partition, e.offset};
  h.v.time = e.time;
  h.v.stream = e.stream;
  h.v.type = e.type;
  std::vector<std::byte> bytes(e.json.size());
  if (!e.json.empty()) std::memcpy(bytes.data(), e.json.data(), e.json.size());  // memcpy from null is UB
  const auto root = e.raw_flex ? reader.read(muninn::codec::content_type_flexbuffers, e.flex)
                               : reader.read(muninn::codec::content_type_json, bytes);
  if (!root) return h;
  h.v.data_ok = true;
  const auto c = reader.copied();
  if (c.empty()) {
    h.v.data = *root;  // in e.flex, which outlives the view
    return h;
  }
  h.data.resize((c.size() + 7) / 8);
  std::memcpy(h.data.data(), c.data(), c.size());
  h.v.data = flexbuffers::GetRoot(reinterpret_cast<const std::uint8_t*>(h.data.data()), c.size());
  return h;
}

// What a replay does with `events`, `chunk` at a time: prepare all of a
// chunk first, then apply it in order (broker/projections/feed.cc).
inline void apply_prepared_chunks(mp::projection& p, const std::vector<ev>& events, std::size_t chunk) {
  const std::size_t size = p.prepared_size();
  const std::size_t words = (size + 7) / 8;
  for (std::size_t from = 0; from < events.size(); from += chunk) {
    const std::size_t n = std::min(chunk, events.size() - from);
    std::vector<held_event> held;
    for (std::size_t i = 0; i < n; ++i) held.push_back(hold(events[from + i]));
    std::vector<std::uint64_t> prepared(n * words + 1);
    auto slot = [&](std::size_t i) {
      return std::as_writable_bytes(std::span<std::uint64_t>(prepared.data() + i * words, words)).first(size);
    };
    for (std::size_t i = 0; i < n; ++i) p.prepare(held[i].v, slot(i));
    // With the hints feeder::apply gives (two and one events ahead here),
    // which must change nothing whatever the state holds yet.
    for (std::size_t i = 0; i < n; ++i) {
      if (i + 2 < n) p.prefetch(slot(i + 2), 0);
      if (i + 1 < n) p.prefetch(slot(i + 1), 1);
      p.apply_prepared(held[i].v, slot(i));
      p.prefetch(slot(i), 1);
    }
  }
}

inline std::string mottatt_json(const std::string& id, const std::string& avsender = "Bergen kommune",
                         const std::string& extra = R"("konteringskode":"BYGG-01",)",
                         const std::string& digital = R"("digitalId":{"type":"NO_FNR","value":"20036914700"},)") {
  return R"({"forsendelseId":")" + id + R"(","avsender":")" + avsender +
         R"(","tittel":"Vedtak om byggesak","mottaker":{"navn":"Kari Nordmann",)" + digital +
         R"("adresse":{"adresselinje1":"Storgata 1","postnummer":"5003","poststed":"Bergen"}},)" + extra +
         R"("utskriftskonfigurasjon":{"tosidig":true,"utskriftMedFarger":false,"brevtype":"BPOST"},)"
         R"("dokumenter":[{"filnavn":"vedtak.pdf","mimeType":"application/pdf","storrelseBytes":1000}]})";
}

inline std::string status_json(const std::string& id, std::string_view status, const std::string& detalj = {}) {
  std::string s = R"({"forsendelseId":")" + id + R"(","status":")" + std::string(status) + "\"";
  if (!detalj.empty()) s += R"(,"detalj":")" + detalj + "\"";
  return s + "}";
}

inline std::string print_json(const std::string& id, int sorthvit = 4, int farge = 1) {
  return R"({"forsendelseId":")" + id + R"(","sorthvitSider":)" + std::to_string(sorthvit) +
         R"(,"fargeSider":)" + std::to_string(farge) +
         R"(,"konvoluttertAutomatisk":1,"konvoluttertManuelt":0,"vektGram":20,)"
         R"("produksjonskostnadMinor":850,"portoMinor":2300})";
}

// Events of one forsendelse in its own partition, offsets counting up.
struct writer {
  std::map<std::uint32_t, std::uint64_t> next_offset;

  ev make(std::uint32_t partition, std::int64_t time, const std::string& id, std::string type, std::string json) {
    ev e;
    e.partition = partition;
    e.offset = next_offset[partition]++;
    e.time = time;
    e.stream = "forsendelse-" + id;
    e.type = std::move(type);
    e.json = std::move(json);
    return e;
  }
  ev mottatt(std::uint32_t part, std::int64_t time, const std::string& id, const std::string& json) {
    return make(part, time, id, "ForsendelseMottatt", json);
  }
  ev status(std::uint32_t part, std::int64_t time, const std::string& id, std::string_view s,
            const std::string& detalj = {}) {
    return make(part, time, id, "ForsendelseStatusEndret", status_json(id, s, detalj));
  }
  ev print(std::uint32_t part, std::int64_t time, const std::string& id) {
    return make(part, time, id, "PrintKvittering", print_json(id));
  }
};

inline std::string q(const mp::projection& p, std::string_view what, const mp::query_params& params = {}) {
  auto r = p.query(what, params);
  if (!r) FAIL("query " << what << ": " << r.error().message);
  return r.value();
}

inline mp::query_error q_error(const mp::projection& p, std::string_view what, const mp::query_params& params) {
  auto r = p.query(what, params);
  REQUIRE_FALSE(r);
  return r.error();
}

inline std::string status_of(const mp::projection& p, const std::string& id) {
  const auto j = q(p, "get", {{"id", id}});
  const auto k = j.find("\"status\":\"");
  REQUIRE(k != std::string::npos);
  return j.substr(k + 10, j.find('"', k + 10) - k - 10);
}

inline std::vector<std::pair<std::string, std::string>> records(const mp::projection& p) {
  std::vector<std::pair<std::string, std::string>> out;
  p.for_each_record([&](std::string_view k, std::string_view v) { out.emplace_back(k, v); });
  return out;
}

// The path from MOTTATT to each status.
inline const std::map<dispatch_status, std::vector<std::string_view>>& paths() {
  static const std::map<dispatch_status, std::vector<std::string_view>> p = {
      {dispatch_status::mottatt, {}},
      {dispatch_status::akseptert, {"AKSEPTERT"}},
      {dispatch_status::avvist, {"AVVIST"}},
      {dispatch_status::varslet, {"AKSEPTERT", "VARSLET"}},
      {dispatch_status::klar_for_mottak, {"AKSEPTERT", "KLAR_FOR_MOTTAK"}},
      {dispatch_status::lest, {"AKSEPTERT", "KLAR_FOR_MOTTAK", "LEST"}},
      {dispatch_status::sendt_digitalt, {"AKSEPTERT", "VARSLET", "SENDT_DIGITALT"}},
      {dispatch_status::sendt_print, {"AKSEPTERT", "SENDT_PRINT"}},
      {dispatch_status::printet, {"AKSEPTERT", "SENDT_PRINT", "PRINTET"}},
      {dispatch_status::sendt_sdp, {"AKSEPTERT", "SENDT_SDP"}},
      {dispatch_status::levert_sdp, {"AKSEPTERT", "SENDT_SDP", "LEVERT_SDP"}},
      {dispatch_status::ikke_levert, {"AKSEPTERT", "SENDT_SDP", "IKKE_LEVERT"}},
      {dispatch_status::manuelt_handtert, {"AKSEPTERT", "VARSLET", "MANUELT_HANDTERT"}},
      {dispatch_status::slettet, {"AKSEPTERT", "SLETTET"}},
  };
  return p;
}

inline const std::string id1 = "3f6c1d2e-8a4b-4c5d-9e6f-7a8b9c0d1e2f";

}  // namespace dispatch_test
