// muninn verify: every partition fetched from offset 0, CRCs checked by the
// frame decoder, each batch's hash recomputed and chained to the previous.
#include "clients/cli/cli.h"
#include "clients/json_lines.h"

namespace muninn::cli {

int cmd_verify(client::client& c, const args& a) {
  const auto topic = a.get("topic");
  if (topic.empty() || a.positional.size() != 1) return fail("usage: muninn verify --topic T", exit_usage);
  auto info = c.describe_topic(topic);
  if (!info) return fail(info.error().describe());
  progress prog("verify " + topic);
  int rc = exit_ok;
  for (std::uint32_t p = 0; p < info->partitions; ++p) {
    std::uint64_t target = 0;
    std::string broker_hash;
    for (const auto& pi : info->parts)
      if (pi.id == p) {
        target = pi.head;
        broker_hash = pi.head_hash;
      }
    client::chain_checker chain;
    std::uint64_t batches = 0;
    std::string broken;
    while (chain.next_offset() < target && broken.empty()) {
      const auto at = chain.next_offset();
      auto r = c.fetch(topic, p, at, 4u << 20, 0);
      if (!r) {
        if (r.error().kind == client::error_kind::protocol) {
          broken = "partition " + std::to_string(p) + ", offset " + std::to_string(at) + ": " + r.error().message;
          break;
        }
        return fail(r.error().describe());
      }
      if (r->batches.empty()) {
        broken = "partition " + std::to_string(p) + ", offset " + std::to_string(at) + ": the broker returned no batch below its head " +
                 std::to_string(target);
        break;
      }
      for (const auto& b : r->batches) {
        auto why = chain.check(b);
        if (!why.empty()) {
          broken = "partition " + std::to_string(p) + ", offset " + std::to_string(b.base_offset) + ": " + why;
          break;
        }
        ++batches;
        prog.add(b.count);
      }
    }
    const auto head_hash = client::hex(chain.head_hash());
    std::string line = "{\"topic\":" + client::json_quote(topic) + ",\"partition\":" + std::to_string(p) +
                       ",\"batches\":" + std::to_string(batches) + ",\"head\":" + std::to_string(chain.next_offset()) +
                       ",\"head_hash\":\"" + head_hash + "\",\"ok\":" + (broken.empty() ? "true" : "false") + "}";
    prog.done();
    write_line(line);
    if (broken.empty() && chain.next_offset() == target && !broker_hash.empty() && broker_hash != head_hash)
      broken = "partition " + std::to_string(p) + ", offset " + std::to_string(target) +
               ": recomputed head hash differs from the broker's " + broker_hash;
    if (!broken.empty()) {
      fail("hash chain broken at " + broken);
      rc = exit_failed;
      break;
    }
  }
  return rc;
}

}  // namespace muninn::cli
