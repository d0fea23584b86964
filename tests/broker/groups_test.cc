// The group coordinator in process, with a clock moved by hand: handover
// only after release or timeout, fencing of removed members, refusals, and
// committed offsets rebuilt by replaying __offsets (broker/groups.h).
#include <catch2/catch.hpp>

#include <chrono>
#include <future>
#include <string>
#include <vector>

#include "broker/groups.h"
#include "broker/topics.h"
#include "codec/batch.h"
#include "tests/temp_dir.h"

using namespace muninn;
using namespace std::chrono_literals;
using broker::group_coordinator;
using broker::partition_commit;

namespace {

struct fixture {
  test::temp_dir dir;
  std::unique_ptr<broker::topic_registry> topics;
  std::unique_ptr<group_coordinator> groups;
  group_coordinator::clock::time_point now = group_coordinator::clock::now();

  fixture() { open(); }
  void open() {
    auto t = broker::topic_registry::open(dir.path.string(), {});
    REQUIRE(t);
    topics = std::move(*t);
    if (!topics->find("orders")) {
      broker::topic_config c;
      c.name = "orders";
      c.partitions = 4;
      REQUIRE(topics->create(c));
      fill();
    }
    auto g = group_coordinator::open(*topics);
    REQUIRE(g);
    groups = std::move(*g);
    groups->set_clock([this] { return now; });
  }
  void reopen() {
    groups.reset();
    topics->close();
    topics.reset();
    open();
  }
  // 10 events in each partition.
  void fill() {
    auto t = topics->find("orders");
    for (std::uint32_t p = 0; p < 4; ++p) {
      std::vector<std::string> streams;
      std::vector<codec::event_in> events(10);
      for (int i = 0; i < 10; ++i) streams.push_back("s-" + std::to_string(p) + "-" + std::to_string(i));
      for (int i = 0; i < 10; ++i) {
        events[i].stream = streams[i];
        events[i].type = "Created";
        events[i].id = codec::event_id::generate_v7();
      }
      storage::append_request ar;
      ar.events = events;
      std::promise<bool> done;
      t->partition(p).append(ar, [&](storage::append_result r) { done.set_value(bool(r)); });
      REQUIRE(done.get_future().get());
    }
  }
  result<std::vector<partition_commit>, broker::group_error> commit(std::string_view consumer,
                                                                    std::vector<partition_commit> offsets,
                                                                    std::string_view member = {}, std::uint32_t gen = 0) {
    std::promise<result<std::vector<partition_commit>, broker::group_error>> p;
    groups->commit(consumer, "orders", offsets, member, gen, [&](auto r) { p.set_value(std::move(r)); });
    return p.get_future().get();
  }
  result<std::vector<partition_commit>, broker::group_error> reset(broker::reset_to to, std::int64_t value = 0) {
    std::promise<result<std::vector<partition_commit>, broker::group_error>> p;
    groups->reset("g", "orders", to, value, [&](auto r) { p.set_value(std::move(r)); });
    return p.get_future().get();
  }
};

std::vector<std::uint32_t> all(std::initializer_list<std::uint32_t> v) { return v; }

}  // namespace

TEST_CASE("groups: a second member gets its share only after the first lets go", "[broker][groups]") {
  fixture f;
  auto a = f.groups->join("g", "orders", "a", 3000ms, "test");
  REQUIRE(a);
  REQUIRE(a->assigned == all({0, 1, 2, 3}));
  auto b = f.groups->join("g", "orders", "b", 3000ms, "test");
  REQUIRE(b);
  REQUIRE(b->assigned.empty());
  REQUIRE(b->waiting.size() == 2);
  REQUIRE(b->generation > a->generation);
  // a is told to give up two partitions, but still owns them until it says so.
  auto a2 = f.groups->heartbeat("g", "a", b->generation, a->assigned);
  REQUIRE(a2);
  REQUIRE(a2->assigned.size() == 2);
  auto b2 = f.groups->heartbeat("g", "b", b->generation, {});
  REQUIRE(b2->assigned.empty());
  // a released them (heartbeat without them): now b gets them.
  REQUIRE(f.groups->heartbeat("g", "a", a2->generation, a2->assigned));
  auto b3 = f.groups->heartbeat("g", "b", b->generation, {});
  REQUIRE(b3->assigned == b->waiting);
  REQUIRE(b3->waiting.empty());
  auto v = f.groups->describe("g");
  REQUIRE(v);
  REQUIRE(v->front().state == "stable");
  REQUIRE(v->front().members.size() == 2);
}

TEST_CASE("groups: a member past its session timeout is removed; its partitions move and it cannot commit", "[broker][groups]") {
  fixture f;
  auto a = f.groups->join("g", "orders", "a", 2000ms, "test");
  auto b = f.groups->join("g", "orders", "b", 2000ms, "test");
  const auto a_parts = f.groups->heartbeat("g", "a", b->generation, a->assigned)->assigned;
  REQUIRE(a_parts.size() == 2);
  REQUIRE(f.groups->heartbeat("g", "a", b->generation, a_parts));  // lets the other two go
  auto b2 = f.groups->heartbeat("g", "b", b->generation, {});
  REQUIRE(b2->assigned.size() == 2);
  // a commits while it owns them.
  REQUIRE(f.commit("g", {{a_parts[0], 5}}, "a", b->generation));

  // b keeps heartbeating; a is silent past its timeout.
  for (int i = 0; i < 5; ++i) {
    f.now += 500ms;
    REQUIRE(f.groups->heartbeat("g", "b", b2->generation, b2->assigned));
  }
  f.groups->expire();
  auto b3 = f.groups->heartbeat("g", "b", b2->generation, b2->assigned);
  REQUIRE(b3);
  REQUIRE(b3->assigned == all({0, 1, 2, 3}));

  // The zombie wakes up: its commit and heartbeat are refused.
  auto z = f.commit("g", {{a_parts[0], 9}}, "a", b->generation);
  REQUIRE(!z);
  REQUIRE(z.error().code == fb::ErrorCode::unknown_member);
  auto zh = f.groups->heartbeat("g", "a", b->generation, a_parts);
  REQUIRE(!zh);
  REQUIRE(zh.error().code == fb::ErrorCode::unknown_member);
  // The committed offset is the one a made while it owned the partition.
  auto c = f.groups->committed("g", "orders");
  REQUIRE(c);
  REQUIRE(c->size() == 1);
  REQUIRE(c->front().offset == 5);
}

TEST_CASE("groups: a member commits only partitions it owns, in a generation it owns them in", "[broker][groups]") {
  fixture f;
  auto a = f.groups->join("g", "orders", "a", 2000ms, "test");
  auto b = f.groups->join("g", "orders", "b", 2000ms, "test");
  // b waits for two partitions a still owns: it may not commit them.
  auto r = f.commit("g", {{b->waiting[0], 1}}, "b", b->generation);
  REQUIRE(!r);
  REQUIRE(r.error().code == fb::ErrorCode::not_owner);
  // A generation from the future is refused.
  auto future = f.commit("g", {{0, 1}}, "a", b->generation + 5);
  REQUIRE(!future);
  // A plain consumer may not commit a live group's offsets.
  auto plain = f.commit("g", {{0, 1}});
  REQUIRE(!plain);
  REQUIRE(plain.error().code == fb::ErrorCode::group_active);
  // Beyond the head.
  auto far = f.commit("g", {{0, 11}}, "a", a->generation);
  REQUIRE(!far);
  REQUIRE(far.error().code == fb::ErrorCode::offset_out_of_range);
  // Another topic while the group consumes "orders".
  broker::topic_config c;
  c.name = "other";
  REQUIRE(f.topics->create(c));
  auto other = f.groups->join("g", "other", "c", 2000ms, "test");
  REQUIRE(!other);
  REQUIRE(other.error().code == fb::ErrorCode::invalid_argument);
}

TEST_CASE("groups: reset is refused with live members and commits every partition without them", "[broker][groups]") {
  fixture f;
  auto a = f.groups->join("g", "orders", "a", 2000ms, "test");
  REQUIRE(a);
  auto refused = f.reset(broker::reset_to::latest);
  REQUIRE(!refused);
  REQUIRE(refused.error().code == fb::ErrorCode::group_active);
  REQUIRE(f.groups->leave("g", "a"));
  auto latest = f.reset(broker::reset_to::latest);
  REQUIRE(latest);
  REQUIRE(latest->size() == 4);
  for (const auto& c : *latest) REQUIRE(c.offset == 10);
  auto v = f.groups->describe("g");
  REQUIRE(v);
  REQUIRE(v->front().state == "empty");
  for (const auto& p : v->front().partitions) REQUIRE(p.lag == 0);
  auto to3 = f.reset(broker::reset_to::offset, 3);
  REQUIRE(to3);
  v = f.groups->describe("g");
  for (const auto& p : v->front().partitions) REQUIRE(p.lag == 7);
}

TEST_CASE("groups: committed offsets come back from __offsets after a restart; members do not", "[broker][groups]") {
  fixture f;
  REQUIRE(f.commit("plain", {{0, 4}, {3, 10}}));
  auto a = f.groups->join("g", "orders", "a", 2000ms, "test");
  REQUIRE(f.commit("g", {{1, 7}}, "a", a->generation));
  REQUIRE(f.commit("g", {{1, 8}}, "a", a->generation));
  f.reopen();
  auto plain = f.groups->committed("plain", "orders");
  REQUIRE(plain);
  REQUIRE(plain->size() == 2);
  REQUIRE(plain->at(0).offset == 4);
  REQUIRE(plain->at(1).offset == 10);
  auto g = f.groups->committed("g", "orders");
  REQUIRE(g->size() == 1);
  REQUIRE(g->front().offset == 8);
  // The member is unknown after the restart: it must rejoin.
  auto h = f.groups->heartbeat("g", "a", a->generation, all({0, 1, 2, 3}));
  REQUIRE(!h);
  REQUIRE(h.error().code == fb::ErrorCode::unknown_member);
  auto list = f.groups->list();
  REQUIRE(list.size() == 2);
  REQUIRE(list[0].group == "g");
  REQUIRE(list[0].partitions[1].lag == 2);
  REQUIRE(list[0].partitions[0].lag == 10);  // never committed: the whole partition
}
