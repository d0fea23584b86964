// muninn-peers: the same workloads against muninnd (started here) and the
// peer servers bench/peers/run started (addresses on the command line), then
// one table. Exit status 1 with one line on stderr when a run fails.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "bench/broker_process.h"
#include "bench/peers/report.h"
#include "bench/peers/system.h"
#include "bench/peers/workloads.h"
#include "bench/table.h"

namespace muninn::bench::peers {
namespace {

const char* usage =
    "usage: muninn-peers [options]\n"
    "  --systems LIST        muninn,redis,redis-everysec,nats,postgres (default: those with an address, and muninn)\n"
    "  --only LIST           produce,latency,expected,replay,read (default: all)\n"
    "  --repeat N            runs per measurement, medians reported (default 3)\n"
    "  --events N            events filled for replay and reads (default 5000000)\n"
    "  --producers N --batch N --depth N --seconds S --warmup S   produce workload (4, 100, 8, 5, 1)\n"
    "  --rate N --latency-seconds S --latency-sessions N   latency workload (1000/s, 5 s per repeat, 8)\n"
    "  --expected-streams N  streams of the expected-version workload (default 100000)\n"
    "  --reads N             read-one-stream calls (default 1000)\n"
    "  --muninnd PATH        muninnd to start (default: next to this program)\n"
    "  --dir DIR             parent of the temporary directory (default /tmp)\n"
    "  --redis HOST:PORT --nats URL --postgres CONNINFO   running peer servers\n"
    "  --data FILE           also write the results for plot.gp\n";

struct args {
  options o;
  int repeat = 3;
  std::vector<std::string> systems, only;
  std::string muninnd, dir = "/tmp", redis, nats, postgres, data;
};

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  for (std::string x; std::getline(in, x, ',');)
    if (!x.empty()) out.push_back(x);
  return out;
}

bool has(const std::vector<std::string>& v, const std::string& x) {
  return v.empty() || std::find(v.begin(), v.end(), x) != v.end();
}

// Parses argv into `a`; the error line otherwise.
std::optional<std::string> parse(int argc, char** argv, args& a) {
  std::map<std::string, std::function<bool(const std::string&)>> flags;
  auto num = [](auto& into) {
    return [&into](const std::string& v) {
      char* end = nullptr;
      const double x = std::strtod(v.c_str(), &end);
      if (end == v.c_str() || *end || x <= 0) return false;
      into = static_cast<std::remove_reference_t<decltype(into)>>(x);
      return true;
    };
  };
  auto text = [](std::string& into) {
    return [&into](const std::string& v) {
      into = v;
      return true;
    };
  };
  flags["--repeat"] = num(a.repeat);
  flags["--events"] = num(a.o.events);
  flags["--producers"] = num(a.o.producers);
  flags["--batch"] = num(a.o.batch);
  flags["--depth"] = num(a.o.depth);
  flags["--seconds"] = num(a.o.seconds);
  flags["--warmup"] = num(a.o.warmup);
  flags["--rate"] = num(a.o.rate);
  flags["--latency-seconds"] = num(a.o.latency_seconds);
  flags["--latency-sessions"] = num(a.o.latency_sessions);
  flags["--expected-streams"] = num(a.o.expected_streams);
  flags["--reads"] = num(a.o.reads);
  flags["--muninnd"] = text(a.muninnd);
  flags["--dir"] = text(a.dir);
  flags["--redis"] = text(a.redis);
  flags["--nats"] = text(a.nats);
  flags["--postgres"] = text(a.postgres);
  flags["--data"] = text(a.data);
  flags["--systems"] = [&](const std::string& v) { return !(a.systems = split(v)).empty(); };
  flags["--only"] = [&](const std::string& v) { return !(a.only = split(v)).empty(); };
  for (int i = 1; i < argc; ++i) {
    const std::string f = argv[i];
    if (f == "--help" || f == "-h") return std::string(usage);
    auto it = flags.find(f);
    if (it == flags.end()) return "unknown option " + f + " (see --help)";
    if (i + 1 >= argc || !it->second(argv[++i])) return f + " wants a value (see --help)";
  }
  if (a.o.events < a.o.streams_of_fill) a.o.streams_of_fill = static_cast<std::size_t>(a.o.events);
  if (a.o.events % a.o.streams_of_fill != 0) return "--events must be a multiple of " + std::to_string(a.o.streams_of_fill);
  if (a.muninnd.empty()) a.muninnd = broker_bench::default_muninnd_path();
  if (a.systems.empty()) {
    a.systems.push_back("muninn");
    if (!a.redis.empty()) a.systems.insert(a.systems.end(), {"redis", "redis-everysec"});
    if (!a.nats.empty()) a.systems.push_back("nats");
    if (!a.postgres.empty()) a.systems.push_back("postgres");
  }
  return std::nullopt;
}

double median(std::vector<double> xs) { return storage_bench::median_of(std::move(xs)); }

// Runs the selected workloads on `s`; false (with `error`) when one failed.
bool run_system(system& s, const args& a, system_result& out, std::string& error) {
  const auto& o = a.o;
  out.name = s.name();
  out.durability = s.durability();
  out.durable = s.durable();
  auto step = [&](const char* what, const measurement& m) {
    std::fprintf(stderr, "  %s %-9s %14s ev/s  p50 %s p99 %s p999 %s us\n", s.name().c_str(), what,
                 storage_bench::count_text(m.events_s).c_str(), storage_bench::real_text(m.p50_us).c_str(),
                 storage_bench::real_text(m.p99_us).c_str(), storage_bench::real_text(m.p999_us).c_str());
  };
  if (auto err = s.reset()) {
    error = *err;
    return false;
  }
  std::vector<double> xs;
  if (has(a.only, "produce")) {
    for (int r = 0; r < a.repeat && error.empty(); ++r) {
      const auto m = run_produce(s, o, r, error);
      if (error.empty()) step("produce", m), xs.push_back(m.events_s);
    }
    out.produce.events_s = median(xs);
  }
  if (error.empty() && has(a.only, "latency")) {
    latency_histogram pooled;
    for (int r = 0; r < a.repeat && error.empty(); ++r) {
      const auto m = run_latency(s, o, r, pooled, error);
      if (error.empty()) step("latency", m);
    }
    measurement m;
    m.p50_us = static_cast<double>(pooled.quantile(0.50)) / 1e3;
    m.p99_us = static_cast<double>(pooled.quantile(0.99)) / 1e3;
    m.p999_us = static_cast<double>(pooled.quantile(0.999)) / 1e3;
    out.latency = m;
  }
  if (error.empty() && has(a.only, "expected")) {
    if (const auto why = s.cannot_expect(); !why.empty()) {
      out.not_run += "expected version: " + why + ". ";
    } else {
      xs.clear();
      for (int r = 0; r < a.repeat && error.empty(); ++r) {
        const auto m = run_expected(s, o, r, error);
        if (error.empty()) step("expected", m), xs.push_back(m.events_s);
      }
      out.expected.events_s = median(xs);
    }
  }
  const bool reads = has(a.only, "replay") || has(a.only, "read");
  if (error.empty() && reads && s.name() == "redis-everysec") {
    out.not_run += "replay and reads: as the redis row (appendfsync changes only writes). ";
  } else if (error.empty() && reads) {
    if (auto err = s.reset()) error = *err;
    else if (auto err2 = fill(s, o)) error = *err2;
    double waited = 0;
    if (error.empty()) {
      if (auto err3 = s.settle(waited)) error = *err3;
      else if (waited > 0.5) {
        char buf[160];
        std::snprintf(buf, sizeof buf, "replay and reads started once the stream index had caught up, %.1f s after the fill. ",
                      waited);
        out.not_run += buf;
        std::fprintf(stderr, "  %s: index caught up %.1f s after the fill\n", s.name().c_str(), waited);
      }
    }
    xs.clear();
    for (int r = 0; r < a.repeat && error.empty() && has(a.only, "replay"); ++r) {
      const auto m = run_replay(s, o, error);
      if (error.empty()) step("replay", m), xs.push_back(m.events_s);
    }
    out.replay.events_s = median(xs);
    if (error.empty() && has(a.only, "read")) {
      out.read = run_read_stream(s, o, error);
      if (error.empty()) step("read", out.read);
    }
  }
  return error.empty();
}

int run(int argc, char** argv) {
  args a;
  if (auto err = parse(argc, argv, a)) {
    const bool help = err->rfind("usage", 0) == 0;
    std::fprintf(help ? stdout : stderr, "%s%s", help ? "" : "muninn-peers: ", err->c_str());
    if (!help) std::fprintf(stderr, "\n");
    return help ? 0 : 2;
  }
  spdlog::set_level(spdlog::level::warn);
  broker_bench::install_interrupt_handlers();
  broker_bench::temp_dir tmp(a.dir);
  if (!tmp.ok()) {
    std::fprintf(stderr, "muninn-peers: cannot make a temporary directory under %s\n", a.dir.c_str());
    return 1;
  }
  std::vector<system_result> results;
  bool failed = false;
  for (const auto& name : a.systems) {
    std::string error;
    std::unique_ptr<system> s;
    if (name == "muninn") s = make_muninn(a.muninnd, tmp.path(), error);
    else if (name == "redis" && !a.redis.empty()) s = make_redis(a.redis, "always");
    else if (name == "redis-everysec" && !a.redis.empty()) s = make_redis(a.redis, "everysec");
    else if (name == "nats" && !a.nats.empty()) s = make_nats(a.nats);
    else if (name == "postgres" && !a.postgres.empty()) s = make_postgres(a.postgres);
    else error = "unknown system " + name + ", or no address given for it";
    std::fprintf(stderr, "%s:\n", name.c_str());
    system_result r;
    r.name = name;
    if (!s || !run_system(*s, a, r, error)) {
      // The other systems still run; the table shows what this one measured.
      std::fprintf(stderr, "muninn-peers: %s: %s\n", name.c_str(), error.c_str());
      r.not_run += "FAILED: " + error + " ";
      failed = true;
      if (broker_bench::interrupted) return 1;
    }
    results.push_back(std::move(r));
  }
  print_report(results, a.o, a.repeat);
  if (!a.data.empty() && !write_data(a.data, results)) {
    std::fprintf(stderr, "muninn-peers: cannot write %s\n", a.data.c_str());
    return 1;
  }
  return failed ? 1 : 0;
}

}  // namespace
}  // namespace muninn::bench::peers

int main(int argc, char** argv) { return muninn::bench::peers::run(argc, argv); }
