#include <catch2/catch.hpp>

#include <algorithm>
#include <set>
#include <thread>
#include <unordered_set>

#include "codec/batch.h"

using namespace muninn::codec;

TEST_CASE("event_id: text form round trips and is lowercase 8-4-4-4-12", "[codec][event_id]") {
  const auto id = event_id::parse("0190A6E0-7A3B-7C4D-8E5F-0123456789AB");
  REQUIRE(id);
  CHECK(id->bytes[0] == 0x01);
  CHECK(id->bytes[15] == 0xAB);
  CHECK(id->to_string() == "0190a6e0-7a3b-7c4d-8e5f-0123456789ab");
  CHECK(event_id::parse(id->to_string()) == id);
}

TEST_CASE("event_id: parse refuses anything but the canonical 36-character form",
          "[codec][event_id]") {
  for (const char* bad : {"", "0190a6e07a3b7c4d8e5f0123456789ab",
                          "0190a6e0-7a3b-7c4d-8e5f-0123456789a",
                          "0190a6e0-7a3b-7c4d-8e5f-0123456789abc",
                          "0190a6e0-7a3b-7c4d-8e5f+0123456789ab",
                          "0190a6e0-7a3b-7c4d-8e5f-0123456789ag",
                          "{0190a6e0-7a3b-7c4d-8e5f-0123456789}",
                          "0190a6e0-7a3b-7c4d-8e5f-01234567 9ab"}) {
    INFO(bad);
    CHECK_FALSE(event_id::parse(bad));
  }
}

TEST_CASE("event_id: nil is all zero bytes", "[codec][event_id]") {
  CHECK(event_id{}.is_nil());
  CHECK(event_id::parse("00000000-0000-0000-0000-000000000000")->is_nil());
  CHECK_FALSE(event_id::parse("00000000-0000-0000-0000-000000000001")->is_nil());
}

TEST_CASE("event_id: generate_v7 sets version 7, RFC variant and the current Unix ms",
          "[codec][event_id]") {
  const auto before_ms = now_micros() / 1000;
  const auto id = event_id::generate_v7();
  const auto after_ms = now_micros() / 1000;
  CHECK((id.bytes[6] >> 4) == 7);
  CHECK((id.bytes[8] >> 6) == 0b10);
  std::int64_t ms = 0;
  for (int i = 0; i < 6; ++i) ms = (ms << 8) | id.bytes[i];
  CHECK(ms >= before_ms);
  CHECK(ms <= after_ms + 1);  // +1: the stamp may be bumped past a stalled clock
  CHECK_FALSE(id.is_nil());
}

TEST_CASE("event_id: generate_v7 ids from one process strictly increase", "[codec][event_id]") {
  std::vector<event_id> ids;
  for (int i = 0; i < 20000; ++i) ids.push_back(event_id::generate_v7());
  for (std::size_t i = 1; i < ids.size(); ++i) {
    // Only the 60-bit time stamp is ordered; compare the first 8 bytes.
    const bool increasing = std::lexicographical_compare(
        ids[i - 1].bytes.begin(), ids[i - 1].bytes.begin() + 8, ids[i].bytes.begin(),
        ids[i].bytes.begin() + 8);
    REQUIRE(increasing);
  }
}

TEST_CASE("event_id: generate_v7 from several threads never repeats", "[codec][event_id]") {
  constexpr int per_thread = 5000;
  std::vector<std::vector<event_id>> out(4);
  std::vector<std::thread> threads;
  for (auto& v : out) {
    threads.emplace_back([&v] {
      for (int i = 0; i < per_thread; ++i) v.push_back(event_id::generate_v7());
    });
  }
  for (auto& t : threads) t.join();
  std::set<event_id> all;
  for (const auto& v : out) all.insert(v.begin(), v.end());
  CHECK(all.size() == out.size() * per_thread);
}

TEST_CASE("event_id: hash spreads ids that differ only in the last byte", "[codec][event_id]") {
  std::unordered_set<std::size_t> hashes;
  event_id id;
  for (int i = 0; i < 256; ++i) {
    id.bytes[15] = static_cast<std::uint8_t>(i);
    hashes.insert(event_id_hash{}(id) & 0xFFFF);  // low bits pick the bucket
  }
  CHECK(hashes.size() > 240);
}
