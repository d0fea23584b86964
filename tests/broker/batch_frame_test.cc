// The gathered SubscribeData frame must be the very bytes the copying path
// made (no wire change), and its CRC must come out right from the stored
// frames' CRCs.
#include <catch2/catch.hpp>

#include <random>

#include "broker/batch_frame.h"
#include "codec/crc32c.h"
#include "codec/frame.h"
#include "codec/protocol_generated.h"

using namespace muninn;

namespace {

std::vector<std::byte> stored_frames(const std::vector<std::size_t>& sizes, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<std::byte> out;
  for (auto n : sizes) {
    std::vector<std::byte> payload(n);
    for (auto& b : payload) b = std::byte(rng() & 0xFF);
    auto f = codec::encode_frame(payload);
    out.insert(out.end(), f.begin(), f.end());
  }
  return out;
}

// What server.cc did before batch_frame: copy into a builder, then a frame.
std::vector<std::byte> copying_frame(std::uint64_t corr, std::uint64_t head, const std::vector<std::byte>& stored) {
  flatbuffers::FlatBufferBuilder b;
  b.ForceVectorAlignment(stored.size(), 1, 8);
  auto bytes = b.CreateVector(reinterpret_cast<const std::uint8_t*>(stored.data()), stored.size());
  b.Finish(fb::CreateResponse(b, corr, fb::ResponseBody::SubscribeData, fb::CreateSubscribeData(b, head, bytes).Union()));
  return codec::encode_frame(std::as_bytes(std::span(b.GetBufferPointer(), b.GetSize())));
}

}  // namespace

TEST_CASE("batch_frame: the gathered SubscribeData frame equals the copied one, byte for byte", "[broker][batch_frame]") {
  flatbuffers::FlatBufferBuilder scratch;  // reused across cases, as the server does
  const std::vector<std::vector<std::size_t>> cases = {
      {1}, {7}, {8}, {100}, {25'000, 25'001, 24'999}, {3, 5, 7, 11, 13}, {1u << 20}, {200, 1u << 16, 9}};
  std::uint32_t seed = 1;
  for (const auto& sizes : cases) {
    for (std::uint64_t corr : {1ull, 0x1234'5678'9abcull}) {
      const auto stored = stored_frames(sizes, seed++);
      const auto want = copying_frame(corr, 5'000'000 + seed, stored);
      const auto got = broker::subscribe_data_frame(scratch, corr, 5'000'000 + seed, stored);
      REQUIRE(got.body == stored);
      REQUIRE(got.flatten() == want);
      // And it decodes as a frame (its CRC checks).
      auto f = codec::decode_frame(want);
      REQUIRE(f.status == codec::decode_status::frame);
    }
  }
}

TEST_CASE("batch_frame: the frame CRC follows the stored CRCs it trusts", "[broker][batch_frame]") {
  auto stored = stored_frames({300, 500, 700}, 99);
  REQUIRE(broker::crc_of_verified_frames(stored) == codec::crc32c(stored));
  // A stored frame whose CRC field was changed yields a frame that fails
  // the receiver's CRC check: the derivation reads the stored CRCs, so a
  // log that did not verify them would pass corruption on undetected.
  stored[8 + 300 + 4] ^= std::byte{0x40};  // second frame's CRC field
  flatbuffers::FlatBufferBuilder scratch;
  const auto bad = broker::subscribe_data_frame(scratch, 7, 1, stored).flatten();
  CHECK(codec::decode_frame(bad).status == codec::decode_status::error);
}

TEST_CASE("batch_frame: stored bytes that are not whole frames are refused", "[broker][batch_frame]") {
  auto stored = stored_frames({300}, 3);
  stored.pop_back();
  CHECK_THROWS_AS(broker::crc_of_verified_frames(stored), std::logic_error);
  flatbuffers::FlatBufferBuilder scratch;
  CHECK_THROWS_AS(broker::subscribe_data_frame(scratch, 1, 1, {}), std::logic_error);
}
