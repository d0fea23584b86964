// `muninn-bench projection`: how fast each projection rebuilds from its
// log, beside the raw replay of the same events in the same run.
//
// For each projection: a generated scenario (bench/gen, the same generator
// `muninn-gen` is) is appended to partition logs laid out as the topic is
// (dispatch: 8 partitions by stream hash; reskontra: 1). Then, per round:
//   raw replay  read every partition from offset 0 to its head and walk
//               every event's envelope (stream, type, time, data size): what
//               a consumer with no projection pays;
//   rebuild     the runner's rebuild path (broker/projection_replay.h: a
//               reader thread reads, verifies and decodes, this thread
//               applies) into a fresh projection, with the changed records
//               taken every 100,000 events as the runner does before it
//               writes a checkpoint (the RocksDB write is left out).
// The target (issue 4): at least 1,000,000 events/s per projection.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <time.h>

#include <spdlog/spdlog.h>

#include "bench/commands.h"
#include "bench/gen/generator.h"
#include "bench/storage_common.h"
#include "bench/table.h"
#include "broker/projection_replay.h"
#include "broker/projections/registry.h"
#include "codec/batch_generated.h"
#include "codec/json.h"
#include "codec/sha256.h"
#include "codec/stream_hash.h"
#include "storage/log.h"

namespace muninn::bench {
namespace {

using storage_bench::median_of;
using storage_bench::now_ns;
using storage_bench::seconds_between;

constexpr double target_events_per_s = 1'000'000.0;

struct options {
  std::uint64_t events = 10'000'000;
  int repeat = 3;
  std::string dir;
  std::uint64_t seed = 1;
  std::vector<std::string> only;
  // Partitions kept between runs (generation takes minutes at 10M events).
  std::string keep;
  // Changed records are taken after this many events, as the runner does
  // before each checkpoint (projection_runner_options::checkpoint_events).
  std::uint64_t checkpoint_events = 100'000;
};

void usage() {
  std::fprintf(stderr,
               "usage: muninn-bench projection [--events N] [--repeat N] [--dir DIR] [--seed S] [--only NAMES]\n"
               "  --events N    generated events per projection (default 10000000)\n"
               "  --repeat N    rounds of raw replay and rebuild; medians are printed (default 3)\n"
               "  --dir DIR     where the temporary partitions go (default $TMPDIR or /tmp)\n"
               "  --seed S      scenario seed (default 1)\n"
               "  --only NAMES  comma-separated: dispatch-status, reskontra (default both)\n"
               "  --keep DIR    keep the generated partitions in DIR/NAME-EVENTS-SEED and reuse them\n"
               "                in later runs with the same options (default: a temporary directory)\n"
               "  --checkpoint-events N  take the changed records every N events (default 100000, the\n"
               "                runner's checkpoint interval)\n");
}

struct setup {
  std::string projection;
  gen::domain domain;
  std::uint32_t partitions;
};

constexpr setup setups[] = {
    {"dispatch-status", gen::domain::dispatch, 8},
    {"reskontra", gen::domain::reskontra, 1},
};

using logs = std::vector<std::unique_ptr<storage::partition_log>>;

// Appends the scenario in batches of up to 1,000 events per partition
// (acks=written), then one durable append makes all of it readable.
bool load(const setup& s, const options& o, const std::string& dir, logs& out, double& seconds) {
  storage::log_options lo;
  lo.segment_bytes = 256ull << 20;
  // A kept directory is reused only when a run wrote all of it.
  const std::string complete = dir + "/complete";
  const bool reuse = std::filesystem::exists(complete);
  for (std::uint32_t p = 0; p < s.partitions; ++p) {
    auto log = storage::partition_log::open(dir + "/" + std::to_string(p), lo);
    if (!log) {
      std::fprintf(stderr, "muninn-bench projection: cannot open a partition in %s: %s\n", dir.c_str(),
                   log.error().message.c_str());
      return false;
    }
    out.push_back(std::move(log).value());
  }
  if (reuse) {
    seconds = 0;
    return true;
  }
  gen::options go;
  go.kind = s.domain;
  go.seed = o.seed;
  go.count = o.events;
  gen::scenario scen(go);
  std::vector<std::vector<codec::owned_event>> pending(s.partitions);
  std::vector<codec::event_in> views;
  auto flush = [&](std::uint32_t p, storage::ack_mode acks) {
    views.clear();
    for (const auto& e : pending[p]) views.push_back(e.view());
    storage::append_request req;
    req.events = views;
    req.acks = acks;
    auto r = out[p]->append_sync(req);
    pending[p].clear();
    if (!r) std::fprintf(stderr, "muninn-bench projection: append failed: %s\n", r.error().message.c_str());
    return bool(r);
  };
  const auto t0 = now_ns();
  std::string line;
  while (scen.next_line(line)) {
    auto ev = codec::event_from_json(line);
    if (!ev) {
      std::fprintf(stderr, "muninn-bench projection: generated line refused: %s\n", ev.error().message.c_str());
      return false;
    }
    if (!ev->id) ev->id = codec::event_id::generate_v7();
    const auto p = codec::partition_for(ev->stream, s.partitions);
    pending[p].push_back(std::move(ev).value());
    if (pending[p].size() == 1000 && !flush(p, storage::ack_mode::written)) return false;
  }
  for (std::uint32_t p = 0; p < s.partitions; ++p) {
    if (!pending[p].empty() && !flush(p, storage::ack_mode::durable)) return false;
  }
  // Partitions whose last batch went out with acks=written become
  // readable once their group commit's fdatasync completes.
  for (auto& l : out) {
    while (l->head() < l->stats().written) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  seconds = seconds_between(t0, now_ns());
  if (!o.keep.empty()) {
    if (std::FILE* m = std::fopen(complete.c_str(), "w")) std::fclose(m);
  }
  return true;
}

// Walks every event of every partition; `per_batch` sees each batch.
template <class F>
std::uint64_t replay(const logs& parts, F&& per_batch) {
  std::uint64_t events = 0;
  storage::read_chunk chunk;  // reused: a consumer's loop reads into one buffer
  for (std::uint32_t p = 0; p < parts.size(); ++p) {
    const auto head = parts[p]->head();
    for (std::uint64_t at = 0; at < head;) {
      if (!parts[p]->read(at, 4u << 20, chunk) || chunk.batches.empty()) {
        std::fprintf(stderr, "muninn-bench projection: read of partition %u at %llu failed\n", p,
                     static_cast<unsigned long long>(at));
        std::exit(1);
      }
      for (const auto& b : chunk.batches) {
        per_batch(p, *b.batch.batch, at, b.base_offset + b.count);
        events += b.base_offset + b.count - at;
        at = b.base_offset + b.count;
      }
    }
  }
  return events;
}

// CPU time: on a shared machine the wall-clock rate moves with the
// neighbours' load, CPU time per event much less. The process's covers
// both threads of the rebuild; this thread's is the apply side alone,
// which bounds the rate when the reader has a core of its own.
std::uint64_t cpu_ns(clockid_t which) {
  timespec ts{};
  clock_gettime(which, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000ull + static_cast<std::uint64_t>(ts.tv_nsec);
}

struct round_result {
  double raw_events_s = NAN;
  double rebuild_events_s = NAN;
  double rebuild_cpu_ns = NAN;  // CPU time per event of the rebuild, all threads
  double apply_cpu_ns = NAN;    // of which on the applying thread
  std::uint64_t anomalies = 0;
  std::string digest;
};

round_result run_round(const setup& s, const logs& parts, std::uint64_t checkpoint_events) {
  round_result r;
  // Raw replay: the envelope of every event, as a consumer reads it.
  std::uint64_t touched = 0;
  auto t0 = now_ns();
  const auto raw_events = replay(parts, [&](std::uint32_t, const fb::RecordBatch& b, std::uint64_t from, std::uint64_t to) {
    const auto* evs = b.events();
    for (std::uint64_t o = from; o < to; ++o) {
      const auto* e = evs->Get(static_cast<flatbuffers::uoffset_t>(o - b.base_offset()));
      touched += e->stream()->size() + e->type()->size() + static_cast<std::uint64_t>(e->time()) +
                 (e->data() ? e->data()->size() : 0);
    }
  });
  r.raw_events_s = double(raw_events) / seconds_between(t0, now_ns());
  if (touched == 0) std::fprintf(stderr, "(no data)\n");

  auto config = projections::projection_config(s.projection, {});
  auto made = projections::make_projection(s.projection, *config);
  auto& p = **made;
  projections::record_changes changes;
  std::uint64_t since = 0;
  std::vector<const storage::partition_log*> sources;
  for (const auto& l : parts) sources.push_back(l.get());
  std::vector<std::uint64_t> applied(parts.size(), 0);
  const auto cpu0 = cpu_ns(CLOCK_PROCESS_CPUTIME_ID);
  const auto apply0 = cpu_ns(CLOCK_THREAD_CPUTIME_ID);
  t0 = now_ns();
  auto replayed = broker::replay_pipelined(sources, applied, p, broker::replay_options{},
                                           [&](std::uint64_t n) -> result<void, std::string> {
                                             since += n;
                                             if (since >= checkpoint_events) {
                                               changes.clear();
                                               p.take_changes(changes);
                                               since = 0;
                                             }
                                             return {};
                                           });
  if (!replayed) {
    std::fprintf(stderr, "muninn-bench projection: rebuild failed: %s\n", replayed.error().c_str());
    std::exit(1);
  }
  const auto events = *replayed;
  changes.clear();
  p.take_changes(changes);
  r.rebuild_events_s = double(events) / seconds_between(t0, now_ns());
  r.rebuild_cpu_ns = double(cpu_ns(CLOCK_PROCESS_CPUTIME_ID) - cpu0) / double(events);
  r.apply_cpu_ns = double(cpu_ns(CLOCK_THREAD_CPUTIME_ID) - apply0) / double(events);
  r.anomalies = p.anomaly_count();
  r.digest = codec::to_hex(projections::state_digest(p)).substr(0, 16);
  return r;
}

}  // namespace

int projection_main(std::span<char*> args) {
  options o;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string_view a = args[i];
    auto value = [&]() -> std::string_view {
      if (i + 1 >= args.size()) {
        std::fprintf(stderr, "muninn-bench projection: %.*s needs a value\n", int(a.size()), a.data());
        std::exit(2);
      }
      return args[++i];
    };
    if (a == "--help" || a == "-h") {
      usage();
      return 0;
    } else if (a == "--events") {
      o.events = std::strtoull(std::string(value()).c_str(), nullptr, 10);
    } else if (a == "--repeat") {
      o.repeat = std::atoi(std::string(value()).c_str());
    } else if (a == "--dir") {
      o.dir = value();
    } else if (a == "--seed") {
      o.seed = std::strtoull(std::string(value()).c_str(), nullptr, 10);
    } else if (a == "--checkpoint-events") {
      o.checkpoint_events = std::strtoull(std::string(value()).c_str(), nullptr, 10);
    } else if (a == "--keep") {
      o.keep = value();
    } else if (a == "--only") {
      std::string list(value());
      for (std::size_t pos = 0; pos <= list.size();) {
        const auto comma = list.find(',', pos);
        o.only.push_back(list.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos));
        if (comma == std::string::npos) break;
        pos = comma + 1;
      }
    } else {
      std::fprintf(stderr, "muninn-bench projection: unknown option '%.*s'\n\n", int(a.size()), a.data());
      usage();
      return 2;
    }
  }
  if (o.events == 0 || o.repeat < 1 || o.checkpoint_events == 0) {
    std::fprintf(stderr, "muninn-bench projection: --events, --repeat and --checkpoint-events must be at least 1\n");
    return 2;
  }
  spdlog::set_level(spdlog::level::warn);
  const std::string parent = o.dir.empty() ? std::filesystem::temp_directory_path().string() : o.dir;

  std::vector<std::vector<std::string>> cells = {
      {"projection", "events", "partitions", "raw replay ev/s", "rebuild ev/s", "rebuild/raw", "target ev/s",
       "met", "rebuild CPU ns/ev", "apply thread ns/ev", "anomalies", "digest"}};
  for (const auto& s : setups) {
    if (!o.only.empty() && std::find(o.only.begin(), o.only.end(), s.projection) == o.only.end()) continue;
    std::string dir;
    if (!o.keep.empty()) {
      dir = o.keep + "/" + std::string(s.projection) + "-" + std::to_string(o.events) + "-" + std::to_string(o.seed);
      std::error_code ec;
      // What an interrupted run left is generated again.
      if (!std::filesystem::exists(dir + "/complete")) std::filesystem::remove_all(dir, ec);
      std::filesystem::create_directories(dir, ec);
      if (ec) {
        std::fprintf(stderr, "muninn-bench projection: cannot create %s: %s\n", dir.c_str(), ec.message().c_str());
        return 1;
      }
    } else {
      std::string tmpl = parent + "/muninn-bench-projection-XXXXXX";
      if (!mkdtemp(tmpl.data())) {
        std::fprintf(stderr, "muninn-bench projection: cannot create a directory in %s\n", parent.c_str());
        return 1;
      }
      dir = tmpl;
    }
    logs parts;
    double load_s = 0;
    std::fprintf(stderr, "%s: generating and appending %llu events...\n", s.projection.data(),
                 static_cast<unsigned long long>(o.events));
    const bool loaded = load(s, o, dir, parts, load_s);
    if (loaded) {
      std::fprintf(stderr, "%s: loaded in %.1f s; %d rounds\n", s.projection.data(), load_s, o.repeat);
      std::vector<double> raw, rebuild, cpu, apply_cpu;
      round_result last;
      for (int i = 0; i < o.repeat; ++i) {
        last = run_round(s, parts, o.checkpoint_events);
        raw.push_back(last.raw_events_s);
        rebuild.push_back(last.rebuild_events_s);
        cpu.push_back(last.rebuild_cpu_ns);
        apply_cpu.push_back(last.apply_cpu_ns);
        std::fprintf(stderr, "  round %d: raw %.0f ev/s, rebuild %.0f ev/s (CPU %.0f ns/event, %.0f of it applying)\n",
                     i + 1, last.raw_events_s, last.rebuild_events_s, last.rebuild_cpu_ns, last.apply_cpu_ns);
      }
      const double raw_m = median_of(raw), rebuild_m = median_of(rebuild);
      cells.push_back({std::string(s.projection), storage_bench::count_text(double(o.events)),
                       std::to_string(s.partitions), storage_bench::count_text(raw_m),
                       storage_bench::count_text(rebuild_m), storage_bench::real_text(rebuild_m / raw_m),
                       storage_bench::count_text(target_events_per_s), rebuild_m >= target_events_per_s ? "yes" : "NO",
                       std::to_string(static_cast<long>(std::lround(median_of(cpu)))),
                       std::to_string(static_cast<long>(std::lround(median_of(apply_cpu)))),
                       storage_bench::count_text(double(last.anomalies)), last.digest});
    }
    for (auto& l : parts) l->close();
    parts.clear();
    std::error_code ec;
    if (o.keep.empty()) std::filesystem::remove_all(dir, ec);
    if (!loaded) return 1;
  }
  std::printf("\nProjection rebuild from offset 0 vs raw replay of the same events (medians of %d rounds)\n\n",
              o.repeat);
  storage_bench::print_table(cells, 1);
  return 0;
}

}  // namespace muninn::bench
