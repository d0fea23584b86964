// Crash test: a child appends with acks=durable and reports every
// acknowledged event; the parent SIGKILLs it at random moments. After each
// kill the partition reopens with every acknowledged event exactly once,
// checksums and the hash chain verify, and appends continue at the head.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <map>
#include <random>

#include "storage/log.h"
#include "tests/storage/test_util.h"

using namespace muninn;
using namespace muninn::test;

extern char** environ;

namespace {

struct child_run {
  std::vector<std::pair<std::uint64_t, codec::event_id>> acked;
  int exit_signal = 0;
};

// Runs the child for `run_ms`, then SIGKILLs it, collecting its reports.
child_run run_child(const std::string& dir, std::uint64_t seed, int run_ms) {
  int fds[2];
  REQUIRE(pipe(fds) == 0);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
  posix_spawn_file_actions_addclose(&fa, fds[0]);
  std::string seed_s = std::to_string(seed);
  std::string exe = MUNINN_CRASH_CHILD;
  char* argv[] = {exe.data(), const_cast<char*>(dir.c_str()), seed_s.data(), nullptr};
  pid_t pid = 0;
  REQUIRE(posix_spawn(&pid, exe.c_str(), &fa, nullptr, argv, environ) == 0);
  posix_spawn_file_actions_destroy(&fa);
  close(fds[1]);

  child_run out;
  std::vector<unsigned char> buf;
  auto drain = [&](int timeout_ms) {
    pollfd p{fds[0], POLLIN, 0};
    if (poll(&p, 1, timeout_ms) <= 0) return false;
    unsigned char tmp[65536];
    ssize_t n = ::read(fds[0], tmp, sizeof tmp);
    if (n <= 0) return false;
    buf.insert(buf.end(), tmp, tmp + n);
    return true;
  };
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(run_ms);
  while (std::chrono::steady_clock::now() < deadline) drain(5);
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  while (drain(0)) {
  }
  close(fds[0]);
  out.exit_signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
  const std::size_t whole = buf.size() / 24 * 24;
  for (std::size_t i = 0; i < whole; i += 24) {
    std::uint64_t off = 0;
    std::memcpy(&off, &buf[i], 8);
    codec::event_id id;
    std::memcpy(id.bytes.data(), &buf[i + 8], 16);
    out.acked.emplace_back(off, id);
  }
  return out;
}

}  // namespace

TEST_CASE("crash: SIGKILL at random moments loses and duplicates nothing acknowledged",
          "[storage][crash]") {
  temp_dir dir;
  std::mt19937_64 rng(std::random_device{}());
  std::map<codec::event_id, std::uint64_t> acked;  // every ack over all rounds
  const auto started = std::chrono::steady_clock::now();
  int rounds = 0;
  std::uint64_t total_acked = 0;
  while (rounds < 25 && std::chrono::steady_clock::now() - started < std::chrono::seconds(90)) {
    const int run_ms = 30 + int(rng() % 400);
    auto run = run_child(dir.str(), rng(), run_ms);
    INFO("round " << rounds << " ran " << run_ms << " ms");
    REQUIRE(run.exit_signal == SIGKILL);  // it was still running: no crash of its own
    for (const auto& [off, id] : run.acked) {
      auto [it, fresh] = acked.emplace(id, off);
      REQUIRE(fresh);  // an id is acknowledged once
    }
    total_acked += run.acked.size();

    auto opened = storage::partition_log::open(dir.str());
    REQUIRE(opened);
    auto& log = **opened;
    auto all = read_all(log);
    REQUIRE(all.size() == log.head());
    std::map<codec::event_id, std::uint64_t> present;
    for (const auto& e : all) REQUIRE(present.emplace(e.id, e.offset).second);  // stored once
    for (const auto& [id, off] : acked) {
      auto it = present.find(id);
      INFO("acknowledged at offset " << off << ", head " << log.head());
      REQUIRE(it != present.end());  // never lost
      REQUIRE(it->second == off);    // where it was acknowledged
    }
    auto v = log.verify();
    REQUIRE(v);
    INFO("verify: " << v->reason << " at " << v->segment << ":" << v->position);
    REQUIRE(v->ok);
    REQUIRE(v->events == log.head());
    const auto head = log.head();
    auto r = append(log, {make_event("crash-a")});
    REQUIRE(r);
    REQUIRE(r->events[0].offset == head);
    rounds++;
  }
  INFO("acknowledged " << total_acked << " events over " << rounds << " rounds");
  CHECK(rounds >= 20);
  CHECK(total_acked > 0);
}
