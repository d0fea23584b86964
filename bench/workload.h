// The events the storage benchmark appends: stream names, random data and a
// pool of UUIDv7 ids made before the timed runs. Shared by the log producers,
// the single-event appends, the strace probe and the raw writes' payloads.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "bench/storage_common.h"
#include "codec/batch.h"

namespace muninn::bench::storage_bench {

// Stream names, a pool of random bytes the events' data is cut from, and a
// pool of UUIDv7 ids made with event_id::generate_v7() before the timed runs.
// Ids are made ahead so that generate_v7() (its cost is printed) does not
// compete with the log for the two cores; in production the ids come from
// the clients. Every partition is fresh, so each run may use the pool from
// its start again: call restart() before a run. A run that needs more ids
// than the pool holds makes the rest inline (counted, and reported).
class workload {
 public:
  explicit workload(std::size_t ids) : pool_(1u << 20) {
    streams_.reserve(stream_count);
    for (std::size_t k = 0; k < stream_count; ++k) streams_.push_back("bench-" + std::to_string(k));
    std::mt19937_64 rng(std::random_device{}());
    for (std::size_t i = 0; i < pool_.size(); i += 8) {
      const std::uint64_t r = rng();
      std::memcpy(pool_.data() + i, &r, std::min<std::size_t>(8, pool_.size() - i));
    }
    ids_.reserve(ids);
    for (std::size_t i = 0; i < ids; ++i) ids_.push_back(codec::event_id::generate_v7());
  }

  void restart() {
    next_id_.store(0, std::memory_order_relaxed);
    inline_ids_.store(0, std::memory_order_relaxed);
  }
  std::size_t pool_ids() const { return ids_.size(); }
  // Ids the last run had to make inline because the pool ran out.
  std::uint64_t inline_ids() const { return inline_ids_.load(std::memory_order_relaxed); }

  // Fills `events` with fresh events; `r` drives the stream and data choices.
  void fill(std::span<codec::event_in> events, std::uint64_t& r) {
    const std::size_t at = next_id_.fetch_add(events.size(), std::memory_order_relaxed);
    for (std::size_t i = 0; i < events.size(); ++i) {
      auto& e = events[i];
      r = next(r);
      e.stream = streams_[r % stream_count];
      e.type = event_type;
      if (at + i < ids_.size()) {
        e.id = ids_[at + i];
      } else {
        e.id = codec::event_id::generate_v7();
        inline_ids_.fetch_add(1, std::memory_order_relaxed);
      }
      e.expected_version = codec::expect_any;
      e.time = 0;
      e.content_type = content_type;
      e.data = random_bytes(event_data_bytes, r >> 20);
    }
  }

  std::span<const std::byte> random_bytes(std::size_t n, std::uint64_t at) const {
    return {pool_.data() + at % (pool_.size() - n), n};
  }

  // splitmix64: cheap, and good enough to pick streams and offsets.
  static std::uint64_t next(std::uint64_t x) {
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
  }

 private:
  std::vector<std::string> streams_;
  std::vector<std::byte> pool_;
  std::vector<codec::event_id> ids_;
  std::atomic<std::size_t> next_id_{0};
  std::atomic<std::uint64_t> inline_ids_{0};
};

}  // namespace muninn::bench::storage_bench
