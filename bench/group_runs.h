// The measurements of `muninn-bench group` (issue 5) against a running
// muninnd: a consumer group of in-process members draining a filled topic,
// and the failover of a member that dies abruptly (a `muninn consume
// --group` child killed with SIGKILL) while a producer appends at a steady
// rate. Each call is one run; group_bench.cc repeats them and prints.
// Invariants: a run returns only after every thread it started was joined,
// every member it created was closed and every child it started was killed
// and reaped, also when it fails. Not thread-safe: one run at a time.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "bench/broker_runs.h"

namespace muninn::bench::group_bench {

using broker_bench::brow;
using broker_bench::broker_ref;
using storage_bench::failure;

// One throughput run of a group: the CPU and rate columns of a brow, and
// what the group machinery did on top.
struct drain_row {
  brow b;                     // b_events, b_events_s, b_data_mb_s and the CPU columns
  double committed_s = 0;     // first join -> every committed offset at its head
  std::uint64_t moves = 0;    // partitions revoked from one member for another
  std::uint64_t redelivered = 0;  // events delivered more than once
  std::uint64_t errors = 0;       // errors the members rode through
  std::string first_error;
};

// `members` group members (each a thread of its own with its own client
// connection) join `group` on `topic` at once and consume it from offset 0;
// `heads[p]` is partition p's head. Timed from the first join to the event
// that brings the last partition to its head; then waits for the committed
// offsets to reach the heads and closes the members.
drain_row run_group_drain(const broker_ref& broker, const std::string& topic, const std::vector<std::uint64_t>& heads,
                          int members, const std::string& group, failure& fail);

struct failover_config {
  std::string muninn;  // the `muninn` tool that runs the member to be killed
  std::string log_dir;  // its stderr goes to a file here
  std::uint32_t partitions = 8;
  std::chrono::milliseconds session_timeout{2000};
  double rate = 20'000;  // events/s appended while both members consume
  double warmup_s = 3;   // both members consuming live before the kill (plus 0..1 heartbeat interval, random)
};

// One failover: times from the SIGKILL, over the killed member's partitions.
struct failover_result {
  std::vector<std::uint32_t> moved;      // the killed member's partitions
  double assigned_last_ms = 0;           // SIGKILL -> the survivor's `assigned` for the last of them
  double first_event_first_ms = 0;       // SIGKILL -> first event delivered, first partition
  double first_event_last_ms = 0;        // ... last partition: the failover time
  std::uint64_t redelivered = 0;         // events consumed by the killed member, delivered again
  std::uint64_t killed_committed = 0;    // partitions the killed member had committed before the kill
  double heartbeat_interval_ms = 0;
};

// A fresh `group` on `topic` (created empty by the caller): an in-process
// survivor joins first, then the `muninn consume --group --follow` child;
// once the group is stable and has consumed for the warm-up, the child gets
// SIGKILL (no leave, no commit) and the survivor is watched until every one
// of the child's partitions delivered an event to it.
failover_result run_failover(const broker_ref& broker, const std::string& topic, const std::string& group,
                             const failover_config& cfg, failure& fail);

}  // namespace muninn::bench::group_bench
