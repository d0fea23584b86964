// muninn group list|describe|reset, and muninn consume --group (a member of
// a consumer group: docs/consumer-groups.md).
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <mutex>

#include "clients/cli/cli.h"
#include "clients/group_consumer.h"
#include "clients/json_lines.h"
#include "codec/json.h"

namespace muninn::cli {
namespace {

std::string partition_list(const std::vector<std::uint32_t>& ps) {
  if (ps.empty()) return "-";
  std::string s;
  for (std::size_t i = 0; i < ps.size(); ++i) s += (i ? "," : "") + std::to_string(ps[i]);
  return s;
}

void print_list(const std::vector<client::group_info>& groups) {
  std::printf("%-24s %-24s %-12s %8s %10s %14s\n", "GROUP", "TOPIC", "STATE", "MEMBERS", "GENERATION", "LAG");
  for (const auto& g : groups)
    std::printf("%-24s %-24s %-12s %8zu %10u %14llu\n", g.group.c_str(), g.topic.c_str(), g.state.c_str(), g.members.size(),
                g.generation, static_cast<unsigned long long>(g.lag()));
}

void print_describe(const client::group_info& g) {
  std::printf("group %s on topic %s: %s, generation %u, %zu member(s), lag %llu\n", g.group.c_str(), g.topic.c_str(),
              g.state.c_str(), g.generation, g.members.size(), static_cast<unsigned long long>(g.lag()));
  if (!g.members.empty()) {
    std::printf("\n%-36s %-24s %-20s %-12s %s\n", "MEMBER", "CLIENT", "ASSIGNED", "WAITING", "LAST HEARTBEAT");
    for (const auto& m : g.members)
      std::printf("%-36s %-24s %-20s %-12s %u ms ago (timeout %u ms)\n", m.member_id.c_str(), m.client.c_str(),
                  partition_list(m.assigned).c_str(), partition_list(m.waiting).c_str(), m.since_heartbeat_ms,
                  m.session_timeout_ms);
  }
  std::printf("\n%9s %14s %14s %14s  %s\n", "PARTITION", "COMMITTED", "HEAD", "LAG", "OWNER");
  for (const auto& p : g.partitions)
    std::printf("%9u %14s %14llu %14llu  %s\n", p.partition, p.committed < 0 ? "-" : std::to_string(p.committed).c_str(),
                static_cast<unsigned long long>(p.head), static_cast<unsigned long long>(p.lag),
                p.owner.empty() ? "-" : p.owner.c_str());
}

}  // namespace

int cmd_group(client::client& c, const args& a) {
  constexpr const char* usage =
      "usage: muninn group list [--json] | describe GROUP [--json] | reset GROUP --topic T "
      "(--to-earliest | --to-latest | --to-offset N | --to-time RFC3339)";
  if (a.positional.size() < 2) return fail(usage, exit_usage);
  const auto& sub = a.positional[1];
  const bool json = a.has("json");
  if (sub == "list") {
    if (a.positional.size() != 2) return fail(usage, exit_usage);
    auto r = client::list_groups(c);
    if (!r) return fail(r.error().describe());
    if (json)
      for (const auto& g : *r) write_line(g.to_json());
    else
      print_list(*r);
    return exit_ok;
  }
  if (a.positional.size() != 3) return fail(usage, exit_usage);
  const auto& group = a.positional[2];
  if (sub == "describe") {
    auto r = client::describe_group(c, group);
    if (!r) return fail(r.error().describe());
    for (std::size_t i = 0; i < r->size(); ++i) {
      if (json) {
        write_line((*r)[i].to_json());
      } else {
        if (i) std::printf("\n");
        print_describe((*r)[i]);
      }
    }
    return exit_ok;
  }
  if (sub == "reset") {
    const auto topic = a.get("topic");
    const int targets = int(a.has("to-earliest")) + int(a.has("to-latest")) + int(a.has("to-offset")) + int(a.has("to-time"));
    if (topic.empty() || targets != 1) return fail(usage, exit_usage);
    client::reset_target to = client::reset_target::earliest;
    std::int64_t value = 0;
    if (a.has("to-latest")) to = client::reset_target::latest;
    if (a.has("to-offset")) {
      auto v = parse_u64(a.get("to-offset"));
      if (!v || *v > std::uint64_t(INT64_MAX)) return fail("--to-offset must be an offset (a non-negative integer)", exit_usage);
      to = client::reset_target::offset;
      value = std::int64_t(*v);
    }
    if (a.has("to-time")) {
      auto t = codec::parse_rfc3339_micros(a.get("to-time"));
      if (!t) return fail("--to-time must be RFC 3339, e.g. 2026-11-23T09:15:00Z", exit_usage);
      to = client::reset_target::time;
      value = *t;
    }
    auto r = client::reset_group(c, group, topic, to, value);
    if (!r) return fail(r.error().describe());
    for (const auto& po : *r)
      write_line("{\"group\":" + client::json_quote(group) + ",\"topic\":" + client::json_quote(topic) +
                 ",\"partition\":" + std::to_string(po.partition) + ",\"committed\":" + std::to_string(po.offset) + "}");
    return exit_ok;
  }
  return fail("unknown group command '" + sub + "'", exit_usage);
}

// A group member printing what it is given. Without --follow it stops once
// every partition it owns was consumed up to its head; SIGINT/SIGTERM
// (blocked by main) stop it too. Either way it commits and leaves.
int cmd_consume_group(client::client& c, const args& a) {
  const auto topic = a.get("topic");
  const auto group = a.get("group");
  if (a.has("from") || a.has("from-time") || a.has("name"))
    return fail("--group starts at the group's committed offsets: use muninn group reset instead of --from/--from-time, "
                "and no --name", exit_usage);
  client::group_consumer_options o;
  o.group = group;
  o.topic = topic;
  o.client_name = "muninn consume pid " + std::to_string(::getpid());
  if (a.has("session-timeout-ms")) {
    auto v = parse_u64(a.get("session-timeout-ms"));
    if (!v || *v == 0 || *v > 3'600'000) return fail("--session-timeout-ms must be a positive number of ms", exit_usage);
    o.session_timeout = std::chrono::milliseconds(*v);
  }
  const bool follow = a.has("follow");
  std::mutex out_mu;
  progress prog("consume " + topic + " in group " + group);
  client::rebalance_handlers h;
  auto note = [&](const char* what, const std::vector<std::uint32_t>& ps) {
    std::lock_guard lock(out_mu);
    std::fprintf(stderr, "muninn: group %s: partitions %s %s\n", group.c_str(), partition_list(ps).c_str(), what);
  };
  h.assigned = [&](const auto& ps) { note("assigned", ps); };
  h.revoked = [&](const auto& ps) {
    std::lock_guard lock(out_mu);
    flush_output();  // printed events are processed events: out before the commit
    std::fprintf(stderr, "muninn: group %s: partitions %s revoked\n", group.c_str(), partition_list(ps).c_str());
  };
  h.lost = [&](const auto& ps) { note("lost (this member was fenced)", ps); };
  h.error = [&](const client::client_error& e) {
    std::lock_guard lock(out_mu);
    std::fprintf(stderr, "muninn: group %s: %s\n", group.c_str(), e.describe().c_str());
  };
  client::group_consumer member(
      c, o,
      [&](std::uint32_t, std::span<const client::event_record> events) {
        std::lock_guard lock(out_mu);
        for (const auto& e : events) write_line(e.to_json(topic));
        // Out before the handler returns: a commit never covers an event
        // that is still in our buffer.
        flush_output();
        prog.add(events.size());
      },
      h);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  int quiet_checks = 0;
  while (true) {
    timespec ts{0, 200'000'000};
    const int sig = sigtimedwait(&set, nullptr, &ts);
    if (sig == SIGINT || sig == SIGTERM) break;
    // Caught up twice in a row: the assignment was stable for a moment.
    if (!follow && (member.caught_up() ? ++quiet_checks : (quiet_checks = 0)) >= 2) break;
  }
  member.close();
  std::lock_guard lock(out_mu);
  prog.done();
  flush_output();
  return exit_ok;
}

}  // namespace muninn::cli
