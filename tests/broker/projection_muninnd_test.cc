// Projections in the muninnd executable: SIGKILL in the middle of
// projecting a generated scenario, restart, and the projection resumes to exactly the digest of
// an independent rebuild from offset 0; queries over the protocol and HTTP;
// the lag in /metrics.
#include <catch2/catch.hpp>

#include <chrono>
#include <string>
#include <thread>

#include "bench/gen/generator.h"
#include "broker/projections/feed.h"
#include "broker/projections/registry.h"
#include "broker/topics.h"
#include "codec/protocol_generated.h"
#include "codec/sha256.h"
#include "tests/broker/muninnd_process.h"
#include "tests/broker/projection_helpers.h"

using namespace muninn;
using muninn::test::muninnd_process;

namespace {

struct status_view {
  std::uint64_t applied = 0;
  std::uint64_t heads = 0;
  std::uint64_t checkpoint = 0;
  codec::hash256 digest{};
  bool rebuilding = false;
};

std::uint64_t sum(const flatbuffers::Vector<std::uint64_t>* v) {
  std::uint64_t n = 0;
  if (v) {
    for (auto x : *v) n += x;
  }
  return n;
}

status_view status(std::uint16_t port, const std::string& name) {
  flatbuffers::FlatBufferBuilder b;
  auto req = fb::CreateProjectionStatusRequest(b, b.CreateString(name));
  b.Finish(fb::CreateRequest(b, 1, fb::RequestBody::ProjectionStatusRequest, req.Union()));
  auto payload = test::roundtrip(port, b);
  const auto* resp = flatbuffers::GetRoot<fb::Response>(payload.data());
  REQUIRE(resp->body_type() == fb::ResponseBody::ProjectionStatusResponse);
  const auto* s = resp->body_as_ProjectionStatusResponse();
  REQUIRE(s->error() == nullptr);
  REQUIRE(s->projections()->size() == 1);
  const auto* info = s->projections()->Get(0);
  REQUIRE(info->error() == nullptr);
  status_view out;
  out.applied = sum(info->applied());
  out.heads = sum(info->heads());
  out.checkpoint = sum(info->checkpoint());
  std::copy_n(info->digest()->b()->data(), 32, out.digest.begin());
  out.rebuilding = info->rebuilding();
  return out;
}

std::string query(std::uint16_t port, const std::string& projection, const std::string& what,
                  std::vector<std::pair<std::string, std::string>> params, std::string* error = nullptr) {
  flatbuffers::FlatBufferBuilder b;
  std::vector<flatbuffers::Offset<fb::QueryParam>> ps;
  for (const auto& [k, v] : params) ps.push_back(fb::CreateQueryParam(b, b.CreateString(k), b.CreateString(v)));
  auto req = fb::CreateProjectionQueryRequest(b, b.CreateString(projection), b.CreateString(what), b.CreateVector(ps));
  b.Finish(fb::CreateRequest(b, 2, fb::RequestBody::ProjectionQueryRequest, req.Union()));
  auto payload = test::roundtrip(port, b);
  const auto* resp = flatbuffers::GetRoot<fb::Response>(payload.data());
  REQUIRE(resp->body_type() == fb::ResponseBody::ProjectionQueryResponse);
  const auto* q = resp->body_as_ProjectionQueryResponse();
  if (q->error()) {
    if (error) *error = q->error()->message()->str();
    return {};
  }
  return q->json()->str();
}

// The digest of dispatch-status rebuilt here, from offset 0, with the pure
// code alone: what an auditor would compute.
codec::hash256 independent_digest(const std::string& data) {
  auto topics = broker::topic_registry::open(data, {});
  REQUIRE(topics);
  auto t = (*topics)->find("forsendelser");
  REQUIRE(t);
  auto config = projections::projection_config("dispatch-status", {});
  REQUIRE(config);
  auto p = projections::make_projection("dispatch-status", *config);
  REQUIRE(p);
  projections::feeder feed;
  for (std::uint32_t part = 0; part < t->partitions(); ++part) {
    auto& log = t->partition(part);
    for (std::uint64_t at = 0; at < log.head();) {
      auto chunk = log.read(at, 4u << 20);
      REQUIRE(chunk);
      for (const auto& b : chunk->batches) {
        feed.apply_batch(**p, part, *b.batch.batch, at, b.base_offset + b.count);
        at = b.base_offset + b.count;
      }
    }
  }
  const auto d = projections::state_digest(**p);
  (*topics)->close();
  return d;
}

}  // namespace

TEST_CASE("muninnd: SIGKILL while projecting; after restart the projection resumes to the rebuilt digest",
          "[broker][projections][muninnd]") {
  test::temp_dir dir;
  const std::string data = dir.path.string();
  // A generated scenario (with its share of anomalies) plus the README's
  // example letter: a few checkpoints' worth of events.
  constexpr std::uint64_t generated = 240'000;
  {
    auto topics = broker::topic_registry::open(data, {});
    REQUIRE(topics);
    gen::options go;
    go.kind = gen::domain::dispatch;
    go.seed = 11;
    go.count = generated;
    gen::scenario scenario(go);
    std::vector<std::string> lines = test::forsendelse_lines(42);
    for (std::string line; scenario.next_line(line);) lines.push_back(line);
    test::append_bulk(*(*topics)->find("forsendelser"), lines);
    (*topics)->close();
  }
  const std::uint64_t total = generated + 4;

  // Kill it once it has applied something but not everything. A fast
  // machine may finish before the first look: then the store is dropped and
  // the next attempt kills sooner.
  bool killed_mid = false;
  for (int attempt = 0; attempt < 5 && !killed_mid; ++attempt) {
    std::filesystem::remove_all(data + "/projections");
    muninnd_process broker(data);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    for (;;) {
      const auto s = status(broker.port, "dispatch-status");
      if (s.applied > 0 && s.applied < total) {
        if (attempt > 0 || s.checkpoint > 0) {
          broker.stop(SIGKILL);
          killed_mid = true;
          break;
        }
      }
      if (s.applied == total) break;
      REQUIRE(std::chrono::steady_clock::now() < deadline);
    }
  }
  REQUIRE(killed_mid);

  muninnd_process broker(data);
  status_view s;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  do {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    s = status(broker.port, "dispatch-status");
    REQUIRE(std::chrono::steady_clock::now() < deadline);
  } while (s.applied < total);
  CHECK(s.heads == total);

  // Queries over the protocol and HTTP give the same JSON.
  const std::string id = "3f6c1d2e-8a4b-4c5d-9e6f-000000000042";
  const auto json = query(broker.port, "dispatch-status", "get", {{"id", id}});
  CHECK(json.find("\"LEST\"") != std::string::npos);
  const auto http = test::http_get(broker.http_port, "/api/forsendelser/" + id);
  CHECK(http.find("200 OK") != std::string::npos);
  CHECK(http.substr(http.find("\r\n\r\n") + 4) == json);
  std::string error;
  CHECK(query(broker.port, "dispatch-status", "due", {{"at", "not a time"}}, &error).empty());
  CHECK(error.find("at") != std::string::npos);
  CHECK(test::http_get(broker.http_port, "/api/forsendelser/due?at=not-a-time").find("400 Bad Request") !=
        std::string::npos);
  CHECK(test::http_get(broker.http_port, "/api/no-such-thing").find("404 Not Found") != std::string::npos);
  const auto metrics = test::http_get(broker.http_port, "/metrics");
  CHECK(metrics.find("muninn_projection_lag_events{projection=\"dispatch-status\"} 0") != std::string::npos);

  const auto served = s.digest;
  CHECK(broker.stop(SIGTERM) == 0);
  CHECK(independent_digest(data) == served);
}
