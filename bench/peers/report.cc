#include "bench/peers/report.h"

#include <cmath>
#include <cstdio>
#include <fstream>

#include "bench/table.h"

namespace muninn::bench::peers {
namespace {

using storage_bench::count_text;
using storage_bench::real_text;

std::string ratio_text(double muninn, double peer) {
  if (std::isnan(muninn) || std::isnan(peer) || peer == 0) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2fx", muninn / peer);
  return buf;
}

const system_result* find(const std::vector<system_result>& rs, const std::string& name) {
  for (const auto& r : rs)
    if (r.name == name) return &r;
  return nullptr;
}

// The peer with the highest value of `field`, among durable peers only if asked.
const system_result* best_peer(const std::vector<system_result>& rs, measurement system_result::*m,
                               bool durable_only) {
  const system_result* best = nullptr;
  for (const auto& r : rs) {
    if (r.name == "muninn" || (durable_only && !r.durable) || std::isnan((r.*m).events_s)) continue;
    if (!best || (r.*m).events_s > (best->*m).events_s) best = &r;
  }
  return best;
}

void throughput_target(const std::vector<system_result>& rs, const system_result& mu, const char* what,
                       measurement system_result::*m, double factor) {
  for (const bool durable_only : {false, true}) {
    const auto* best = best_peer(rs, m, durable_only);
    if (!best || std::isnan((mu.*m).events_s)) continue;
    const double ratio = (mu.*m).events_s / (best->*m).events_s;
    std::printf("target: %s >= %.0fx the best %s (%s, %s ev/s): %.2fx  %s\n", what, factor,
                durable_only ? "equally durable peer" : "peer, any durability", best->name.c_str(),
                count_text((best->*m).events_s).c_str(), ratio, ratio >= factor ? "met" : "MISSED");
  }
}

}  // namespace

void print_report(const std::vector<system_result>& rs, const options& o, int repeat) {
  std::printf("\nmuninn-peers: %d producer(s) x %zu in flight x batch %zu, %zu B events; latency: %s single events/s over %d sessions;\n"
              "replay and reads over %s events in %s streams; expected version: %s new streams; median of %d\n\n",
              o.producers, o.depth, o.batch, o.event_bytes, count_text(o.rate).c_str(), o.latency_sessions,
              count_text(static_cast<double>(o.events)).c_str(),
              count_text(static_cast<double>(o.streams_of_fill)).c_str(),
              count_text(static_cast<double>(o.expected_streams)).c_str(), repeat);
  std::vector<std::vector<std::string>> cells;
  cells.push_back({"system", "produce ev/s", "p50 us", "p99 us", "p999 us", "expected-version ev/s", "replay ev/s",
                   "read 1 stream p50 us", "p99 us"});
  for (const auto& r : rs)
    cells.push_back({r.name, count_text(r.produce.events_s), real_text(r.latency.p50_us), real_text(r.latency.p99_us),
                     real_text(r.latency.p999_us), count_text(r.expected.events_s), count_text(r.replay.events_s),
                     real_text(r.read.p50_us), real_text(r.read.p99_us)});
  storage_bench::print_table(cells, 1);

  const auto* mu = find(rs, "muninn");
  if (mu && rs.size() > 1) {
    std::printf("\nMuninn / peer (throughput: higher is better for Muninn; latency: lower is better for Muninn)\n\n");
    cells.clear();
    cells.push_back({"peer", "produce", "p50", "p99", "p999", "expected-version", "replay", "read 1 stream p50",
                     "p99"});
    for (const auto& r : rs) {
      if (&r == mu) continue;
      cells.push_back({r.name, ratio_text(mu->produce.events_s, r.produce.events_s),
                       ratio_text(mu->latency.p50_us, r.latency.p50_us),
                       ratio_text(mu->latency.p99_us, r.latency.p99_us),
                       ratio_text(mu->latency.p999_us, r.latency.p999_us),
                       ratio_text(mu->expected.events_s, r.expected.events_s),
                       ratio_text(mu->replay.events_s, r.replay.events_s), ratio_text(mu->read.p50_us, r.read.p50_us),
                       ratio_text(mu->read.p99_us, r.read.p99_us)});
    }
    storage_bench::print_table(cells, 1);
  }

  std::printf("\nWhat each row's acknowledgement means:\n");
  for (const auto& r : rs) {
    std::printf("  %-15s %s\n", r.name.c_str(), r.durability.c_str());
    if (!r.not_run.empty()) std::printf("  %-15s %s\n", "", r.not_run.c_str());
  }

  if (!mu || rs.size() < 2) return;
  std::printf("\n");
  throughput_target(rs, *mu, "durable produce", &system_result::produce, 2);
  throughput_target(rs, *mu, "replay", &system_result::replay, 3);
  for (const auto& r : rs) {
    if (&r == mu || std::isnan(r.latency.p99_us) || std::isnan(mu->latency.p99_us)) continue;
    const bool lower = mu->latency.p99_us < r.latency.p99_us;
    std::printf("target: p99 below %s (%s us, %s): Muninn %s us  %s\n", r.name.c_str(),
                real_text(r.latency.p99_us).c_str(), r.durable ? "same durability" : "weaker durability, informative",
                real_text(mu->latency.p99_us).c_str(), lower ? "met" : (r.durable ? "MISSED" : "(not lower)"));
  }
}

bool write_data(const std::string& path, const std::vector<system_result>& rs) {
  std::ofstream f(path);
  if (!f) return false;
  f << "# system\tproduce_ev_s\texpected_ev_s\treplay_ev_s\tp50_us\tp99_us\tp999_us\tread_p50_us\tread_p99_us\n";
  auto num = [](double x) { return std::isnan(x) ? std::string("NaN") : std::to_string(x); };
  for (const auto& r : rs)
    f << r.name << '\t' << num(r.produce.events_s) << '\t' << num(r.expected.events_s) << '\t'
      << num(r.replay.events_s) << '\t' << num(r.latency.p50_us) << '\t' << num(r.latency.p99_us) << '\t'
      << num(r.latency.p999_us) << '\t' << num(r.read.p50_us) << '\t' << num(r.read.p99_us) << '\n';
  return static_cast<bool>(f);
}

}  // namespace muninn::bench::peers
