// The projection runner in process: it follows the log, answers queries,
// resumes from its checkpoint after a restart, rebuilds from offset 0 to the
// same digest, and starts over when its store is lost or its configuration
// changes. The SIGKILL case is in the muninnd tests.
#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "broker/projection_runner.h"
#include "broker/topics.h"
#include "codec/json.h"
#include "codec/sha256.h"
#include "codec/stream_hash.h"
#include "tests/broker/projection_helpers.h"

using namespace muninn;

namespace {

using namespace muninn::test;

const broker::projection_status& find_status(const std::vector<broker::projection_status>& list, std::string_view name) {
  for (const auto& s : list) {
    if (s.name == name) return s;
  }
  FAIL("no status for " << name);
  return list.front();
}

// Waits until `name` has applied every durable event.
broker::projection_status caught_up(const broker::projection_runner& r, std::string_view name) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  for (;;) {
    auto list = r.status(name);
    REQUIRE(list);
    const auto s = find_status(*list, name);
    REQUIRE(s.error.empty());
    if (s.lag() == 0 && !s.rebuilding) return s;
    REQUIRE(std::chrono::steady_clock::now() < deadline);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

// The broker's two halves on `data`: topics, then the projections on them;
// stopped in the broker's order when it goes.
struct running {
  std::unique_ptr<broker::topic_registry> topics;
  std::unique_ptr<broker::projection_runner> runner;

  explicit running(const std::string& data, std::vector<std::pair<std::string, projections::query_params>> config = {}) {
    auto t = broker::topic_registry::open(data, {});
    REQUIRE(t);
    topics = std::move(t).value();
    broker::projection_runner_options o;
    o.dir = data + "/projections";
    o.config = std::move(config);
    auto r = broker::projection_runner::start(*topics, o);
    REQUIRE(r);
    runner = std::move(r).value();
  }
  ~running() {
    runner->stop();
    topics->close();
  }
};

std::uint64_t total(const std::vector<std::uint64_t>& v) {
  std::uint64_t n = 0;
  for (auto x : v) n += x;
  return n;
}

}  // namespace

TEST_CASE("projection runner: follows the log, resumes from its checkpoint, rebuilds to the same digest",
          "[broker][projections]") {
  temp_dir dir;
  const std::string data = dir.path.string();
  codec::hash256 digest{};
  {
    auto topics = broker::topic_registry::open(data, {});
    REQUIRE(topics);
    auto forsendelser = (*topics)->find("forsendelser");
    REQUIRE(forsendelser);
    for (int i = 0; i < 20; ++i) append_lines(*forsendelser, forsendelse_lines(i));

    broker::projection_runner_options o;
    o.dir = data + "/projections";
    auto runner = broker::projection_runner::start(**topics, o);
    REQUIRE(runner);
    auto s = caught_up(**runner, "dispatch-status");
    CHECK(total(s.applied) == 80);
    CHECK(s.config.at("deadline_working_hours") == "40");
    digest = s.digest;

    auto got = (*runner)->query("dispatch-status", "get", {{"id", "3f6c1d2e-8a4b-4c5d-9e6f-000000000007"}});
    REQUIRE(got);
    CHECK(got->find("LEST") != std::string::npos);
    auto missing = (*runner)->query("dispatch-status", "get", {{"id", "3f6c1d2e-8a4b-4c5d-9e6f-999999999999"}});
    REQUIRE_FALSE(missing);
    CHECK(missing.error().code == broker::projection_errc::query);
    CHECK(missing.error().query.code == projections::query_errc::not_found);
    auto unknown = (*runner)->query("no-such-projection", "get", {});
    REQUIRE_FALSE(unknown);
    CHECK(unknown.error().code == broker::projection_errc::unknown_projection);

    // Live: new events are applied as they become durable.
    append_lines(*forsendelser, forsendelse_lines(100));
    s = caught_up(**runner, "dispatch-status");
    CHECK(total(s.applied) == 84);
    CHECK(s.digest != digest);
    digest = s.digest;
    CHECK(s.checkpoint == s.applied);

    // A rebuild from offset 0 arrives at the same state.
    REQUIRE((*runner)->rebuild("dispatch-status"));
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    for (;;) {
      auto list = (*runner)->status("dispatch-status");
      REQUIRE(list);
      if (!list->front().rebuilding && list->front().rebuild_applied == 84) break;
      REQUIRE(std::chrono::steady_clock::now() < deadline);
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    s = caught_up(**runner, "dispatch-status");
    CHECK(s.digest == digest);
    (*runner)->stop();
    (*topics)->close();
  }
  {
    // A restart loads the stored state at its checkpoint: no replay.
    running r(data);
    auto s = caught_up(*r.runner, "dispatch-status");
    CHECK(total(s.applied) == 84);
    CHECK(s.digest == digest);
    CHECK(r.runner->metrics().front().applied_total == 0);
  }
  {
    // A lost store is derived state: rebuilt from the log to the same digest.
    std::filesystem::remove_all(data + "/projections");
    running r(data);
    auto s = caught_up(*r.runner, "dispatch-status");
    CHECK(total(s.applied) == 84);
    CHECK(s.digest == digest);
  }
  {
    // Another deadline is another projection: its store starts over.
    running r(data, {{"dispatch-status", {{"deadline_working_hours", "16"}}}});
    auto s = caught_up(*r.runner, "dispatch-status");
    CHECK(total(s.applied) == 84);
    CHECK(s.config.at("deadline_working_hours") == "16");
    CHECK(r.runner->metrics().front().applied_total == 84);
  }
}

TEST_CASE("projection runner: a bad configuration is refused at start with the key named", "[broker][projections]") {
  temp_dir dir;
  auto topics = broker::topic_registry::open(dir.path.string(), {});
  REQUIRE(topics);
  broker::projection_runner_options o;
  o.dir = dir.path.string() + "/projections";
  o.config.push_back({"dispatch-status", {{"deadline_hours", "16"}}});
  auto runner = broker::projection_runner::start(**topics, o);
  REQUIRE_FALSE(runner);
  CHECK(runner.error().find("deadline_hours") != std::string::npos);
  (*topics)->close();
}
