// The measurements of `muninn-bench produce|consume` against a running
// muninnd over loopback: producers keeping produce requests in flight (or
// sending at a fixed rate), a topic filled for replay, and replays by fetch,
// by subscription and by partition_log::read in-process. Each returns one
// row; broker_bench.cc runs them, repeats them and prints the tables. The
// helpers below the rows (connections, shared failure, CPU window) are
// shared with the group benchmark (group_runs.cc).
#pragma once

#include <sys/types.h>

#include <array>
#include <atomic>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "bench/broker_process.h"
#include "bench/histogram.h"
#include "bench/storage_common.h"
#include "bench/workload.h"
#include "clients/client.h"
#include "clients/protocol.h"

namespace muninn::bench::broker_bench {

using storage_bench::failure;
using storage_bench::now_ns;
using storage_bench::seconds_between;
using storage_bench::workload;

// The columns of both tables. Columns that do not apply stay NaN ("-").
enum bcol : std::size_t {
  b_events,
  b_events_s,
  b_data_mb_s,
  b_wire_mb_s,
  b_p50,
  b_p99,
  b_p999,
  b_p99_minus_raw,
  b_broker_cpu,
  b_broker_net,
  b_bench_cpu,
  b_bench_busiest,
  bcol_count
};

struct brow {
  std::string name;
  std::string inflight;
  std::string busiest;  // name of the busiest benchmark thread
  std::array<double, bcol_count> v;
  brow() { v.fill(std::nan("")); }
};

// Per-column medians of repeated runs of one measurement.
brow median_brow(const std::vector<brow>& runs);

// The first error of a run seen by several threads (failure is not
// thread-safe); copied into the run's failure at the end. Thread-safe.
class shared_failure {
 public:
  void set(std::string m) {
    std::lock_guard g(mu_);
    if (failed_.exchange(true)) return;
    message_ = std::move(m);
  }
  bool failed() const { return failed_.load(std::memory_order_relaxed); }
  void copy_to(failure& f) const {
    std::lock_guard g(mu_);
    if (failed_) f.set(message_);
  }

 private:
  mutable std::mutex mu_;
  std::atomic<bool> failed_{false};
  std::string message_;
};

// A client for `address`; null (and `fail` set) when the address is bad.
std::unique_ptr<client::client> connect(const std::string& address, shared_failure& fail);
// The tid of a client's I/O thread, for naming it in the CPU columns.
pid_t io_thread_id(client::client& c);

// CPU of the broker and of this process over a measured window.
class cpu_window {
 public:
  cpu_window(pid_t broker, std::map<pid_t, std::string> roles) : broker_(broker), roles_(std::move(roles)) {}
  void begin();
  // Fills the CPU columns of `r` for the time since begin().
  void end(brow& r);
  std::map<pid_t, std::string>& roles() { return roles_; }

 private:
  pid_t broker_;
  std::map<pid_t, std::string> roles_;
  std::uint64_t t0_ = 0;
  thread_times broker0_, self0_;
};

// Stream names per partition, so every request goes to one partition and
// every event in it belongs there (codec::partition_for).
class stream_table {
 public:
  explicit stream_table(std::uint32_t partitions, std::size_t per_partition = 1000);
  const std::vector<std::string>& of(std::uint32_t partition) const { return streams_[partition]; }
  std::uint32_t partitions() const { return static_cast<std::uint32_t>(streams_.size()); }

 private:
  std::vector<std::vector<std::string>> streams_;
};

struct produce_config {
  std::string name;
  int producers = 4;  // threads, each with its own client (connection)
  std::size_t batch = 100;
  std::size_t event_bytes = 200;
  client::ack_mode acks = client::ack_mode::durable;
  std::size_t inflight = 16;  // requests in flight per producer
  double rate = 0;            // events/s over all producers, open loop; 0: closed loop
  double warmup = 0.5;        // seconds sent but not measured
  double seconds = 5;         // measured
  std::uint64_t events = 0;   // > 0: send this many events (no warm-up) instead of `seconds`
  // Set by another thread: a timed run ends early (its rates then mean nothing).
  const std::atomic<bool>* stop = nullptr;
};

std::string describe(const produce_config& c);

// One produce measurement on `topic` (which exists). Latency is from the
// scheduled send time (open loop) or the send (closed loop) to the
// acknowledgement arriving on the client's I/O thread, for requests sent
// inside the measured window; `also` receives the same samples.
brow run_produce(const produce_config& cfg, const broker_ref& broker, const std::string& topic,
                 const stream_table& streams, workload& work, failure& fail, latency_histogram* also = nullptr);

// Appends `events` events of `event_bytes` to partitions 0..partitions-1 of
// `topic` (evenly) as fast as it can (acks=written, large batches), the last
// batch of each partition durable, so that every partition is durable and
// readable. Prints its rate to stderr.
bool fill_topic(const broker_ref& broker, const std::string& topic, std::uint64_t events, std::size_t event_bytes,
                failure& fail, std::uint32_t partitions = 1);

// Replays partition 0 of `topic` from offset 0 to `events` with blocking
// client::fetch() calls of `max_bytes` each, one after the other.
brow run_replay_fetch(const broker_ref& broker, const std::string& topic, std::uint64_t events,
                      std::uint32_t max_bytes, failure& fail);

// Replays it with client::subscribe() from offset 0: the broker streams
// whole batches while credit (`credit_bytes`) lasts, so reads are pipelined.
// With `partitions` > 1, one subscription per partition on the one client,
// until `events` events arrived in all.
brow run_replay_subscribe(const broker_ref& broker, const std::string& topic, std::uint64_t events,
                          std::uint32_t credit_bytes, failure& fail, std::uint32_t partitions = 1);

// Reads the partition directory `dir` in this process with
// partition_log::read(), `max_bytes` per call, touching every event as the
// client does: the storage's read rate without network and protocol.
// Opens the log once for all `repeat` passes (opening is not timed).
std::vector<brow> run_storage_read(const std::string& dir, std::uint64_t events, std::size_t max_bytes, int repeat,
                                   failure& fail);

}  // namespace muninn::bench::broker_bench
