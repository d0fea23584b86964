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
//
// This file holds the options and the run; the measurements are in
// bench/log_runs.cc (the log) and bench/raw_disk.cc (the raw disk), the
// table in bench/table.cc, the events in bench/workload.h.
#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include "bench/broker_process.h"
#include "bench/commands.h"
#include "bench/log_runs.h"
#include "bench/raw_disk.h"
#include "bench/storage_common.h"
#include "bench/table.h"
#include "bench/workload.h"

namespace muninn::bench {
namespace storage_bench {
namespace {

using broker_bench::load_average;
using storage::ack_mode;

// ---------------------------------------------------------------- options

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
      // Log and raw single appends alternate in rounds on one open partition,
      // so both meet the same disk: slow fdatasyncs (writeback after heavy
      // rows) then slow both, and the ratio stays fair.
      settle(root);
      constexpr std::size_t rounds = 10;
      const std::size_t per_round = (opt.quick ? latency_appends / 10 : latency_appends) / rounds;
      latency_histogram raw_h, handoff_h;
      row raw_r, handoff_r;
      auto between = [&](std::size_t bytes) {
        if (!bytes) bytes = 260;
        raw_r = run_raw_latency(bytes, false, opt, work, tmp, fail, per_round, &raw_h);
        if (!fail.failed) handoff_r = run_raw_latency(bytes, true, opt, work, tmp, fail, per_round, &handoff_h);
      };
      single_runs.push_back(run_single_latency(opt, work, tmp, fail, rounds, between));
      if (fail.failed) break;
      latency_columns(raw_r, raw_h);
      latency_columns(handoff_r, handoff_h);
      check_pool(single_runs.back().name);
      progress(single_runs.back());
      raw_single_runs.push_back(raw_r);
      raw_progress(raw_single_runs.back());
      raw_handoff_runs.push_back(handoff_r);
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
}  // namespace storage_bench

int storage_main(std::span<char*> args) {
  bool help = false;
  auto opt = storage_bench::parse_options(args, help);
  if (!opt) {
    storage_bench::usage();
    return help ? 0 : 2;
  }
  // The log's info lines (segment opened, index rebuilt) would break the
  // table and the probe's one-line output; warnings and errors still show.
  spdlog::set_level(spdlog::level::warn);
  if (!opt->strace_probe.empty()) return storage_bench::run_strace_probe(opt->strace_probe);
  return storage_bench::run_bench(*opt);
}

}  // namespace muninn::bench
