// Test helper: an in-process stand-in for muninnd on a free loopback port
// that answers each verified Request with whatever the test's handler
// returns (or nothing). Lets tests feed the client and the tool answers a
// real broker would never give (tampered batches, garbage). One thread
// serves connections one after the other; handler runs on it.
#pragma once

#include <atomic>
#include <cstring>
#include <functional>
#include <optional>
#include <thread>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include "codec/frame.h"
#include "codec/protocol_generated.h"

namespace muninn::test {

class fake_broker {
 public:
  using handler = std::function<std::optional<std::vector<std::byte>>(const fb::Request&)>;

  explicit fake_broker(handler h) : handler_(std::move(h)), acceptor_(io_, {boost::asio::ip::make_address("127.0.0.1"), 0}) {
    port_ = acceptor_.local_endpoint().port();
    thread_ = std::thread([this] { serve(); });
  }
  ~fake_broker() {
    stop_ = true;
    boost::system::error_code ec;
    // Wake the accept (or a read) with a connection of our own.
    boost::asio::ip::tcp::socket s(io_);
    s.connect({boost::asio::ip::make_address("127.0.0.1"), port_}, ec);
    s.close(ec);
    if (current_) current_->close(ec);
    thread_.join();
  }
  std::uint16_t port() const { return port_; }

  static std::vector<std::byte> frame_of(flatbuffers::FlatBufferBuilder& b) {
    return codec::encode_frame(std::as_bytes(std::span(b.GetBufferPointer(), b.GetSize())));
  }

 private:
  void serve() {
    while (!stop_) {
      boost::asio::ip::tcp::socket s(io_);
      boost::system::error_code ec;
      acceptor_.accept(s, ec);
      if (ec || stop_) return;
      current_ = &s;
      while (!stop_) {
        std::byte header[codec::frame_header_bytes];
        boost::asio::read(s, boost::asio::buffer(header), ec);
        if (ec) break;
        std::uint32_t len = 0;
        std::memcpy(&len, header, 4);
        if (len == 0 || len > (16u << 20)) break;
        std::vector<std::uint64_t> payload((len + 7) / 8);
        boost::asio::read(s, boost::asio::buffer(payload.data(), len), ec);
        if (ec) break;
        flatbuffers::Verifier v(reinterpret_cast<const std::uint8_t*>(payload.data()), len);
        if (!v.VerifyBuffer<fb::Request>(nullptr)) break;
        auto out = handler_(*flatbuffers::GetRoot<fb::Request>(payload.data()));
        if (out) boost::asio::write(s, boost::asio::buffer(*out), ec);
        if (ec) break;
      }
      current_ = nullptr;
    }
  }

  handler handler_;
  boost::asio::io_context io_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  boost::asio::ip::tcp::socket* current_ = nullptr;
  std::thread thread_;
};

}  // namespace muninn::test
