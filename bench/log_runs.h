// The partition log's measurements in `muninn-bench storage`: async appends
// with a window in flight (throughput, index lag), single-event append_sync()
// latency, and the strace probe's small durable appends.
#pragma once

#include <functional>

#include <cstddef>
#include <string>

#include "bench/storage_common.h"
#include "bench/table.h"
#include "bench/workload.h"
#include "storage/log.h"

namespace muninn::bench::storage_bench {

// One throughput row: events per append, acks, appends in flight.
struct throughput_config {
  std::size_t batch = 1;
  storage::ack_mode acks = storage::ack_mode::durable;
  std::size_t inflight = 64;  // requests, over all producers

  std::string name() const {
    return std::string(acks == storage::ack_mode::durable ? "durable" : "written") + " batch " + std::to_string(batch);
  }
  // The name --only knows it by.
  std::string key() const {
    return std::string(acks == storage::ack_mode::durable ? "durable" : "written") + "-" + std::to_string(batch);
  }
};

// Appends in flight at once for a batch size: enough that a group commit
// finds a full fdatasync's worth of requests waiting (the window must cover
// the events the log can sequence while one fdatasync runs), bounded so a
// large batch does not queue megabytes.
inline std::size_t default_inflight(std::size_t batch) {
  if (batch <= 1) return 1024;
  if (batch <= 10) return 256;
  if (batch <= 100) return 64;
  return 16;
}

// One throughput row: cfg.inflight appends of cfg.batch events kept in
// flight by opt.producers threads on a fresh partition, a warm-up, then
// opt.seconds measured; flush_index() afterwards fills the index columns.
row run_throughput(const throughput_config& cfg, const bench_options& opt, workload& work, scratch& tmp,
                   failure& fail);

// Single-event durable appends, one at a time (append_sync): the latency a
// lone producer sees at low load. In `rounds` rounds on one open partition;
// after each, `between(bytes_per_commit)` runs (the raw rows, so that log
// and raw meet the same disk). Rates count only the log's own rounds.
row run_single_latency(const bench_options& opt, workload& work, scratch& tmp, failure& fail,
                       std::size_t rounds = 1, const std::function<void(std::size_t)>& between = {});

// `--strace-probe DIR`: appends probe_batches durable batches of
// probe_batch_events events to DIR/partition and prints one line. Returns
// the exit status.
int run_strace_probe(const std::string& parent);

}  // namespace muninn::bench::storage_bench
