// The muninnd executable itself: starts on a data directory, answers
// /healthz, keeps acknowledged events across SIGKILL and restart, and stops
// cleanly with exit 0 on SIGTERM.
#include <catch2/catch.hpp>

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio.hpp>

#include <chrono>
#include <filesystem>
#include <thread>

#include "codec/batch.h"
#include "codec/batch_generated.h"
#include "codec/frame.h"
#include "codec/protocol_generated.h"
#include "codec/stream_hash.h"
#include "tests/broker/muninnd_process.h"

using namespace muninn;
using muninn::test::muninnd_process;
using muninn::test::roundtrip;
using muninn::test::http_get;
namespace asio = boost::asio;
using asio::ip::tcp;

TEST_CASE("muninnd: serves, survives SIGKILL with its data, and stops with exit 0 on SIGTERM", "[broker][muninnd]") {
  std::string tmpl = (std::filesystem::temp_directory_path() / "muninnd-XXXXXX").string();
  const std::string dir = mkdtemp(tmpl.data());
  const std::string stream = "forsendelse-x";
  const auto id = codec::event_id::generate_v7();
  auto produce = [&](std::uint16_t port) {
    flatbuffers::FlatBufferBuilder b;
    const fb::EventId fid(flatbuffers::span<const std::uint8_t, 16>(id.bytes.data(), 16));
    std::vector<flatbuffers::Offset<fb::Event>> evs = {
        fb::CreateEvent(b, b.CreateString(stream), b.CreateString("Opaque"), &fid, -2, -1, 0, b.CreateString("text/plain"))};
    b.Finish(fb::CreateRequest(b, 1, fb::RequestBody::ProduceRequest,
                               fb::CreateProduceRequest(b, b.CreateString("events"), 0, fb::AckMode::durable, 0, 0,
                                                        b.CreateVector(evs)).Union()));
    auto payload = roundtrip(port, b);
    const auto* r = flatbuffers::GetRoot<fb::Response>(payload.data());
    REQUIRE(r->body_as_ProduceResponse()->error() == nullptr);
    const auto* pos = r->body_as_ProduceResponse()->positions()->Get(0);
    return std::pair{pos->offset(), pos->duplicate()};
  };
  {
    muninnd_process m(dir);
    CHECK(http_get(m.http_port, "/healthz").find("200 OK") != std::string::npos);
    CHECK(http_get(m.http_port, "/nope").find("404") != std::string::npos);
    flatbuffers::FlatBufferBuilder b;
    b.Finish(fb::CreateRequest(b, 1, fb::RequestBody::CreateTopicRequest,
                               fb::CreateCreateTopicRequest(b, b.CreateString("events"), 1).Union()));
    roundtrip(m.port, b);
    CHECK(produce(m.port) == std::pair{std::uint64_t{0}, false});
    const auto metrics = http_get(m.http_port, "/metrics");
    CHECK(metrics.find("text/plain; version=0.0.4") != std::string::npos);
    CHECK(metrics.find("muninn_produce_events_total{topic=\"events\"} 1") != std::string::npos);
    CHECK(metrics.find("muninn_partition_head_offset{topic=\"events\",partition=\"0\"} 1") != std::string::npos);
    CHECK(metrics.find("muninn_produce_latency_seconds_count 1") != std::string::npos);
    const int status = m.stop(SIGKILL);
    CHECK(WIFSIGNALED(status));
  }
  {
    muninnd_process m(dir);
    // The acknowledged event is still there: sending it again is a duplicate.
    CHECK(produce(m.port) == std::pair{std::uint64_t{0}, true});
    const int status = m.stop(SIGTERM);
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
  }
  std::filesystem::remove_all(dir);
}
