// The client library against a real muninnd on a free loopback port:
// topic admin, each fetch mode, subscribe (catch-up then live), expected
// versions, dedupe by id, consumer offsets.
#include <catch2/catch.hpp>

#include <atomic>
#include <condition_variable>
#include <future>
#include <cstring>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "clients/client.h"
#include "clients/producer.h"
#include "codec/stream_hash.h"
#include "tests/clients/broker_process.h"

using namespace muninn::client;
namespace codec = muninn::codec;
namespace fb = muninn::fb;
namespace test = muninn::test;

namespace {

codec::owned_event make_event(std::string stream, std::string type = "Happened", std::string data = "{\"n\":1}") {
  codec::owned_event e;
  e.stream = std::move(stream);
  e.type = std::move(type);
  e.content_type = std::string(codec::content_type_json);
  e.data.resize(data.size());
  std::memcpy(e.data.data(), data.data(), data.size());
  return e;
}

struct running_broker {
  test::temp_dir dir;
  test::broker_process broker{dir.path()};
  running_broker() { REQUIRE(broker.start()); }
  client_options options() const {
    client_options o;
    o.port = broker.port();
    o.request_timeout = std::chrono::seconds(10);
    return o;
  }
};

std::vector<event_record> fetch_all(client& c, std::string_view topic, std::uint32_t partition) {
  std::vector<event_record> out;
  std::uint64_t next = 0;
  while (true) {
    auto r = c.fetch(topic, partition, next, 64 * 1024);
    REQUIRE(r);
    out.insert(out.end(), r->events.begin(), r->events.end());
    if (r->next_offset >= r->head || r->next_offset == next) break;
    next = r->next_offset;
  }
  return out;
}

}  // namespace

TEST_CASE("loopback: topics are created, listed and described, and a second create is refused", "[clients][loopback]") {
  running_broker b;
  client c(b.options());
  auto t = c.create_topic("orders", 3);
  REQUIRE(t);
  CHECK(t->partitions == 3);
  auto again = c.create_topic("orders", 3);
  REQUIRE_FALSE(again);
  CHECK(again.error().code == fb::ErrorCode::topic_exists);
  auto list = c.list_topics();
  REQUIRE(list);
  std::set<std::string> names;
  for (const auto& x : *list) names.insert(x.name);
  CHECK(names.count("orders") == 1);
  CHECK(names.count("forsendelser") == 1);
  auto d = c.describe_topic("orders");
  REQUIRE(d);
  CHECK(d->parts.size() == 3);
  CHECK(d->parts[0].head == 0);
  auto missing = c.describe_topic("nope");
  REQUIRE_FALSE(missing);
  CHECK(missing.error().code == fb::ErrorCode::unknown_topic);
}

TEST_CASE("loopback: produced events come back by offset, by stream and by time", "[clients][loopback]") {
  running_broker b;
  client c(b.options());
  REQUIRE(c.create_topic("orders", 3));
  const auto before = codec::now_micros();
  std::vector<event_position> acked;
  {
    producer p(c);
    std::vector<codec::owned_event> events;
    for (int i = 0; i < 200; ++i) events.push_back(make_event("order-" + std::to_string(i % 10)));
    auto r = p.append("orders", std::move(events));
    REQUIRE(r);
    acked = *r;
  }
  REQUIRE(acked.size() == 200);
  std::set<std::string> acked_ids;
  for (const auto& a : acked) {
    acked_ids.insert(a.id.to_string());
    CHECK_FALSE(a.duplicate);
  }
  CHECK(acked_ids.size() == 200);

  // By offset: every partition from 0 holds exactly the acknowledged events.
  std::set<std::string> seen;
  std::size_t total = 0;
  for (std::uint32_t p = 0; p < 3; ++p) {
    auto events = fetch_all(c, "orders", p);
    for (std::size_t i = 0; i < events.size(); ++i) {
      CHECK(events[i].offset == i);
      CHECK(codec::partition_for(events[i].stream(), 3) == p);
      seen.insert(events[i].id().to_string());
    }
    total += events.size();
  }
  CHECK(total == 200);
  CHECK(seen == acked_ids);

  // By stream: versions 0..19 in order.
  auto stream = c.read_stream("orders", "order-3");
  REQUIRE(stream);
  REQUIRE(stream->size() == 20);
  for (std::size_t i = 0; i < stream->size(); ++i) CHECK((*stream)[i].version() == static_cast<std::int64_t>(i));
  auto tail = c.read_stream("orders", "order-3", 15);
  REQUIRE(tail);
  CHECK(tail->size() == 5);

  // By time: before everything is offset 0; after everything is the head.
  const auto p3 = codec::partition_for("order-3", 3);
  auto first = c.offset_for_time("orders", p3, before - 1'000'000);
  REQUIRE(first);
  CHECK(*first == 0);
  auto d = c.describe_topic("orders");
  REQUIRE(d);
  auto last = c.offset_for_time("orders", p3, codec::now_micros() + 60'000'000);
  REQUIRE(last);
  CHECK(*last == d->parts[p3].head);
}

TEST_CASE("loopback: a subscription catches up, then delivers live events in order", "[clients][loopback]") {
  running_broker b;
  client c(b.options());
  REQUIRE(c.create_topic("live", 1));
  std::vector<codec::owned_event> first;
  for (int i = 0; i < 50; ++i) first.push_back(make_event("s-" + std::to_string(i)));
  {
    producer p(c);
    REQUIRE(p.append("live", std::move(first)));
  }
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::uint64_t> offsets;
  subscribe_options so;
  so.credit_bytes = 4096;  // small: credit has to flow back for catch-up to finish
  so.check_chain = true;
  std::optional<client_error> error;
  auto sub = c.subscribe(
      "live", 0, 10,
      [&](std::span<const event_record> events, std::uint64_t) {
        std::lock_guard lock(mu);
        for (const auto& e : events) offsets.push_back(e.offset);
        cv.notify_all();
      },
      [&](const client_error& e) {
        std::lock_guard lock(mu);
        error = e;
        cv.notify_all();
      },
      so);
  {
    std::unique_lock lock(mu);
    REQUIRE(cv.wait_for(lock, std::chrono::seconds(10), [&] { return offsets.size() >= 40 || error; }));
  }
  {
    producer p(c);
    for (int i = 0; i < 30; ++i) {
      std::vector<codec::owned_event> one;
      one.push_back(make_event("live-" + std::to_string(i)));
      REQUIRE(p.append("live", std::move(one)));
    }
  }
  std::unique_lock lock(mu);
  REQUIRE(cv.wait_for(lock, std::chrono::seconds(10), [&] { return offsets.size() >= 70 || error; }));
  CHECK_FALSE(error);
  REQUIRE(offsets.size() == 70);
  for (std::size_t i = 0; i < offsets.size(); ++i) CHECK(offsets[i] == 10 + i);
  CHECK(sub.next_offset() == 80);
  lock.unlock();
  sub.cancel();
  CHECK_FALSE(sub.active());
  // Nothing is delivered after cancel().
  {
    producer p(c);
    REQUIRE(p.append("live", {make_event("after-cancel")}));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  lock.lock();
  CHECK(offsets.size() == 70);
}

TEST_CASE("loopback: a stale expected version is a conflict carrying the actual version", "[clients][loopback]") {
  running_broker b;
  client c(b.options());
  REQUIRE(c.create_topic("es", 2));
  auto created = c.append_expected("es", make_event("account-1", "Opened"), codec::expect_no_stream);
  REQUIRE(created);
  CHECK(created->version == 0);
  auto second = c.append_expected("es", make_event("account-1", "Deposited"), 0);
  REQUIRE(second);
  CHECK(second->version == 1);
  auto stale = c.append_expected("es", make_event("account-1", "Withdrawn"), 0);
  REQUIRE_FALSE(stale);
  CHECK(stale.error().is_conflict());
  CHECK(stale.error().actual_version == 1);
  auto recreate = c.append_expected("es", make_event("account-1", "Opened"), codec::expect_no_stream);
  REQUIRE_FALSE(recreate);
  CHECK(recreate.error().is_conflict());
  auto history = c.read_stream("es", "account-1");
  REQUIRE(history);
  CHECK(history->size() == 2);
}

TEST_CASE("loopback: the same id appended twice is stored once and answered as a duplicate", "[clients][loopback]") {
  running_broker b;
  client c(b.options());
  REQUIRE(c.create_topic("dedupe", 1));
  auto e = make_event("s-1");
  e.id = codec::event_id::generate_v7();
  producer p(c);
  auto first = p.append("dedupe", {e});
  REQUIRE(first);
  auto second = p.append("dedupe", {e});
  REQUIRE(second);
  CHECK_FALSE(first->front().duplicate);
  CHECK(second->front().duplicate);
  CHECK(second->front().offset == first->front().offset);
  CHECK(fetch_all(c, "dedupe", 0).size() == 1);
}

TEST_CASE("loopback: consumer offsets are committed, read back and survive a restart", "[clients][loopback]") {
  running_broker b;
  {
    client c(b.options());
    REQUIRE(c.create_topic("offs", 2));
    // Committed offsets must be within the partitions' heads.
    producer p(c);
    std::vector<codec::owned_event> events;
    for (int i = 0; i < 40; ++i) events.push_back(make_event("s-" + std::to_string(i)));
    REQUIRE(p.append("offs", std::move(events)));
    const partition_offset offs[] = {{0, 5}, {1, 7}};
    auto committed = c.commit_offsets("billing", "offs", offs);
    if (!committed) FAIL(committed.error().describe());
    auto back = c.fetch_offsets("billing", "offs");
    REQUIRE(back);
    CHECK(back->size() == 2);
    auto none = c.fetch_offsets("nobody", "offs");
    REQUIRE(none);
    for (const auto& o : *none) CHECK(o.offset == 0);
  }
  b.broker.kill_hard();
  REQUIRE(b.broker.start());
  client c(b.options());
  auto back = c.fetch_offsets("billing", "offs");
  REQUIRE(back);
  std::map<std::uint32_t, std::uint64_t> m;
  for (const auto& o : *back) m[o.partition] = o.offset;
  CHECK(m[0] == 5);
  CHECK(m[1] == 7);
}

TEST_CASE("loopback: the producer's in-flight memory stays within its limit, append blocks", "[clients][loopback]") {
  running_broker b;
  client c(b.options());
  REQUIRE(c.create_topic("bounded", 2));
  producer_options po;
  po.max_in_flight_bytes = 8 * 1024;
  po.linger = std::chrono::milliseconds(5);
  producer p(c, po);
  std::atomic<int> ok{0}, failed{0};
  std::size_t max_seen = 0;
  const std::string big(500, 'x');
  for (int i = 0; i < 2000; ++i) {
    std::vector<codec::owned_event> one;
    one.push_back(make_event("s-" + std::to_string(i % 7), "Big", "\"" + big + "\""));
    p.append_async("bounded", std::move(one), [&](append_result r) { (r ? ok : failed)++; });
    max_seen = std::max(max_seen, p.in_flight_bytes());
  }
  p.flush();
  CHECK(ok.load() == 2000);
  CHECK(failed.load() == 0);
  CHECK(max_seen <= po.max_in_flight_bytes);
  CHECK(p.in_flight_bytes() == 0);

  // From the client's I/O thread append never blocks: over the limit it is would_block.
  std::promise<std::vector<error_kind>> kinds;
  c.post([&] {
    auto out = std::make_shared<std::vector<error_kind>>();
    auto pending = std::make_shared<int>(40);
    for (int i = 0; i < 40; ++i) {
      std::vector<codec::owned_event> one;
      one.push_back(make_event("io-" + std::to_string(i), "Big", "\"" + big + "\""));
      p.append_async("bounded", std::move(one), [&kinds, out, pending](append_result r) {
        if (!r) out->push_back(r.error().kind);
        if (--*pending == 0) kinds.set_value(*out);
      });
    }
  });
  auto f = kinds.get_future();
  REQUIRE(f.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
  auto k = f.get();
  REQUIRE_FALSE(k.empty());
  for (auto x : k) CHECK(x == error_kind::would_block);
}

TEST_CASE("loopback: an append made while the broker is down completes once it is back", "[clients][loopback]") {
  running_broker b;
  {
    client c(b.options());
    REQUIRE(c.create_topic("later", 2));
  }
  b.broker.kill_hard();
  auto o = b.options();
  o.connect_timeout = std::chrono::milliseconds(500);
  o.reconnect_backoff_max = std::chrono::milliseconds(100);
  client c(o);
  producer p(c);
  auto pending = std::async(std::launch::async, [&] {
    std::vector<codec::owned_event> events;
    for (int i = 0; i < 10; ++i) events.push_back(make_event("s-" + std::to_string(i)));
    return p.append("later", std::move(events));
  });
  CHECK(pending.wait_for(std::chrono::milliseconds(400)) == std::future_status::timeout);
  REQUIRE(b.broker.start());
  REQUIRE(pending.wait_for(std::chrono::seconds(30)) == std::future_status::ready);
  auto r = pending.get();
  if (!r) FAIL(r.error().describe());
  CHECK(r->size() == 10);
  CHECK(fetch_all(c, "later", 0).size() + fetch_all(c, "later", 1).size() == 10);
}

TEST_CASE("loopback: one refused event fails only its own append, the others of its batch are appended", "[clients][loopback]") {
  running_broker b;
  client c(b.options());
  REQUIRE(c.create_topic("mixed", 1));
  producer_options po;
  po.linger = std::chrono::milliseconds(50);  // the three appends share one batch
  producer p(c, po);
  std::vector<std::promise<append_result>> results(3);
  for (int i = 0; i < 3; ++i) {
    std::vector<codec::owned_event> one;
    one.push_back(make_event("acct-" + std::to_string(i)));
    if (i == 1) one.front().expected_version = 5;  // the stream does not exist
    p.append_async("mixed", std::move(one), [&results, i](append_result r) { results[static_cast<std::size_t>(i)].set_value(std::move(r)); });
  }
  auto r0 = results[0].get_future().get();
  auto r1 = results[1].get_future().get();
  auto r2 = results[2].get_future().get();
  REQUIRE(r0);
  REQUIRE(r2);
  REQUIRE_FALSE(r1);
  CHECK(r1.error().is_conflict());
  CHECK(r1.error().event_index == 0);
  auto events = fetch_all(c, "mixed", 0);
  REQUIRE(events.size() == 2);
  CHECK(events[0].stream() == "acct-0");
  CHECK(events[1].stream() == "acct-2");
}

TEST_CASE("loopback: frames of a megabyte and more (read straight into their response) deliver every event intact",
          "[clients][loopback]") {
  running_broker b;
  client c(b.options());
  REQUIRE(c.create_topic("big", 1));
  const std::string payload(5000, 'x');
  for (int round = 0; round < 6; ++round) {
    std::vector<codec::owned_event> batch;
    for (int i = 0; i < 100; ++i) {
      const int n = round * 100 + i;
      batch.push_back(make_event("s-" + std::to_string(n), "Happened", "{\"n\":" + std::to_string(n) + ",\"p\":\"" + payload + "\"}"));
    }
    producer p(c);
    REQUIRE(p.append("big", std::move(batch)));
  }
  subscribe_options so;
  so.credit_bytes = 4u << 20;  // the broker reads up to 1 MiB per frame: several frames above 256 KiB
  so.check_chain = true;
  // Events are collected on the client's I/O thread; the future waits here.
  std::promise<std::vector<std::string>> all;
  std::vector<std::string> seen;
  bool finished = false;
  auto sub = c.subscribe(
      "big", 0, 0,
      [&](std::span<const event_record> events, std::uint64_t) {
        for (const auto& e : events) seen.emplace_back(reinterpret_cast<const char*>(e.data().data()), e.data().size());
        if (seen.size() >= 600 && !std::exchange(finished, true)) all.set_value(seen);
      },
      [&](const client_error& e) {
        if (!std::exchange(finished, true)) all.set_exception(std::make_exception_ptr(std::runtime_error(e.describe())));
      },
      so);
  auto got = all.get_future();
  REQUIRE(got.wait_for(std::chrono::seconds(20)) == std::future_status::ready);
  const auto delivered = got.get();
  REQUIRE(delivered.size() == 600);
  for (int n = 0; n < 600; ++n)
    REQUIRE(delivered[std::size_t(n)] == "{\"n\":" + std::to_string(n) + ",\"p\":\"" + payload + "\"}");
  sub.cancel();
  // A fetch of 2 MiB is one large frame too, and a request after it works.
  auto f = c.fetch("big", 0, 0, 2u << 20);
  REQUIRE(f);
  CHECK(f->events.size() >= 300);
  CHECK(f->events.front().offset == 0);
  REQUIRE(c.describe_topic("big"));
}
