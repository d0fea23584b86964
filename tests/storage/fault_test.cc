// Fault injection through the storage io interface: a failed write or sync
// fences the partition, no false acknowledgement is ever given, and after a
// reopen every acknowledged event is there exactly once.
#include <catch2/catch.hpp>

#include <functional>
#include <future>
#include <map>

#include "storage/io/file_system.h"
#include "storage/log.h"
#include "tests/storage/test_util.h"

using namespace muninn;
using namespace muninn::test;

namespace {

struct acked {
  std::uint64_t offset;
  codec::event_id id;
};

// Appends in waves of concurrent requests until one fails; returns what was
// acknowledged. Every append after the first failure must fail too.
std::vector<acked> append_until_failure(storage::partition_log& log, storage::ack_mode acks, bool& failed) {
  std::vector<acked> ok;
  failed = false;
  // Until the injected failure has happened (group commit decides how many
  // syncs a wave takes), then two more waves that must all fail.
  int waves_after_failure = 0;
  for (int wave = 0; wave < 500 && waves_after_failure < 2; ++wave) {
    if (failed) ++waves_after_failure;
    std::vector<std::vector<owned_event>> batches(4);
    std::vector<std::future<storage::append_result>> results;
    std::vector<std::vector<codec::event_in>> views(4);
    for (int b = 0; b < 4; ++b) {
      for (int i = 0; i < 3; ++i) batches[std::size_t(b)].push_back(make_event("f" + std::to_string(i), "x"));
      for (const auto& e : batches[std::size_t(b)]) views[std::size_t(b)].push_back(e.view());
      auto p = std::make_shared<std::promise<storage::append_result>>();
      results.push_back(p->get_future());
      storage::append_request req;
      req.events = views[std::size_t(b)];
      req.acks = acks;
      log.append(req, [p](storage::append_result r) { p->set_value(std::move(r)); });
    }
    for (int b = 0; b < 4; ++b) {
      auto r = results[std::size_t(b)].get();
      if (r) {
        if (failed && acks == storage::ack_mode::durable) FAIL("append acknowledged after the partition fenced");
        for (std::size_t i = 0; i < r->events.size(); ++i)
          ok.push_back({r->events[i].offset, batches[std::size_t(b)][i].id});
      } else {
        CHECK((r.error().code == storage::errc::io_error || r.error().code == storage::errc::fenced));
        failed = true;
      }
    }
  }
  return ok;
}

void check_all_present(const std::string& dir, const std::vector<acked>& ok) {
  auto reopened = storage::partition_log::open(dir);
  if (!reopened) FAIL("reopen: " << reopened.error().message);
  auto& log = **reopened;
  auto all = read_all(log);
  std::map<codec::event_id, std::uint64_t> where;
  for (const auto& e : all) REQUIRE(where.emplace(e.id, e.offset).second);  // no id twice
  for (const auto& a : ok) {
    auto it = where.find(a.id);
    REQUIRE(it != where.end());
    CHECK(it->second == a.offset);
  }
  auto v = log.verify();
  REQUIRE(v);
  CHECK(v->ok);
  const auto head = log.head();
  auto r = append(log, {make_event("after")});
  REQUIRE(r);
  CHECK(r->events[0].offset == head);
}

}  // namespace

namespace {

// One round: a fault file system set up by `inject`, appends until the
// injected failure fences the partition, then a reopen that must find every
// acknowledged event.
void fault_round(const std::function<void(storage::io::fault_file_system&)>& inject, storage::ack_mode acks) {
  temp_dir dir;
  auto fs = storage::io::make_fault_file_system(storage::io::uring_file_system());
  inject(*fs);
  storage::log_options opts;
  opts.fs = fs;
  auto log = storage::partition_log::open(dir.str(), opts);
  REQUIRE(log);
  bool failed = false;
  auto ok = append_until_failure(**log, acks, failed);
  CHECK(failed);
  auto later = append(**log, {make_event("late")});
  REQUIRE_FALSE(later);
  CHECK(later.error().code == storage::errc::fenced);
  (*log)->close();
  check_all_present(dir.str(), ok);
}

}  // namespace

TEST_CASE("fault: a failed write fences the partition and loses nothing acknowledged", "[storage][fault]") {
  for (std::uint64_t n = 2; n <= 14; ++n) {
    for (auto acks : {storage::ack_mode::durable, storage::ack_mode::written}) {
      INFO("failing write " << n << (acks == storage::ack_mode::durable ? " durable" : " written"));
      fault_round([n](auto& fs) { fs.fail_write_at(n); }, acks);
    }
  }
}

TEST_CASE("fault: a failed fdatasync fences the partition and loses nothing acknowledged", "[storage][fault]") {
  // Sync 1 and 2 belong to creating the first segment (file, directory).
  for (std::uint64_t n = 3; n <= 16; ++n) {
    INFO("failing sync " << n);
    fault_round([n](auto& fs) { fs.fail_sync_at(n); }, storage::ack_mode::durable);
  }
}

TEST_CASE("fault: after a power cut every durable acknowledgement survives", "[storage][fault]") {
  for (std::uint64_t n = 3; n <= 12; ++n) {
    INFO("failing sync " << n << " then dropping unsynced data");
    temp_dir dir;
    auto mem = storage::io::make_memory_file_system();
    auto fs = storage::io::make_fault_file_system(mem);
    fs->fail_sync_at(n);
    storage::log_options opts;
    opts.fs = fs;
    opts.segment_bytes = 600;  // roll often: segment creation must be durable too
    std::vector<acked> ok;
    {
      auto log = storage::partition_log::open(dir.str(), opts);
      REQUIRE(log);
      bool failed = false;
      ok = append_until_failure(**log, storage::ack_mode::durable, failed);
      CHECK(failed);
      (*log)->close();
    }
    mem->drop_unsynced();
    storage::log_options reopen;
    reopen.fs = mem;
    auto log = storage::partition_log::open(dir.str(), reopen);
    REQUIRE(log);
    auto all = read_all(**log);
    std::map<codec::event_id, std::uint64_t> where;
    for (const auto& e : all) REQUIRE(where.emplace(e.id, e.offset).second);
    for (const auto& a : ok) {
      auto it = where.find(a.id);
      REQUIRE(it != where.end());
      CHECK(it->second == a.offset);
    }
    CHECK((*log)->verify()->ok);
  }
}
