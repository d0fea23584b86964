// The sequencer under concurrency: appenders encode their batches in
// parallel and only fill in offsets and versions under the log's lock, and
// the I/O thread closes the hash chain. These tests race appenders with
// expected versions and duplicate ids (within a request, across threads,
// against appends still in flight) and check the log against every answer.
#include <catch2/catch.hpp>

#include <atomic>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "storage/log.h"
#include "tests/storage/test_util.h"

using namespace muninn;
using namespace muninn::test;
using storage::partition_log;

namespace {

struct answer {
  codec::event_id id;
  std::string stream;
  std::int64_t expected = codec::expect_any;
  storage::appended_event got;
};

struct id_less {
  bool operator()(const codec::event_id& a, const codec::event_id& b) const { return a.bytes < b.bytes; }
};

}  // namespace

TEST_CASE("log race: concurrent appenders with expected versions and duplicates get exact offsets, versions "
          "and an unbroken chain",
          "[storage][race]") {
  temp_dir dir;
  storage::log_options opts;
  // A small id cache and an eager index: duplicates are then found in the
  // cache, in the unindexed window and in RocksDB while appends go on.
  opts.cached_ids = 64;
  opts.index_batch_events = 300;
  opts.index_delay = std::chrono::milliseconds(1);
  auto opened = partition_log::open(dir.str(), opts);
  REQUIRE(opened);
  auto log = std::move(*opened);

  constexpr int threads = 4;
  constexpr int appends_per_thread = 150;
  constexpr int streams = 6;
  std::mutex mu;
  std::vector<owned_event> submitted;  // every event ever sent: the pool duplicates come from
  std::vector<answer> answers;         // every event of every acknowledged append
  std::set<codec::event_id, id_less> refused_ids;
  std::atomic<int> refusals{0};
  std::atomic<int> duplicates{0};
  std::vector<std::string> failures;

  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t) {
    ts.emplace_back([&, t] {
      std::mt19937_64 rng(std::uint64_t(t) * 7919 + 1);
      for (int a = 0; a < appends_per_thread; ++a) {
        std::vector<owned_event> req;
        const std::size_t n = 1 + rng() % 12;
        for (std::size_t i = 0; i < n; ++i) {
          const auto roll = rng() % 100;
          if (roll < 15) {
            std::lock_guard g(mu);
            if (!submitted.empty()) {
              req.push_back(submitted[rng() % submitted.size()]);  // another append's id, maybe in flight
              continue;
            }
          }
          if (roll < 20 && !req.empty()) {
            req.push_back(req[rng() % req.size()]);  // the same id twice in one request
            continue;
          }
          auto e = make_event("race-" + std::to_string(rng() % streams), "t" + std::to_string(t) + "-" +
                                                                             std::to_string(a));
          if (roll >= 90) {
            auto v = log->stream_version(e.stream);
            if (v) e.expected_version = *v;  // may lose the race: then the whole request is refused
          } else if (roll >= 88) {
            e.expected_version = codec::expect_no_stream;
          }
          req.push_back(std::move(e));
        }
        {
          std::lock_guard g(mu);
          submitted.insert(submitted.end(), req.begin(), req.end());
        }
        auto r = append(*log, req);
        std::lock_guard g(mu);
        if (!r) {
          if (r.error().code != storage::errc::wrong_expected_version) failures.push_back(r.error().message);
          ++refusals;
          for (const auto& e : req) refused_ids.insert(e.id);
          continue;
        }
        if (r->events.size() != req.size()) failures.push_back("one answer per event");
        for (std::size_t i = 0; i < req.size() && i < r->events.size(); ++i) {
          answers.push_back(answer{req[i].id, req[i].stream, req[i].expected_version, r->events[i]});
          if (r->events[i].duplicate) ++duplicates;
        }
      }
    });
  }
  for (auto& t : ts) t.join();
  for (const auto& f : failures) FAIL(f);
  INFO("refused requests " << refusals.load() << ", duplicate answers " << duplicates.load());
  CHECK(refusals.load() > 0);
  CHECK(duplicates.load() > 0);

  auto check_log = [&](const partition_log& l) {
    const auto stored = read_all(l);
    REQUIRE(stored.size() == l.head());
    std::map<codec::event_id, const stored_event*, id_less> by_id;
    std::map<std::string, std::int64_t> next_version;
    for (std::size_t i = 0; i < stored.size(); ++i) {
      const auto& s = stored[i];
      REQUIRE(s.offset == i);  // dense
      REQUIRE(by_id.emplace(s.id, &s).second);  // each id once
      auto it = next_version.emplace(s.stream, 0).first;
      REQUIRE(s.version == it->second);  // versions dense per stream, in offset order
      ++it->second;
    }
    for (const auto& a : answers) {
      auto it = by_id.find(a.id);
      REQUIRE(it != by_id.end());  // acknowledged: in the log
      CHECK(it->second->offset == a.got.offset);
      CHECK(it->second->version == a.got.version);
      CHECK(it->second->stream == a.stream);
      if (!a.got.duplicate && a.expected >= -1) CHECK(a.got.version == a.expected + 1);
    }
    std::set<codec::event_id, id_less> acked;
    for (const auto& a : answers) acked.insert(a.id);
    for (const auto& [id, s] : by_id) CHECK(acked.count(id) == 1);  // nothing unacknowledged got in
    for (const auto& id : refused_ids)
      if (!acked.count(id)) CHECK(by_id.count(id) == 0);  // refused and never acknowledged: not in the log
    auto v = l.verify();
    REQUIRE(v);
    CHECK(v->ok);
    CHECK(v->events == l.head());
    CHECK(v->head_hash == l.head_hash());
  };
  check_log(*log);
  const auto head_hash = log->head_hash();
  log->close();
  log.reset();
  auto again = partition_log::open(dir.str(), opts);
  REQUIRE(again);
  CHECK((*again)->head_hash() == head_hash);
  check_log(**again);
}
