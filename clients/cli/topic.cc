// muninn topic create|list|describe, muninn stream read.
#include "clients/cli/cli.h"

namespace muninn::cli {

int cmd_topic(client::client& c, const args& a) {
  if (a.positional.size() < 2) return fail("topic needs create, list or describe", exit_usage);
  const auto& sub = a.positional[1];
  if (sub == "list") {
    if (a.positional.size() != 2) return fail("topic list takes no name", exit_usage);
    auto r = c.list_topics();
    if (!r) return fail(r.error().describe());
    for (const auto& t : *r) write_line(t.to_json());
    return exit_ok;
  }
  if (a.positional.size() != 3) return fail("topic " + sub + " needs exactly one NAME", exit_usage);
  const auto& name = a.positional[2];
  if (sub == "describe") {
    auto r = c.describe_topic(name);
    if (!r) return fail(r.error().describe());
    write_line(r->to_json());
    return exit_ok;
  }
  if (sub == "create") {
    std::uint64_t partitions = 1, segment_bytes = 0;
    if (a.has("partitions")) {
      auto v = parse_u64(a.get("partitions"));
      if (!v || *v == 0 || *v > 1'000'000) return fail("--partitions must be a positive integer", exit_usage);
      partitions = *v;
    }
    if (a.has("segment-bytes")) {
      auto v = parse_u64(a.get("segment-bytes"));
      if (!v) return fail("--segment-bytes must be a non-negative integer", exit_usage);
      segment_bytes = *v;
    }
    const auto schema = a.get("schema");
    if (!schema.empty() && schema != "dispatch" && schema != "reskontra")
      return fail("--schema must be dispatch or reskontra", exit_usage);
    auto r = c.create_topic(name, static_cast<std::uint32_t>(partitions), schema, segment_bytes);
    if (!r) return fail(r.error().describe());
    write_line(r->to_json());
    return exit_ok;
  }
  return fail("unknown topic command '" + sub + "'", exit_usage);
}

int cmd_stream(client::client& c, const args& a) {
  if (a.positional.size() != 3 || a.positional[1] != "read") return fail("usage: muninn stream read STREAM [--topic T]", exit_usage);
  const auto& stream = a.positional[2];
  auto topic = a.get("topic", topic_for_stream(stream));
  if (topic.empty()) return fail("cannot tell the topic of stream '" + stream + "': give --topic", exit_usage);
  auto r = c.read_stream(topic, stream, 0);
  if (!r) return fail(r.error().describe());
  for (const auto& e : *r) write_line(e.to_json(topic));
  return exit_ok;
}

}  // namespace muninn::cli
