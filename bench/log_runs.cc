#include "bench/log_runs.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <memory>
#include <mutex>
#include <random>
#include <semaphore>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "bench/histogram.h"
#include "codec/batch.h"
#include "storage/errors.h"

namespace muninn::bench::storage_bench {

using storage::ack_mode;

namespace {

namespace fs = std::filesystem;

std::string describe(const storage::append_error& e) {
  return std::string(storage::to_string(e.code)) + ": " + e.message;
}

// Bytes of the segment files (*.log) in a partition directory.
std::uint64_t segment_bytes_on_disk(const std::string& dir) {
  std::uint64_t total = 0;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (!entry.is_regular_file(ec) || entry.path().extension() != ".log") continue;
    const auto size = entry.file_size(ec);
    if (!ec) total += size;
  }
  return total;
}

storage::log_options bench_log_options() {
  storage::log_options o;
  o.segment_bytes = segment_bytes;
  return o;
}

std::string slug(std::string_view name) {
  std::string s(name);
  std::replace(s.begin(), s.end(), ' ', '-');
  return s;
}

// State shared by the producers of one run and the callbacks on the log's
// I/O thread.
struct run_state {
  latency_histogram latency;
  std::atomic<std::uint64_t> window_start{std::numeric_limits<std::uint64_t>::max()};
  std::atomic<std::uint64_t> window_end{std::numeric_limits<std::uint64_t>::max()};
  std::atomic<std::uint64_t> acked_events{0};  // acknowledged inside the window
  std::atomic<std::int64_t> in_flight{0};
  std::atomic<bool> stop{false};
  std::atomic<bool> failed{false};
  std::mutex error_mu;
  std::string error;
};

class producer;

// One in-flight append: owns its events until the callback has run.
struct slot {
  producer* owner = nullptr;
  std::vector<codec::event_in> events;
  std::uint64_t submitted_ns = 0;
  std::atomic<bool> busy{false};
};

class producer {
 public:
  producer(run_state& state, storage::partition_log& log, workload& work, const throughput_config& cfg,
           std::size_t slots, std::uint64_t seed)
      : state_(state), log_(log), work_(work), acks_(cfg.acks), free_(static_cast<std::ptrdiff_t>(slots)),
        rng_(seed) {
    slots_.reserve(slots);
    for (std::size_t i = 0; i < slots; ++i) {
      slots_.push_back(std::make_unique<slot>());
      slots_.back()->owner = this;
      slots_.back()->events.resize(cfg.batch);
    }
  }

  void run() {
    std::size_t next = 0;
    const std::size_t n = slots_.size();
    while (!state_.stop.load(std::memory_order_relaxed)) {
      if (!free_.try_acquire_for(std::chrono::milliseconds(20))) continue;
      slot* s = nullptr;
      for (std::size_t k = 0; k < n; ++k) {
        slot* c = slots_[(next + k) % n].get();
        if (!c->busy.load(std::memory_order_acquire)) {
          s = c;
          next = (next + k + 1) % n;
          break;
        }
      }
      if (!s) {  // cannot happen: a permit is released only after its slot is free
        free_.release();
        continue;
      }
      work_.fill(s->events, rng_);
      s->busy.store(true, std::memory_order_relaxed);
      state_.in_flight.fetch_add(1, std::memory_order_relaxed);
      storage::append_request req;
      req.events = s->events;
      req.acks = acks_;
      s->submitted_ns = now_ns();
      // One pointer of capture: fits std::function's inline buffer, so the
      // benchmark adds no allocation per append.
      log_.append(req, [s](storage::append_result r) { s->owner->complete(*s, std::move(r)); });
    }
  }

 private:
  void complete(slot& s, storage::append_result r) {
    const std::uint64_t t = now_ns();
    if (r) {
      const std::uint64_t ws = state_.window_start.load(std::memory_order_relaxed);
      const std::uint64_t we = state_.window_end.load(std::memory_order_relaxed);
      if (s.submitted_ns >= ws && s.submitted_ns < we) state_.latency.record(t - s.submitted_ns);
      if (t >= ws && t < we) state_.acked_events.fetch_add(s.events.size(), std::memory_order_relaxed);
    } else {
      {
        std::lock_guard g(state_.error_mu);
        if (state_.error.empty()) state_.error = describe(r.error());
      }
      state_.failed.store(true, std::memory_order_relaxed);
      state_.stop.store(true, std::memory_order_relaxed);
    }
    s.busy.store(false, std::memory_order_release);
    free_.release();
    // Last: once in_flight reaches 0 the run may tear the producers down.
    state_.in_flight.fetch_sub(1, std::memory_order_acq_rel);
  }

  run_state& state_;
  storage::partition_log& log_;
  workload& work_;
  ack_mode acks_;
  std::counting_semaphore<1 << 20> free_;
  std::vector<std::unique_ptr<slot>> slots_;
  std::uint64_t rng_;
};

struct log_snapshot {
  storage::log_stats stats;
  std::uint64_t disk_bytes = 0;
  std::uint64_t at_ns = 0;
};

log_snapshot snapshot(const storage::partition_log& log, const std::string& dir) {
  log_snapshot s;
  s.stats = log.stats();
  s.disk_bytes = segment_bytes_on_disk(dir);
  s.at_ns = now_ns();
  return s;
}

// Fills the commit columns of `r` from two snapshots.
void commit_columns(row& r, const log_snapshot& a, const log_snapshot& b) {
  const double secs = seconds_between(a.at_ns, b.at_ns);
  const auto commits = static_cast<double>(b.stats.commits - a.stats.commits);
  const auto events = static_cast<double>(b.stats.head - a.stats.head);
  const auto bytes = static_cast<double>(b.disk_bytes - a.disk_bytes);
  r.v[c_disk_mb_s] = bytes / secs / 1e6;
  r.v[c_commits] = commits;
  r.v[c_commits_s] = commits / secs;
  if (commits > 0) {
    r.v[c_events_commit] = events / commits;
    r.v[c_bytes_commit] = bytes / commits;
  }
}

std::unique_ptr<storage::partition_log> open_log(const std::string& dir, failure& fail) {
  auto log = storage::partition_log::open(dir, bench_log_options());
  if (!log) {
    fail.set("cannot open a partition in " + dir + ": " + describe(log.error()));
    return nullptr;
  }
  return std::move(*log);
}

}  // namespace

// ---------------------------------------------------------------- log throughput

row run_throughput(const throughput_config& cfg, const bench_options& opt, workload& work, scratch& tmp,
                   failure& fail) {
  row r;
  r.name = "log " + cfg.name();
  r.inflight = std::to_string(cfg.inflight);
  const std::string dir = tmp.next(slug(cfg.name()));
  work.restart();
  auto log = open_log(dir, fail);
  if (!log) return r;

  run_state state;
  const auto producers = static_cast<std::size_t>(std::min<std::size_t>(std::size_t(opt.producers), cfg.inflight));
  std::vector<std::unique_ptr<producer>> ps;
  std::uint64_t seed = std::random_device{}();
  for (std::size_t i = 0; i < producers; ++i) {
    const std::size_t slots = cfg.inflight / producers + (i < cfg.inflight % producers ? 1 : 0);
    ps.push_back(std::make_unique<producer>(state, *log, work, cfg, slots, seed + i * 0x1234567));
  }

  const double warmup = warmup_seconds(opt);
  const std::uint64_t t_begin = now_ns();
  std::vector<std::thread> threads;
  for (auto& p : ps) threads.emplace_back([&p] { p->run(); });

  auto sleep_unless_failed = [&](double secs) {
    const std::uint64_t until = now_ns() + static_cast<std::uint64_t>(secs * 1e9);
    while (!state.failed.load(std::memory_order_relaxed) && now_ns() < until)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
  };
  sleep_unless_failed(warmup);
  const log_snapshot s0 = snapshot(*log, dir);
  state.window_start.store(s0.at_ns, std::memory_order_relaxed);
  sleep_unless_failed(opt.seconds);
  const std::uint64_t t_end = now_ns();
  state.window_end.store(t_end, std::memory_order_relaxed);
  const log_snapshot s1 = snapshot(*log, dir);
  state.stop.store(true, std::memory_order_relaxed);
  for (auto& t : threads) t.join();
  while (state.in_flight.load(std::memory_order_acquire) > 0) std::this_thread::sleep_for(std::chrono::microseconds(200));

  // The index: how far behind it was at the end of the window, how long it
  // needed to catch up, and what it sustained over the whole run.
  log->flush_index();
  const std::uint64_t t_indexed = now_ns();
  const storage::log_stats final_stats = log->stats();
  log->close();
  log.reset();
  scratch::remove(dir);

  if (state.failed.load()) {
    fail.set("append failed in " + r.name + ": " + state.error);
    return r;
  }
  const double secs = seconds_between(s0.at_ns, t_end);
  const auto events = static_cast<double>(state.acked_events.load());
  r.v[c_events_s] = events / secs;
  r.v[c_data_mb_s] = events * event_data_bytes / secs / 1e6;
  commit_columns(r, s0, s1);
  latency_columns(r, state.latency);
  r.v[c_index_lag] = static_cast<double>(s1.stats.head - std::min(s1.stats.head, s1.stats.indexed));
  r.v[c_index_catchup_ms] = static_cast<double>(t_indexed - t_end) / 1e6;
  r.v[c_index_events_s] = static_cast<double>(final_stats.indexed) / seconds_between(t_begin, t_indexed);
  return r;
}

// ---------------------------------------------------------------- log latency

// Single-event durable appends, one at a time (append_sync): the latency a
// lone producer sees at low load.
row run_single_latency(const bench_options& opt, workload& work, scratch& tmp, failure& fail, std::size_t rounds,
                       const std::function<void(std::size_t)>& between) {
  row r;
  r.name = "log durable 1 event, one at a time";
  r.inflight = "1";
  const std::string dir = tmp.next("single-latency");
  work.restart();
  auto log = open_log(dir, fail);
  if (!log) return r;

  std::vector<codec::event_in> event(1);
  std::uint64_t rng = std::random_device{}();
  storage::append_request req;
  req.events = event;
  req.acks = ack_mode::durable;
  auto append_one = [&]() -> bool {
    work.fill(event, rng);
    auto res = log->append_sync(req);
    if (!res) fail.set("append failed in " + r.name + ": " + describe(res.error()));
    return bool(res);
  };

  bool ok = true;
  for (int i = 0; i < 50 && ok; ++i) ok = append_one();  // warm-up: segment, ring, caches
  latency_histogram h;
  rounds = std::max<std::size_t>(rounds, 1);
  const std::size_t target = opt.quick ? latency_appends / 10 : latency_appends;
  const std::size_t per_round = std::max<std::size_t>(target / rounds, 1);
  log_snapshot first{}, last{};
  double secs = 0;
  std::uint64_t commits = 0, bytes = 0;
  std::size_t n = 0;
  for (std::size_t k = 0; k < rounds && ok; ++k) {
    // The same 50 unmeasured writes before each round as the raw rows make
    // (theirs open a fresh file each round), so neither side pays alone for
    // the switch between files.
    for (int i = 0; k > 0 && i < 50 && ok; ++i) ok = append_one();
    const log_snapshot s0 = snapshot(*log, dir);
    if (k == 0) first = s0;
    for (std::size_t i = 0; i < per_round && ok; ++i) {
      const std::uint64_t t0 = now_ns();
      ok = append_one();
      if (ok) h.record(now_ns() - t0);
      ++n;
    }
    last = snapshot(*log, dir);
    secs += seconds_between(s0.at_ns, last.at_ns);
    commits += last.stats.commits - s0.stats.commits;
    bytes += last.stats.bytes - s0.stats.bytes;
    if (ok && between) between(commits ? std::size_t(bytes / commits) : 0);
    if (fail.failed) ok = false;
  }
  log->close();
  log.reset();
  scratch::remove(dir);
  if (!ok) return r;

  r.v[c_events_s] = static_cast<double>(n) / secs;
  r.v[c_data_mb_s] = static_cast<double>(n * event_data_bytes) / secs / 1e6;
  commit_columns(r, first, last);
  // Only the log's own rounds: the raw rounds in between are not its time.
  r.v[c_commits_s] = static_cast<double>(commits) / secs;
  r.v[c_disk_mb_s] = static_cast<double>(bytes) / secs / 1e6;
  latency_columns(r, h);
  return r;
}

// ---------------------------------------------------------------- strace probe

int run_strace_probe(const std::string& parent) {
  const std::string dir = parent + "/partition";
  auto opened = storage::partition_log::open(dir, bench_log_options());
  if (!opened) {
    std::fprintf(stderr, "muninn-bench storage: cannot open a partition in %s: %s\n", dir.c_str(),
                 describe(opened.error()).c_str());
    return 1;
  }
  auto log = std::move(*opened);
  workload work(probe_batches * probe_batch_events);
  std::vector<codec::event_in> events(probe_batch_events);
  std::uint64_t rng = std::random_device{}();
  storage::append_request req;
  req.events = events;
  req.acks = ack_mode::durable;
  const std::uint64_t head_before = log->head();
  for (std::size_t i = 0; i < probe_batches; ++i) {
    work.fill(events, rng);
    auto res = log->append_sync(req);
    if (!res) {
      std::fprintf(stderr, "muninn-bench storage: append failed: %s\n", describe(res.error()).c_str());
      log->close();
      return 1;
    }
  }
  const auto st = log->stats();
  log->close();
  std::printf("strace-probe: %zu durable batches of %zu events appended to %s (head %llu -> %llu, %llu commits)\n",
              probe_batches, probe_batch_events, dir.c_str(), static_cast<unsigned long long>(head_before),
              static_cast<unsigned long long>(st.head), static_cast<unsigned long long>(st.commits));
  return 0;
}

}  // namespace muninn::bench::storage_bench
