// The dispatch projection as a whole: independent of partition interleaving,
// its records round trip, and hostile data never crashes it.
#include <catch2/catch.hpp>

#include "tests/projections/dispatch_test_util.h"

using namespace dispatch_test;

namespace {

// A random but legal-looking history for `n` forsendelser over 8
// partitions, with illegal steps, orphans and junk mixed in.
std::vector<std::vector<ev>> random_partitions(int n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  writer w;
  std::vector<std::vector<ev>> parts(8);
  const std::int64_t t0 = at("2026-03-20T06:00:00Z");
  const char* avsendere[] = {"Bergen kommune", "Oslo kommune", "Tromsø kommune", "Ås kommune"};
  const char* statuses[] = {"AKSEPTERT", "VARSLET", "LEST", "SENDT_PRINT", "KLAR_FOR_MOTTAK", "SENDT_SDP",
                            "LEVERT_SDP", "SENDT_DIGITALT", "SLETTET", "AVVIST", "MOTTAT", "IKKE_LEVERT"};
  for (int i = 0; i < n; ++i) {
    const std::string id = uuid(1000 + i);
    const auto part = static_cast<std::uint32_t>(rng() % 8);
    std::int64_t t = t0 + static_cast<std::int64_t>(rng() % 1'000'000) * 60'000'000;
    const auto roll = rng() % 20;
    if (roll == 0) {  // orphan
      parts[part].push_back(w.status(part, t, id, "AKSEPTERT"));
      continue;
    }
    const std::string kont = roll % 3 == 0 ? "" : R"("konteringskode":"K)" + std::to_string(roll % 4) + R"(",)";
    parts[part].push_back(w.mottatt(part, t, id, mottatt_json(id, avsendere[rng() % 4], kont)));
    const int steps = static_cast<int>(rng() % 6);
    std::vector<std::string_view> path = {"AKSEPTERT"};
    if (rng() % 2) {
      path = {"AKSEPTERT", "VARSLET", "SENDT_PRINT"};
    }
    for (int s = 0; s < steps; ++s) {
      t += static_cast<std::int64_t>(rng() % 100'000) * 1'000'000;
      if (s < static_cast<int>(path.size()) && rng() % 4 != 0) {
        parts[part].push_back(w.status(part, t, id, path[static_cast<std::size_t>(s)]));
      } else if (rng() % 5 == 0) {
        parts[part].push_back(w.print(part, t, id));
      } else if (rng() % 7 == 0) {
        parts[part].push_back(w.mottatt(part, t, id, mottatt_json(id)));
      } else {
        parts[part].push_back(w.status(part, t, id, statuses[rng() % 12], rng() % 2 ? "d" : ""));
      }
    }
  }
  // Junk in a few partitions.
  parts[5].push_back(w.make(5, t0, "x", "Unknown", "{}"));
  parts[6].push_back(w.make(6, t0, uuid(7), "ForsendelseStatusEndret", "[]"));
  return parts;
}

// Applies the partitions interleaved at random, each in its own order.
void apply_interleaved(mp::projection& p, const std::vector<std::vector<ev>>& parts, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<std::size_t> next(parts.size(), 0);
  std::vector<std::size_t> open;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (!parts[i].empty()) open.push_back(i);
  }
  while (!open.empty()) {
    const auto k = rng() % open.size();
    const auto part = open[k];
    const auto burst = 1 + rng() % 5;
    for (std::size_t b = 0; b < burst && next[part] < parts[part].size(); ++b) apply(p, parts[part][next[part]++]);
    if (next[part] == parts[part].size()) open.erase(open.begin() + static_cast<std::ptrdiff_t>(k));
  }
}

std::vector<std::string> answers(const mp::projection& p) {
  return {q(p, "stats"),
          q(p, "search", {{"limit", "1000"}}),
          q(p, "search", {{"status", "VARSLET"}, {"limit", "7"}}),
          q(p, "search", {{"avsender", "Oslo kommune"}, {"mottaker", "20036914700"}}),
          q(p, "anomalies", {{"limit", "1000"}}),
          q(p, "due", {{"at", "2026-04-10T00:00:00Z"}}),
          q(p, "due", {{"at", "2030-01-01T00:00:00Z"}, {"limit", "1000"}})};
}

// `n` FlexBuffer events, mostly plausible and often broken: random fields
// of random types, bytes flipped at random, any instant as time.
std::vector<ev> hostile_events(int n, std::uint64_t seed) {
  const std::string ids[] = {uuid(1), uuid(2), uuid(3)};
  std::mt19937_64 rng(seed);
  std::vector<ev> out;
  const char* keys[] = {"forsendelseId", "avsender", "tittel", "mottaker", "navn", "digitalId", "type", "value",
                        "status", "detalj", "kunDigitalLevering", "konteringskode", "utskriftskonfigurasjon",
                        "brevtype", "sorthvitSider", "fargeSider", "konvoluttertAutomatisk",
                        "konvoluttertManuelt", "vektGram", "produksjonskostnadMinor", "portoMinor"};
  const char* types[] = {"ForsendelseMottatt", "ForsendelseStatusEndret", "PrintKvittering", "X"};
  std::function<void(flexbuffers::Builder&, int)> value;
  value = [&](flexbuffers::Builder& b, int depth) {
    switch (rng() % (depth > 2 ? 6 : 8)) {
      case 0: b.Int(static_cast<std::int64_t>(rng())); break;
      case 1: b.Bool(rng() % 2); break;
      case 2: b.Double(1.5); break;
      case 3: b.String(ids[rng() % 3]); break;
      case 4: b.String(std::string(rng() % 300, static_cast<char>(rng()))); break;
      case 5: b.Null(); break;
      case 6:
        b.Map([&] {
          std::vector<const char*> ks;
          for (int i = 0; i < 6; ++i) ks.push_back(keys[rng() % std::size(keys)]);
          std::sort(ks.begin(), ks.end(), [](const char* x, const char* y) { return std::strcmp(x, y) < 0; });
          ks.erase(std::unique(ks.begin(), ks.end(), [](const char* x, const char* y) { return std::strcmp(x, y) == 0; }),
                   ks.end());
          for (const char* k : ks) {
            b.Key(k);
            value(b, depth + 1);
          }
        });
        break;
      default: b.Vector([&] { value(b, depth + 1); value(b, depth + 1); });
    }
  };
  for (int i = 0; i < n; ++i) {
    flexbuffers::Builder b;
    b.Map([&] {
      // Mostly plausible: a real id, a status, then random fields.
      b.String("forsendelseId", ids[rng() % 3]);
      b.Key("konteringskode");
      value(b, 1);
      b.Key("mottaker");
      value(b, 0);
      b.Key("status");
      if (rng() % 2) {
        b.String(std::string(mp::to_string(static_cast<dispatch_status>(rng() % 14))));
      } else {
        value(b, 1);
      }
      b.Key("tittel");
      value(b, 1);
    });
    b.Finish();
    ev e;
    e.partition = 0;
    e.offset = static_cast<std::uint64_t>(i);
    e.time = static_cast<std::int64_t>(rng());  // any instant, even absurd ones
    e.type = types[rng() % 4];
    e.stream = "forsendelse-" + ids[rng() % 3];
    e.raw_flex = true;
    const auto& buf = b.GetBuffer();
    e.flex.resize(buf.size());
    std::memcpy(e.flex.data(), buf.data(), buf.size());
    if (rng() % 10 == 0) e.flex[rng() % e.flex.size()] = static_cast<std::byte>(rng());
    out.push_back(std::move(e));
  }
  return out;
}

}  // namespace

TEST_CASE("dispatch: the state does not depend on how partitions interleave", "[projections][dispatch][determinism]") {
  const auto parts = random_partitions(400, 7);
  mp::dispatch_projection reference;
  for (const auto& part : parts) {
    for (const auto& e : part) apply(reference, e);
  }
  REQUIRE(reference.size() > 300);
  REQUIRE(reference.anomaly_count() > 20);
  const auto digest = mp::state_digest(reference);
  const auto expected = answers(reference);
  for (std::uint64_t seed = 1; seed <= 5; ++seed) {
    INFO("interleaving " << seed);
    mp::dispatch_projection p;
    apply_interleaved(p, parts, seed);
    CHECK(mp::state_digest(p) == digest);
    CHECK(answers(p) == expected);
  }
  // And different prefixes give different states, so the digest sees them.
  mp::dispatch_projection partial;
  for (std::size_t i = 0; i < 7; ++i) {
    for (const auto& e : parts[i]) apply(partial, e);
  }
  CHECK(mp::state_digest(partial) != digest);
}

TEST_CASE("dispatch: records round trip through take_changes and load", "[projections][dispatch][records]") {
  const auto parts = random_partitions(300, 11);
  mp::dispatch_projection p;
  // Changes are taken twice midway, as a runner checkpoints: the store keeps
  // each key's latest value.
  std::map<std::string, std::string> store;
  std::size_t applied = 0;
  auto take = [&] {
    mp::record_changes changes;
    p.take_changes(changes);
    for (std::size_t i = 1; i < changes.size(); ++i) CHECK(changes[i - 1].key < changes[i].key);
    for (const auto c : changes) {
      REQUIRE(c.value);
      store[std::string(c.key)] = *c.value;
    }
    return changes.size();
  };
  for (const auto& part : parts) {
    for (const auto& e : part) {
      apply(p, e);
      if (++applied % 97 == 0) take();
    }
  }
  take();
  CHECK(take() == 0);  // nothing left
  const auto recs = records(p);
  CHECK(recs == std::vector<std::pair<std::string, std::string>>(store.begin(), store.end()));
  for (const auto& [k, v] : recs) {
    REQUIRE(!v.empty());
    CHECK(v[0] == 1);  // format version
  }

  mp::dispatch_projection loaded;
  for (const auto& [k, v] : store) REQUIRE(loaded.load(k, v));
  loaded.finish_load();
  CHECK(mp::state_digest(loaded) == mp::state_digest(p));
  CHECK(records(loaded) == recs);
  CHECK(answers(loaded) == answers(p));
  CHECK(loaded.anomaly_count() == p.anomaly_count());
  // A loaded projection goes on exactly like the original.
  writer w;
  w.next_offset[0] = 100'000;
  const std::string id = uuid(1000 + 1);
  for (auto* proj : {static_cast<mp::projection*>(&p), static_cast<mp::projection*>(&loaded)}) {
    writer ww = w;
    apply(*proj, ww.status(0, at("2026-05-01T00:00:00Z"), id, "SLETTET"));
    apply(*proj, ww.mottatt(0, at("2026-05-01T00:00:00Z"), uuid(999999), mottatt_json(uuid(999999))));
  }
  CHECK(mp::state_digest(loaded) == mp::state_digest(p));
  CHECK(answers(loaded) == answers(p));
  mp::record_changes c1, c2;
  p.take_changes(c1);
  loaded.take_changes(c2);
  CHECK(c1.size() == c2.size());
}

TEST_CASE("dispatch: take_changes gives thousands of changed records in key order", "[projections][dispatch][records]") {
  // Above a few thousand changed items the dirty list is ordered by buckets
  // of the ids' top bits: random ids spread over them, ids sharing their
  // top bits (as time-ordered ones do) crowd into one.
  std::mt19937_64 rng(5);
  auto random_id = [&] {
    char buf[40];
    const std::uint64_t a = rng(), b = rng();
    std::snprintf(buf, sizeof buf, "%08llx-%04llx-4%03llx-8%03llx-%012llx", (unsigned long long)(a >> 32),
                  (unsigned long long)((a >> 16) & 0xffff), (unsigned long long)(a & 0xfff),
                  (unsigned long long)(b >> 52), (unsigned long long)(b & 0xffffffffffffull));
    return std::string(buf);
  };
  mp::dispatch_projection p;
  writer w;
  const std::int64_t t = at("2026-11-20T09:00:00Z");
  std::vector<std::string> ids;
  for (int i = 0; i < 6000; ++i) ids.push_back(random_id());
  for (int i = 0; i < 3000; ++i) ids.push_back(uuid(i));  // one top-bits bucket
  for (std::size_t i = 0; i < ids.size(); ++i) {
    apply(p, w.mottatt(static_cast<std::uint32_t>(i % 8), t, ids[i], mottatt_json(ids[i])));
  }
  for (int round = 0; round < 2; ++round) {
    mp::record_changes changes;
    p.take_changes(changes);
    REQUIRE(changes.size() == (round == 0 ? ids.size() : ids.size() / 2));
    for (std::size_t i = 1; i < changes.size(); ++i) REQUIRE(changes[i - 1].key < changes[i].key);
    // The second round: every other item changed again.
    if (round == 0) {
      for (std::size_t i = 0; i < ids.size(); i += 2) {
        apply(p, w.status(static_cast<std::uint32_t>(i % 8), t + 1, ids[i], "AKSEPTERT"));
      }
    }
  }
  mp::record_changes none;
  p.take_changes(none);
  CHECK(none.size() == 0);
}

TEST_CASE("dispatch: load refuses records it cannot read exactly", "[projections][dispatch][records]") {
  mp::dispatch_projection p;
  writer w;
  apply(p, w.mottatt(0, 1, id1, mottatt_json(id1)));
  apply(p, w.status(0, 2, id1, "AKSEPTERT", "ok"));
  apply(p, w.status(2, 3, uuid(5), "AKSEPTERT"));
  const auto recs = records(p);
  REQUIRE(recs.size() == 2);
  const auto& [okey, orphan] = recs[0];
  const auto& [fkey, f] = recs[1];
  CHECK(fkey == "f/" + id1);
  {
    mp::dispatch_projection fresh;
    CHECK(fresh.load(okey, orphan));
    CHECK(fresh.load(fkey, f));
  }
  auto refused = [](const std::string& k, const std::string& v) {
    mp::dispatch_projection fresh;
    return !fresh.load(k, v);
  };
  CHECK(refused("x/1", f));
  CHECK(refused(fkey, ""));
  CHECK(refused(fkey, f.substr(0, f.size() - 1)));
  CHECK(refused(fkey, f + "x"));
  CHECK(refused("f/" + uuid(9), f));  // key and value disagree
  CHECK(refused(okey, orphan + std::string(1, '\0')));
  CHECK(refused("a/00000002000000000000000a", orphan));
  std::string v2 = f;
  v2[0] = 2;  // unknown version
  CHECK(refused(fkey, v2));
  {
    mp::dispatch_projection twice;
    CHECK(twice.load(fkey, f));
    CHECK_FALSE(twice.load(fkey, f));
  }
  // Every truncation and every single-byte change is refused or loads
  // something that encodes back to exactly the bytes given.
  for (std::size_t i = 0; i < f.size(); ++i) {
    for (const int delta : {1, 0x80, 0xff}) {
      std::string v = f;
      v[i] = static_cast<char>(static_cast<unsigned char>(v[i]) + delta);
      mp::dispatch_projection fresh;
      if (fresh.load(fkey, v)) {
        fresh.finish_load();
        const auto back = records(fresh);
        REQUIRE(back.size() == 1);
        CHECK(back[0].second == v);
      }
    }
    CHECK(refused(fkey, f.substr(0, i)));
  }
}

TEST_CASE("dispatch: hostile data never crashes and keeps the state readable", "[projections][dispatch][hostile]") {
  mp::dispatch_projection p;
  for (const auto& e : hostile_events(4000, 99)) apply(p, e);
  const std::string ids[] = {uuid(1), uuid(2), uuid(3)};
  // Valid Mottatt events, then hostile ones against them.
  writer w;
  for (const auto& id : ids) apply(p, w.mottatt(1, INT64_MAX, id, mottatt_json(id)));
  for (const auto& id : ids) apply(p, w.status(1, INT64_MIN, id, "AKSEPTERT"));
  for (const auto& id : ids) apply(p, w.status(1, INT64_MAX, id, "VARSLET"));
  CHECK(p.anomaly_count() > 0);
  for (const auto& id : ids) {
    if (p.size() > 0) (void)p.query("get", {{"id", id}});
  }
  (void)q(p, "stats");
  (void)q(p, "anomalies", {{"limit", "1000"}});
  (void)q(p, "due", {{"at", "9999-12-31T23:59:59Z"}});
  (void)q(p, "search", {{"limit", "1000"}});
  mp::record_changes changes;
  p.take_changes(changes);
  mp::dispatch_projection loaded;
  for (const auto& c : changes) REQUIRE(loaded.load(c.key, *c.value));
  loaded.finish_load();
  CHECK(mp::state_digest(loaded) == mp::state_digest(p));
}

TEST_CASE("dispatch: a map whose keys are out of order reads as a binary search reads it",
          "[projections][dispatch][hostile]") {
  // prepare() finds its fields in one walk over the keys, which is only
  // what FlexBuffers' binary search answers when the keys are sorted; the
  // verifier does not check that, so hostile data can have them out of
  // order. Here "detalj" is patched to "tetalj", first of three keys: a
  // walk would pass over forsendelseId and status, the search finds both.
  const std::string id = uuid(1);
  auto patched = [&](const char* status) {
    flexbuffers::Builder b;
    b.Map([&] {
      b.String("detalj", "Varsel sendt");
      b.String("forsendelseId", id);
      b.String("status", status);
    });
    b.Finish();
    std::vector<std::uint8_t> buf = b.GetBuffer();
    const std::string key("detalj\0", 7);
    const auto at = std::search(buf.begin(), buf.end(), key.begin(), key.end());
    REQUIRE(at != buf.end());
    *at = 't';
    ev e;
    e.partition = 0;
    e.stream = "forsendelse-" + id;
    e.type = "ForsendelseStatusEndret";
    e.flex.resize(buf.size());
    std::memcpy(e.flex.data(), buf.data(), buf.size());
    e.raw_flex = true;
    return e;
  };
  std::vector<ev> events;
  writer w;
  events.push_back(w.mottatt(0, at("2026-04-02T10:00:00Z"), id, mottatt_json(id)));
  for (const char* s : {"AKSEPTERT", "VARSLET"}) {
    events.push_back(patched(s));
    events.back().offset = w.next_offset[0]++;
    events.back().time = at("2026-04-02T10:01:00Z");
  }
  mp::dispatch_projection plain;
  for (const auto& e : events) apply(plain, e);
  CHECK(plain.anomaly_count() == 0);
  CHECK(status_of(plain, id) == "VARSLET");
  CHECK(q(plain, "get", {{"id", id}}).find("detalj") == std::string::npos);
  mp::dispatch_projection split;
  apply_prepared_chunks(split, events, 2);
  CHECK(mp::state_digest(split) == mp::state_digest(plain));
}

TEST_CASE("json_writer: escapes and nesting", "[projections][json]") {
  mp::json_writer w;
  w.begin_object();
  w.field("a", std::string_view("q\"\\\n\x01\xc3\xa5\xff"));
  w.key("b").begin_array();
  w.value(std::int64_t{-1});
  w.value(std::uint64_t{18446744073709551615ull});
  w.value(true);
  w.null();
  w.end_array();
  w.end_object();
  CHECK(w.text() == "{\"a\":\"q\\\"\\\\\\n\\u0001\xc3\xa5\\ufffd\",\"b\":[-1,18446744073709551615,true,null]}");
}

// Not run by ctest (hidden): `muninn_projections_tests "[.bench]"`.
TEST_CASE("dispatch: apply cost per event", "[.bench][dispatch]") {
  constexpr int n = 200'000;  // forsendelser, five events each (the first 100: one)
  std::vector<std::vector<std::uint8_t>> bufs;
  std::vector<ev> meta;
  bufs.reserve(n * 5);
  meta.reserve(n * 5);
  const std::int64_t t0 = at("2026-11-20T09:00:00Z");
  auto add = [&](const std::string& id, const char* type, std::int64_t t, const std::function<void(flexbuffers::Builder&)>& body) {
    flexbuffers::Builder b;
    b.Map([&] { body(b); });
    b.Finish();
    bufs.push_back(b.GetBuffer());
    ev e;
    e.partition = static_cast<std::uint32_t>(meta.size() % 8);
    e.offset = meta.size();
    e.time = t;
    e.stream = "forsendelse-" + id;
    e.type = type;
    meta.push_back(std::move(e));
  };
  for (int i = 0; i < n; ++i) {
    const std::string id = uuid(i);
    const std::int64_t t = t0 + i * 1'000'000LL;
    add(id, "ForsendelseMottatt", t, [&](flexbuffers::Builder& b) {
      b.String("avsender", i % 2 ? "Bergen kommune" : "Oslo kommune");
      b.String("forsendelseId", id);
      b.String("konteringskode", "BYGG-01");
      b.Bool("kunDigitalLevering", false);
      b.Map("mottaker", [&] {
        b.Map("digitalId", [&] {
          b.String("type", "NO_FNR");
          b.String("value", "20036914700");
        });
        b.String("navn", "Kari Nordmann");
      });
      b.String("tittel", "Vedtak om byggesak 2026/1234");
    });
    if (i < 100) continue;  // the oldest stay MOTTATT: a search for them scans everything
    for (const char* s : {"AKSEPTERT", "VARSLET", "SENDT_PRINT"}) {
      add(id, "ForsendelseStatusEndret", t + 1000, [&](flexbuffers::Builder& b) {
        b.String("forsendelseId", id);
        b.String("status", s);
      });
    }
    add(id, "PrintKvittering", t + 2000, [&](flexbuffers::Builder& b) {
      b.String("forsendelseId", id);
      b.Int("fargeSider", 0);
      b.Int("konvoluttertAutomatisk", 1);
      b.Int("konvoluttertManuelt", 0);
      b.Int("portoMinor", 2300);
      b.Int("produksjonskostnadMinor", 850);
      b.Int("sorthvitSider", 4);
      b.Int("vektGram", 20);
    });
  }
  std::vector<std::vector<std::byte>> data(bufs.size());
  for (std::size_t i = 0; i < bufs.size(); ++i) {
    data[i].resize(bufs[i].size());
    std::memcpy(data[i].data(), bufs[i].data(), bufs[i].size());
  }
  mp::dispatch_projection p;
  mp::data_reader reader;
  const auto r0 = std::chrono::steady_clock::now();
  std::size_t readable = 0;
  for (std::size_t i = 0; i < meta.size(); ++i) {
    readable += reader.read(muninn::codec::content_type_flexbuffers, data[i]).has_value();
  }
  const auto r1 = std::chrono::steady_clock::now();
  CHECK(readable == meta.size());
  const double read_ns = std::chrono::duration<double, std::nano>(r1 - r0).count() / static_cast<double>(meta.size());
  WARN("data_reader alone: " << read_ns << " ns/event");
  const auto start = std::chrono::steady_clock::now();
  for (std::size_t i = 0; i < meta.size(); ++i) {
    mp::event_view v;
    v.at = {meta[i].partition, meta[i].offset};
    v.time = meta[i].time;
    v.stream = meta[i].stream;
    v.type = meta[i].type;
    const auto root = reader.read(muninn::codec::content_type_flexbuffers, data[i]);
    if (root) {
      v.data = *root;
      v.data_ok = true;
    }
    p.apply(v);
  }
  const auto mid = std::chrono::steady_clock::now();
  mp::record_changes changes;
  p.take_changes(changes);
  const auto end = std::chrono::steady_clock::now();
  const double ns = std::chrono::duration<double, std::nano>(mid - start).count() / static_cast<double>(meta.size());
  const double take_ns = std::chrono::duration<double, std::nano>(end - mid).count() / static_cast<double>(meta.size());
  WARN("apply incl. reading: " << ns << " ns/event over " << meta.size() << " events; take_changes: " << take_ns
                               << " ns/event");
  CHECK(p.anomaly_count() == 0);
  CHECK(p.size() == static_cast<std::size_t>(n));
  (void)q(p, "search", {{"limit", "1"}});  // merges the search order once
  const auto q0 = std::chrono::steady_clock::now();
  CHECK(q(p, "search", {{"status", "MOTTATT"}, {"limit", "1000"}}).find("000000000099") != std::string::npos);
  const auto q1 = std::chrono::steady_clock::now();
  (void)q(p, "search", {{"status", "PRINTET"}, {"limit", "1000"}});
  const auto q2 = std::chrono::steady_clock::now();
  (void)q(p, "stats");
  const auto q3 = std::chrono::steady_clock::now();
  using ms = std::chrono::duration<double, std::milli>;
  const double scan_ms = ms(q1 - q0).count(), page_ms = ms(q2 - q1).count(), stats_ms = ms(q3 - q2).count();
  WARN("search scanning all for 100 at the end: " << scan_ms << " ms; search page of 1000: "
                                                                   << page_ms << " ms; stats: " << stats_ms << " ms");
}

TEST_CASE("dispatch: prepare ahead, then apply_prepared, is apply down to the byte",
          "[projections][dispatch][prepare]") {
  // Legal histories, illegal steps, orphans and junk; hostile data; then
  // valid forsendelser and hostile steps against them.
  std::vector<ev> events;
  for (auto& part : random_partitions(400, 11)) {
    for (auto& e : part) events.push_back(std::move(e));
  }
  for (auto& e : hostile_events(3000, 5)) {
    e.partition = 9;
    events.push_back(std::move(e));
  }
  writer w;
  for (int i = 1; i <= 3; ++i) events.push_back(w.mottatt(11, at("2026-04-02T10:00:00Z"), uuid(i), mottatt_json(uuid(i))));
  for (auto& e : hostile_events(1000, 6)) {
    e.partition = 10;
    events.push_back(std::move(e));
  }
  // Each fault the data can have, once more on a known forsendelse.
  const std::string id = uuid(1);
  events.push_back(w.status(11, at("2026-04-02T10:01:00Z"), id, "AKSEPTERT"));
  events.push_back(w.status(11, at("2026-04-02T10:02:00Z"), id, "VARSLET", "Varsel sendt"));
  events.push_back(w.status(11, at("2026-04-02T10:03:00Z"), id, "NONSENSE"));
  events.push_back(w.make(11, at("2026-04-02T10:04:00Z"), id, "ForsendelseStatusEndret",
                          R"({"forsendelseId":")" + id + R"(","status":"LEST","detalj":7})"));
  events.push_back(w.make(11, at("2026-04-02T10:05:00Z"), id, "PrintKvittering", print_json(id, -1)));
  events.push_back(w.make(11, at("2026-04-02T10:06:00Z"), id, "Ukjent", R"({"forsendelseId":")" + id + R"("})"));
  events.push_back(w.status(11, at("2026-04-02T10:07:00Z"), id, "SENDT_PRINT"));
  events.push_back(w.print(11, at("2026-04-02T10:08:00Z"), id));
  events.push_back(w.mottatt(11, at("2026-04-02T10:09:00Z"), uuid(4),
                             mottatt_json(uuid(4), "Oslo kommune", "",
                                          R"("digitalId":{"type":"NO_FNR","value":"20036914701"},)")));
  events.push_back(w.make(11, at("2026-04-02T10:10:00Z"), "X3F6C1D2E-8A4B-4C5D-9E6F-7A8B9C0D1E2F",
                          "ForsendelseStatusEndret", status_json("3F6C1D2E-8A4B-4C5D-9E6F-7A8B9C0D1E2F", "LEST")));

  mp::dispatch_projection plain;
  for (const auto& e : events) apply(plain, e);
  REQUIRE(plain.size() > 300);
  REQUIRE(plain.anomaly_count() > 1000);
  mp::record_changes expected;
  plain.take_changes(expected);
  std::vector<std::pair<std::string, std::string>> expected_records;
  for (const auto& c : expected) expected_records.emplace_back(c.key, c.value ? std::string(*c.value) : "-");

  for (const std::size_t chunk : {std::size_t{1}, std::size_t{7}, std::size_t{500}, events.size()}) {
    INFO("chunks of " << chunk);
    mp::dispatch_projection split;
    apply_prepared_chunks(split, events, chunk);
    CHECK(split.anomaly_count() == plain.anomaly_count());
    CHECK(mp::state_digest(split) == mp::state_digest(plain));
    CHECK(answers(split) == answers(plain));
    mp::record_changes changes;
    split.take_changes(changes);
    std::vector<std::pair<std::string, std::string>> records;
    for (const auto& c : changes) records.emplace_back(c.key, c.value ? std::string(*c.value) : "-");
    CHECK(records == expected_records);
  }
}
