// `muninn-bench produce` and `muninn-bench consume`: muninnd over loopback
// (issue 3). The benchmark starts its own muninnd on a free loopback port
// with a temporary data directory (or uses --broker HOST:PORT), creates a
// fresh topic per measurement, and stops and removes everything it started,
// also on errors and on Ctrl-C.
//
// produce: producer threads, each with its own client connection, keep
// requests of --batch events in flight (closed loop), or send at a fixed
// --rate (open loop; latency from the scheduled send time, so a slow
// acknowledgement cannot hide the requests it delayed). The single-event
// latency row alternates with raw write+fdatasync rounds on the same disk
// (bench/raw_disk.h), so "p99 - raw p99" compares one disk state.
//
// consume: fills a topic, then replays it from offset 0 with client::fetch()
// and with client::subscribe(), then (broker stopped) reads the same
// partition in-process with partition_log::read(): the storage's own rate.
// CPU columns (cores = CPU s / wall s, from /proc schedstat) show which side
// is busy. Never asserts on timings: it is a benchmark.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <spdlog/spdlog.h>

#include "bench/broker_process.h"
#include "bench/broker_runs.h"
#include "bench/commands.h"
#include "bench/raw_disk.h"
#include "bench/table.h"
#include "clients/client.h"

namespace muninn::bench {
namespace broker_bench {
namespace {

using storage_bench::count_text;
using storage_bench::parse_number;
using storage_bench::real_text;

inline constexpr double target_produce_events_s = 500'000.0;
inline constexpr double target_replay_events_s = 2'000'000.0;
inline constexpr double target_p99_above_raw_us = 1000.0;

struct options {
  std::string muninnd;  // empty: next to muninn-bench
  std::string broker;   // set: use this broker, start none
  std::string dir;
  std::uint32_t partitions = 1;
  int repeat = 0;  // 0: the subcommand's default
  // produce; a configuration flag makes the run a single custom row.
  bool custom = false;
  produce_config cfg;
  double seconds = 5;
  std::size_t latency_rounds = 5;
  // consume
  std::uint64_t events = 10'000'000;
  // 1 MiB, the client's default and the broker's read size for a
  // subscription: 8 MiB fetches replay slower here (docs/benchmarks.md).
  std::uint32_t fetch_bytes = 1u << 20;
  std::uint32_t credit_bytes = 16u << 20;
  bool storage_read = true;
};

void usage(bool consume) {
  if (!consume) {
    std::fprintf(stderr,
                 "usage: muninn-bench produce [options]\n\n"
                 "Without configuration flags: 4 producers x batch 100 x 200 B, acks=durable (throughput),\n"
                 "and single 200 B events, acks=durable, at 1,000 events/s (latency) in rounds alternating with\n"
                 "raw write+fdatasync rounds on the same disk. A configuration flag runs that one row instead.\n\n"
                 "configuration:\n"
                 "  --producers N       threads, one connection each (default 4)\n"
                 "  --batch N           events per produce request (default 100)\n"
                 "  --event-bytes B     event data bytes (default 200)\n"
                 "  --acks durable|written\n"
                 "  --inflight N        requests in flight per producer, closed loop (default 16)\n"
                 "  --rate R            events/s over all producers, open loop (latency from the scheduled time)\n"
                 "  --events N          send N events (no warm-up) instead of --seconds\n"
                 "other:\n"
                 "  --seconds S         measured seconds per row after a 0.5 s warm-up (default 5)\n"
                 "  --partitions N      partitions of each topic (default 1)\n"
                 "  --repeat N          every row N times; the table shows medians (default 1)\n"
                 "  --muninnd PATH      the broker binary (default: next to muninn-bench)\n"
                 "  --broker HOST:PORT  use a running broker (no CPU columns, no broker started)\n"
                 "  --dir DIR           parent of the temporary directory (default $TMPDIR or /tmp)\n");
  } else {
    std::fprintf(stderr,
                 "usage: muninn-bench consume [options]\n\n"
                 "Fills a topic with --events 200 B events (acks=written, batches of 1000, the last durable), then\n"
                 "replays partition 0 from offset 0 with client::fetch() and client::subscribe(), and finally\n"
                 "(broker stopped) with partition_log::read() in this process.\n\n"
                 "  --events N          events to fill and replay (default 10,000,000)\n"
                 "  --event-bytes B     event data bytes (default 200)\n"
                 "  --fetch-bytes N     max_bytes per fetch and per storage read (default 1 MiB; the broker caps it at 8 MiB)\n"
                 "  --credit-bytes N    subscription credit (default 16 MiB: the broker's cap)\n"
                 "  --repeat N          replays per method; the table shows medians (default 3)\n"
                 "  --no-storage-read   skip the in-process partition_log::read rows\n"
                 "  --muninnd PATH, --broker HOST:PORT, --dir DIR   as for produce\n");
  }
}

// nullopt after printing to stderr when the arguments are wrong.
std::optional<options> parse_options(std::span<char*> args, bool consume, bool& help) {
  options o;
  const char* cmd = consume ? "consume" : "produce";
  auto bad = [&](const char* what) {
    std::fprintf(stderr, "muninn-bench %s: %s\n", cmd, what);
    return std::nullopt;
  };
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string_view a = args[i];
    std::string_view v;
    auto value = [&]() {
      if (i + 1 >= args.size()) return false;
      v = args[++i];
      return true;
    };
    auto produce_only = [&] { return !consume; };
    if (a == "-h" || a == "--help") {
      help = true;
      return std::nullopt;
    }
    if (a == "--no-storage-read" && consume) {
      o.storage_read = false;
      continue;
    }
    if (!value()) {
      std::fprintf(stderr, "muninn-bench %s: unknown option or missing value: '%.*s'\n", cmd, static_cast<int>(a.size()),
                   a.data());
      return std::nullopt;
    }
    if (a == "--muninnd") {
      o.muninnd = std::string(v);
    } else if (a == "--broker") {
      o.broker = std::string(v);
    } else if (a == "--dir") {
      o.dir = std::string(v);
    } else if (a == "--repeat") {
      if (!parse_number(v, o.repeat) || o.repeat < 1 || o.repeat > 99) return bad("--repeat wants an integer in [1, 99]");
    } else if (a == "--partitions" && produce_only()) {
      if (!parse_number(v, o.partitions) || o.partitions < 1 || o.partitions > 256)
        return bad("--partitions wants an integer in [1, 256]");
    } else if (a == "--producers" && produce_only()) {
      if (!parse_number(v, o.cfg.producers) || o.cfg.producers < 1 || o.cfg.producers > 64)
        return bad("--producers wants an integer in [1, 64]");
      o.custom = true;
    } else if (a == "--batch" && produce_only()) {
      if (!parse_number(v, o.cfg.batch) || o.cfg.batch < 1 || o.cfg.batch > 100'000)
        return bad("--batch wants an integer in [1, 100000]");
      o.custom = true;
    } else if (a == "--event-bytes") {
      if (!parse_number(v, o.cfg.event_bytes) || o.cfg.event_bytes < 1 || o.cfg.event_bytes > (512u << 10))
        return bad("--event-bytes wants an integer in [1, 524288]");
      o.custom = true;
    } else if (a == "--acks" && produce_only()) {
      if (v == "durable") o.cfg.acks = client::ack_mode::durable;
      else if (v == "written") o.cfg.acks = client::ack_mode::written;
      else return bad("--acks wants durable or written");
      o.custom = true;
    } else if (a == "--inflight" && produce_only()) {
      if (!parse_number(v, o.cfg.inflight) || o.cfg.inflight < 1 || o.cfg.inflight > 256)
        return bad("--inflight wants an integer in [1, 256] (the broker's per-connection limit)");
      o.custom = true;
    } else if (a == "--rate" && produce_only()) {
      if (!parse_number(v, o.cfg.rate) || !(o.cfg.rate > 0) || o.cfg.rate > 1e8)
        return bad("--rate wants events/s in (0, 1e8]");
      o.custom = true;
    } else if (a == "--events") {
      if (!parse_number(v, o.events) || o.events < 1) return bad("--events wants a positive integer");
      if (!consume) {
        o.cfg.events = o.events;
        o.custom = true;
      }
    } else if (a == "--seconds" && produce_only()) {
      if (!parse_number(v, o.seconds) || !(o.seconds > 0) || o.seconds > 3600)
        return bad("--seconds wants a number in (0, 3600]");
    } else if (a == "--fetch-bytes" && consume) {
      if (!parse_number(v, o.fetch_bytes) || o.fetch_bytes < 1024) return bad("--fetch-bytes wants at least 1024");
    } else if (a == "--credit-bytes" && consume) {
      if (!parse_number(v, o.credit_bytes) || o.credit_bytes < 1024) return bad("--credit-bytes wants at least 1024");
    } else {
      std::fprintf(stderr, "muninn-bench %s: unknown option '%.*s'\n", cmd, static_cast<int>(a.size()), a.data());
      return std::nullopt;
    }
  }
  if (o.repeat == 0) o.repeat = consume ? 3 : 1;
  if (o.dir.empty()) {
    const char* tmp = std::getenv("TMPDIR");
    o.dir = tmp && *tmp ? tmp : "/tmp";
  }
  if (o.muninnd.empty()) o.muninnd = default_muninnd_path();
  o.cfg.seconds = o.seconds;
  return o;
}

void print_rows(const std::vector<brow>& rows, bool latency_columns) {
  std::vector<std::vector<std::string>> cells;
  if (latency_columns) {
    cells.push_back({"config", "in-flight", "events/s", "data MB/s", "p50 us", "p99 us", "p999 us", "p99 - raw p99 us",
                     "broker cores", "broker net thread", "events/broker CPU-s", "bench cores", "busiest bench thread"});
    for (const auto& r : rows)
      cells.push_back({r.name, r.inflight, count_text(r.v[b_events_s]), real_text(r.v[b_data_mb_s]),
                       real_text(r.v[b_p50]), real_text(r.v[b_p99]), real_text(r.v[b_p999]),
                       real_text(r.v[b_p99_minus_raw]), cores_text(r.v[b_broker_cpu]), cores_text(r.v[b_broker_net]),
                       count_text(r.v[b_events_s] / r.v[b_broker_cpu]),
                       cores_text(r.v[b_bench_cpu]),
                       std::isnan(r.v[b_bench_busiest]) ? "-" : cores_text(r.v[b_bench_busiest]) + " " + r.busiest});
  } else {
    cells.push_back({"config", "events", "events/s", "data MB/s", "wire MB/s", "broker cores", "broker net thread",
                     "events/broker CPU-s", "bench cores", "busiest bench thread"});
    for (const auto& r : rows)
      cells.push_back({r.name, count_text(r.v[b_events]), count_text(r.v[b_events_s]), real_text(r.v[b_data_mb_s]),
                       real_text(r.v[b_wire_mb_s]), cores_text(r.v[b_broker_cpu]), cores_text(r.v[b_broker_net]),
                       count_text(r.v[b_events_s] / r.v[b_broker_cpu]),
                       cores_text(r.v[b_bench_cpu]),
                       std::isnan(r.v[b_bench_busiest]) ? "-" : cores_text(r.v[b_bench_busiest]) + " " + r.busiest});
  }
  storage_bench::print_table(cells, 1);
}

void progress(std::size_t step, std::size_t steps, const brow& r) {
  std::fprintf(stderr, "[%zu/%zu] %-55s %12s events/s  p99 %s us  broker %s cores (net %s)  bench %s\n", step, steps,
               r.name.c_str(), count_text(r.v[b_events_s]).c_str(), real_text(r.v[b_p99]).c_str(),
               cores_text(r.v[b_broker_cpu]).c_str(), cores_text(r.v[b_broker_net]).c_str(),
               cores_text(r.v[b_bench_cpu]).c_str());
}

// The stored size of a single-event batch of this workload: the raw rows
// write frames of that size. Produces one (unmeasured) event to `topic`.
std::size_t single_event_frame_bytes(const broker_ref& broker, const std::string& topic, std::size_t event_bytes,
                                     workload& work, failure& fail) {
  auto opts = client::parse_broker_address(broker.address);
  client::client c(*opts);
  std::vector<codec::event_in> one(1);
  std::uint64_t r = 1;
  work.fill(one, r);
  one[0].data = work.random_bytes(event_bytes, r);
  stream_table streams(1);
  one[0].stream = streams.of(0).front();
  auto p = c.produce(topic, 0, one);
  if (!p) {
    fail.set("produce to " + topic + ": " + p.error().describe());
    return 0;
  }
  auto f = c.fetch(topic, 0, p->front().offset);
  if (!f || f->batches.empty()) {
    fail.set("fetch from " + topic + ": " + (f ? std::string("no batch") : f.error().describe()));
    return 0;
  }
  return f->batches.front().frame_bytes;
}

int run_produce_bench(const options& o) {
  temp_dir tmp(o.dir);
  if (!tmp.ok()) {
    std::fprintf(stderr, "muninn-bench produce: cannot create a directory under %s\n", o.dir.c_str());
    return 1;
  }
  broker_session broker;
  if (auto err = broker.open(o.muninnd, o.broker, tmp)) {
    std::fprintf(stderr, "muninn-bench produce: %s\n", err->c_str());
    return 1;
  }
  failure fail;

  // The rows: the issue's two, or the one the flags describe.
  std::vector<produce_config> tput_cfgs;
  std::optional<produce_config> lat_cfg;
  if (o.custom) {
    if (o.cfg.rate > 0 && o.cfg.events == 0) lat_cfg = o.cfg;
    else tput_cfgs.push_back(o.cfg);
  } else {
    produce_config t;
    t.seconds = o.seconds;
    tput_cfgs.push_back(t);
    produce_config l;
    l.producers = 1;
    l.batch = 1;
    l.inflight = 256;
    l.rate = 1000;
    l.seconds = o.seconds * 2;
    lat_cfg = l;
  }
  if (lat_cfg) {
    // Each latency round starts with 50 unmeasured sends, as the storage
    // benchmark's rounds do, and measures seconds / rounds.
    lat_cfg->seconds = std::max(0.2, lat_cfg->seconds / static_cast<double>(o.latency_rounds));
    lat_cfg->warmup = std::max(0.05, 50.0 * lat_cfg->batch / lat_cfg->rate);
  }

  // Ids are made before the runs, as in the storage benchmark: in production
  // the clients that make them are not on the broker's two cores.
  double ids_needed = 0;
  for (const auto& c : tput_cfgs)
    ids_needed += c.events > 0 ? static_cast<double>(c.events) : 1.25e6 * (c.seconds + c.warmup);
  if (lat_cfg) ids_needed = std::max(ids_needed, lat_cfg->rate * (lat_cfg->seconds + lat_cfg->warmup + 0.5) *
                                                     static_cast<double>(o.latency_rounds) + 1000);
  const auto pool_ids = static_cast<std::size_t>(std::min(ids_needed, double(16u << 20)));
  const std::uint64_t t_pool = now_ns();
  workload work(pool_ids);
  const stream_table streams(o.partitions);

  std::printf("muninn-bench produce: muninnd %s at %s, %u partition(s) per topic, median of %d run(s)\n"
              "directory %s, load average (1 min) at start: %s\n"
              "%s event ids made before the runs (%.1f s); CPU columns: cores = CPU s / wall s over the window\n\n",
              o.broker.empty() ? "started by the benchmark" : "given by --broker", broker.ref.address.c_str(),
              o.partitions, o.repeat, tmp.path().c_str(), load_average().c_str(),
              count_text(double(pool_ids)).c_str(), seconds_between(t_pool, now_ns()));
  std::fflush(stdout);

  storage_bench::bench_options sopt;
  sopt.seconds = 10;
  storage_bench::scratch raw_tmp(tmp.path() + "/raw");
  const std::size_t raw_per_round = 400;

  const std::size_t steps = static_cast<std::size_t>(o.repeat) * (tput_cfgs.size() + (lat_cfg ? 1 : 0));
  std::size_t step = 0;
  std::vector<std::vector<brow>> tput_runs(tput_cfgs.size());
  std::vector<brow> lat_runs, raw_runs;
  std::size_t frame_bytes = 0;
  for (int rep = 0; rep < o.repeat && !fail.failed && !interrupted; ++rep) {
    for (std::size_t i = 0; i < tput_cfgs.size() && !fail.failed; ++i) {
      auto topic = broker.create_topic("produce", o.partitions, fail);
      if (!topic) break;
      work.restart();
      tput_runs[i].push_back(run_produce(tput_cfgs[i], broker.ref, *topic, streams, work, fail));
      if (!fail.failed) progress(++step, steps, tput_runs[i].back());
      if (work.inline_ids() > 0)
        std::fprintf(stderr, "      note: the id pool ran out; %s ids were made inline\n",
                     count_text(double(work.inline_ids())).c_str());
    }
    if (!lat_cfg || fail.failed) continue;
    // Broker rounds and raw rounds alternate on the same disk, so that a
    // slow stretch of the disk meets both sides.
    auto topic = broker.create_topic("latency", o.partitions, fail);
    if (!topic) break;
    work.restart();
    const std::size_t bytes = single_event_frame_bytes(broker.ref, *topic, lat_cfg->event_bytes, work, fail);
    if (fail.failed) break;
    if (lat_cfg->batch == 1) frame_bytes = bytes;
    latency_histogram lat_h, raw_h;
    brow lat_sum;
    std::vector<brow> round_rows;
    storage_bench::row raw_last;
    for (std::size_t round = 0; round < o.latency_rounds && !fail.failed && !interrupted; ++round) {
      raw_last = storage_bench::run_raw_latency(bytes, false, sopt, work, raw_tmp, fail, raw_per_round, &raw_h);
      if (fail.failed) break;
      round_rows.push_back(run_produce(*lat_cfg, broker.ref, *topic, streams, work, fail, &lat_h));
    }
    if (fail.failed) break;
    brow lat = median_brow(round_rows);  // rates and CPU: median round
    lat.v[b_events] = 0;
    for (const auto& r : round_rows) lat.v[b_events] += r.v[b_events];
    lat.v[b_p50] = static_cast<double>(lat_h.quantile(0.50)) / 1e3;
    lat.v[b_p99] = static_cast<double>(lat_h.quantile(0.99)) / 1e3;
    lat.v[b_p999] = static_cast<double>(lat_h.quantile(0.999)) / 1e3;
    brow raw;
    raw.name = "raw write+fdatasync " + std::to_string(bytes) + " B, one at a time";
    raw.inflight = "1";
    raw.v[b_events] = static_cast<double>(raw_h.count());
    raw.v[b_p50] = static_cast<double>(raw_h.quantile(0.50)) / 1e3;
    raw.v[b_p99] = static_cast<double>(raw_h.quantile(0.99)) / 1e3;
    raw.v[b_p999] = static_cast<double>(raw_h.quantile(0.999)) / 1e3;
    lat.v[b_p99_minus_raw] = lat.v[b_p99] - raw.v[b_p99];
    lat_runs.push_back(lat);
    raw_runs.push_back(raw);
    progress(++step, steps, lat);
    std::fprintf(stderr, "      %-55s p99 %s us (%s writes)\n", raw.name.c_str(), real_text(raw.v[b_p99]).c_str(),
                 count_text(raw.v[b_events]).c_str());
  }
  if (interrupted) fail.set("interrupted");
  const int stopped = broker.proc ? broker.proc->stop() : 0;
  if (broker.report("produce", fail, stopped)) return 1;

  std::vector<brow> rows;
  std::vector<brow> tput(tput_cfgs.size());
  for (std::size_t i = 0; i < tput_cfgs.size(); ++i) rows.push_back(tput[i] = median_brow(tput_runs[i]));
  std::optional<brow> lat, raw;
  if (!lat_runs.empty()) {
    rows.push_back(*(lat = median_brow(lat_runs)));
    rows.push_back(*(raw = median_brow(raw_runs)));
  }
  print_rows(rows, true);
  std::printf("\nload average (1 min) at end: %s\n", load_average().c_str());
  std::printf("events/broker CPU-s: what one broker CPU-second serves, the figure least moved by other load\n");
  if (lat)
    std::printf("latency row: %s events over %zu rounds per run, alternating with rounds of %zu raw writes of %zu B\n",
                count_text(lat->v[b_events]).c_str(), o.latency_rounds, raw_per_round, frame_bytes);

  std::printf("\ntargets (issue 3)\n");
  for (std::size_t i = 0; i < tput_cfgs.size(); ++i) {
    const auto& c = tput_cfgs[i];
    const double eps = tput[i].v[b_events_s];
    const bool issue_row = c.producers == 4 && c.batch == 100 && c.event_bytes == 200 &&
                           c.acks == client::ack_mode::durable && c.rate == 0;
    std::printf("  %s: %s events/s = %.2fx the target of %s events/s%s\n", describe(c).c_str(), count_text(eps).c_str(),
                eps / target_produce_events_s, count_text(target_produce_events_s).c_str(),
                issue_row ? (eps >= target_produce_events_s ? " (met)" : " (MISSED)") : " (not the issue's row)");
  }
  if (lat) {
    const double d = lat->v[b_p99_minus_raw];
    const bool issue_row = lat_cfg->batch == 1 && lat_cfg->acks == client::ack_mode::durable && lat_cfg->rate == 1000;
    std::printf("  %s: p99 %s us - raw p99 %s us: %s us, the median of each run's difference (target <= %s us%s)\n", describe(*lat_cfg).c_str(),
                real_text(lat->v[b_p99]).c_str(), real_text(raw->v[b_p99]).c_str(), real_text(d).c_str(),
                count_text(target_p99_above_raw_us).c_str(),
                issue_row ? (d <= target_p99_above_raw_us ? ": met" : ": MISSED") : ", not the issue's row");
  }
  return 0;
}

int run_consume_bench(const options& o) {
  temp_dir tmp(o.dir);
  if (!tmp.ok()) {
    std::fprintf(stderr, "muninn-bench consume: cannot create a directory under %s\n", o.dir.c_str());
    return 1;
  }
  broker_session broker;
  if (auto err = broker.open(o.muninnd, o.broker, tmp)) {
    std::fprintf(stderr, "muninn-bench consume: %s\n", err->c_str());
    return 1;
  }
  failure fail;
  std::printf("muninn-bench consume: muninnd %s at %s, %s events of %zu B, median of %d replay(s) per method\n"
              "directory %s, load average (1 min) at start: %s\n"
              "CPU columns: cores = CPU s / wall s over the replay\n\n",
              o.broker.empty() ? "started by the benchmark" : "given by --broker", broker.ref.address.c_str(),
              count_text(double(o.events)).c_str(), o.cfg.event_bytes, o.repeat, tmp.path().c_str(),
              load_average().c_str());
  std::fflush(stdout);

  std::vector<brow> fetch_runs, sub_runs, storage_runs;
  std::string topic;
  if (auto t = broker.create_topic("consume", 1, fail)) topic = *t;
  if (!fail.failed) fill_topic(broker.ref, topic, o.events, o.cfg.event_bytes, fail);
  const std::size_t steps = static_cast<std::size_t>(o.repeat) * 2;
  std::size_t step = 0;
  // Fetch and subscribe replays alternate, so that drift meets both.
  for (int rep = 0; rep < o.repeat && !fail.failed && !interrupted; ++rep) {
    fetch_runs.push_back(run_replay_fetch(broker.ref, topic, o.events, o.fetch_bytes, fail));
    if (fail.failed) break;
    progress(++step, steps, fetch_runs.back());
    sub_runs.push_back(run_replay_subscribe(broker.ref, topic, o.events, o.credit_bytes, fail));
    if (fail.failed) break;
    progress(++step, steps, sub_runs.back());
  }
  if (interrupted) fail.set("interrupted");
  const int stopped = broker.proc ? broker.proc->stop() : 0;
  std::string storage_note;
  if (!fail.failed && o.storage_read) {
    if (!broker.proc) {
      storage_note = "no storage rows: the broker was given by --broker (its data directory is not ours to open)";
    } else {
      const std::string dir = broker.proc->data_dir() + "/topics/" + topic + "/0";
      storage_runs = run_storage_read(dir, o.events, o.fetch_bytes, o.repeat, fail);
      for (const auto& r : storage_runs) progress(0, 0, r);
    }
  }
  if (broker.report("consume", fail, stopped)) return 1;

  std::vector<brow> rows{median_brow(fetch_runs), median_brow(sub_runs)};
  if (!storage_runs.empty()) rows.push_back(median_brow(storage_runs));
  print_rows(rows, false);
  std::printf("\nload average (1 min) at end: %s\n", load_average().c_str());
  std::printf("events/broker CPU-s: what one broker CPU-second serves, the figure least moved by other load;\n"
              "the broker's reads all run on its network thread, so this is about its ceiling on an idle machine\n");
  if (!storage_note.empty()) std::printf("note: %s\n", storage_note.c_str());

  std::printf("\ntargets (issue 3)\n");
  const bool issue_run = o.events >= 10'000'000 && o.cfg.event_bytes == 200;
  for (std::size_t i = 0; i < 2; ++i) {
    const double eps = rows[i].v[b_events_s];
    std::printf("  %s: %s events/s = %.2fx the target of %s events/s%s\n", rows[i].name.c_str(), count_text(eps).c_str(),
                eps / target_replay_events_s, count_text(target_replay_events_s).c_str(),
                issue_run ? (eps >= target_replay_events_s ? " (met)" : " (MISSED)") : " (not the issue's 10 M x 200 B)");
  }
  if (rows.size() > 2)
    for (std::size_t i = 0; i < 2; ++i)
      std::printf("  %s / storage read: %.2f\n", rows[i].name.c_str(), rows[i].v[b_events_s] / rows[2].v[b_events_s]);
  return 0;
}

int main_of(std::span<char*> args, bool consume) {
  bool help = false;
  auto opt = parse_options(args, consume, help);
  if (!opt) {
    usage(consume);
    return help ? 0 : 2;
  }
  // The client's and the in-process log's info lines would break the table.
  spdlog::set_level(spdlog::level::warn);
  install_interrupt_handlers();
  return consume ? run_consume_bench(*opt) : run_produce_bench(*opt);
}

}  // namespace
}  // namespace broker_bench

int produce_main(std::span<char*> args) { return broker_bench::main_of(args, false); }
int consume_main(std::span<char*> args) { return broker_bench::main_of(args, true); }

}  // namespace muninn::bench
