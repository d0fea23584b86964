// Child process of the crash test: appends with acks=durable as fast as it
// can and reports every acknowledged event to its parent through stdout,
// one fixed-size binary record each, until the parent SIGKILLs it. Windows
// of async appends (group commit on the I/O thread) run beside a thread of
// append_sync calls, which lead their own write whenever the log is idle,
// so kills land in both writers and in the hand-over between them.
// Usage: muninn_crash_child DIR SEED
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <thread>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "storage/log.h"

using namespace muninn;

namespace {
// Record: u64 offset | u8[16] id, written with one write() so it is atomic
// on the pipe (well under PIPE_BUF).
void report(std::uint64_t offset, const codec::event_id& id) {
  unsigned char rec[24];
  std::memcpy(rec, &offset, 8);
  std::memcpy(rec + 8, id.bytes.data(), 16);
  if (::write(1, rec, sizeof rec) != sizeof rec) _exit(3);
}
}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s DIR SEED\n", argv[0]);
    return 2;
  }
  // stdout carries the binary reports: logs go to stderr.
  spdlog::set_default_logger(spdlog::stderr_color_mt("stderr"));
  std::mt19937_64 rng(std::stoull(argv[2]));
  storage::log_options opts;
  opts.segment_bytes = 64 << 10;  // roll often, so crashes land in rolls too
  auto opened = storage::partition_log::open(argv[1], opts);
  if (!opened) {
    std::fprintf(stderr, "open: %s\n", opened.error().message.c_str());
    return 1;
  }
  auto& log = **opened;
  std::mutex mu;  // serialises reports from the I/O thread and the sync thread
  std::thread sync_appender([&log, &mu, seed = rng()] {
    std::mt19937_64 r(seed);
    for (;;) {
      const int count = 1 + int(r() % 3);
      std::vector<std::string> ps;
      std::vector<codec::event_in> es;
      for (int i = 0; i < count; ++i) ps.push_back(std::string(10 + r() % 200, char('a' + r() % 26)));
      for (int i = 0; i < count; ++i) {
        codec::event_in e;
        e.stream = "crash-sync";
        e.type = "Crash";
        e.id = codec::event_id::generate_v7();
        e.content_type = "text/plain";
        e.data = std::as_bytes(std::span(ps[std::size_t(i)].data(), ps[std::size_t(i)].size()));
        es.push_back(e);
      }
      storage::append_request req;
      req.events = es;
      auto res = log.append_sync(req);
      if (!res) {
        std::fprintf(stderr, "append_sync: %s\n", res.error().message.c_str());
        _exit(1);
      }
      std::lock_guard g(mu);
      for (std::size_t i = 0; i < res->events.size(); ++i) report(res->events[i].offset, es[i].id);
    }
  });
  sync_appender.detach();  // runs until the kill
  for (std::uint64_t n = 0;; ++n) {
    // Now and then the windows pause, so that the sync thread finds the
    // log idle and leads its own group commit.
    if (rng() % 4 == 0) std::this_thread::sleep_for(std::chrono::microseconds(rng() % 2000));
    // A few requests in flight at once so group commit is in play.
    const int in_flight = 1 + int(rng() % 8);
    std::vector<std::vector<std::string>> payloads{std::size_t(in_flight)};
    std::vector<std::vector<codec::event_in>> views{std::size_t(in_flight)};
    std::vector<std::string> streams;
    std::atomic<int> pending{in_flight};
    for (int r = 0; r < in_flight; ++r) {
      const int count = 1 + int(rng() % 20);
      auto& ps = payloads[std::size_t(r)];
      for (int i = 0; i < count; ++i) ps.push_back(std::string(10 + rng() % 300, char('a' + rng() % 26)));
      for (int i = 0; i < count; ++i) {
        codec::event_in e;
        e.stream = rng() % 2 ? "crash-a" : "crash-b";
        e.type = "Crash";
        e.id = codec::event_id::generate_v7();
        e.content_type = "text/plain";
        e.data = std::as_bytes(std::span(ps[std::size_t(i)].data(), ps[std::size_t(i)].size()));
        views[std::size_t(r)].push_back(e);
      }
    }
    for (int r = 0; r < in_flight; ++r) {
      storage::append_request req;
      req.events = views[std::size_t(r)];
      auto* v = &views[std::size_t(r)];
      log.append(req, [&, v](storage::append_result res) {
        if (!res) {
          std::fprintf(stderr, "append: %s\n", res.error().message.c_str());
          _exit(1);
        }
        {
          std::lock_guard g(mu);
          for (std::size_t i = 0; i < res->events.size(); ++i) report(res->events[i].offset, (*v)[i].id);
        }
        pending--;
      });
    }
    while (pending.load() > 0) std::this_thread::yield();
  }
}
