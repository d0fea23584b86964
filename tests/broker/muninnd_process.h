// A muninnd child process on free loopback ports, for tests of the
// executable itself, plus one-shot protocol and HTTP round trips.
#pragma once

#include <catch2/catch.hpp>

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio.hpp>

#include <array>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "codec/frame.h"

extern char** environ;

namespace muninn::test {

namespace asio = boost::asio;
using asio::ip::tcp;


inline std::uint16_t free_port() {
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

inline std::vector<std::byte> roundtrip(std::uint16_t port, flatbuffers::FlatBufferBuilder& b) {
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

inline std::string http_get(std::uint16_t port, const std::string& target) {
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

}  // namespace muninn::test
