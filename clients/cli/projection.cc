// muninn projection status [NAME] [--json] and muninn projection rebuild NAME
// [--wait] [--json]: what the broker's projection runner reports, per
// projection and per partition.
#include <unistd.h>

#include <cstdio>
#include <thread>

#include "clients/cli/cli.h"

namespace muninn::cli {
namespace {

constexpr const char* usage = "usage: muninn projection status [NAME] [--json] | projection rebuild NAME [--wait] [--json]";

std::string pad(std::string s, std::size_t width) {
  if (s.size() < width) s.append(width - s.size(), ' ');
  return s;
}

void print_human(const client::projection_info& p) {
  std::string out = p.name + "  topic " + p.topic + "  applied " + std::to_string(p.applied_total()) + "  lag " +
                    std::to_string(p.lag()) + "  anomalies " + std::to_string(p.anomalies) + "\n";
  out += "  digest     " + client::hex(p.digest) + "\n";
  if (p.rebuilding) out += "  rebuilding " + std::to_string(p.rebuild_applied) + " events applied so far\n";
  if (!p.error.empty()) out += "  error      " + p.error + "\n";
  if (!p.config.empty()) {
    out += "  config    ";
    for (const auto& c : p.config) out += " " + c.name + "=" + c.value;
    out += "\n";
  }
  const std::size_t n = std::max({p.applied.size(), p.heads.size(), p.checkpoint.size()});
  auto at = [](const std::vector<std::uint64_t>& v, std::size_t i) { return i < v.size() ? v[i] : 0; };
  out += "  partition  applied     head        lag         checkpoint\n";
  for (std::size_t i = 0; i < n; ++i) {
    const auto applied = at(p.applied, i), head = at(p.heads, i);
    out += "  " + pad(std::to_string(i), 11) + pad(std::to_string(applied), 12) + pad(std::to_string(head), 12) +
           pad(std::to_string(head > applied ? head - applied : 0), 12) + std::to_string(at(p.checkpoint, i)) + "\n";
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
}

void print_all(const std::vector<client::projection_info>& list, bool json) {
  for (std::size_t i = 0; i < list.size(); ++i) {
    if (json) {
      write_line(list[i].to_json());
    } else {
      if (i) write_line("");
      print_human(list[i]);
    }
  }
}

int status(client::client& c, const args& a) {
  if (auto bad = only_options(a, {"json"})) return fail(*bad + "; " + usage, exit_usage);
  if (a.positional.size() > 3) return fail(usage, exit_usage);
  const std::string name = a.positional.size() == 3 ? a.positional[2] : std::string();
  auto r = c.projection_status(name);
  if (!r) return fail(r.error().describe());
  print_all(*r, a.has("json"));
  return exit_ok;
}

int rebuild(client::client& c, const args& a) {
  if (auto bad = only_options(a, {"json", "wait"})) return fail(*bad + "; " + usage, exit_usage);
  if (a.positional.size() != 3) return fail(usage, exit_usage);
  const auto& name = a.positional[2];
  auto r = c.projection_rebuild(name);
  if (!r) return fail(r.error().describe());
  if (a.has("wait")) {
    const bool tty = ::isatty(STDERR_FILENO) == 1;
    bool shown = false;
    while (!r->empty() && r->front().rebuilding) {
      if (tty) {
        // The rebuild replays up to the heads the status was taken at.
        std::uint64_t total = 0;
        for (auto h : r->front().heads) total += h;
        std::fprintf(stderr, "\rrebuild %s: %llu of %llu events   ", name.c_str(),
                     static_cast<unsigned long long>(r->front().rebuild_applied), static_cast<unsigned long long>(total));
        std::fflush(stderr);
        shown = true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      r = c.projection_status(name);
      if (!r) {
        if (shown) std::fputs("\r\033[K", stderr);
        return fail(r.error().describe());
      }
    }
    if (shown) {
      std::fputs("\r\033[K", stderr);
      std::fflush(stderr);
    }
    if (!r->empty() && !r->front().error.empty()) {
      print_all(*r, a.has("json"));
      return fail("projection " + name + " stopped: " + r->front().error);
    }
  }
  print_all(*r, a.has("json"));
  return exit_ok;
}

}  // namespace

int cmd_projection(client::client& c, const args& a) {
  if (a.positional.size() < 2) return fail(usage, exit_usage);
  if (a.positional[1] == "status") return status(c, a);
  if (a.positional[1] == "rebuild") return rebuild(c, a);
  return fail("unknown projection command '" + a.positional[1] + "'; " + usage, exit_usage);
}

}  // namespace muninn::cli
