// partition_log::read into a caller's reused read_chunk: the same batches
// and bytes as a fresh read, whatever the chunk held before, across
// segments and from offsets the sparse index does not point at.
#include <catch2/catch.hpp>

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "storage/log.h"
#include "tests/storage/test_util.h"

using namespace muninn;
using namespace muninn::test;
using storage::partition_log;

namespace {

struct appended_batch {
  std::uint64_t base = 0;
  std::vector<std::string> data;
};

// A log of `batches` batches of 1..40 events with data of 1..3000 bytes,
// on small segments and a sparse index far coarser than the batches (so a
// read usually starts by stepping over batches before its offset).
std::vector<appended_batch> fill(partition_log& log, int batches) {
  std::mt19937 rng(7);
  std::vector<appended_batch> out;
  for (int b = 0; b < batches; ++b) {
    std::vector<owned_event> evs;
    appended_batch ab;
    const int n = 1 + int(rng() % 40);
    for (int i = 0; i < n; ++i) {
      std::string d(1 + rng() % 3000, char('a' + (b + i) % 26));
      evs.push_back(make_event("s-" + std::to_string(rng() % 50), d));
      ab.data.push_back(std::move(d));
    }
    auto r = append(log, evs);
    REQUIRE(r);
    ab.base = r->events.front().offset;
    out.push_back(std::move(ab));
  }
  return out;
}

// Checks a chunk read from `from` against what was appended: it starts at
// the batch holding `from`, its batches follow each other, its bytes are
// their frames back to back, and only its last batch crosses `max_bytes`.
void check_chunk(const storage::read_chunk& c, const std::vector<appended_batch>& all, std::uint64_t from,
                 std::size_t max_bytes) {
  REQUIRE_FALSE(c.batches.empty());
  std::size_t i = 0;
  while (i + 1 < all.size() && all[i + 1].base <= from) ++i;
  std::size_t at = 0;
  for (const auto& b : c.batches) {
    REQUIRE(i < all.size());
    CHECK(b.base_offset == all[i].base);
    REQUIRE(b.count == all[i].data.size());
    CHECK(b.frame.data() == c.bytes.data() + at);
    CHECK(at < max_bytes);  // a batch is taken only while the chunk is short of max_bytes
    at += b.frame.size();
    for (std::uint32_t e = 0; e < b.count; ++e) {
      const auto* d = b.batch.batch->events()->Get(e)->data();
      REQUIRE(d);
      CHECK(std::string(reinterpret_cast<const char*>(d->data()), d->size()) == all[i].data[e]);
    }
    ++i;
  }
  CHECK(at == c.bytes.size());
}

}  // namespace

TEST_CASE("log read: a reused chunk reads what a fresh one reads, from any offset", "[storage][log][read]") {
  temp_dir dir;
  storage::log_options opts;
  opts.segment_bytes = 256 << 10;
  opts.index_interval_bytes = 1 << 20;
  auto opened = partition_log::open(dir.str(), opts);
  REQUIRE(opened);
  auto& log = **opened;
  const auto all = fill(log, 400);
  log.flush_index();
  REQUIRE(log.stats().segments > 3);

  storage::read_chunk reused;
  std::mt19937 rng(11);
  for (int round = 0; round < 300; ++round) {
    const std::uint64_t from = rng() % log.head();
    const std::size_t max_bytes = std::size_t{1} << (rng() % 21);  // 1 B .. 1 MiB
    auto fresh = log.read(from, max_bytes);
    REQUIRE(fresh);
    REQUIRE(log.read(from, max_bytes, reused));
    check_chunk(*fresh, all, from, max_bytes);
    check_chunk(reused, all, from, max_bytes);
    CHECK(fresh->bytes == reused.bytes);
  }

  // A loop over the whole log through one chunk sees every event once.
  std::uint64_t next = 0, events = 0;
  while (next < log.head()) {
    REQUIRE(log.read(next, 64 << 10, reused));
    REQUIRE_FALSE(reused.batches.empty());
    check_chunk(reused, all, next, 64 << 10);
    for (const auto& b : reused.batches) {
      events += b.base_offset + b.count - std::max(next, b.base_offset);
      next = b.base_offset + b.count;
    }
  }
  CHECK(events == log.head());

  // At the head: empty; past it: an error, and the chunk holds nothing.
  REQUIRE(log.read(log.head(), 1 << 20, reused));
  CHECK(reused.batches.empty());
  CHECK(reused.bytes.empty());
  REQUIRE(log.read(0, 1 << 20, reused));
  CHECK_FALSE(log.read(log.head() + 1, 1 << 20, reused));
  CHECK(reused.batches.empty());
  CHECK(reused.bytes.empty());
}
