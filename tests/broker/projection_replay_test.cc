// The pipelined replay (broker/projection_replay.h), the runner's rebuild
// path: a reader thread reads and decodes while the caller applies. It must
// give the state a plain single-threaded feed gives, report progress
// consistently with `applied`, and end cleanly on an error or a stop.
#include <catch2/catch.hpp>

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "bench/gen/generator.h"
#include "broker/projection_replay.h"
#include "broker/projections/feed.h"
#include "broker/projections/registry.h"
#include "codec/json.h"
#include "codec/sha256.h"
#include "codec/stream_hash.h"
#include "storage/log.h"
#include "tests/temp_dir.h"

using namespace muninn;

namespace {

struct topic_logs {
  muninn::test::temp_dir dir;
  std::vector<std::unique_ptr<storage::partition_log>> owned;
  std::vector<const storage::partition_log*> logs;
};

// A generated scenario (2% anomalies) appended to `partitions` logs by
// stream hash, in batches of up to 200 events.
void load(topic_logs& t, gen::domain d, std::uint64_t events, std::uint32_t partitions) {
  for (std::uint32_t p = 0; p < partitions; ++p) {
    auto log = storage::partition_log::open(t.dir.str() + "/" + std::to_string(p));
    REQUIRE(log);
    t.owned.push_back(std::move(log).value());
    t.logs.push_back(t.owned.back().get());
  }
  gen::options o;
  o.kind = d;
  o.seed = 3;
  o.count = events;
  o.anomalies = 0.02;
  gen::scenario s(o);
  std::vector<std::vector<codec::owned_event>> pending(partitions);
  auto flush = [&](std::uint32_t p) {
    std::vector<codec::event_in> views;
    for (const auto& e : pending[p]) views.push_back(e.view());
    storage::append_request req;
    req.events = views;
    REQUIRE(t.owned[p]->append_sync(req));
    pending[p].clear();
  };
  std::string line;
  while (s.next_line(line)) {
    auto ev = codec::event_from_json(line);
    REQUIRE(ev);
    if (!ev->id) ev->id = codec::event_id::generate_v7();
    const auto p = codec::partition_for(ev->stream, partitions);
    pending[p].push_back(std::move(ev).value());
    if (pending[p].size() == 200) flush(p);
  }
  for (std::uint32_t p = 0; p < partitions; ++p) {
    if (!pending[p].empty()) flush(p);
  }
}

std::unique_ptr<projections::projection> fresh(const std::string& name) {
  auto config = projections::projection_config(name, {});
  REQUIRE(config);
  auto made = projections::make_projection(name, *config);
  REQUIRE(made);
  return std::move(made).value();
}

// The reference: each partition in turn, batch by batch, through
// feeder::apply_batch on one thread.
codec::hash256 serial_digest(const topic_logs& t, const std::string& name) {
  auto p = fresh(name);
  projections::feeder feed;
  for (std::uint32_t part = 0; part < t.logs.size(); ++part) {
    for (std::uint64_t at = 0; at < t.logs[part]->head();) {
      auto c = t.logs[part]->read(at, 1 << 20);
      REQUIRE(c);
      REQUIRE_FALSE(c->batches.empty());
      for (const auto& b : c->batches) {
        feed.apply_batch(*p, part, *b.batch.batch, at, b.base_offset + b.count);
        at = b.base_offset + b.count;
      }
    }
  }
  return projections::state_digest(*p);
}

std::uint64_t total_head(const topic_logs& t) {
  std::uint64_t n = 0;
  for (const auto* l : t.logs) n += l->head();
  return n;
}

}  // namespace

TEST_CASE("projection replay: pipelined gives the single-threaded digest, progress matches applied",
          "[broker][projections][replay]") {
  struct kase {
    gen::domain domain;
    std::string name;
    std::uint32_t partitions;
  };
  for (const auto& k : {kase{gen::domain::dispatch, "dispatch-status", 4}, kase{gen::domain::reskontra, "reskontra", 1}}) {
    SECTION(k.name) {
      topic_logs t;
      load(t, k.domain, 30'000, k.partitions);
      const auto want = serial_digest(t, k.name);

      auto p = fresh(k.name);
      std::vector<std::uint64_t> applied(k.partitions, 0);
      broker::replay_options o;
      o.read_bytes = 16 << 10;  // many chunks: every slot is reused many times
      std::uint64_t reported = 0, calls = 0;
      projections::record_changes changes;
      auto r = broker::replay_pipelined(t.logs, applied, *p, o, [&](std::uint64_t n) -> result<void, std::string> {
        reported += n;
        ++calls;
        std::uint64_t sum = 0;
        for (auto a : applied) sum += a;
        if (sum != reported) return unexpected(std::string("applied does not match the events reported"));
        if (calls % 7 == 0) {
          changes.clear();
          p->take_changes(changes);
        }
        return {};
      });
      REQUIRE(r);
      CHECK(*r == total_head(t));
      CHECK(reported == *r);
      CHECK(calls > 20);
      for (std::uint32_t i = 0; i < k.partitions; ++i) CHECK(applied[i] == t.logs[i]->head());
      CHECK(projections::state_digest(*p) == want);

      // Resumed from where an interrupted replay stopped: the same state.
      auto q = fresh(k.name);
      std::vector<std::uint64_t> at(k.partitions, 0);
      std::uint64_t chunks = 0;
      auto first = broker::replay_pipelined(t.logs, at, *q, o, [&](std::uint64_t) -> result<void, std::string> {
        if (++chunks == 5) return unexpected(std::string("interrupted"));
        return {};
      });
      REQUIRE_FALSE(first);
      CHECK(first.error() == "interrupted");
      std::uint64_t sum = 0;
      for (auto a : at) sum += a;
      CHECK(sum > 0);
      CHECK(sum < total_head(t));
      auto rest = broker::replay_pipelined(t.logs, at, *q, o, [](std::uint64_t) -> result<void, std::string> { return {}; });
      REQUIRE(rest);
      CHECK(sum + *rest == total_head(t));
      CHECK(projections::state_digest(*q) == want);
    }
  }
}

TEST_CASE("projection replay: a stop ends it early with applied consistent", "[broker][projections][replay]") {
  topic_logs t;
  load(t, gen::domain::dispatch, 20'000, 2);
  auto p = fresh("dispatch-status");
  std::vector<std::uint64_t> applied(2, 0);
  std::atomic<bool> stop{false};
  broker::replay_options o;
  o.read_bytes = 8 << 10;
  o.stop = &stop;
  std::uint64_t seen = 0;
  auto r = broker::replay_pipelined(t.logs, applied, *p, o, [&](std::uint64_t n) -> result<void, std::string> {
    seen += n;
    if (seen > 1000) stop = true;
    return {};
  });
  REQUIRE(r);
  CHECK(*r == seen);
  CHECK(applied[0] + applied[1] == seen);
  CHECK(seen < total_head(t));
}
