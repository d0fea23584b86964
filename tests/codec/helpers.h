// Shared helpers for the codec tests: byte conversions and a small owner of
// events so test batches can be built from literals. Single-threaded use.
#pragma once

#include <cstddef>
#include <cstdint>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "codec/batch.h"
#include "codec/frame.h"

namespace muninn::codec::test {

inline std::span<const std::byte> as_bytes(std::string_view s) {
  return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

inline std::vector<std::byte> random_bytes(std::size_t n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<std::byte> v(n);
  for (auto& b : v) b = static_cast<std::byte>(rng());
  return v;
}

inline event_id id_from(std::uint8_t n) {
  event_id id;
  id.bytes[0] = 0x01;
  id.bytes[15] = n;
  return id;
}

// Owns the bytes behind a list of event_in views.
struct event_set {
  std::vector<std::string> strings;
  std::vector<event_in> events;
  std::vector<std::int64_t> versions;

  event_set() { strings.reserve(1024); }  // views into `strings` must stay put

  std::string_view keep(std::string s) { return strings.emplace_back(std::move(s)); }

  event_in& add(std::string stream, std::string type, std::string data, std::int64_t time = 0) {
    event_in e;
    e.stream = keep(std::move(stream));
    e.type = keep(std::move(type));
    e.id = id_from(static_cast<std::uint8_t>(events.size() + 1));
    e.time = time;
    e.content_type = content_type_json;
    e.data = as_bytes(keep(std::move(data)));
    events.push_back(e);
    versions.push_back(static_cast<std::int64_t>(events.size()) - 1);
    return events.back();
  }
};

// Builds `set` into a frame and returns a copy of its payload (owned, so
// tests can corrupt it).
inline std::vector<std::byte> build_payload(const event_set& set,
                                            const batch_builder::header& h = {},
                                            hash256* hash_out = nullptr) {
  batch_builder b;
  hash256 hash{};
  const auto frame = b.build(h, set.events, set.versions, hash);
  if (hash_out) *hash_out = hash;
  const auto payload = frame.subspan(frame_header_bytes);
  return {payload.begin(), payload.end()};
}

}  // namespace muninn::codec::test
