// muninn verify: every partition fetched from offset 0, CRCs checked by the
// frame decoder, each batch's hash recomputed and chained to the previous.
// walk_chain is the part `muninn audit` shares.
#include "clients/cli/cli.h"
#include "clients/json_lines.h"

namespace muninn::cli {

result<chain_walk, client::client_error> walk_chain(client::client& c, const std::string& topic, std::uint32_t partition,
                                                    std::uint64_t target, const batch_visitor& visit) {
  client::chain_checker chain;
  chain_walk w;
  auto where = [&](std::uint64_t offset) {
    return "partition " + std::to_string(partition) + ", offset " + std::to_string(offset) + ": ";
  };
  while (chain.next_offset() < target && w.broken.empty()) {
    const auto at = chain.next_offset();
    auto r = c.fetch(topic, partition, at, 4u << 20, 0);
    if (!r) {
      // A frame that fails its CRC or does not verify is the log's fault,
      // not the connection's: it breaks the chain at this offset.
      if (r.error().kind == client::error_kind::protocol) {
        w.broken = where(at) + r.error().message;
        break;
      }
      return unexpected{r.error()};
    }
    if (r->batches.empty()) {
      w.broken = where(at) + "the broker returned no batch below " + std::to_string(target);
      break;
    }
    for (const auto& b : r->batches) {
      auto why = chain.check(b);
      if (!why.empty()) {
        w.broken = where(b.base_offset) + why;
        break;
      }
      ++w.batches;
      if (visit) visit(b);
      if (chain.next_offset() >= target) break;
    }
  }
  w.next_offset = chain.next_offset();
  w.head_hash = chain.head_hash();
  return w;
}

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
    auto w = walk_chain(c, topic, p, target, [&](const client::batch_record& b) { prog.add(b.count); });
    if (!w) return fail(w.error().describe());
    auto broken = w->broken;
    const auto head_hash = client::hex(w->head_hash);
    std::string line = "{\"topic\":" + client::json_quote(topic) + ",\"partition\":" + std::to_string(p) +
                       ",\"batches\":" + std::to_string(w->batches) + ",\"head\":" + std::to_string(w->next_offset) +
                       ",\"head_hash\":\"" + head_hash + "\",\"ok\":" + (broken.empty() ? "true" : "false") + "}";
    prog.done();
    write_line(line);
    if (broken.empty() && w->next_offset == target && !broker_hash.empty() && broker_hash != head_hash)
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
