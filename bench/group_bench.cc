// `muninn-bench group`: consumer groups (issue 5). Starts its own muninnd
// (or uses --broker), fills a topic of --partitions partitions with
// --events events, then per repeat, in an order rotated by one row each
// repeat so that drift on a shared machine meets every row:
//   plain    one client::subscribe per partition on one client, no group:
//            the peer that says what the group machinery costs;
//   group M  M group members (threads, one connection each) drain the topic
//            from offset 0 under a fresh group name.
// Then the failover: a fresh topic with a steady producer, an in-process
// member and a `muninn consume --group --follow` child; the child is killed
// with SIGKILL and the time until each of its partitions delivers again to
// the survivor is measured, against the session timeout.
// Never asserts on timings: it is a benchmark.
#include <unistd.h>

#include <algorithm>
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
#include "bench/commands.h"
#include "bench/group_runs.h"
#include "bench/table.h"

namespace muninn::bench {
namespace group_bench {
namespace {

using broker_bench::b_bench_busiest;
using broker_bench::b_bench_cpu;
using broker_bench::b_broker_cpu;
using broker_bench::b_data_mb_s;
using broker_bench::b_events;
using broker_bench::b_events_s;
using broker_bench::cores_text;
using broker_bench::interrupted;
using broker_bench::load_average;
using storage_bench::count_text;
using storage_bench::median_of;
using storage_bench::parse_number;
using storage_bench::real_text;

struct options {
  std::string muninnd;  // empty: next to muninn-bench
  std::string muninn;   // empty: next to muninn-bench
  std::string broker;
  std::string dir;
  std::uint64_t events = 10'000'000;
  std::size_t event_bytes = 200;
  std::uint32_t partitions = 8;
  std::vector<int> members{1, 2, 4};
  int repeat = 3;
  std::uint32_t session_timeout_ms = 2000;
  double rate = 20'000;
  double warmup_s = 3;
};

void usage() {
  std::fprintf(stderr,
               "usage: muninn-bench group [options]\n\n"
               "Fills a topic with --events 200 B events over --partitions partitions, then per repeat drains it\n"
               "from offset 0 with one plain subscription per partition (no group) and with groups of --members\n"
               "members (threads in this process, one connection each); then kills one of two members (a\n"
               "`muninn consume --group --follow` child, SIGKILL) while a producer appends --rate events/s, and\n"
               "times until its partitions deliver again to the survivor.\n\n"
               "  --events N              events to fill and drain (default 10,000,000)\n"
               "  --event-bytes B         event data bytes (default 200)\n"
               "  --partitions N          partitions of the topics (default 8)\n"
               "  --members LIST          group sizes, comma-separated (default 1,2,4)\n"
               "  --repeat N              every row N times; drains show medians, failover median and max (default 3)\n"
               "  --session-timeout-ms MS the failover group's session timeout (default 2000)\n"
               "  --rate R                events/s appended during the failover (default 20,000)\n"
               "  --warmup S              seconds both members consume before the kill (default 3)\n"
               "  --muninnd PATH          the broker binary (default: next to muninn-bench)\n"
               "  --muninn PATH           the tool that runs the killed member (default: next to muninn-bench)\n"
               "  --broker HOST:PORT      use a running broker (no broker CPU columns)\n"
               "  --dir DIR               parent of the temporary directory (default $TMPDIR or /tmp)\n");
}

bool parse_members(std::string_view v, std::vector<int>& out) {
  out.clear();
  while (!v.empty()) {
    const auto comma = v.find(',');
    int m = 0;
    if (!parse_number(v.substr(0, comma), m) || m < 1 || m > 64) return false;
    out.push_back(m);
    v = comma == std::string_view::npos ? std::string_view() : v.substr(comma + 1);
  }
  return !out.empty();
}

// nullopt after printing to stderr when the arguments are wrong.
std::optional<options> parse_options(std::span<char*> args, bool& help) {
  options o;
  auto bad = [](const char* what) {
    std::fprintf(stderr, "muninn-bench group: %s\n", what);
    return std::nullopt;
  };
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string_view a = args[i];
    if (a == "-h" || a == "--help") {
      help = true;
      return std::nullopt;
    }
    if (i + 1 >= args.size()) {
      std::fprintf(stderr, "muninn-bench group: unknown option or missing value: '%.*s'\n", int(a.size()), a.data());
      return std::nullopt;
    }
    const std::string_view v = args[++i];
    if (a == "--muninnd") {
      o.muninnd = std::string(v);
    } else if (a == "--muninn") {
      o.muninn = std::string(v);
    } else if (a == "--broker") {
      o.broker = std::string(v);
    } else if (a == "--dir") {
      o.dir = std::string(v);
    } else if (a == "--events") {
      if (!parse_number(v, o.events) || o.events < 1) return bad("--events wants a positive integer");
    } else if (a == "--event-bytes") {
      if (!parse_number(v, o.event_bytes) || o.event_bytes < 1 || o.event_bytes > (512u << 10))
        return bad("--event-bytes wants an integer in [1, 524288]");
    } else if (a == "--partitions") {
      if (!parse_number(v, o.partitions) || o.partitions < 2 || o.partitions > 256)
        return bad("--partitions wants an integer in [2, 256] (the failover needs a partition per member)");
    } else if (a == "--members") {
      if (!parse_members(v, o.members)) return bad("--members wants group sizes in [1, 64], comma-separated");
    } else if (a == "--repeat") {
      if (!parse_number(v, o.repeat) || o.repeat < 1 || o.repeat > 99) return bad("--repeat wants an integer in [1, 99]");
    } else if (a == "--session-timeout-ms") {
      if (!parse_number(v, o.session_timeout_ms) || o.session_timeout_ms < 500 || o.session_timeout_ms > 300'000)
        return bad("--session-timeout-ms wants an integer in [500, 300000] (the broker's limits)");
    } else if (a == "--rate") {
      if (!parse_number(v, o.rate) || !(o.rate >= 1000) || o.rate > 1e7) return bad("--rate wants events/s in [1000, 1e7]");
    } else if (a == "--warmup") {
      if (!parse_number(v, o.warmup_s) || !(o.warmup_s >= 0) || o.warmup_s > 600)
        return bad("--warmup wants seconds in [0, 600]");
    } else {
      std::fprintf(stderr, "muninn-bench group: unknown option '%.*s'\n", int(a.size()), a.data());
      return std::nullopt;
    }
  }
  if (o.dir.empty()) {
    const char* tmp = std::getenv("TMPDIR");
    o.dir = tmp && *tmp ? tmp : "/tmp";
  }
  if (o.muninnd.empty()) o.muninnd = broker_bench::default_muninnd_path();
  if (o.muninn.empty()) o.muninn = broker_bench::sibling_path("muninn");
  return o;
}

struct drain_summary {
  std::string name;
  std::string members;
  drain_row med;  // medians
};

drain_summary summarize(const std::vector<drain_row>& runs, std::string members) {
  std::vector<brow> bs;
  std::vector<double> committed, moves, redelivered;
  for (const auto& r : runs) {
    bs.push_back(r.b);
    committed.push_back(r.committed_s);
    moves.push_back(static_cast<double>(r.moves));
    redelivered.push_back(static_cast<double>(r.redelivered));
  }
  drain_summary s{runs.front().b.name, std::move(members), {}};
  s.med.b = broker_bench::median_brow(bs);
  s.med.committed_s = runs.front().committed_s > 0 ? median_of(committed) : std::nan("");
  s.med.moves = static_cast<std::uint64_t>(median_of(moves));
  s.med.redelivered = static_cast<std::uint64_t>(median_of(redelivered));
  for (const auto& r : runs) {
    s.med.errors += r.errors;
    if (s.med.first_error.empty()) s.med.first_error = r.first_error;
  }
  return s;
}

void print_drains(const std::vector<drain_summary>& rows, bool plain_first) {
  std::vector<std::vector<std::string>> cells = {{"config", "members", "events", "events/s", "vs plain", "data MB/s",
                                                  "committed at heads s", "partition moves", "redelivered",
                                                  "broker cores", "events/broker CPU-s", "bench cores",
                                                  "busiest bench thread"}};
  const double plain = plain_first ? rows.front().med.b.v[b_events_s] : std::nan("");
  for (const auto& s : rows) {
    const auto& r = s.med.b;
    const bool is_plain = plain_first && &s == &rows.front();
    cells.push_back({s.name, s.members, count_text(r.v[b_events]), count_text(r.v[b_events_s]),
                     is_plain ? "1.00" : cores_text(r.v[b_events_s] / plain), real_text(r.v[b_data_mb_s]),
                     is_plain ? "-" : cores_text(s.med.committed_s), is_plain ? "-" : count_text(double(s.med.moves)),
                     is_plain ? "-" : count_text(double(s.med.redelivered)), cores_text(r.v[b_broker_cpu]),
                     count_text(r.v[b_events_s] / r.v[b_broker_cpu]), cores_text(r.v[b_bench_cpu]),
                     std::isnan(r.v[b_bench_busiest]) ? "-" : cores_text(r.v[b_bench_busiest]) + " " + r.busiest});
  }
  storage_bench::print_table(cells, 2);
}

std::string ms_text(double ms) { return count_text(ms); }

void print_failovers(const std::vector<failover_result>& runs, double timeout_ms) {
  std::vector<std::vector<std::string>> cells = {{"run", "killed member's partitions", "SIGKILL -> assigned ms",
                                                  "SIGKILL -> first event, first partition ms",
                                                  "SIGKILL -> first event, last partition ms", "/ session timeout",
                                                  "redelivered events", "its partitions committed before the kill"}};
  std::vector<double> assigned, first, last, redelivered;
  for (std::size_t i = 0; i < runs.size(); ++i) {
    const auto& r = runs[i];
    std::string moved;
    for (auto p : r.moved) moved += (moved.empty() ? "" : ",") + std::to_string(p);
    cells.push_back({std::to_string(i + 1), moved, ms_text(r.assigned_last_ms), ms_text(r.first_event_first_ms),
                     ms_text(r.first_event_last_ms), cores_text(r.first_event_last_ms / timeout_ms),
                     count_text(double(r.redelivered)),
                     std::to_string(r.killed_committed) + " of " + std::to_string(r.moved.size())});
    assigned.push_back(r.assigned_last_ms);
    first.push_back(r.first_event_first_ms);
    last.push_back(r.first_event_last_ms);
    redelivered.push_back(double(r.redelivered));
  }
  auto max_of = [](const std::vector<double>& xs) { return *std::max_element(xs.begin(), xs.end()); };
  cells.push_back({"median", "", ms_text(median_of(assigned)), ms_text(median_of(first)), ms_text(median_of(last)),
                   cores_text(median_of(last) / timeout_ms), count_text(median_of(redelivered)), ""});
  cells.push_back({"max", "", ms_text(max_of(assigned)), ms_text(max_of(first)), ms_text(max_of(last)),
                   cores_text(max_of(last) / timeout_ms), count_text(max_of(redelivered)), ""});
  storage_bench::print_table(cells, 2);
}

int run(const options& o) {
  broker_bench::temp_dir tmp(o.dir);
  if (!tmp.ok()) {
    std::fprintf(stderr, "muninn-bench group: cannot create a directory under %s\n", o.dir.c_str());
    return 1;
  }
  broker_bench::broker_session broker;
  if (auto err = broker.open(o.muninnd, o.broker, tmp)) {
    std::fprintf(stderr, "muninn-bench group: %s\n", err->c_str());
    return 1;
  }
  failure fail;
  std::printf("muninn-bench group: muninnd %s at %s, %s events of %zu B over %u partitions, %d repeat(s)\n"
              "directory %s, load average (1 min) at start: %s\n"
              "members, the plain consumer and the broker share this machine's %ld cores: more members are not\n"
              "expected to scale here; CPU columns: cores = CPU s / wall s over the drain\n\n",
              o.broker.empty() ? "started by the benchmark" : "given by --broker", broker.ref.address.c_str(),
              count_text(double(o.events)).c_str(), o.event_bytes, o.partitions, o.repeat, tmp.path().c_str(),
              load_average().c_str(), ::sysconf(_SC_NPROCESSORS_ONLN));
  std::fflush(stdout);

  // ---- drains -----------------------------------------------------------
  std::vector<std::uint64_t> heads;
  std::string topic;
  if (auto t = broker.create_topic("group", o.partitions, fail)) topic = *t;
  if (!fail.failed) broker_bench::fill_topic(broker.ref, topic, o.events, o.event_bytes, fail, o.partitions);
  if (!fail.failed) {
    auto opts = client::parse_broker_address(broker.ref.address);
    client::client c(*opts);
    auto info = c.describe_topic(topic);
    if (!info) fail.set("describe " + topic + ": " + info.error().describe());
    else
      for (const auto& p : info->parts) heads.push_back(p.head);
  }
  std::uint64_t total = 0;
  for (auto h : heads) total += h;
  // The credit of a group member's subscriptions (the client's default), so
  // that plain and group read alike.
  const std::uint32_t credit = client::subscribe_options{}.credit_bytes;
  std::vector<brow> plain_runs;
  std::vector<std::vector<drain_row>> group_runs(o.members.size());
  const std::size_t steps = static_cast<std::size_t>(o.repeat) * (1 + o.members.size());  // rows x repeats
  std::size_t step = 0;
  auto progress = [&](const brow& r, const std::string& extra) {
    std::fprintf(stderr, "[%zu/%zu] %-45s %12s events/s  broker %s cores  bench %s%s\n", ++step, steps, r.name.c_str(),
                 count_text(r.v[b_events_s]).c_str(), cores_text(r.v[b_broker_cpu]).c_str(),
                 cores_text(r.v[b_bench_cpu]).c_str(), extra.c_str());
  };
  // Each repeat starts one row later, so that no row always runs first
  // (right after the fill, or after the same neighbour).
  const std::size_t row_count = 1 + o.members.size();
  for (int rep = 0; rep < o.repeat && !fail.failed && !interrupted; ++rep) {
    for (std::size_t k = 0; k < row_count && !fail.failed && !interrupted; ++k) {
      const std::size_t j = (k + static_cast<std::size_t>(rep)) % row_count;
      if (j == 0) {
        plain_runs.push_back(broker_bench::run_replay_subscribe(broker.ref, topic, total, credit, fail, o.partitions));
        if (fail.failed) break;
        plain_runs.back().name = "plain subscribe, one per partition";
        progress(plain_runs.back(), "");
        continue;
      }
      const std::size_t i = j - 1;
      const std::string group = "bench-g" + std::to_string(o.members[i]) + "-r" + std::to_string(rep) + "-" +
                                std::to_string(::getpid());
      group_runs[i].push_back(run_group_drain(broker.ref, topic, heads, o.members[i], group, fail));
      if (fail.failed) break;
      const auto& r = group_runs[i].back();
      progress(r.b, "  committed at " + real_text(r.committed_s) + " s, " + std::to_string(r.moves) + " moves, " +
                        std::to_string(r.redelivered) + " redelivered" +
                        (r.errors ? ", " + std::to_string(r.errors) + " errors (first: " + r.first_error + ")" : ""));
    }
  }

  // ---- failover ---------------------------------------------------------
  failover_config fc;
  fc.muninn = o.muninn;
  fc.log_dir = tmp.path();
  fc.partitions = o.partitions;
  fc.session_timeout = std::chrono::milliseconds(o.session_timeout_ms);
  fc.rate = o.rate;
  fc.warmup_s = o.warmup_s;
  std::vector<failover_result> failovers;
  for (int rep = 0; rep < o.repeat && !fail.failed && !interrupted; ++rep) {
    auto t = broker.create_topic("failover", o.partitions, fail);
    if (!t) break;
    const std::string group = "bench-failover-r" + std::to_string(rep) + "-" + std::to_string(::getpid());
    failovers.push_back(run_failover(broker.ref, *t, group, fc, fail));
    if (fail.failed) break;
    const auto& r = failovers.back();
    std::fprintf(stderr, "[failover %d/%d] SIGKILL -> assigned %s ms, first event %s..%s ms, %s redelivered\n", rep + 1,
                 o.repeat, ms_text(r.assigned_last_ms).c_str(), ms_text(r.first_event_first_ms).c_str(),
                 ms_text(r.first_event_last_ms).c_str(), count_text(double(r.redelivered)).c_str());
  }
  if (interrupted) fail.set("interrupted");
  const int stopped = broker.proc ? broker.proc->stop() : 0;
  if (broker.report("group", fail, stopped)) return 1;

  // ---- tables -----------------------------------------------------------
  std::vector<drain_summary> rows;
  rows.push_back({"plain subscribe, one per partition, 1 client", "-", {}});
  rows.back().med.b = broker_bench::median_brow(plain_runs);
  for (std::size_t i = 0; i < o.members.size(); ++i)
    rows.push_back(summarize(group_runs[i], std::to_string(o.members[i])));
  std::printf("drain %s events from offset 0 (medians of %d)\n", count_text(double(total)).c_str(), o.repeat);
  print_drains(rows, true);
  const double timeout = o.session_timeout_ms;
  const double beat = std::max(100.0, timeout / 3);
  std::printf("\nfailover: 2 members (one in-process, one `muninn consume --group --follow` killed with SIGKILL),\n"
              "session timeout %s ms, heartbeat interval %s ms, %s events/s appended during it\n",
              count_text(timeout).c_str(), count_text(beat).c_str(), count_text(o.rate).c_str());
  print_failovers(failovers, timeout);
  std::printf("\nload average (1 min) at end: %s\n", load_average().c_str());

  std::printf("\nratios\n");
  const double plain = rows.front().med.b.v[b_events_s];
  for (std::size_t i = 1; i < rows.size(); ++i)
    std::printf("  %s / plain subscribe: %.2f%s\n", rows[i].name.c_str(), rows[i].med.b.v[b_events_s] / plain,
                i > 1 ? (", / group of " + rows[1].members + ": " +
                         cores_text(rows[i].med.b.v[b_events_s] / rows[1].med.b.v[b_events_s]))
                            .c_str()
                      : "");
  std::vector<double> last;
  for (const auto& r : failovers) last.push_back(r.first_event_last_ms);
  std::printf("  failover (SIGKILL -> every partition of the killed member delivering again): median %s ms = %.2fx the\n"
              "  session timeout, max %s ms. Bounds: %s..%s ms (timeout -/+ one heartbeat interval) plus starting the\n"
              "  subscriptions: the broker drops the member a session timeout after its last heartbeat (0..1 interval\n"
              "  before the kill) and the survivor hears of it at its next heartbeat (0..1 interval later). Here the\n"
              "  survivor beats just before the killed member would have (the handover set both phases), so the\n"
              "  times mostly fall between the timeout and its upper bound; each run waits a random part of an\n"
              "  interval before the kill, so that the runs sample the phase of the killed member's heartbeat.\n",
              ms_text(median_of(last)).c_str(), median_of(last) / timeout,
              ms_text(*std::max_element(last.begin(), last.end())).c_str(), count_text(timeout - beat).c_str(),
              count_text(timeout + beat).c_str());
  std::printf("  redelivered: what the killed member had consumed since its last commit (auto-commit every\n"
              "  1 s), delivered again to the survivor: at-least-once\n");
  for (const auto& r : rows)
    if (r.med.errors)
      std::printf("  note: %s: %llu error(s) the members rode through, the first: %s\n", r.name.c_str(),
                  static_cast<unsigned long long>(r.med.errors), r.med.first_error.c_str());
  return 0;
}

}  // namespace
}  // namespace group_bench

int group_main(std::span<char*> args) {
  bool help = false;
  auto opt = group_bench::parse_options(args, help);
  if (!opt) {
    group_bench::usage();
    return help ? 0 : 2;
  }
  // The client's info lines would break the table.
  spdlog::set_level(spdlog::level::warn);
  broker_bench::install_interrupt_handlers();
  return group_bench::run(*opt);
}

}  // namespace muninn::bench
