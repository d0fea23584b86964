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

extern char** environ;

using namespace muninn;
namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

std::uint16_t free_port() {
  asio::io_context io;
  tcp::acceptor a(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  return a.local_endpoint().port();
}

struct muninnd_process {
  std::string data;
  std::uint16_t port = free_port();
  std::uint16_t http_port = free_port();
  pid_t pid = 0;

  explicit muninnd_process(std::string dir) : data(std::move(dir)) { start(); }
  ~muninnd_process() {
    if (pid > 0) {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
    }
  }
  void start() {
    std::string exe = MUNINND_PATH;
    std::string listen = "127.0.0.1:" + std::to_string(port);
    std::string http = "127.0.0.1:" + std::to_string(http_port);
    std::vector<std::string> args = {exe, "--data", data, "--listen", listen, "--http", http};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    REQUIRE(posix_spawn(&pid, exe.c_str(), nullptr, nullptr, argv.data(), environ) == 0);
    // Ready when it accepts connections.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    for (;;) {
      asio::io_context io;
      tcp::socket s(io);
      boost::system::error_code ec;
      s.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port), ec);
      if (!ec) break;
      REQUIRE(std::chrono::steady_clock::now() < deadline);
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  int stop(int sig) {
    kill(pid, sig);
    int status = 0;
    waitpid(pid, &status, 0);
    pid = 0;
    return status;
  }
};

std::vector<std::byte> roundtrip(std::uint16_t port, flatbuffers::FlatBufferBuilder& b) {
  asio::io_context io;
  tcp::socket s(io);
  s.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  auto frame = codec::encode_frame(std::as_bytes(std::span(b.GetBufferPointer(), b.GetSize())));
  asio::write(s, asio::buffer(frame));
  std::array<std::byte, 8> header{};
  asio::read(s, asio::buffer(header));
  std::uint32_t len = 0;
  for (int i = 0; i < 4; ++i) len |= std::uint32_t(std::to_integer<std::uint8_t>(header[std::size_t(i)])) << (8 * i);
  std::vector<std::byte> payload(len);
  asio::read(s, asio::buffer(payload));
  return payload;
}

std::string http_get(std::uint16_t port, const std::string& target) {
  asio::io_context io;
  tcp::socket s(io);
  s.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  const std::string req = "GET " + target + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
  asio::write(s, asio::buffer(req));
  std::string out;
  boost::system::error_code ec;
  asio::read(s, asio::dynamic_buffer(out), ec);
  return out;
}

}  // namespace

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
