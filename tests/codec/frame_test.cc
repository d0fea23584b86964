#include <catch2/catch.hpp>

#include <stdexcept>

#include "codec/crc32c.h"
#include "codec/frame.h"
#include "tests/codec/helpers.h"

using namespace muninn::codec;
using muninn::codec::test::as_bytes;
using muninn::codec::test::random_bytes;

namespace {

std::vector<std::byte> header_with_length(std::uint32_t length) {
  std::vector<std::byte> h(frame_header_bytes, std::byte{0});
  for (int i = 0; i < 4; ++i) h[i] = static_cast<std::byte>(length >> (8 * i));
  return h;
}

}  // namespace

TEST_CASE("frame: encode then decode gives the payload back", "[codec][frame]") {
  const auto payload = random_bytes(300, 1);
  const auto frame = encode_frame(payload);
  REQUIRE(frame.size() == frame_header_bytes + payload.size());
  const auto v = decode_frame(frame);
  REQUIRE(v.status == decode_status::frame);
  CHECK(v.error == errc::ok);
  CHECK(v.consumed == frame.size());
  CHECK(std::equal(v.payload.begin(), v.payload.end(), payload.begin(), payload.end()));
  CHECK(v.payload.data() == frame.data() + frame_header_bytes);  // a view, not a copy
}

TEST_CASE("frame: header is little-endian length then CRC32C of the payload",
          "[codec][frame]") {
  const auto frame = encode_frame(as_bytes("123456789"));
  const std::uint8_t expected[8] = {9, 0, 0, 0, 0x83, 0x92, 0x06, 0xE3};
  for (int i = 0; i < 8; ++i) CHECK(std::to_integer<std::uint8_t>(frame[i]) == expected[i]);

  std::array<std::byte, frame_header_bytes> header;
  write_frame_header(header, as_bytes("123456789"));
  CHECK(std::equal(header.begin(), header.end(), frame.begin()));
}

TEST_CASE("frame: every truncation of a frame is need_more", "[codec][frame]") {
  const auto frame = encode_frame(random_bytes(40, 2));
  for (std::size_t n = 0; n < frame.size(); ++n) {
    const auto v = decode_frame(std::span<const std::byte>(frame).first(n));
    INFO("length " << n);
    REQUIRE(v.status == decode_status::need_more);
    CHECK(v.consumed == 0);
  }
}

TEST_CASE("frame: a flipped payload bit is a checksum error", "[codec][frame]") {
  const auto good = encode_frame(random_bytes(64, 3));
  for (std::size_t i = frame_header_bytes; i < good.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      auto bad = good;
      bad[i] ^= static_cast<std::byte>(1u << bit);
      const auto v = decode_frame(bad);
      INFO("byte " << i << " bit " << bit);
      REQUIRE(v.status == decode_status::error);
      REQUIRE(v.error == errc::checksum_mismatch);
    }
  }
}

TEST_CASE("frame: a flipped CRC bit in the header is a checksum error", "[codec][frame]") {
  const auto good = encode_frame(random_bytes(64, 4));
  for (std::size_t i = 4; i < 8; ++i) {
    auto bad = good;
    bad[i] ^= std::byte{0x10};
    const auto v = decode_frame(bad);
    REQUIRE(v.status == decode_status::error);
    CHECK(v.error == errc::checksum_mismatch);
  }
}

TEST_CASE("frame: zero length is an empty_frame error", "[codec][frame]") {
  const auto v = decode_frame(header_with_length(0));
  REQUIRE(v.status == decode_status::error);
  CHECK(v.error == errc::empty_frame);
  CHECK_THROWS_AS(encode_frame({}), std::length_error);
}

TEST_CASE("frame: a payload of exactly max_payload decodes, one byte more is frame_too_large",
          "[codec][frame]") {
  constexpr std::uint32_t limit = 100;
  const auto at = encode_frame(random_bytes(limit, 5));
  CHECK(decode_frame(at, limit).status == decode_status::frame);

  const auto over = encode_frame(random_bytes(limit + 1, 5));
  const auto v = decode_frame(over, limit);
  REQUIRE(v.status == decode_status::error);
  CHECK(v.error == errc::frame_too_large);
}

TEST_CASE("frame: the default limit is max_frame_payload_bytes exactly", "[codec][frame]") {
  std::vector<std::byte> at(frame_header_bytes + max_frame_payload_bytes, std::byte{0x5A});
  std::array<std::byte, frame_header_bytes> header;
  write_frame_header(header, std::span<const std::byte>(at).subspan(frame_header_bytes));
  std::copy(header.begin(), header.end(), at.begin());
  const auto ok = decode_frame(at);
  REQUIRE(ok.status == decode_status::frame);
  CHECK(ok.payload.size() == max_frame_payload_bytes);

  const auto v = decode_frame(header_with_length(max_frame_payload_bytes + 1));
  REQUIRE(v.status == decode_status::error);
  CHECK(v.error == errc::frame_too_large);
  CHECK_THROWS_AS(encode_frame(std::span<const std::byte>(at.data(), max_frame_payload_bytes + 1)),
                  std::length_error);
}

TEST_CASE("frame: an oversized length is refused from the header alone, before the payload",
          "[codec][frame]") {
  const auto v = decode_frame(header_with_length(0xFFFFFFFFu));
  REQUIRE(v.status == decode_status::error);
  CHECK(v.error == errc::frame_too_large);
}

TEST_CASE("frame: a caller limit above the hard limit is clamped to it", "[codec][frame]") {
  const auto v = decode_frame(header_with_length(max_frame_payload_bytes + 1), 0xFFFFFFFFu);
  REQUIRE(v.status == decode_status::error);
  CHECK(v.error == errc::frame_too_large);
}

TEST_CASE("frame: back-to-back frames decode one by one, trailing partial is need_more",
          "[codec][frame]") {
  std::vector<std::byte> stream;
  std::vector<std::vector<std::byte>> payloads;
  for (std::uint64_t i = 1; i <= 5; ++i) {
    payloads.push_back(random_bytes(i * 13, i));
    const auto f = encode_frame(payloads.back());
    stream.insert(stream.end(), f.begin(), f.end());
  }
  const auto partial = encode_frame(random_bytes(20, 99));
  stream.insert(stream.end(), partial.begin(), partial.begin() + 12);

  std::span<const std::byte> rest(stream);
  for (const auto& p : payloads) {
    const auto v = decode_frame(rest);
    REQUIRE(v.status == decode_status::frame);
    CHECK(std::equal(v.payload.begin(), v.payload.end(), p.begin(), p.end()));
    rest = rest.subspan(v.consumed);
  }
  CHECK(rest.size() == 12);
  CHECK(decode_frame(rest).status == decode_status::need_more);
}

TEST_CASE("frame: decoding stops at the span's end even when more bytes follow in memory",
          "[codec][frame]") {
  // The payload's last byte lies just outside the span; a decoder that read
  // past the span would find a whole, valid frame.
  const auto frame = encode_frame(random_bytes(16, 6));
  const auto v = decode_frame(std::span<const std::byte>(frame.data(), frame.size() - 1));
  CHECK(v.status == decode_status::need_more);
}

TEST_CASE("frame: crc32c_of_frames equals the CRC of the frames' bytes and catches a changed payload",
          "[codec][frame]") {
  std::vector<std::byte> frames;
  for (std::size_t n : {1u, 200u, 4096u, 33u}) {
    const auto f = encode_frame(random_bytes(n, n));
    frames.insert(frames.end(), f.begin(), f.end());
  }
  const auto prefix = random_bytes(17, 9);
  const std::uint32_t start = crc32c(prefix);
  for (auto mode : {payload_crcs::trust, payload_crcs::check}) {
    const auto c = crc32c_of_frames(frames, start, mode);
    REQUIRE(c);
    CHECK(*c == crc32c(frames, start));
  }
  CHECK(crc32c_of_frames({}, start, payload_crcs::check) == start);

  auto damaged = frames;
  damaged[frame_header_bytes + 0] ^= std::byte{1};  // inside the first payload
  CHECK_FALSE(crc32c_of_frames(damaged, 0, payload_crcs::check));
  // Trusting the stored CRCs cannot see it; that mode is for verified frames only.
  CHECK(crc32c_of_frames(damaged, 0, payload_crcs::trust) == crc32c_of_frames(frames, 0, payload_crcs::trust));

  auto cut = frames;
  cut.pop_back();
  CHECK_FALSE(crc32c_of_frames(cut, 0, payload_crcs::trust));
  CHECK_FALSE(crc32c_of_frames(cut, 0, payload_crcs::check));
  const auto empty_frame = header_with_length(0);
  CHECK_FALSE(crc32c_of_frames(empty_frame, 0, payload_crcs::check));
}
