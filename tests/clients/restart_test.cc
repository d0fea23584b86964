// A producer keeps appending while muninnd is SIGKILLed and restarted three
// times: every acknowledged event ends up in the log exactly once, and a
// subscriber that ran throughout saw every offset once, in order, with the
// ids the log holds.
#include <catch2/catch.hpp>

#include <atomic>
#include <cstring>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "clients/client.h"
#include "clients/producer.h"
#include "tests/clients/broker_process.h"

using namespace muninn::client;
namespace codec = muninn::codec;
namespace test = muninn::test;

TEST_CASE("restart: a producer loses and duplicates nothing across three SIGKILL restarts", "[clients][loopback][restart]") {
  test::temp_dir dir;
  test::broker_process broker(dir.path());
  REQUIRE(broker.start());
  client_options co;
  co.port = broker.port();
  co.request_timeout = std::chrono::seconds(5);
  co.connect_timeout = std::chrono::seconds(2);
  co.reconnect_backoff_max = std::chrono::milliseconds(200);
  client admin(co);
  REQUIRE(admin.create_topic("restart", 2));

  // Subscriber on its own connection, from offset 0, for the whole run.
  client consumer(co);
  std::mutex mu;
  std::map<std::uint32_t, std::vector<std::pair<std::uint64_t, std::string>>> seen;  // partition -> (offset, id)
  std::optional<client_error> sub_error;
  std::vector<subscription> subs;
  for (std::uint32_t p = 0; p < 2; ++p) {
    subs.push_back(consumer.subscribe(
        "restart", p, 0,
        [&, p](std::span<const event_record> events, std::uint64_t) {
          std::lock_guard lock(mu);
          for (const auto& e : events) seen[p].emplace_back(e.offset, e.id().to_string());
        },
        [&](const client_error& e) {
          std::lock_guard lock(mu);
          sub_error = e;
        }));
  }

  constexpr int total = 100'000;
  constexpr int per_append = 200;
  std::atomic<int> acked{0};
  std::vector<event_position> positions;
  std::optional<client_error> produce_error;
  std::thread writer([&] {
    client c(co);
    producer_options po;
    po.delivery_timeout = std::chrono::seconds(60);
    producer p(c, po);
    const std::string payload(200, 'x');
    for (int i = 0; i < total; i += per_append) {
      std::vector<codec::owned_event> events;
      for (int k = 0; k < per_append; ++k) {
        codec::owned_event e;
        e.stream = "stream-" + std::to_string((i + k) % 97);
        e.type = "Tick";
        e.content_type = "application/octet-stream";
        e.data.resize(payload.size());
        std::memcpy(e.data.data(), payload.data(), payload.size());
        events.push_back(std::move(e));
      }
      auto r = p.append("restart", std::move(events));
      if (!r) {
        produce_error = r.error();
        return;
      }
      positions.insert(positions.end(), r->begin(), r->end());
      acked += per_append;
    }
  });

  for (int round = 1; round <= 3; ++round) {
    const int wait_for = total * round / 4;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    while (acked.load() < wait_for && !produce_error && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    broker.kill_hard();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    REQUIRE(broker.start());
  }
  writer.join();
  if (produce_error) FAIL(produce_error->describe());
  REQUIRE(positions.size() == static_cast<std::size_t>(total));

  // The log: every acknowledged id exactly once, nothing else.
  std::set<std::string> acked_ids;
  for (const auto& p : positions) acked_ids.insert(p.id.to_string());
  REQUIRE(acked_ids.size() == static_cast<std::size_t>(total));
  std::map<std::uint32_t, std::vector<std::string>> log;
  std::multiset<std::string> stored;
  for (std::uint32_t p = 0; p < 2; ++p) {
    std::uint64_t next = 0;
    while (true) {
      auto r = admin.fetch("restart", p, next, 1u << 20);
      REQUIRE(r);
      for (const auto& e : r->events) {
        REQUIRE(e.offset == log[p].size());
        log[p].push_back(e.id().to_string());
        stored.insert(e.id().to_string());
      }
      if (r->next_offset >= r->head || r->next_offset == next) break;
      next = r->next_offset;
    }
  }
  CHECK(stored.size() == static_cast<std::size_t>(total));
  for (const auto& id : acked_ids) CHECK(stored.count(id) == 1);
  for (const auto& p : positions) CHECK(log[p.partition].at(p.offset) == p.id.to_string());

  // The subscriber caught up with both partitions, each offset once, in order.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    {
      std::lock_guard lock(mu);
      if (sub_error || (seen[0].size() >= log[0].size() && seen[1].size() >= log[1].size())) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  for (auto& s : subs) s.cancel();
  std::lock_guard lock(mu);
  if (sub_error) FAIL(sub_error->describe());
  for (std::uint32_t p = 0; p < 2; ++p) {
    REQUIRE(seen[p].size() == log[p].size());
    for (std::size_t i = 0; i < seen[p].size(); ++i) {
      REQUIRE(seen[p][i].first == i);
      REQUIRE(seen[p][i].second == log[p][i]);
    }
  }
}
