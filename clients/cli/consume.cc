// muninn consume: every partition of a topic, merged by commit time while
// catching up (fetch), then live in arrival order with --follow (one
// subscription per partition, printed on the client's I/O thread). With
// --name the next offsets are committed (when they changed) every second and
// at the end, and a run without --from/--from-time resumes from them.
#include <signal.h>

#include <deque>
#include <mutex>

#include "clients/cli/cli.h"
#include "codec/json.h"

namespace muninn::cli {

namespace {

struct cursor {
  std::uint32_t partition = 0;
  std::uint64_t next = 0;    // next offset to fetch
  std::uint64_t target = 0;  // catch up to here
  std::deque<client::event_record> buffered;
  bool exhausted() const { return buffered.empty() && next >= target; }
};

}  // namespace

int cmd_consume(client::client& c, const args& a) {
  const auto topic = a.get("topic");
  if (topic.empty() || a.positional.size() != 1)
    return fail("usage: muninn consume --topic T [--from OFFSET | --from-time RFC3339] [--follow] [--name CONSUMER]"
                " | --topic T --group G [--follow] [--session-timeout-ms MS]", exit_usage);
  if (a.has("from") && a.has("from-time")) return fail("give --from or --from-time, not both", exit_usage);
  if (a.has("group")) return cmd_consume_group(c, a);
  const bool follow = a.has("follow");
  const auto name = a.get("name");

  auto info = c.describe_topic(topic);
  if (!info) return fail(info.error().describe());
  std::vector<cursor> cursors(info->partitions);
  for (std::uint32_t p = 0; p < info->partitions; ++p) cursors[p].partition = p;
  for (const auto& pi : info->parts)
    if (pi.id < cursors.size()) cursors[pi.id].target = pi.head;

  if (a.has("from")) {
    auto v = parse_u64(a.get("from"));
    if (!v) return fail("--from must be an offset (a non-negative integer)", exit_usage);
    for (auto& cu : cursors) cu.next = std::min(*v, cu.target);
  } else if (a.has("from-time")) {
    auto t = codec::parse_rfc3339_micros(a.get("from-time"));
    if (!t) return fail("--from-time must be RFC 3339, e.g. 2026-11-23T09:15:00Z", exit_usage);
    for (auto& cu : cursors) {
      auto o = c.offset_for_time(topic, cu.partition, *t);
      if (!o) return fail(o.error().describe());
      cu.next = std::min(*o, cu.target);
    }
  } else if (!name.empty()) {
    auto committed = c.fetch_offsets(name, topic);
    if (!committed) return fail(committed.error().describe());
    for (const auto& po : *committed)
      if (po.partition < cursors.size()) cursors[po.partition].next = std::min(po.offset, cursors[po.partition].target);
  }

  progress prog("consume " + topic);
  // Commits are records in a log that is never trimmed: only changes are committed.
  std::vector<client::partition_offset> last_committed;
  auto commit = [&](const std::vector<client::partition_offset>& offs) -> std::optional<client::client_error> {
    if (name.empty() || offs == last_committed) return std::nullopt;
    auto r = c.commit_offsets(name, topic, offs);
    if (!r) return r.error();
    last_committed = offs;
    return std::nullopt;
  };
  auto offsets_of_cursors = [&] {
    std::vector<client::partition_offset> v;
    for (const auto& cu : cursors) v.push_back({cu.partition, cu.buffered.empty() ? cu.next : cu.buffered.front().offset});
    return v;
  };

  if (!name.empty() && !a.has("from") && !a.has("from-time")) last_committed = offsets_of_cursors();

  // Catch-up: k-way merge by (commit_time, partition, offset).
  auto last_commit = std::chrono::steady_clock::now();
  while (true) {
    for (auto& cu : cursors) {
      while (cu.buffered.empty() && cu.next < cu.target) {
        auto r = c.fetch(topic, cu.partition, cu.next, 1u << 20, 0);
        if (!r) return fail(r.error().describe());
        if (r->next_offset <= cu.next) return fail("partition " + std::to_string(cu.partition) + ": no data at offset " +
                                                    std::to_string(cu.next) + " below the head");
        for (auto& e : r->events)
          if (e.offset < cu.target) cu.buffered.push_back(std::move(e));
        cu.next = std::min(r->next_offset, cu.target);
        if (r->next_offset > cu.target) cu.next = cu.target;
      }
    }
    cursor* best = nullptr;
    for (auto& cu : cursors) {
      if (cu.buffered.empty()) continue;
      if (!best || cu.buffered.front().commit_time < best->buffered.front().commit_time) best = &cu;
    }
    if (!best) break;
    write_line(best->buffered.front().to_json(topic));
    best->buffered.pop_front();
    prog.add(1);
    if (!name.empty() && std::chrono::steady_clock::now() - last_commit > std::chrono::seconds(1)) {
      flush_output();
      if (auto e = commit(offsets_of_cursors())) return fail(e->describe());
      last_commit = std::chrono::steady_clock::now();
    }
  }
  flush_output();
  prog.done();
  if (auto e = commit(offsets_of_cursors())) return fail(e->describe());
  if (!follow) return exit_ok;

  // Live: one subscription per partition; SIGINT/SIGTERM (blocked by main
  // for --follow) end the run after a last commit.
  std::mutex out_mu;
  std::optional<client::client_error> sub_error;
  std::vector<client::subscription> subs;
  for (auto& cu : cursors) {
    subs.push_back(c.subscribe(
        topic, cu.partition, cu.next,
        [&, topic](std::span<const client::event_record> events, std::uint64_t) {
          std::lock_guard lock(out_mu);
          for (const auto& e : events) write_line(e.to_json(topic));
          flush_output();
          prog.add(events.size());
        },
        [&](const client::client_error& e) {
          std::lock_guard lock(out_mu);
          if (!sub_error) sub_error = e;
        }));
  }
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  int rc = exit_ok;
  while (true) {
    timespec ts{1, 0};
    const int sig = sigtimedwait(&set, nullptr, &ts);
    {
      std::lock_guard lock(out_mu);
      if (sub_error) {
        rc = fail(sub_error->describe());
        break;
      }
    }
    std::vector<client::partition_offset> offs;
    for (std::size_t i = 0; i < subs.size(); ++i) offs.push_back({cursors[i].partition, subs[i].next_offset()});
    if (auto e = commit(offs)) {
      rc = fail(e->describe());
      break;
    }
    if (sig == SIGINT || sig == SIGTERM) break;
  }
  for (auto& s : subs) s.cancel();
  std::lock_guard lock(out_mu);
  prog.done();
  flush_output();
  return rc;
}

}  // namespace muninn::cli
