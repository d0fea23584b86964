// Behaviour of the partition log: appends, preconditions, reads, recovery.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include "storage/log.h"
#include "storage/segment_format.h"
#include "tests/storage/test_util.h"

using namespace muninn;
using namespace muninn::test;
using storage::partition_log;

namespace {

std::unique_ptr<partition_log> open_log(const std::string& dir, storage::log_options opts = {}) {
  auto r = partition_log::open(dir, std::move(opts));
  if (!r) FAIL("open failed: " << r.error().message);
  return std::move(*r);
}

std::filesystem::path last_segment(const std::filesystem::path& dir) {
  std::filesystem::path last;
  for (const auto& e : std::filesystem::directory_iterator(dir))
    if (e.path().extension() == ".log" && (last.empty() || e.path() > last)) last = e.path();
  return last;
}

}  // namespace

TEST_CASE("log: offsets are dense and reads return what was appended", "[storage][log]") {
  temp_dir dir;
  auto log = open_log(dir.str());
  REQUIRE(log->head() == 0);
  std::vector<owned_event> batch;
  for (int i = 0; i < 5; ++i) batch.push_back(make_event("s-" + std::to_string(i % 2), "d" + std::to_string(i)));
  auto r = append(*log, batch);
  REQUIRE(r);
  REQUIRE(r->events.size() == 5);
  for (std::uint64_t i = 0; i < 5; ++i) {
    CHECK(r->events[i].offset == i);
    CHECK_FALSE(r->events[i].duplicate);
  }
  CHECK(r->events[0].version == 0);
  CHECK(r->events[1].version == 0);
  CHECK(r->events[2].version == 1);
  CHECK(r->events[4].version == 2);
  auto r2 = append(*log, {make_event("s-0", "d5")});
  REQUIRE(r2);
  CHECK(r2->events[0].offset == 5);
  CHECK(r2->events[0].version == 3);
  REQUIRE(log->head() == 6);

  auto all = read_all(*log);
  REQUIRE(all.size() == 6);
  for (std::size_t i = 0; i < 6; ++i) {
    CHECK(all[i].offset == i);
    CHECK(all[i].data == "d" + std::to_string(i));
  }
  auto from3 = read_all(*log, 3);
  REQUIRE(from3.size() == 3);
  CHECK(from3.front().offset == 3);

  auto s0 = log->read_stream("s-0", 0, 100);
  REQUIRE(s0);
  REQUIRE(s0->size() == 4);
  CHECK((*s0)[3].offset == 5);
  CHECK((*s0)[3].version == 3);
  auto s0tail = log->read_stream("s-0", 2, 100);
  REQUIRE(s0tail);
  REQUIRE(s0tail->size() == 2);
  CHECK(s0tail->front().version == 2);
  CHECK(log->stream_version("s-0").value() == 3);
  CHECK(log->stream_version("nope").value() == -1);

  auto v = log->verify();
  REQUIRE(v);
  CHECK(v->ok);
  CHECK(v->events == 6);
  CHECK(v->head_hash == log->head_hash());
  CHECK(log->read(7, 100).has_value() == false);
}

TEST_CASE("log: reads agree before and after the index caught up", "[storage][log]") {
  temp_dir dir;
  auto log = open_log(dir.str());
  for (int i = 0; i < 50; ++i) REQUIRE(append(*log, {make_event("s", std::to_string(i))}));
  auto before = log->read_stream("s", 10, 5);
  log->flush_index();
  auto after = log->read_stream("s", 10, 5);
  REQUIRE(before);
  REQUIRE(after);
  REQUIRE(before->size() == 5);
  REQUIRE(after->size() == 5);
  for (std::size_t i = 0; i < 5; ++i) CHECK((*before)[i].offset == (*after)[i].offset);
  CHECK(log->stats().indexed == 50);
}

TEST_CASE("log: a wrong expected version refuses the whole batch and names the event", "[storage][log]") {
  temp_dir dir;
  auto log = open_log(dir.str());
  REQUIRE(append(*log, {make_event("a", "x", codec::expect_no_stream)}));
  // Creating it again is refused.
  auto again = append(*log, {make_event("a", "x", codec::expect_no_stream)});
  REQUIRE_FALSE(again);
  CHECK(again.error().code == storage::errc::wrong_expected_version);
  CHECK(again.error().actual_version == 0);

  std::vector<owned_event> batch = {make_event("b", "1", codec::expect_no_stream), make_event("b", "2", 0),
                                    make_event("a", "3", 5)};
  auto r = append(*log, batch);
  REQUIRE_FALSE(r);
  CHECK(r.error().event_index == 2);
  CHECK(r.error().actual_version == 0);
  CHECK(r.error().message.find("event 2") != std::string::npos);
  CHECK(log->head() == 1);
  // Nothing of the refused batch is remembered: "b" is still new.
  auto ok = append(*log, {make_event("b", "1", codec::expect_no_stream), make_event("b", "2", 0),
                          make_event("a", "3", 0)});
  REQUIRE(ok);
  CHECK(ok->events[2].version == 1);
  CHECK(log->head() == 4);
}

TEST_CASE("log: invalid events are refused with their index", "[storage][log]") {
  temp_dir dir;
  auto log = open_log(dir.str());
  auto bad = make_event(std::string(201, 's'));
  auto r = append(*log, {make_event("ok"), bad});
  REQUIRE_FALSE(r);
  CHECK(r.error().code == storage::errc::invalid_event);
  CHECK(r.error().event_index == 1);
  auto empty = append(*log, {});
  REQUIRE_FALSE(empty);
  CHECK(empty.error().code == storage::errc::empty_batch);
  CHECK(log->head() == 0);
}

TEST_CASE("log: the same event id is stored once and returns the original position", "[storage][dedupe]") {
  temp_dir dir;
  auto first = make_event("dup-stream", "one");
  std::uint64_t original = 0;
  {
    auto log = open_log(dir.str());
    REQUIRE(append(*log, {make_event("other")}));
    auto r = append(*log, {first});
    REQUIRE(r);
    original = r->events[0].offset;
    auto again = append(*log, {first});
    REQUIRE(again);
    CHECK(again->events[0].duplicate);
    CHECK(again->events[0].offset == original);
    CHECK(again->events[0].version == 0);
    // Within one batch, and mixed with new events.
    auto fresh = make_event("dup-stream", "two");
    auto mixed = append(*log, {fresh, first, fresh});
    REQUIRE(mixed);
    CHECK_FALSE(mixed->events[0].duplicate);
    CHECK(mixed->events[1].offset == original);
    CHECK(mixed->events[2].duplicate);
    CHECK(mixed->events[2].offset == mixed->events[0].offset);
    CHECK(log->head() == 3);
  }
  SECTION("across a restart") {
    auto log = open_log(dir.str());
    auto r = append(*log, {first});
    REQUIRE(r);
    CHECK(r->events[0].duplicate);
    CHECK(r->events[0].offset == original);
    CHECK(log->head() == 3);
  }
  SECTION("across an index rebuild") {
    std::filesystem::remove_all(dir.path / "index");
    auto log = open_log(dir.str());
    auto r = append(*log, {first});
    REQUIRE(r);
    CHECK(r->events[0].duplicate);
    CHECK(r->events[0].offset == original);
    CHECK(log->head() == 3);
  }
}

TEST_CASE("log: concurrent appenders race for versions and each version is won once",
          "[storage][race]") {
  temp_dir dir;
  auto log = open_log(dir.str());
  constexpr int threads = 8;
  constexpr int wins_needed = 200;
  std::atomic<int> wins{0};
  std::vector<std::thread> ts;
  std::mutex mu;
  std::vector<std::int64_t> won_versions;
  for (int t = 0; t < threads; ++t) {
    ts.emplace_back([&, t] {
      while (wins.load() < wins_needed) {
        auto v = log->stream_version("contended");
        REQUIRE(v);
        auto r = append(*log, {make_event("contended", std::to_string(t), *v)});
        if (r) {
          std::lock_guard g(mu);
          won_versions.push_back(r->events[0].version);
          wins++;
        } else {
          REQUIRE(r.error().code == storage::errc::wrong_expected_version);
          REQUIRE(r.error().actual_version >= *v);
        }
      }
    });
  }
  for (auto& t : ts) t.join();
  std::sort(won_versions.begin(), won_versions.end());
  for (std::size_t i = 0; i < won_versions.size(); ++i) REQUIRE(won_versions[i] == std::int64_t(i));
  auto events = log->read_stream("contended", 0, 100000);
  REQUIRE(events);
  REQUIRE(events->size() == won_versions.size());
  for (std::size_t i = 0; i < events->size(); ++i) CHECK((*events)[i].version == std::int64_t(i));
}

TEST_CASE("log: segments roll and reads cross them, also after reopening", "[storage][segment]") {
  temp_dir dir;
  storage::log_options opts;
  opts.segment_bytes = 4096;
  opts.index_interval_bytes = 512;
  std::vector<std::uint64_t> offsets;
  {
    auto log = open_log(dir.str(), opts);
    for (int i = 0; i < 300; ++i) {
      auto r = append(*log, {make_event("s" + std::to_string(i % 7), std::string(100, char('a' + i % 26)))});
      REQUIRE(r);
      offsets.push_back(r->events[0].offset);
    }
    CHECK(log->stats().segments > 5);
    auto all = read_all(*log);
    REQUIRE(all.size() == 300);
    auto v = log->verify();
    REQUIRE(v);
    CHECK(v->ok);
  }
  auto log = open_log(dir.str(), opts);
  REQUIRE(log->head() == 300);
  auto all = read_all(*log);
  REQUIRE(all.size() == 300);
  for (std::size_t i = 0; i < all.size(); ++i) CHECK(all[i].data == std::string(100, char('a' + i % 26)));
  auto s3 = log->read_stream("s3", 0, 1000);
  REQUIRE(s3);
  CHECK(s3->size() == 43);
  for (std::uint64_t from : {0ull, 1ull, 57ull, 123ull, 299ull}) {
    auto c = log->read(from, 1);
    REQUIRE(c);
    REQUIRE_FALSE(c->batches.empty());
    CHECK(c->batches.front().base_offset <= from);
    CHECK(c->batches.front().base_offset + c->batches.front().count > from);
  }
  auto r = append(*log, {make_event("s0")});
  REQUIRE(r);
  CHECK(r->events[0].offset == 300);
  CHECK(log->verify()->ok);
}

TEST_CASE("log: offset_for_time finds the first batch committed at or after a time", "[storage][time]") {
  temp_dir dir;
  std::int64_t now = 1'000'000;
  storage::log_options opts;
  opts.clock = [&now] { return now; };
  opts.index_interval_bytes = 256;
  auto log = open_log(dir.str(), opts);
  for (int i = 0; i < 100; ++i) {
    now = 1'000'000 + i * 1000;
    REQUIRE(append(*log, {make_event("t")}));
  }
  auto check_all = [&] {
    CHECK(log->offset_for_time(0).value() == 0);
    CHECK(log->offset_for_time(1'000'000).value() == 0);
    CHECK(log->offset_for_time(1'000'001).value() == 1);
    CHECK(log->offset_for_time(1'050'000).value() == 50);
    CHECK(log->offset_for_time(1'099'000).value() == 99);
    CHECK(log->offset_for_time(2'000'000).value() == 100);
  };
  check_all();
  log->flush_index();
  check_all();
  // A clock going backwards never makes commit times decrease.
  now = 5;
  REQUIRE(append(*log, {make_event("t")}));
  CHECK(log->offset_for_time(1'099'000).value() == 99);
}

TEST_CASE("log: a torn or corrupt tail is cut on recovery and everything before is intact",
          "[storage][recovery]") {
  temp_dir dir;
  {
    auto log = open_log(dir.str());
    for (int i = 0; i < 20; ++i) REQUIRE(append(*log, {make_event("s", "event-" + std::to_string(i))}));
  }
  const auto seg = last_segment(dir.path);
  const auto good_size = std::filesystem::file_size(seg);
  SECTION("half a frame") {
    std::vector<char> copy(good_size);
    std::ifstream(seg, std::ios::binary).read(copy.data(), std::streamsize(copy.size()));
    // The last frame again, cut in half: a torn write.
    std::ofstream(seg, std::ios::binary | std::ios::app).write(copy.data() + copy.size() - 60, 30);
  }
  SECTION("garbage") {
    std::ofstream out(seg, std::ios::binary | std::ios::app);
    for (int i = 0; i < 1000; ++i) out.put(char(i * 37));
  }
  SECTION("a frame with a bad checksum") {
    std::vector<char> copy(good_size);
    std::ifstream(seg, std::ios::binary).read(copy.data(), std::streamsize(copy.size()));
    std::vector<char> frame(copy.end() - 80, copy.end());
    frame.back() ^= 1;
    std::ofstream(seg, std::ios::binary | std::ios::app).write(frame.data(), std::streamsize(frame.size()));
  }
  SECTION("zeros, as a preallocated tail would hold") {
    std::ofstream out(seg, std::ios::binary | std::ios::app);
    for (int i = 0; i < 4096; ++i) out.put(0);
  }
  auto log = open_log(dir.str());
  CHECK(std::filesystem::file_size(seg) == good_size);
  REQUIRE(log->head() == 20);
  auto all = read_all(*log);
  REQUIRE(all.size() == 20);
  for (int i = 0; i < 20; ++i) CHECK(all[std::size_t(i)].data == "event-" + std::to_string(i));
  auto r = append(*log, {make_event("s", "after")});
  REQUIRE(r);
  CHECK(r->events[0].offset == 20);
  CHECK(r->events[0].version == 20);
  CHECK(log->verify()->ok);
}

TEST_CASE("log: a damaged byte inside acknowledged data is refused, not cut", "[storage][recovery]") {
  temp_dir dir;
  {
    auto log = open_log(dir.str());
    for (int i = 0; i < 20; ++i) REQUIRE(append(*log, {make_event("s", "event-" + std::to_string(i))}));
  }
  const auto seg = last_segment(dir.path);
  {
    std::fstream f(seg, std::ios::binary | std::ios::in | std::ios::out);
    f.seekp(std::streamoff(storage::format::segment_header_bytes + 40));
    f.put('\x7f');
  }
  auto r = partition_log::open(dir.str());
  REQUIRE_FALSE(r);
  CHECK(r.error().code == storage::errc::corrupt);
  CHECK(r.error().message.find("refusing") != std::string::npos);
}

TEST_CASE("log: verify names the first batch whose hash chain breaks", "[storage][verify]") {
  temp_dir dir;
  auto log = open_log(dir.str());
  for (int i = 0; i < 10; ++i) REQUIRE(append(*log, {make_event("s", "event-" + std::to_string(i))}));
  const auto seg = last_segment(dir.path);
  // Find the 5th batch's position by reading, then flip a data byte in it.
  auto c = log->read(4, 1);
  REQUIRE(c);
  auto ok = log->verify();
  REQUIRE(ok);
  REQUIRE(ok->ok);
  auto bytes = std::filesystem::file_size(seg);
  std::vector<char> copy(bytes);
  std::ifstream(seg, std::ios::binary).read(copy.data(), std::streamsize(bytes));
  const std::string needle = "event-4";
  auto at = std::search(copy.begin(), copy.end(), needle.begin(), needle.end());
  REQUIRE(at != copy.end());
  {
    std::fstream f(seg, std::ios::binary | std::ios::in | std::ios::out);
    f.seekp(at - copy.begin());
    f.put('E');
  }
  auto v = log->verify();
  REQUIRE(v);
  CHECK_FALSE(v->ok);
  CHECK(v->base_offset == 4);
  CHECK(v->segment == seg.string());
}

TEST_CASE("log: losing the index changes no answer", "[storage][index]") {
  temp_dir dir;
  std::int64_t now = 10'000'000;
  storage::log_options opts;
  opts.clock = [&now] { return now += 1000; };
  opts.segment_bytes = 8192;
  opts.index_interval_bytes = 300;
  std::vector<owned_event> events;
  for (int i = 0; i < 120; ++i) events.push_back(make_event("stream-" + std::to_string(i % 9), std::to_string(i)));
  struct answers {
    std::vector<stored_event> all;
    std::vector<std::vector<std::uint64_t>> streams;
    std::vector<std::uint64_t> times;
    std::vector<std::uint64_t> dedupe;
    codec::hash256 head_hash;
  };
  auto collect = [&](partition_log& log) {
    answers a;
    a.all = read_all(log);
    for (int s = 0; s < 9; ++s) {
      std::vector<std::uint64_t> offs;
      for (const auto& e : log.read_stream("stream-" + std::to_string(s), 0, 1000).value()) offs.push_back(e.offset);
      a.streams.push_back(offs);
    }
    for (std::int64_t t = 10'000'000; t < 10'200'000; t += 7'000) a.times.push_back(log.offset_for_time(t).value());
    for (std::size_t i = 0; i < events.size(); i += 11) {
      auto r = append(log, {events[i]});
      a.dedupe.push_back(r.value().events[0].offset);
      REQUIRE(r->events[0].duplicate);
    }
    a.head_hash = log.head_hash();
    return a;
  };
  answers before;
  {
    auto log = open_log(dir.str(), opts);
    for (std::size_t i = 0; i < events.size(); i += 3)
      REQUIRE(append(*log, {events[i], events[i + 1], events[i + 2]}));
    before = collect(*log);
  }
  std::filesystem::remove_all(dir.path / "index");
  auto log = open_log(dir.str(), opts);
  auto after = collect(*log);
  REQUIRE(after.all.size() == before.all.size());
  for (std::size_t i = 0; i < after.all.size(); ++i) {
    CHECK(after.all[i].offset == before.all[i].offset);
    CHECK(after.all[i].id == before.all[i].id);
  }
  CHECK(after.streams == before.streams);
  CHECK(after.times == before.times);
  CHECK(after.dedupe == before.dedupe);
  CHECK(after.head_hash == before.head_hash);
}

TEST_CASE("log: a damaged index directory is rebuilt from the segments", "[storage][index]") {
  temp_dir dir;
  {
    auto log = open_log(dir.str());
    for (int i = 0; i < 30; ++i) REQUIRE(append(*log, {make_event("s")}));
  }
  for (const auto& e : std::filesystem::directory_iterator(dir.path / "index")) {
    if (e.path().filename().string().rfind("CURRENT", 0) == 0) {
      std::ofstream(e.path(), std::ios::trunc) << "garbage\n";
    }
  }
  auto log = open_log(dir.str());
  CHECK(log->head() == 30);
  CHECK(log->read_stream("s", 0, 100).value().size() == 30);
  CHECK(log->stream_version("s").value() == 29);
}

TEST_CASE("log: acks=written acknowledges and the data is durable after close", "[storage][log]") {
  temp_dir dir;
  {
    auto log = open_log(dir.str());
    for (int i = 0; i < 10; ++i)
      REQUIRE(append(*log, {make_event("w", std::to_string(i))}, storage::ack_mode::written));
  }
  auto log = open_log(dir.str());
  CHECK(log->head() == 10);
}

TEST_CASE("log: appends after close are refused", "[storage][log]") {
  temp_dir dir;
  auto log = open_log(dir.str());
  log->close();
  auto r = append(*log, {make_event("x")});
  REQUIRE_FALSE(r);
  CHECK(r.error().code == storage::errc::closed);
}

TEST_CASE("log: dedupe after a restart finds v7 ids in their runs and other ids by key", "[storage][dedupe]") {
  temp_dir dir;
  std::vector<owned_event> events;
  std::mt19937_64 rng(7);
  for (int i = 0; i < 300; ++i) {
    auto e = make_event("s" + std::to_string(i % 5), std::to_string(i));
    if (i % 3 == 0) {
      // A random (version 4) id, as a producer that brings its own would.
      for (auto& b : e.id.bytes) b = std::uint8_t(rng());
      e.id.bytes[6] = std::uint8_t(0x40 | (e.id.bytes[6] & 0x0f));
    }
    events.push_back(e);
  }
  std::vector<std::uint64_t> offsets;
  {
    storage::log_options opts;
    opts.index_batch_events = 7;  // many index writes: many runs per second
    auto log = open_log(dir.str(), opts);
    for (std::size_t i = 0; i < events.size(); i += 3) {
      auto r = append(*log, {events[i], events[i + 1], events[i + 2]});
      REQUIRE(r);
      for (const auto& e : r->events) offsets.push_back(e.offset);
    }
  }
  auto log = open_log(dir.str());
  for (std::size_t i = 0; i < events.size(); ++i) {
    auto r = append(*log, {events[i]});
    REQUIRE(r);
    CHECK(r->events[0].duplicate);
    CHECK(r->events[0].offset == offsets[i]);
  }
  CHECK(log->head() == events.size());
  // A fresh id is still new.
  auto fresh = append(*log, {make_event("s0")});
  REQUIRE(fresh);
  CHECK_FALSE(fresh->events[0].duplicate);
}

TEST_CASE("log: append_sync leads its own write when idle and queues behind the I/O thread otherwise",
          "[storage][log]") {
  temp_dir dir;
  auto log = open_log(dir.str());
  // Alone: every append leads, the I/O thread writes nothing.
  for (int i = 0; i < 20; ++i) REQUIRE(append(*log, {make_event("lead", std::to_string(i))}));
  CHECK(log->stats().commits == 20);
  CHECK(log->stats().led_commits == 20);
  // acks=written never leads: its acknowledgement comes before the fdatasync.
  REQUIRE(append(*log, {make_event("lead", "w")}, storage::ack_mode::written));
  CHECK(log->stats().led_commits == 20);

  // Beside a stream of async appends, sync appends lead or queue, and the
  // log stays one dense, chained sequence in which each acknowledged
  // offset holds exactly the event it was acknowledged for.
  constexpr int per_thread = 300;
  std::atomic<int> async_left{per_thread};
  std::atomic<int> failures{0};
  std::vector<owned_event> async_events;
  for (int i = 0; i < per_thread; ++i) async_events.push_back(make_event("async", "a" + std::to_string(i)));
  std::vector<std::uint64_t> async_offsets(per_thread);
  std::thread async_writer([&] {
    for (int i = 0; i < per_thread; ++i) {
      const auto view = async_events[std::size_t(i)].view();
      storage::append_request req;
      req.events = std::span(&view, 1);
      log->append(req, [&, i](storage::append_result r) {
        // Catch2 asserts on the test's thread only: failures are counted.
        if (r) async_offsets[std::size_t(i)] = r->events[0].offset;
        else ++failures;
        --async_left;
      });
      if (i % 16 == 0) std::this_thread::sleep_for(std::chrono::microseconds(300));
    }
  });
  std::vector<std::thread> sync_writers;
  std::vector<std::vector<std::pair<std::uint64_t, std::string>>> acked(2);
  for (int t = 0; t < 2; ++t) {
    sync_writers.emplace_back([&, t] {
      for (int i = 0; i < per_thread / 3; ++i) {
        const std::string data = "s" + std::to_string(t) + "-" + std::to_string(i);
        auto r = append(*log, {make_event("sync-" + std::to_string(t), data)});
        if (!r) {
          ++failures;
          continue;
        }
        acked[std::size_t(t)].emplace_back(r->events[0].offset, data);
      }
    });
  }
  async_writer.join();
  for (auto& w : sync_writers) w.join();
  while (async_left.load() > 0) std::this_thread::yield();

  REQUIRE(failures.load() == 0);
  const auto s = log->stats();
  CHECK(s.led_commits > 20);
  CHECK(s.commits > s.led_commits);  // the I/O thread wrote some groups too
  const std::uint64_t total = 21 + per_thread + 2 * (per_thread / 3);
  REQUIRE(log->head() == total);
  const auto all = read_all(*log);
  REQUIRE(all.size() == total);
  for (std::uint64_t i = 0; i < total; ++i) CHECK(all[i].offset == i);
  for (int i = 0; i < per_thread; ++i)
    CHECK(all[async_offsets[std::size_t(i)]].data == async_events[std::size_t(i)].data);
  for (const auto& thread_acks : acked)
    for (const auto& [offset, data] : thread_acks) CHECK(all[offset].data == data);
  auto v = log->verify();
  REQUIRE(v);
  CHECK(v->ok);
}
