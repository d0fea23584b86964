// muninn audit --projection P [--topic T]: an independent rebuild of a
// broker's projection. The broker's status names the applied offsets, the
// configuration and the digest; the topic is replayed from offset 0 through
// the client's fetch to exactly those offsets, every batch's CRC and hash
// chain checked (walk_chain, shared with verify), and the same pure code
// (projections::make_projection fed by projections::feeder) gives the local
// digest. Exit 0 only when the chain holds and the digests are equal.
#include <cstdio>

#include "broker/projections/feed.h"
#include "broker/projections/registry.h"
#include "clients/cli/cli.h"

namespace muninn::cli {
namespace {

constexpr const char* usage = "usage: muninn audit --projection P [--topic T]";

int failed(const std::string& why) {
  write_line("audit: FAILED: " + why);
  flush_output();
  return exit_failed;
}

}  // namespace

int cmd_audit(client::client& c, const args& a) {
  if (auto bad = only_options(a, {"topic", "projection"})) return fail(*bad + "; " + usage, exit_usage);
  const auto name = a.get("projection");
  if (name.empty() || a.positional.size() != 1) return fail(usage, exit_usage);
  if (!projections::find_projection_kind(name)) return fail("unknown projection '" + name + "'; " + usage, exit_usage);

  auto list = c.projection_status(name);
  if (!list) return fail(list.error().describe());
  const client::projection_info* info = nullptr;
  for (const auto& p : *list)
    if (p.name == name) info = &p;
  if (!info) return fail("the broker did not report projection '" + name + "'");
  const auto topic = a.get("topic", info->topic);
  if (topic != info->topic)
    return fail("projection " + name + " reads topic '" + info->topic + "', not '" + topic + "'", exit_usage);
  if (!info->error.empty())
    std::fprintf(stderr, "muninn: note: the broker reports projection %s stopped: %s\n", name.c_str(), info->error.c_str());

  projections::query_params config;
  for (const auto& kv : info->config) config.emplace(kv.name, kv.value);
  auto local = projections::make_projection(name, config);
  if (!local) return failed("cannot build " + name + " with the broker's configuration: " + local.error());

  auto topic_info = c.describe_topic(topic);
  if (!topic_info) return fail(topic_info.error().describe());
  if (topic_info->partitions != info->applied.size())
    return failed("topic " + topic + " has " + std::to_string(topic_info->partitions) + " partitions, the status names " +
                  std::to_string(info->applied.size()));

  progress prog("audit " + name);
  projections::feeder feeder;
  std::uint64_t events = 0;
  for (std::uint32_t p = 0; p < topic_info->partitions; ++p) {
    const std::uint64_t target = info->applied[p];
    auto w = walk_chain(c, topic, p, target, [&](const client::batch_record& b) {
      const auto n = feeder.apply_batch(**local, p, *b.batch.batch, 0, target);
      events += n;
      prog.add(n);
    });
    prog.done();
    if (!w) return fail("reading partition " + std::to_string(p) + ": " + w.error().describe());
    if (!w->broken.empty()) return failed("hash chain broken at " + w->broken);
    if (w->next_offset < target)
      return failed("partition " + std::to_string(p) + " ends at " + std::to_string(w->next_offset) +
                    ", below the applied offset " + std::to_string(target));
    // The hash pins everything up to the end of the batch holding the last
    // applied event; that end passes `applied` when a batch straddles it.
    std::string line = "partition " + std::to_string(p) + ": applied " + std::to_string(target) + ", batches " +
                       std::to_string(w->batches) + ", head hash " + client::hex(w->head_hash);
    if (w->next_offset != target) line += " (of the batch ending at " + std::to_string(w->next_offset) + ")";
    write_line(line);
    for (const auto& pi : topic_info->parts) {
      if (pi.id == p && pi.head == w->next_offset && pi.head_hash != client::hex(w->head_hash))
        return failed("partition " + std::to_string(p) + ": recomputed head hash differs from the broker's " + pi.head_hash);
    }
  }

  const auto local_digest = projections::state_digest(**local);
  write_line("events: " + std::to_string(events));
  write_line("anomalies: broker " + std::to_string(info->anomalies) + ", local " + std::to_string((*local)->anomaly_count()));
  write_line("broker digest: " + client::hex(info->digest));
  write_line("local digest:  " + client::hex(local_digest));
  if (local_digest != info->digest)
    return failed("state digest differs: the broker's " + name + " at the applied offsets is not what the log rebuilds");
  write_line("audit: OK");
  return exit_ok;
}

}  // namespace muninn::cli
