// Projection queries, status and rebuild: the client's wire code against a
// fake broker (every field, typed errors), then the client and the muninn
// tool against a real muninnd (`--json` is the client's answer byte for byte,
// the human rendering, usage errors, rebuild --wait).
#include <catch2/catch.hpp>

#include <cstring>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "clients/client.h"
#include "clients/protocol.h"
#include "codec/frame.h"
#include "tests/clients/fake_broker.h"
#include "tests/clients/projection_helpers.h"

namespace fb = muninn::fb;
namespace codec = muninn::codec;
namespace test = muninn::test;
namespace mc = muninn::client;

namespace {

const fb::Request* request_of(const mc::frame_bytes& frame, std::vector<std::uint64_t>& storage) {
  auto f = codec::decode_frame(frame);
  REQUIRE(f.status == codec::decode_status::frame);
  storage.assign((f.payload.size() + 7) / 8, 0);
  std::memcpy(storage.data(), f.payload.data(), f.payload.size());
  flatbuffers::Verifier v(reinterpret_cast<const std::uint8_t*>(storage.data()), f.payload.size());
  REQUIRE(v.VerifyBuffer<fb::Request>(nullptr));
  return flatbuffers::GetRoot<fb::Request>(storage.data());
}

std::string param(const fb::ProjectionQueryRequest& q, const std::string& name) {
  if (!q.params()) return "<none>";
  for (const auto* p : *q.params())
    if (p->name()->str() == name) return p->value()->str();
  return "<absent>";
}

codec::hash256 test_digest() {
  codec::hash256 h{};
  for (std::size_t i = 0; i < h.size(); ++i) h[i] = static_cast<std::uint8_t>(i * 7 + 1);
  return h;
}

// Answers status with one made-up projection, queries with the query's
// name and parameters echoed as JSON, rebuild of "busy" with an Error.
test::fake_broker::handler projection_fake() {
  return [](const fb::Request& req) -> std::optional<std::vector<std::byte>> {
    flatbuffers::FlatBufferBuilder b;
    const auto corr = req.correlation_id();
    auto status_response = [&] {
      const auto h = test_digest();
      const fb::Hash256 digest(flatbuffers::span<const std::uint8_t, 32>(h.data(), 32));
      std::vector<std::uint64_t> applied{5, 0, 7}, heads{6, 0, 7}, checkpoint{4, 0, 7};
      std::vector<flatbuffers::Offset<fb::QueryParam>> config{fb::CreateQueryParamDirect(b, "deadline_working_hours", "40")};
      std::vector<flatbuffers::Offset<fb::ProjectionInfo>> infos{fb::CreateProjectionInfoDirect(
          b, "dispatch-status", "forsendelser", &applied, &heads, &checkpoint, &digest, &config, true, 3, 2, "")};
      b.Finish(fb::CreateResponse(b, corr, fb::ResponseBody::ProjectionStatusResponse,
                                  fb::CreateProjectionStatusResponseDirect(b, &infos).Union()));
    };
    switch (req.body_type()) {
      case fb::RequestBody::ProjectionStatusRequest: status_response(); break;
      case fb::RequestBody::ProjectionRebuildRequest:
        if (req.body_as_ProjectionRebuildRequest()->projection()->str() == "busy") {
          auto e = fb::CreateErrorDirect(b, fb::ErrorCode::too_many_requests, "a rebuild is running");
          b.Finish(fb::CreateResponse(b, corr, fb::ResponseBody::Error, e.Union()));
        } else {
          status_response();
        }
        break;
      case fb::RequestBody::ProjectionQueryRequest: {
        const auto* q = req.body_as_ProjectionQueryRequest();
        if (q->query()->str() == "get" && param(*q, "id") == "missing") {
          auto e = fb::CreateErrorDirect(b, fb::ErrorCode::not_found, "no forsendelse missing");
          b.Finish(fb::CreateResponse(b, corr, fb::ResponseBody::ProjectionQueryResponse,
                                      fb::CreateProjectionQueryResponseDirect(b, nullptr, e).Union()));
          break;
        }
        const std::string json = "{\"projection\":\"" + q->projection()->str() + "\",\"query\":\"" + q->query()->str() +
                                 "\",\"params\":" + std::to_string(q->params() ? q->params()->size() : 0) + "}";
        b.Finish(fb::CreateResponse(b, corr, fb::ResponseBody::ProjectionQueryResponse,
                                    fb::CreateProjectionQueryResponseDirect(b, json.c_str()).Union()));
        break;
      }
      default: return std::nullopt;
    }
    return test::fake_broker::frame_of(b);
  };
}

// The body of `GET target` on the broker's HTTP port (Connection: close).
std::string http_get(std::uint16_t port, const std::string& target) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  const std::string req = "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
  REQUIRE(::write(fd, req.data(), req.size()) == static_cast<ssize_t>(req.size()));
  std::string resp;
  char buf[4096];
  for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) resp.append(buf, static_cast<std::size_t>(n));
  ::close(fd);
  const auto body = resp.find("\r\n\r\n");
  REQUIRE(body != std::string::npos);
  INFO(resp.substr(0, body));
  CHECK(resp.rfind("HTTP/1.1 200", 0) == 0);
  return resp.substr(body + 4);
}

mc::client_options options_for(std::uint16_t port) {
  mc::client_options o;
  o.port = port;
  o.request_timeout = std::chrono::milliseconds(5000);
  return o;
}

}  // namespace

TEST_CASE("client protocol: projection requests carry projection, query and parameters", "[clients][protocol][projections]") {
  std::vector<std::uint64_t> st;
  const std::vector<mc::query_param> params{{"avsender", "Bergen kommune"}, {"limit", "5"}};
  {
    const auto* r = request_of(mc::encode_projection_query(11, "dispatch-status", "search", params), st);
    CHECK(r->correlation_id() == 11);
    REQUIRE(r->body_type() == fb::RequestBody::ProjectionQueryRequest);
    const auto* q = r->body_as_ProjectionQueryRequest();
    CHECK(q->projection()->str() == "dispatch-status");
    CHECK(q->query()->str() == "search");
    REQUIRE(q->params()->size() == 2);
    CHECK(param(*q, "avsender") == "Bergen kommune");
    CHECK(param(*q, "limit") == "5");
  }
  {
    const auto* r = request_of(mc::encode_projection_query(12, "reskontra", "trial-balance", {}), st);
    REQUIRE(r->body_type() == fb::RequestBody::ProjectionQueryRequest);
    CHECK(r->body_as_ProjectionQueryRequest()->params() == nullptr);
  }
  {
    const auto* r = request_of(mc::encode_projection_status(13, ""), st);
    REQUIRE(r->body_type() == fb::RequestBody::ProjectionStatusRequest);
    CHECK(r->body_as_ProjectionStatusRequest()->projection() == nullptr);
    const auto* named = request_of(mc::encode_projection_status(14, "reskontra"), st);
    CHECK(named->body_as_ProjectionStatusRequest()->projection()->str() == "reskontra");
  }
  {
    const auto* r = request_of(mc::encode_projection_rebuild(15, "reskontra"), st);
    REQUIRE(r->body_type() == fb::RequestBody::ProjectionRebuildRequest);
    CHECK(r->body_as_ProjectionRebuildRequest()->projection()->str() == "reskontra");
  }
}

TEST_CASE("client: projection status, query and rebuild decode every field and type their errors", "[clients][projections]") {
  test::fake_broker fake(projection_fake());
  mc::client c(options_for(fake.port()));

  auto s = c.projection_status();
  INFO((s ? std::string() : s.error().describe()));
  REQUIRE(s);
  REQUIRE(s->size() == 1);
  const auto& p = s->front();
  CHECK(p.name == "dispatch-status");
  CHECK(p.topic == "forsendelser");
  CHECK(p.applied == std::vector<std::uint64_t>{5, 0, 7});
  CHECK(p.heads == std::vector<std::uint64_t>{6, 0, 7});
  CHECK(p.checkpoint == std::vector<std::uint64_t>{4, 0, 7});
  CHECK(p.digest == test_digest());
  CHECK(p.config == std::vector<mc::query_param>{{"deadline_working_hours", "40"}});
  CHECK(p.rebuilding);
  CHECK(p.rebuild_applied == 3);
  CHECK(p.anomalies == 2);
  CHECK(p.lag() == 1);
  CHECK(p.applied_total() == 12);
  CHECK(p.to_json().find("\"digest\":\"" + mc::hex(test_digest()) + "\"") != std::string::npos);
  CHECK(p.to_json().find("\"config\":{\"deadline_working_hours\":\"40\"}") != std::string::npos);

  const std::vector<mc::query_param> params{{"at", "2026-11-24T00:00:00Z"}};
  auto q = c.projection_query("dispatch-status", "due", params);
  REQUIRE(q);
  CHECK(*q == "{\"projection\":\"dispatch-status\",\"query\":\"due\",\"params\":1}");

  const std::vector<mc::query_param> missing{{"id", "missing"}};
  auto nf = c.projection_query("dispatch-status", "get", missing);
  REQUIRE_FALSE(nf);
  CHECK(nf.error().kind == mc::error_kind::broker);
  CHECK(nf.error().code == fb::ErrorCode::not_found);
  CHECK(nf.error().message == "no forsendelse missing");

  auto rb = c.projection_rebuild("dispatch-status");
  REQUIRE(rb);
  CHECK(rb->front().rebuilding);
  auto busy = c.projection_rebuild("busy");
  REQUIRE_FALSE(busy);
  CHECK(busy.error().code == fb::ErrorCode::too_many_requests);
  CHECK(busy.error().retryable());
}

TEST_CASE("tool: projection status renders a fake broker's answer, --json one object per projection", "[clients][tool][projections]") {
  test::fake_broker fake(projection_fake());
  test::temp_dir dir;
  const auto err = dir.path() / "stderr";
  const auto tool = (test::bin_dir() / "muninn").string() + " --broker 127.0.0.1:" + std::to_string(fake.port());
  auto human = test::run_command(tool + " projection status 2> " + err.string());
  INFO(test::slurp(err));
  REQUIRE(human.status == 0);
  CHECK(human.out.find("dispatch-status  topic forsendelser  applied 12  lag 1  anomalies 2") != std::string::npos);
  CHECK(human.out.find(mc::hex(test_digest())) != std::string::npos);
  CHECK(human.out.find("rebuilding 3 events applied") != std::string::npos);
  CHECK(human.out.find("deadline_working_hours=40") != std::string::npos);
  auto json = test::run_command(tool + " projection status --json 2> " + err.string());
  REQUIRE(json.status == 0);
  CHECK(json.out.rfind("{\"projection\":\"dispatch-status\",\"topic\":\"forsendelser\",\"applied\":[5,0,7]", 0) == 0);
  CHECK(std::count(json.out.begin(), json.out.end(), '\n') == 1);

  auto busy = test::run_command(tool + " projection rebuild busy 2> " + err.string());
  CHECK(busy.status == 1);
  CHECK(test::slurp(err).find("too_many_requests") != std::string::npos);
  auto usage = test::run_command(tool + " projection rebuild 2> " + err.string());
  CHECK(usage.status == 2);
}

TEST_CASE("tool: every query's --json is the client's answer and the HTTP body byte for byte and renders for people", "[clients][tool][projections]") {
  test::projection_broker t;
  t.produce("forsendelser", test::example_forsendelse());
  t.produce("forsendelser", test::second_forsendelse());
  t.produce("reskontra", test::reskontra_events());
  const auto status = t.wait_caught_up();
  REQUIRE(status.size() == 2);

  struct query_case {
    std::string projection, query;
    std::vector<mc::query_param> params;
    std::string args;      // the same query as the tool's command line
    std::string expected;  // a text the human rendering must show
    std::string http;      // the same query's HTTP target (docs/projections.md)
  };
  const std::string id = "3f6c1d2e-8a4b-4c5d-9e6f-7a8b9c0d1e2f";
  const std::vector<query_case> cases{
      {"dispatch-status", "get", {{"id", id}}, "forsendelse get " + id, "Bergen kommune", "/api/forsendelser/" + id},
      {"dispatch-status", "search", {}, "forsendelse search", "Oslo kommune"},
      {"dispatch-status", "search", {{"avsender", "Oslo kommune"}, {"limit", "1"}},
       "forsendelse search --avsender 'Oslo kommune' --limit 1", "Oslo kommune",
       "/api/forsendelser?avsender=Oslo%20kommune&limit=1"},
      {"dispatch-status", "search", {{"status", "LEST"}}, "forsendelse search --status LEST", "Bergen kommune"},
      {"dispatch-status", "stats", {}, "forsendelse stats", "Oslo kommune", "/api/forsendelser/stats"},
      {"dispatch-status", "due", {{"at", "2030-01-01T00:00:00Z"}}, "forsendelse due --at 2030-01-01T00:00:00Z", "at:",
       "/api/forsendelser/due?at=2030-01-01T00:00:00Z"},
      {"dispatch-status", "anomalies", {}, "forsendelse anomalies", "total: 0"},
      {"reskontra", "party", {{"party", "SE_ORGNR:852929-2040"}}, "reskontra party SE_ORGNR:852929-2040", "CI-1",
       "/api/reskontra/parties/SE_ORGNR:852929-2040"},
      {"reskontra", "party", {{"party", "SE_PNR:19930721-7266"}, {"at", "2026-07-01"}},
       "reskontra party SE_PNR:19930721-7266 --at 2026-07-01", "CI-2"},
      {"reskontra", "trial-balance", {}, "reskontra trial-balance", "1512", "/api/reskontra/trial-balance"},
      {"reskontra", "unallocated", {}, "reskontra unallocated", "PM-2", "/api/reskontra/unallocated"},
      {"reskontra", "overdue", {{"at", "2026-07-01"}}, "reskontra overdue --at 2026-07-01", "CI-2", "/api/reskontra/overdue?at=2026-07-01"},
      {"reskontra", "anomalies", {}, "reskontra anomalies", "", "/api/reskontra/anomalies"},
  };
  for (const auto& qc : cases) {
    INFO(qc.args);
    auto answer = t.c->projection_query(qc.projection, qc.query, qc.params);
    INFO((answer ? *answer : answer.error().describe()));
    REQUIRE(answer);
    auto json = t.run(qc.args + " --json");
    INFO(json.err);
    REQUIRE(json.status == 0);
    CHECK(json.out == *answer + "\n");
    if (!qc.http.empty()) CHECK(http_get(t.broker.http_port(), qc.http) == *answer);
    auto human = t.run(qc.args);
    INFO(human.out);
    REQUIRE(human.status == 0);
    CHECK(human.err.empty());
    CHECK(human.out.find(qc.expected) != std::string::npos);
    CHECK(human.out.rfind("{", 0) != 0);  // rendered, not the JSON itself
  }
}

TEST_CASE("tool: query errors are one line with exit 1, a wrong command line exits 2", "[clients][tool][projections]") {
  test::projection_broker t;
  auto missing = t.run("forsendelse get 00000000-0000-4000-8000-000000000099");
  CHECK(missing.status == 1);
  CHECK(missing.err.find("not_found") != std::string::npos);
  CHECK(std::count(missing.err.begin(), missing.err.end(), '\n') == 1);
  auto bad = t.run("forsendelse search --limit 0");
  CHECK(bad.status == 1);
  CHECK(bad.err.find("invalid_argument") != std::string::npos);
  CHECK(t.run("forsendelse due").status == 2);                     // --at is required
  CHECK(t.run("forsendelse get").status == 2);                     // the id is missing
  CHECK(t.run("forsendelse stats --avsender x").status == 2);      // not an option of stats
  CHECK(t.run("reskontra balance").status == 2);                   // no such query
  CHECK(t.run("audit --topic forsendelser").status == 2);          // --projection missing
}

TEST_CASE("tool: projection status shows lag 0 once caught up and rebuild --wait ends with the same digest", "[clients][tool][projections]") {
  test::projection_broker t;
  t.produce("forsendelser", test::example_forsendelse());
  t.produce("reskontra", test::reskontra_events());
  const auto before = t.wait_caught_up();

  auto status = t.run("projection status dispatch-status");
  INFO(status.err);
  REQUIRE(status.status == 0);
  CHECK(status.out.find("dispatch-status  topic forsendelser  applied 4  lag 0") != std::string::npos);
  CHECK(status.out.find("reskontra") == std::string::npos);
  auto all = t.run("projection status --json");
  REQUIRE(all.status == 0);
  CHECK(std::count(all.out.begin(), all.out.end(), '\n') == 2);
  CHECK(all.out.find("\"lag\":0") != std::string::npos);

  for (const auto& p : before) {
    INFO(p.name);
    auto r = t.run("projection rebuild " + p.name + " --wait --json");
    INFO(r.err);
    REQUIRE(r.status == 0);
    CHECK(r.out.find("\"rebuilding\":false") != std::string::npos);
    CHECK(r.out.find("\"digest\":\"" + mc::hex(p.digest) + "\"") != std::string::npos);
  }
  CHECK(t.run("projection rebuild no-such-projection").status == 1);
}
