#include <catch2/catch.hpp>

#include "codec/crc32c.h"
#include "tests/codec/helpers.h"

using namespace muninn::codec;
using muninn::codec::test::as_bytes;
using muninn::codec::test::random_bytes;

TEST_CASE("crc32c: known vector 123456789 gives 0xE3069283 on both paths", "[codec][crc32c]") {
  CHECK(crc32c(as_bytes("123456789")) == 0xE3069283u);
  CHECK(crc32c_portable(as_bytes("123456789")) == 0xE3069283u);
}

TEST_CASE("crc32c: RFC 3720 test vectors", "[codec][crc32c]") {
  std::vector<std::byte> zeros(32, std::byte{0});
  std::vector<std::byte> ones(32, std::byte{0xFF});
  std::vector<std::byte> ascending(32);
  for (std::size_t i = 0; i < 32; ++i) ascending[i] = static_cast<std::byte>(i);
  for (auto* fn : {&crc32c, &crc32c_portable}) {
    CHECK(fn(zeros, 0) == 0x8A9136AAu);
    CHECK(fn(ones, 0) == 0x62A8AB43u);
    CHECK(fn(ascending, 0) == 0x46DD794Eu);
    CHECK(fn({}, 0) == 0u);
  }
}

TEST_CASE("crc32c: hardware and portable agree on random data at every length and offset",
          "[codec][crc32c]") {
  if (!crc32c_hardware_available()) {
    WARN("no SSE4.2 on this CPU: only the portable path is exercised");
  }
  const auto data = random_bytes(4096 + 16, 42);
  const std::span<const std::byte> all(data);
  for (std::size_t offset = 0; offset < 8; ++offset) {
    for (std::size_t len = 0; len <= 300; ++len) {
      const auto s = all.subspan(offset, len);
      REQUIRE(crc32c(s) == crc32c_portable(s));
    }
  }
  // Past 3 x 256 and 3 x 8192 bytes the hardware path runs three streams
  // and joins them: lengths on and around those block edges.
  for (std::size_t len : {767u, 768u, 769u, 775u, 776u, 1536u, 1543u, 24'575u, 24'576u, 24'577u, 24'583u,
                          25'344u, 49'152u, 49'160u, 50'000u, 200'003u}) {
    const auto d = random_bytes(len + 8, len);
    for (std::size_t offset : {0u, 3u}) {
      const auto s = std::span<const std::byte>(d).subspan(offset, len);
      REQUIRE(crc32c(s, 0x1234u) == crc32c_portable(s, 0x1234u));
    }
  }
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    const auto big = random_bytes(4096 + seed * 37, seed);
    REQUIRE(crc32c(big, static_cast<std::uint32_t>(seed)) ==
            crc32c_portable(big, static_cast<std::uint32_t>(seed)));
  }
}

TEST_CASE("crc32c: extending a checksum equals checksumming the concatenation",
          "[codec][crc32c]") {
  const auto data = random_bytes(1000, 7);
  const std::span<const std::byte> all(data);
  for (std::size_t cut : {0u, 1u, 7u, 8u, 9u, 500u, 999u, 1000u}) {
    CHECK(crc32c(all.subspan(cut), crc32c(all.first(cut))) == crc32c(all));
    CHECK(crc32c_portable(all.subspan(cut), crc32c_portable(all.first(cut))) == crc32c(all));
  }
}

TEST_CASE("crc32c: combine gives the checksum of the concatenation from the two checksums",
          "[codec][crc32c]") {
  const auto data = random_bytes(70'000, 11);
  const std::span<const std::byte> all(data);
  for (std::size_t cut : {0u, 1u, 7u, 8u, 9u, 500u, 4096u, 65'537u, 69'999u, 70'000u}) {
    const auto a = all.first(cut), b = all.subspan(cut);
    CHECK(crc32c_combine(crc32c(a), crc32c(b), b.size()) == crc32c(all));
  }
  // A flipped byte in either part changes the combined checksum.
  auto bad = data;
  bad[60'000] ^= std::byte{1};
  const std::span<const std::byte> bad_all(bad);
  CHECK(crc32c_combine(crc32c(bad_all.first(500)), crc32c(bad_all.subspan(500)), bad.size() - 500) != crc32c(all));
}
