// `muninn-bench storage`: how fast the partition log (storage/log.h) appends
// and how close it gets to this disk's own limit, measured in the same run.
//
// For batch sizes 1, 10, 100, 1000 and acks durable / written it appends
// 200-byte events to a fresh partition with a bounded window of async
// appends in flight (so group commit has something to group), and reports
// events/s, MB/s, append latency (submit -> callback), fdatasyncs and events
// per fdatasync, and how far the RocksDB index lags. Then the raw disk: the
// same io path (storage/io uring_file_system(), write + linked fdatasync)
// without any broker logic, one small write at a time for latency and in
// groups of the log's bytes per fdatasync for throughput. Ratios against the
// targets close the table. It never asserts on timings: it is a benchmark.
//
// `--strace-probe DIR` only appends 200 small durable batches to a partition
// under DIR and prints one line; scripts/strace-append-check runs it under
// strace to show the append path makes no write/sync syscall on a segment.
#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <semaphore>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include "bench/commands.h"
#include "bench/histogram.h"
#include "codec/batch.h"
#include "storage/errors.h"
#include "storage/io/file_system.h"
#include "storage/log.h"

namespace muninn::bench {
namespace {

namespace fs = std::filesystem;
using storage::ack_mode;

constexpr std::size_t event_data_bytes = 200;
constexpr std::size_t stream_count = 1000;
constexpr std::uint64_t segment_bytes = 256ull << 20;
constexpr std::string_view event_type = "bench.event";
constexpr std::string_view content_type = "application/octet-stream";
constexpr double target_events_per_s = 1'000'000.0;
constexpr double target_latency_ratio = 1.5;
constexpr std::size_t latency_appends = 2000;  // single-event rows (fewer with --quick)
constexpr std::size_t probe_batches = 200;
constexpr std::size_t probe_batch_events = 10;

std::uint64_t now_ns() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                        std::chrono::steady_clock::now().time_since_epoch())
                                        .count());
}

double seconds_between(std::uint64_t from_ns, std::uint64_t to_ns) {
  return static_cast<double>(to_ns - from_ns) / 1e9;
}

// ---------------------------------------------------------------- options

struct bench_options {
  double seconds = 3.0;
  bool quick = false;
  std::string dir;  // parent of the temporary directory
  int repeat = 1;
  int producers = 2;
  std::size_t inflight = 0;  // 0: the default for each batch size
  std::vector<std::string> only;  // set: run only these measurements (profiling)
  std::string strace_probe;  // set: probe mode
};

void usage() {
  std::fprintf(stderr,
               "usage: muninn-bench storage [--seconds S] [--quick] [--dir DIR] [--repeat N]\n"
               "                            [--producers N] [--inflight N]\n"
               "       muninn-bench storage --strace-probe DIR\n"
               "\n"
               "  --seconds S       measured time per configuration (default 3)\n"
               "  --quick           0.5 s per configuration and fewer configurations (smoke test)\n"
               "  --dir DIR         where the temporary partitions go (default $TMPDIR or /tmp);\n"
               "                    removed at the end\n"
               "  --repeat N        run every measurement N times and report the median (default 1)\n"
               "  --producers N     producer threads for the throughput rows (default 2)\n"
               "  --inflight N      appends in flight for every throughput row (default: per batch size)\n"
               "  --only LIST       run only these measurements, comma-separated: single, durable-1,\n"
               "                    durable-10, durable-100, durable-1000, written-1, ... (for profiling)\n"
               "  --strace-probe D  append %zu durable batches of %zu events to a partition in D, print\n"
               "                    one line, exit (for scripts/strace-append-check)\n",
               probe_batches, probe_batch_events);
}

template <class T>
bool parse_number(std::string_view text, T& out) {
  const char* end = text.data() + text.size();
  auto [p, ec] = std::from_chars(text.data(), end, out);
  return ec == std::errc() && p == end;
}

// Returns nullopt after printing to stderr when the arguments are wrong.
std::optional<bench_options> parse_options(std::span<char*> args, bool& help) {
  bench_options o;
  bool seconds_given = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string_view a = args[i];
    auto value = [&](std::string_view& out) {
      if (i + 1 >= args.size()) {
        std::fprintf(stderr, "muninn-bench storage: %.*s needs a value\n", static_cast<int>(a.size()), a.data());
        return false;
      }
      out = args[++i];
      return true;
    };
    std::string_view v;
    if (a == "-h" || a == "--help") {
      help = true;
      return std::nullopt;
    } else if (a == "--quick") {
      o.quick = true;
    } else if (a == "--seconds") {
      if (!value(v)) return std::nullopt;
      if (!parse_number(v, o.seconds) || !(o.seconds > 0) || o.seconds > 3600) {
        std::fprintf(stderr, "muninn-bench storage: --seconds wants a number in (0, 3600]\n");
        return std::nullopt;
      }
      seconds_given = true;
    } else if (a == "--dir") {
      if (!value(v)) return std::nullopt;
      o.dir = std::string(v);
    } else if (a == "--repeat") {
      if (!value(v)) return std::nullopt;
      if (!parse_number(v, o.repeat) || o.repeat < 1 || o.repeat > 99) {
        std::fprintf(stderr, "muninn-bench storage: --repeat wants an integer in [1, 99]\n");
        return std::nullopt;
      }
    } else if (a == "--producers") {
      if (!value(v)) return std::nullopt;
      if (!parse_number(v, o.producers) || o.producers < 1 || o.producers > 64) {
        std::fprintf(stderr, "muninn-bench storage: --producers wants an integer in [1, 64]\n");
        return std::nullopt;
      }
    } else if (a == "--inflight") {
      if (!value(v)) return std::nullopt;
      if (!parse_number(v, o.inflight) || o.inflight < 1 || o.inflight > 65536) {
        std::fprintf(stderr, "muninn-bench storage: --inflight wants an integer in [1, 65536]\n");
        return std::nullopt;
      }
    } else if (a == "--only") {
      if (!value(v)) return std::nullopt;
      while (!v.empty()) {
        const auto comma = v.find(',');
        const auto item = v.substr(0, comma);
        if (!item.empty()) o.only.emplace_back(item);
        v = comma == std::string_view::npos ? std::string_view{} : v.substr(comma + 1);
      }
      if (o.only.empty()) {
        std::fprintf(stderr, "muninn-bench storage: --only wants a list of measurements\n");
        return std::nullopt;
      }
    } else if (a == "--strace-probe") {
      if (!value(v)) return std::nullopt;
      o.strace_probe = std::string(v);
      if (o.strace_probe.empty()) {
        std::fprintf(stderr, "muninn-bench storage: --strace-probe wants a directory\n");
        return std::nullopt;
      }
    } else {
      std::fprintf(stderr, "muninn-bench storage: unknown option '%.*s'\n", static_cast<int>(a.size()), a.data());
      return std::nullopt;
    }
  }
  if (o.quick && !seconds_given) o.seconds = 0.5;
  if (o.dir.empty()) {
    const char* tmp = std::getenv("TMPDIR");
    o.dir = tmp && *tmp ? tmp : "/tmp";
  }
  return o;
}

double warmup_seconds(const bench_options& opt) { return std::clamp(opt.seconds / 10, 0.1, 0.5); }

// ---------------------------------------------------------------- results

// One printed row. Columns that do not apply stay NaN and print as "-".
enum col : std::size_t {
  c_events_s,
  c_data_mb_s,
  c_disk_mb_s,
  c_p50,
  c_p99,
  c_p999,
  c_commits,
  c_commits_s,
  c_events_commit,
  c_bytes_commit,
  c_index_lag,
  c_index_catchup_ms,
  c_index_events_s,
  col_count
};

struct row {
  std::string name;
  std::string inflight;
  std::array<double, col_count> v;
  row() { v.fill(std::nan("")); }
};

double median_of(std::vector<double> xs) {
  std::erase_if(xs, [](double x) { return std::isnan(x); });
  if (xs.empty()) return std::nan("");
  std::sort(xs.begin(), xs.end());
  const std::size_t n = xs.size();
  return n % 2 ? xs[n / 2] : (xs[n / 2 - 1] + xs[n / 2]) / 2;
}

// The per-column median of repeated runs of one measurement.
row median_row(const std::vector<row>& runs) {
  row out;
  out.name = runs.front().name;
  out.inflight = runs.front().inflight;
  for (std::size_t c = 0; c < col_count; ++c) {
    std::vector<double> xs;
    for (const auto& r : runs) xs.push_back(r.v[c]);
    out.v[c] = median_of(std::move(xs));
  }
  return out;
}

// The first failure of the run; main() turns it into exit status 1.
struct failure {
  bool failed = false;
  std::string message;
  void set(std::string m) {
    if (failed) return;
    failed = true;
    message = std::move(m);
  }
};

std::string describe(const storage::append_error& e) {
  return std::string(storage::to_string(e.code)) + ": " + e.message;
}

// ---------------------------------------------------------------- workload

// Stream names, a pool of random bytes the events' data is cut from, and a
// pool of UUIDv7 ids made with event_id::generate_v7() before the timed runs.
// Ids are made ahead because generate_v7() costs far more than appending an
// event does (its cost is printed) and would otherwise compete with the log
// for the two cores; in production the ids come from the clients. Every
// partition is fresh, so each run may use the pool from its start again:
// call restart() before a run. A run that needs more ids than the pool
// holds makes the rest inline (counted, and reported).
class workload {
 public:
  explicit workload(std::size_t ids) : pool_(1u << 20) {
    streams_.reserve(stream_count);
    for (std::size_t k = 0; k < stream_count; ++k) streams_.push_back("bench-" + std::to_string(k));
    std::mt19937_64 rng(std::random_device{}());
    for (std::size_t i = 0; i < pool_.size(); i += 8) {
      const std::uint64_t r = rng();
      std::memcpy(pool_.data() + i, &r, std::min<std::size_t>(8, pool_.size() - i));
    }
    ids_.reserve(ids);
    for (std::size_t i = 0; i < ids; ++i) ids_.push_back(codec::event_id::generate_v7());
  }

  void restart() {
    next_id_.store(0, std::memory_order_relaxed);
    inline_ids_.store(0, std::memory_order_relaxed);
  }
  std::size_t pool_ids() const { return ids_.size(); }
  // Ids the last run had to make inline because the pool ran out.
  std::uint64_t inline_ids() const { return inline_ids_.load(std::memory_order_relaxed); }

  // Fills `events` with fresh events; `r` drives the stream and data choices.
  void fill(std::span<codec::event_in> events, std::uint64_t& r) {
    const std::size_t at = next_id_.fetch_add(events.size(), std::memory_order_relaxed);
    for (std::size_t i = 0; i < events.size(); ++i) {
      auto& e = events[i];
      r = next(r);
      e.stream = streams_[r % stream_count];
      e.type = event_type;
      if (at + i < ids_.size()) {
        e.id = ids_[at + i];
      } else {
        e.id = codec::event_id::generate_v7();
        inline_ids_.fetch_add(1, std::memory_order_relaxed);
      }
      e.expected_version = codec::expect_any;
      e.time = 0;
      e.content_type = content_type;
      e.data = random_bytes(event_data_bytes, r >> 20);
    }
  }

  std::span<const std::byte> random_bytes(std::size_t n, std::uint64_t at) const {
    return {pool_.data() + at % (pool_.size() - n), n};
  }

  // splitmix64: cheap, and good enough to pick streams and offsets.
  static std::uint64_t next(std::uint64_t x) {
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
  }

 private:
  std::vector<std::string> streams_;
  std::vector<std::byte> pool_;
  std::vector<codec::event_id> ids_;
  std::atomic<std::size_t> next_id_{0};
  std::atomic<std::uint64_t> inline_ids_{0};
};

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

// A fresh partition directory under the run's temporary directory.
class scratch {
 public:
  explicit scratch(std::string root) : root_(std::move(root)) {}
  std::string next(std::string_view what) {
    return root_ + "/" + std::to_string(++n_) + "-" + std::string(what);
  }
  static void remove(const std::string& path) {
    std::error_code ec;
    fs::remove_all(path, ec);
  }

 private:
  std::string root_;
  int n_ = 0;
};

std::string slug(std::string_view name) {
  std::string s(name);
  std::replace(s.begin(), s.end(), ' ', '-');
  return s;
}

// ---------------------------------------------------------------- log throughput

struct throughput_config {
  std::size_t batch = 1;
  ack_mode acks = ack_mode::durable;
  std::size_t inflight = 64;  // requests, over all producers

  std::string name() const {
    return std::string(acks == ack_mode::durable ? "durable" : "written") + " batch " + std::to_string(batch);
  }
  // The name --only knows it by.
  std::string key() const {
    return std::string(acks == ack_mode::durable ? "durable" : "written") + "-" + std::to_string(batch);
  }
};

// Appends in flight at once for a batch size: enough that a group commit
// finds a full fdatasync's worth of requests waiting (the window must cover
// the events the log can sequence while one fdatasync runs), bounded so a
// large batch does not queue megabytes.
std::size_t default_inflight(std::size_t batch) {
  if (batch <= 1) return 1024;
  if (batch <= 10) return 256;
  if (batch <= 100) return 64;
  return 16;
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

void latency_columns(row& r, const latency_histogram& h) {
  if (h.count() == 0) return;
  r.v[c_p50] = static_cast<double>(h.quantile(0.50)) / 1e3;
  r.v[c_p99] = static_cast<double>(h.quantile(0.99)) / 1e3;
  r.v[c_p999] = static_cast<double>(h.quantile(0.999)) / 1e3;
}

std::unique_ptr<storage::partition_log> open_log(const std::string& dir, failure& fail) {
  auto log = storage::partition_log::open(dir, bench_log_options());
  if (!log) {
    fail.set("cannot open a partition in " + dir + ": " + describe(log.error()));
    return nullptr;
  }
  return std::move(*log);
}

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
row run_single_latency(const bench_options& opt, workload& work, scratch& tmp, failure& fail) {
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
  const std::size_t target = opt.quick ? latency_appends / 10 : latency_appends;
  const log_snapshot s0 = snapshot(*log, dir);
  const std::uint64_t deadline = s0.at_ns + static_cast<std::uint64_t>(std::max(opt.seconds, 1.0) * 1e9);
  std::size_t n = 0;
  while (ok && n < target && now_ns() < deadline) {
    const std::uint64_t t0 = now_ns();
    ok = append_one();
    if (ok) h.record(now_ns() - t0);
    ++n;
  }
  const log_snapshot s1 = snapshot(*log, dir);
  log->close();
  log.reset();
  scratch::remove(dir);
  if (!ok) return r;

  const double secs = seconds_between(s0.at_ns, s1.at_ns);
  r.v[c_events_s] = static_cast<double>(n) / secs;
  r.v[c_data_mb_s] = static_cast<double>(n * event_data_bytes) / secs / 1e6;
  commit_columns(r, s0, s1);
  latency_columns(r, h);
  return r;
}

// ---------------------------------------------------------------- raw disk

// Appends to files in `dir` through uring_file_system(), rolling to a new
// file (and deleting the old one) at the log's segment size, as the log does.
class raw_writer {
 public:
  raw_writer(std::string dir, failure& fail) : dir_(std::move(dir)), fail_(fail), fs_(storage::io::uring_file_system()) {
    if (auto ec = fs_->create_dirs(dir_)) fail_.set("cannot create " + dir_ + ": " + ec.message());
  }
  ~raw_writer() {
    file_.reset();
    scratch::remove(dir_);
  }

  // One write of `data` followed by fdatasync in the same submission.
  bool write_sync(std::span<const std::byte> data) {
    if (fail_.failed) return false;
    if (!file_ || size_ + data.size() > segment_bytes) {
      if (!roll()) return false;
    }
    const storage::io::const_buffer bufs[] = {data};
    if (auto ec = file_->write(bufs, size_, true)) {
      fail_.set("raw write+fdatasync failed in " + dir_ + ": " + ec.message());
      return false;
    }
    size_ += data.size();
    ++syncs_;
    return true;
  }

  std::uint64_t syncs() const { return syncs_; }

 private:
  bool roll() {
    file_.reset();
    if (!path_.empty()) fs_->remove(path_);
    path_ = dir_ + "/raw-" + std::to_string(++files_) + ".dat";
    auto f = fs_->open_append(path_, true);
    if (!f) {
      fail_.set("cannot create " + path_ + ": " + f.error().message());
      return false;
    }
    file_ = std::move(*f);
    size_ = 0;
    if (auto ec = fs_->sync_dir(dir_)) {
      fail_.set("cannot sync " + dir_ + ": " + ec.message());
      return false;
    }
    return true;
  }

  std::string dir_;
  failure& fail_;
  std::shared_ptr<storage::io::file_system> fs_;
  std::unique_ptr<storage::io::append_file> file_;
  std::string path_;
  std::uint64_t size_ = 0;
  std::uint64_t syncs_ = 0;
  int files_ = 0;
};

std::vector<std::byte> raw_payload(workload& work, std::size_t bytes) {
  std::vector<std::byte> out(bytes);
  for (std::size_t i = 0; i < bytes; i += 4096) {
    const std::size_t n = std::min<std::size_t>(4096, bytes - i);
    auto src = work.random_bytes(n, workload::next(i));
    std::memcpy(out.data() + i, src.data(), n);
  }
  return out;
}

// Runs a raw_writer on a thread of its own: each write is handed over with a
// condition variable and the caller waits for it, as a caller of
// append_sync() waits for the log's I/O thread. Diagnostic: the latency
// floor of any design with a separate I/O thread, no log logic included.
class handoff_writer {
 public:
  explicit handoff_writer(raw_writer& w) : w_(w), thread_([this] { loop(); }) {}
  handoff_writer(const handoff_writer&) = delete;
  handoff_writer& operator=(const handoff_writer&) = delete;
  ~handoff_writer() {
    {
      std::lock_guard g(mu_);
      stop_ = true;
    }
    cv_.notify_one();
    thread_.join();
  }

  bool write_sync(std::span<const std::byte> data) {
    {
      std::lock_guard g(mu_);
      data_ = data;
      pending_ = true;
    }
    cv_.notify_one();
    std::unique_lock l(mu_);
    done_cv_.wait(l, [&] { return !pending_; });
    return ok_;
  }

 private:
  void loop() {
    std::unique_lock l(mu_);
    for (;;) {
      cv_.wait(l, [&] { return pending_ || stop_; });
      if (!pending_) return;
      const auto data = data_;
      l.unlock();
      const bool ok = w_.write_sync(data);
      l.lock();
      ok_ = ok;
      pending_ = false;
      done_cv_.notify_one();
    }
  }

  raw_writer& w_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::condition_variable done_cv_;
  std::span<const std::byte> data_;
  bool pending_ = false;
  bool stop_ = false;
  bool ok_ = true;
  std::thread thread_;  // last: starts once the members above exist
};

// Single writes of `bytes` + fdatasync one at a time: the disk's latency
// floor. With `handoff`, each write runs on a second thread (handoff_writer).
row run_raw_latency(std::size_t bytes, bool handoff, const bench_options& opt, workload& work, scratch& tmp,
                    failure& fail) {
  row r;
  r.name = "raw write+fdatasync " + std::to_string(bytes) + " B, one at a time" + (handoff ? ", I/O thread" : "");
  r.inflight = "1";
  raw_writer direct(tmp.next("raw-latency"), fail);
  std::optional<handoff_writer> via;
  if (handoff) via.emplace(direct);
  auto write_sync = [&](std::span<const std::byte> d) { return via ? via->write_sync(d) : direct.write_sync(d); };
  const auto data = raw_payload(work, bytes);
  bool ok = true;
  for (int i = 0; i < 50 && ok; ++i) ok = write_sync(data);
  latency_histogram h;
  const std::size_t target = opt.quick ? latency_appends / 10 : latency_appends;
  const std::uint64_t t0 = now_ns();
  const std::uint64_t deadline = t0 + static_cast<std::uint64_t>(std::max(opt.seconds, 1.0) * 1e9);
  std::size_t n = 0;
  while (ok && n < target && now_ns() < deadline) {
    const std::uint64_t a = now_ns();
    ok = write_sync(data);
    if (ok) h.record(now_ns() - a);
    ++n;
  }
  if (!ok) return r;
  const double secs = seconds_between(t0, now_ns());
  r.v[c_disk_mb_s] = static_cast<double>(n * bytes) / secs / 1e6;
  r.v[c_commits] = static_cast<double>(n);
  r.v[c_commits_s] = static_cast<double>(n) / secs;
  r.v[c_bytes_commit] = static_cast<double>(bytes);
  latency_columns(r, h);
  return r;
}

// Writes of `bytes` + fdatasync back to back for opt.seconds: what the disk
// streams durably at the log's group size.
row run_raw_throughput(std::size_t bytes, const std::string& label, const bench_options& opt, workload& work,
                       scratch& tmp, failure& fail) {
  row r;
  r.name = "raw write+fdatasync " + label;
  r.inflight = "1";
  raw_writer w(tmp.next("raw-throughput"), fail);
  const auto data = raw_payload(work, bytes);
  bool ok = true;
  const double warmup = warmup_seconds(opt);
  for (const std::uint64_t until = now_ns() + static_cast<std::uint64_t>(warmup * 1e9); ok && now_ns() < until;)
    ok = w.write_sync(data);
  latency_histogram h;
  const std::uint64_t t0 = now_ns();
  const std::uint64_t deadline = t0 + static_cast<std::uint64_t>(opt.seconds * 1e9);
  std::size_t n = 0;
  while (ok && now_ns() < deadline) {
    const std::uint64_t a = now_ns();
    ok = w.write_sync(data);
    if (ok) h.record(now_ns() - a);
    ++n;
  }
  if (!ok) return r;
  const double secs = seconds_between(t0, now_ns());
  r.v[c_disk_mb_s] = static_cast<double>(n) * static_cast<double>(bytes) / secs / 1e6;
  r.v[c_commits] = static_cast<double>(n);
  r.v[c_commits_s] = static_cast<double>(n) / secs;
  r.v[c_bytes_commit] = static_cast<double>(bytes);
  latency_columns(r, h);
  return r;
}

// ---------------------------------------------------------------- printing

std::string fmt(const char* f, double x) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, x);
  return buf;
}

// Integers with thousands separators; "-" for NaN.
std::string count_text(double x) {
  if (std::isnan(x)) return "-";
  std::string digits = fmt("%.0f", std::fabs(x));
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return x < 0 ? "-" + out : out;
}

std::string real_text(double x) {
  if (std::isnan(x)) return "-";
  if (std::fabs(x) >= 100) return count_text(x);
  return fmt("%.1f", x);
}

std::string bytes_text(double x) {
  if (std::isnan(x)) return "-";
  if (x >= 10 * 1024) return real_text(x / 1024) + " KiB";
  return count_text(x) + " B";
}

void print_table(const std::vector<std::vector<std::string>>& cells, std::size_t left_columns) {
  std::vector<std::size_t> width;
  for (const auto& line : cells) {
    width.resize(std::max(width.size(), line.size()), 0);
    for (std::size_t c = 0; c < line.size(); ++c) width[c] = std::max(width[c], line[c].size());
  }
  for (std::size_t i = 0; i < cells.size(); ++i) {
    std::string out;
    for (std::size_t c = 0; c < cells[i].size(); ++c) {
      const auto& s = cells[i][c];
      const std::string pad(width[c] - s.size(), ' ');
      if (c > 0) out += "  ";
      out += c < left_columns ? s + pad : pad + s;
    }
    while (!out.empty() && out.back() == ' ') out.pop_back();
    std::printf("%s\n", out.c_str());
    if (i == 0) {
      std::size_t total = 0;
      for (auto w : width) total += w;
      std::printf("%s\n", std::string(total + 2 * (width.size() - 1), '-').c_str());
    }
  }
}

void print_results(const std::vector<row>& rows, const std::vector<row>& index_rows) {
  std::vector<std::vector<std::string>> cells;
  cells.push_back({"config", "in-flight", "events/s", "data MB/s", "disk MB/s", "p50 us", "p99 us", "p999 us",
                   "commits", "commits/s", "events/commit", "bytes/commit"});
  for (const auto& r : rows) {
    cells.push_back({r.name, r.inflight, count_text(r.v[c_events_s]), real_text(r.v[c_data_mb_s]),
                     real_text(r.v[c_disk_mb_s]), real_text(r.v[c_p50]), real_text(r.v[c_p99]),
                     real_text(r.v[c_p999]), count_text(r.v[c_commits]), count_text(r.v[c_commits_s]),
                     real_text(r.v[c_events_commit]), bytes_text(r.v[c_bytes_commit])});
  }
  print_table(cells, 1);

  if (index_rows.empty()) return;
  std::printf("\nindex (RocksDB) behind the throughput rows\n");
  cells.clear();
  cells.push_back({"config", "appended/s", "lag at end (events)", "catch-up ms", "indexed/s over run+catch-up"});
  for (const auto& r : index_rows)
    cells.push_back({r.name, count_text(r.v[c_events_s]), count_text(r.v[c_index_lag]),
                     count_text(r.v[c_index_catchup_ms]), count_text(r.v[c_index_events_s])});
  print_table(cells, 1);
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

// ---------------------------------------------------------------- the run

// What one event_id::generate_v7() costs on this thread, in ns.
double generate_v7_ns() {
  constexpr int n = 20'000;
  volatile std::uint8_t sink = 0;  // keeps the calls
  const std::uint64_t t0 = now_ns();
  for (int i = 0; i < n; ++i) sink = codec::event_id::generate_v7().bytes[15];
  (void)sink;
  return static_cast<double>(now_ns() - t0) / n;
}

// The 1-minute load average: on a shared 2-vCPU machine other processes
// move every figure here (a busy CPU delays the fdatasync completion path by
// scheduler ticks), so the table says how busy the machine was.
std::string load_average() {
  std::FILE* f = std::fopen("/proc/loadavg", "r");
  if (!f) return "?";
  char buf[64] = {};
  const bool ok = std::fgets(buf, sizeof buf, f) != nullptr;
  std::fclose(f);
  if (!ok) return "?";
  std::string s(buf);
  return s.substr(0, s.find(' '));
}

// Lets the disk go quiet between measurements: the previous partition was
// just deleted and its index files may still be in the page cache.
void settle(const std::string& root) {
  if (int fd = ::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); fd >= 0) {
    ::syncfs(fd);
    ::close(fd);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
}

int run_bench(const bench_options& opt) {
  std::string tmpl = opt.dir + "/muninn-bench-XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (!::mkdtemp(buf.data())) {
    std::fprintf(stderr, "muninn-bench storage: cannot create a directory under %s: %s\n", opt.dir.c_str(),
                 std::strerror(errno));
    return 1;
  }
  const std::string root = buf.data();
  scratch tmp(root);
  failure fail;

  auto wanted = [&](std::string_view key) {
    return opt.only.empty() || std::find(opt.only.begin(), opt.only.end(), key) != opt.only.end();
  };
  std::vector<throughput_config> configs;
  const std::vector<std::size_t> batches = opt.quick && opt.only.empty() ? std::vector<std::size_t>{1, 100}
                                                                         : std::vector<std::size_t>{1, 10, 100, 1000};
  for (ack_mode acks : {ack_mode::durable, ack_mode::written}) {
    for (std::size_t b : batches) {
      if (opt.quick && opt.only.empty() && acks == ack_mode::written && b != 100) continue;
      throughput_config c{b, acks, opt.inflight ? opt.inflight : default_inflight(b)};
      if (wanted(c.key())) configs.push_back(c);
    }
  }
  const bool with_single = wanted("single");
  for (const auto& key : opt.only) {
    const bool known = key == "single" || std::any_of(configs.begin(), configs.end(),
                                                      [&](const throughput_config& c) { return c.key() == key; });
    if (!known) {
      std::fprintf(stderr, "muninn-bench storage: --only: unknown measurement '%s'\n", key.c_str());
      scratch::remove(root);
      return 2;
    }
  }

  // Enough ids for 1.25 M events/s over a run and its warm-up, at most 16 M
  // (256 MiB, ~12 s to make): longer runs make the rest inline (noted).
  const double v7_ns = generate_v7_ns();
  const double run_seconds = opt.seconds + warmup_seconds(opt);
  const auto pool_ids = std::min<std::size_t>(static_cast<std::size_t>(1.25e6 * run_seconds) + 10'000, 16u << 20);
  const std::uint64_t t_pool = now_ns();
  workload work(pool_ids);
  const double pool_seconds = seconds_between(t_pool, now_ns());

  std::printf("muninn-bench storage: %zu-byte events over %zu streams, segment %llu MiB, %d producer thread(s),\n"
              "%.1f s per configuration after a %.1f s warm-up, median of %d run(s), directory %s\n"
              "load average (1 min) at start: %s\n",
              event_data_bytes, stream_count, static_cast<unsigned long long>(segment_bytes >> 20), opt.producers,
              opt.seconds, warmup_seconds(opt), opt.repeat, root.c_str(), load_average().c_str());
  std::printf("event_id::generate_v7() costs %.0f ns per id here; %s ids were made before the runs (%.1f s)\n\n",
              v7_ns, count_text(static_cast<double>(pool_ids)).c_str(), pool_seconds);
  std::fflush(stdout);

  const std::size_t steps = static_cast<std::size_t>(opt.repeat) * (configs.size() + (with_single ? 1 : 0));
  std::size_t step = 0;
  auto progress = [&](const row& r) {
    std::fprintf(stderr, "[%zu/%zu] %-40s %12s events/s  %8s disk MB/s  p99 %s us\n", ++step, steps, r.name.c_str(),
                 count_text(r.v[c_events_s]).c_str(), real_text(r.v[c_disk_mb_s]).c_str(),
                 real_text(r.v[c_p99]).c_str());
  };
  auto raw_progress = [&](const row& r) {
    std::fprintf(stderr, "      %-50s %8s disk MB/s  p99 %s us\n", r.name.c_str(), real_text(r.v[c_disk_mb_s]).c_str(),
                 real_text(r.v[c_p99]).c_str());
  };
  std::vector<std::string> notes;
  auto check_pool = [&](const std::string& name) {
    if (work.inline_ids() > 0)
      notes.push_back(name + ": the id pool ran out; " + count_text(double(work.inline_ids())) +
                      " ids were made inline, slowing the producers");
  };

  // Each log measurement is followed at once by its raw counterpart at the
  // bytes per fdatasync that run produced, so both see the same disk state.
  // Repeats are outermost so drift over the run spreads over every row.
  std::vector<row> single_runs;
  std::vector<row> raw_single_runs;
  std::vector<row> raw_handoff_runs;
  std::vector<std::vector<row>> tput_runs(configs.size());
  std::vector<std::vector<row>> raw_tput_runs(configs.size());
  auto bytes_of = [](const row& r, std::size_t fallback) {
    const double b = r.v[c_bytes_commit];
    return std::isnan(b) || b < 1 ? fallback : static_cast<std::size_t>(b + 0.5);
  };
  for (int rep = 0; rep < opt.repeat && !fail.failed; ++rep) {
    if (with_single) {
      settle(root);
      single_runs.push_back(run_single_latency(opt, work, tmp, fail));
      if (fail.failed) break;
      check_pool(single_runs.back().name);
      progress(single_runs.back());
      settle(root);
      raw_single_runs.push_back(run_raw_latency(bytes_of(single_runs.back(), 260), false, opt, work, tmp, fail));
      if (fail.failed) break;
      raw_progress(raw_single_runs.back());
      settle(root);
      raw_handoff_runs.push_back(run_raw_latency(bytes_of(single_runs.back(), 260), true, opt, work, tmp, fail));
      if (fail.failed) break;
      raw_progress(raw_handoff_runs.back());
    }
    for (std::size_t i = 0; i < configs.size() && !fail.failed; ++i) {
      settle(root);
      tput_runs[i].push_back(run_throughput(configs[i], opt, work, tmp, fail));
      if (fail.failed) break;
      check_pool(tput_runs[i].back().name);
      progress(tput_runs[i].back());
      if (configs[i].acks != ack_mode::durable) continue;
      settle(root);
      const std::size_t bytes = bytes_of(tput_runs[i].back(), 0);
      if (!bytes) continue;
      raw_tput_runs[i].push_back(run_raw_throughput(bytes, "at the bytes/commit of " + configs[i].name(), opt,
                                                    work, tmp, fail));
      if (!fail.failed) raw_progress(raw_tput_runs[i].back());
    }
  }
  scratch::remove(root);

  if (fail.failed) {
    std::fflush(stdout);
    std::fprintf(stderr, "muninn-bench storage: %s\n", fail.message.c_str());
    return 1;
  }

  // The table: log rows, then the raw rows.
  std::vector<row> rows;
  const row single = with_single ? median_row(single_runs) : row{};
  if (with_single) rows.push_back(single);
  std::vector<row> tput(configs.size());
  for (std::size_t i = 0; i < configs.size(); ++i) {
    tput[i] = median_row(tput_runs[i]);
    rows.push_back(tput[i]);
  }
  const row raw_single = with_single ? median_row(raw_single_runs) : row{};
  if (with_single) rows.push_back(raw_single);
  const row raw_handoff = with_single ? median_row(raw_handoff_runs) : row{};
  if (with_single) rows.push_back(raw_handoff);
  std::vector<std::optional<row>> raw_tput(configs.size());
  for (std::size_t i = 0; i < configs.size(); ++i) {
    if (raw_tput_runs[i].empty()) continue;
    raw_tput[i] = median_row(raw_tput_runs[i]);
    rows.push_back(*raw_tput[i]);
  }
  print_results(rows, tput);
  std::printf("\nload average (1 min) at end: %s\n", load_average().c_str());

  // The ratios.
  std::printf("\nratios\n");
  for (std::size_t i = 0; i < configs.size(); ++i) {
    if (configs[i].acks == ack_mode::durable && configs[i].batch == 100) {
      const double eps = tput[i].v[c_events_s];
      std::printf("  log durable batch 100: %s events/s = %.2fx the target of %s events/s (%s)\n",
                  count_text(eps).c_str(), eps / target_events_per_s, count_text(target_events_per_s).c_str(),
                  eps >= target_events_per_s ? "met" : "MISSED");
    }
  }
  for (std::size_t i = 0; i < configs.size(); ++i) {
    if (!raw_tput[i]) continue;
    const double log_mb = tput[i].v[c_disk_mb_s];
    const double raw_mb = raw_tput[i]->v[c_disk_mb_s];
    std::printf("  log %s disk MB/s / raw MB/s at %s per fdatasync: %s / %s = %.2f\n", configs[i].name().c_str(),
                bytes_text(raw_tput[i]->v[c_bytes_commit]).c_str(), real_text(log_mb).c_str(),
                real_text(raw_mb).c_str(), log_mb / raw_mb);
  }
  if (!with_single) {
    for (const auto& n : notes) std::printf("note: %s\n", n.c_str());
    return 0;
  }
  const double ratio = single.v[c_p99] / raw_single.v[c_p99];
  std::printf("  single-event durable p99 / raw write+fdatasync p99 (%s): %s / %s us = %.2f (target <= %.1f: %s)\n",
              bytes_text(raw_single.v[c_bytes_commit]).c_str(), real_text(single.v[c_p99]).c_str(),
              real_text(raw_single.v[c_p99]).c_str(), ratio, target_latency_ratio,
              ratio <= target_latency_ratio ? "met" : "MISSED");
  std::printf("  single-event durable p50 / raw write+fdatasync p50: %s / %s us = %.2f\n",
              real_text(single.v[c_p50]).c_str(), real_text(raw_single.v[c_p50]).c_str(),
              single.v[c_p50] / raw_single.v[c_p50]);
  std::printf("  single-event durable p99 / raw write+fdatasync p99 on an I/O thread (diagnostic): %s / %s us = %.2f\n",
              real_text(single.v[c_p99]).c_str(), real_text(raw_handoff.v[c_p99]).c_str(),
              single.v[c_p99] / raw_handoff.v[c_p99]);
  for (const auto& n : notes) std::printf("note: %s\n", n.c_str());
  return 0;
}

}  // namespace

int storage_main(std::span<char*> args) {
  bool help = false;
  auto opt = parse_options(args, help);
  if (!opt) {
    usage();
    return help ? 0 : 2;
  }
  // The log's info lines (segment opened, index rebuilt) would break the
  // table and the probe's one-line output; warnings and errors still show.
  spdlog::set_level(spdlog::level::warn);
  if (!opt->strace_probe.empty()) return run_strace_probe(opt->strace_probe);
  return run_bench(*opt);
}

}  // namespace muninn::bench
