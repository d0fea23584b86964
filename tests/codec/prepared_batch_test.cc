// Prepared batches (codec/batch.h): encoded before their place in the log is
// known, filled in and sealed later. The log relies on them being byte for
// byte what batch_builder makes with the final values, so the on-disk
// format cannot drift between the two ways of building.
#include <catch2/catch.hpp>

#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "codec/prepared_batch.h"
#include "codec/batch_generated.h"
#include "codec/frame.h"
#include "tests/codec/helpers.h"

using namespace muninn::codec;
using muninn::codec::test::event_set;

namespace {

std::vector<std::byte> built(const event_set& s, const batch_builder::header& h, hash256& hash) {
  batch_builder b;
  const auto f = b.build(h, s.events, s.versions, hash);
  return {f.begin(), f.end()};
}

std::vector<std::byte> prepared(const event_set& s, const batch_builder::header& h, hash256& hash) {
  auto p = prepare_batch(s.events, h.producer_id, h.producer_seq);
  p.assign(h.base_offset, h.commit_time, s.versions);
  hash = p.seal(h.prev_hash);
  const auto f = p.frame();
  CHECK(reinterpret_cast<std::uintptr_t>(f.data() + frame_header_bytes) % 8 == 0);
  return {f.begin(), f.end()};
}

}  // namespace

TEST_CASE("prepared batch: filled in and sealed, it is byte for byte the batch built with its values",
          "[codec][batch][prepared]") {
  struct variant {
    const char* name;
    event_set events;
    batch_builder::header h;
  };
  std::vector<variant> variants(5);
  variants[0].name = "one event, no business time, no producer";
  variants[0].events.add("s", "T", "{}");
  variants[1].name = "times set on some events, producer id and sequence";
  variants[1].events.add("forsendelse-1", "Sendt", R"({"a":1})", 1'700'000'000'000'000);
  variants[1].events.add("forsendelse-1", "Levert", "");
  variants[1].events.add("reskontra-9", "Postert", std::string(333, 'x'), 1'600'000'000'000'000);
  variants[1].h.producer_id = "producer-a";
  variants[1].h.producer_seq = 77;
  variants[2].name = "every time set, none of them the commit time";
  for (int i = 0; i < 7; ++i) variants[2].events.add("st-" + std::to_string(i % 3), "T", std::string(std::size_t(i) * 5, 'd'), 1000 + i);
  variants[3].name = "no content type, expected versions, large values";
  for (int i = 0; i < 40; ++i) {
    auto& e = variants[3].events.add("stream-" + std::to_string(i), "Type" + std::to_string(i), std::string(std::size_t(i), 'q'));
    e.content_type = "";
    e.expected_version = i % 3 == 0 ? expect_no_stream : i;
  }
  variants[4].name = "no events";
  std::int64_t base = 0;
  for (auto& v : variants) {
    v.h.base_offset = 0x0102030405060708ull + std::uint64_t(base);
    v.h.commit_time = 1'650'000'000'000'000 + base;
    for (std::size_t i = 0; i < v.h.prev_hash.size(); ++i) v.h.prev_hash[i] = std::uint8_t(i * 7 + base);
    for (std::size_t i = 0; i < v.events.versions.size(); ++i) v.events.versions[i] = std::int64_t(i * 1000 + 3);
    ++base;
  }
  for (const auto& v : variants) {
    INFO(v.name);
    hash256 h1{}, h2{};
    const auto a = built(v.events, v.h, h1);
    const auto b = prepared(v.events, v.h, h2);
    CHECK(h1 == h2);
    REQUIRE(a == b);
    const auto fv = decode_frame(b);
    REQUIRE(fv.status == decode_status::frame);
    const auto vb = verify_batch(fv.payload);
    REQUIRE(vb);
    CHECK(check_hash(*vb));
  }
}

TEST_CASE("prepared batch: a second assign replaces the first everywhere", "[codec][batch][prepared]") {
  event_set s;
  s.add("a", "T", "x");
  s.add("b", "T", "y", 5);
  batch_builder::header h;
  h.base_offset = 42;
  h.commit_time = 9;
  h.prev_hash[0] = 1;
  auto p = prepare_batch(s.events);
  const std::vector<std::int64_t> wrong{7, 8};
  p.assign(1, 2, wrong);
  p.assign(h.base_offset, h.commit_time, s.versions);
  const auto hash = p.seal(h.prev_hash);
  hash256 expected{};
  const auto a = built(s, h, expected);
  CHECK(hash == expected);
  const auto f = p.frame();
  CHECK(std::vector<std::byte>(f.begin(), f.end()) == a);
}

TEST_CASE("prepared batch: a version count different from the event count is a programming error",
          "[codec][batch][prepared]") {
  event_set s;
  s.add("a", "T", "x");
  auto p = prepare_batch(s.events);
  const std::vector<std::int64_t> two{0, 1};
  CHECK_THROWS_AS(p.assign(0, 0, two), std::invalid_argument);
}
