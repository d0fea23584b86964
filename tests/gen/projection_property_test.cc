// Property tests of the projections over generated scenarios (muninn-gen's
// own engine): the generator's honest events never become anomalies and each
// injected one does; the reskontra invariants hold throughout (the trial
// balance is zero per currency); the incrementally stored records load into
// the same state; a rebuild from offset 0 gives the same digest, for
// dispatch whatever the interleaving of its partitions.
#include <catch2/catch.hpp>

#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "bench/gen/generator.h"
#include "broker/projections/event.h"
#include "broker/projections/registry.h"
#include "broker/projections/reskontra.h"
#include "codec/json.h"
#include "codec/sha256.h"
#include "codec/stream_hash.h"

using namespace muninn;

namespace {

// One generated event as the log would hold it.
struct stored {
  codec::owned_event event;
  projections::position at;
  std::int64_t version = 0;
  bool anomaly = false;
};

std::vector<stored> generate(gen::domain d, std::uint64_t seed, std::uint64_t count, std::uint32_t partitions) {
  gen::options o;
  o.kind = d;
  o.seed = seed;
  o.count = count;
  o.anomalies = 0.02;
  gen::scenario s(o);
  std::vector<stored> out;
  std::vector<std::uint64_t> next(partitions, 0);
  std::unordered_map<std::string, std::int64_t> versions;
  std::string line;
  while (s.next_line(line)) {
    auto ev = codec::event_from_json(line);
    REQUIRE(ev);
    stored st;
    const auto p = codec::partition_for(ev->stream, partitions);
    st.at = projections::position{p, next[p]++};
    auto [it, fresh] = versions.try_emplace(ev->stream, 0);
    if (!fresh) ++it->second;
    st.version = it->second;
    st.anomaly = s.last_was_anomaly();
    st.event = std::move(ev).value();
    out.push_back(std::move(st));
  }
  return out;
}

void apply(projections::projection& p, projections::data_reader& reader, const stored& s) {
  projections::event_view v;
  v.at = s.at;
  v.time = s.event.time;
  v.version = s.version;
  v.stream = s.event.stream;
  v.type = s.event.type;
  if (auto root = reader.read(s.event.content_type, s.event.data)) {
    v.data = *root;
    v.data_ok = true;
  }
  p.apply(v);
}

std::unique_ptr<projections::projection> fresh(const std::string& name) {
  auto config = projections::projection_config(name, {});
  REQUIRE(config);
  auto p = projections::make_projection(name, *config);
  REQUIRE(p);
  return std::move(p).value();
}

// What the runner's store would hold: every change taken, applied in order.
void take_into(projections::projection& p, std::map<std::string, std::string>& store) {
  projections::record_changes changes;
  p.take_changes(changes);
  for (const auto c : changes) {
    if (c.value) {
      store[std::string(c.key)] = *c.value;
    } else {
      store.erase(std::string(c.key));
    }
  }
}

void check_scenario(const std::string& name, gen::domain d, std::uint64_t seed, std::uint64_t count,
                    std::uint32_t partitions) {
  INFO(name << " seed " << seed);
  const auto events = generate(d, seed, count, partitions);
  auto live = fresh(name);
  auto* resk = dynamic_cast<projections::reskontra_projection*>(live.get());
  projections::data_reader reader;
  std::map<std::string, std::string> store;
  std::uint64_t injected = 0;
  for (std::size_t i = 0; i < events.size(); ++i) {
    const auto before = live->anomaly_count();
    apply(*live, reader, events[i]);
    const bool recorded = live->anomaly_count() == before + 1;
    INFO("event " << i << " (" << events[i].event.type << " on " << events[i].event.stream << ")");
    CHECK(live->anomaly_count() <= before + 1);
    CHECK(recorded == events[i].anomaly);
    injected += events[i].anomaly ? 1 : 0;
    if (resk && i % 50 == 0) {
      const auto broken = resk->check_invariants();
      CHECK_FALSE(broken);
      if (broken) FAIL(*broken);
    }
    if (i % 997 == 0) take_into(*live, store);
  }
  take_into(*live, store);
  if (resk) CHECK_FALSE(resk->check_invariants());
  CHECK(live->anomaly_count() == injected);
  CHECK(injected > 0);
  const auto digest = projections::state_digest(*live);

  // The stored records load into the same state.
  auto loaded = fresh(name);
  for (const auto& [k, v] : store) REQUIRE(loaded->load(k, v));
  loaded->finish_load();
  CHECK(projections::state_digest(*loaded) == digest);

  // A rebuild from offset 0, partition by partition (another interleaving
  // than the generator's time order whenever there are several).
  auto rebuilt = fresh(name);
  for (std::uint32_t p = 0; p < partitions; ++p) {
    for (const auto& e : events) {
      if (e.at.partition == p) apply(*rebuilt, reader, e);
    }
  }
  CHECK(projections::state_digest(*rebuilt) == digest);
}

}  // namespace

TEST_CASE("projections over generated dispatch scenarios: anomalies exactly where injected, rebuild and load agree",
          "[gen][projections]") {
  for (std::uint64_t seed : {1, 7}) check_scenario("dispatch-status", gen::domain::dispatch, seed, 20'000, 8);
}

TEST_CASE("projections over generated reskontra scenarios: invariants hold throughout, anomalies exactly where "
          "injected, rebuild and load agree",
          "[gen][projections]") {
  for (std::uint64_t seed : {1, 7}) check_scenario("reskontra", gen::domain::reskontra, seed, 20'000, 1);
}
