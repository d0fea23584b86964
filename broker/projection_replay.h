// Replays a topic's partitions into a projection on two threads: a reader
// thread reads each chunk (CRC and batch verification in the log read),
// decodes its events (envelope, data verified as a FlexBuffer) into a slot
// and runs the projection's prepare() on them, and the calling thread
// applies the slots in the order they were read.
// This is the runner's rebuild path and what `muninn-bench projection`
// measures; on a 2-core machine reading and verifying overlap with apply.
//
// Invariants:
// - Events reach apply() in each partition's log order; partitions are
//   visited round robin, one read each, as the runner's live path does. A
//   projection must not depend on the order across partitions anyway.
// - The projection's state is touched by the calling thread only
//   (apply_prepared and the callback); the reader thread sees the logs, its
//   own slots and the projection's const prepare() (projection.h), which
//   reads only the event and the configuration, so projections stay pure
//   and their state single-threaded.
// - The replay ends after a round of reads found every partition at its
//   durable head (or on stop / an error); `applied` then holds, per
//   partition, the next offset to apply, consistent with what was applied.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "broker/projections/projection.h"
#include "codec/result.h"
#include "storage/log.h"

namespace muninn::broker {

struct replay_options {
  // Bytes per log read. A chunk is walked several times on the reader
  // thread (CRC, batch verification, decoding, prepare) and once more by
  // the applier: 1 MiB stays in a core's L2 between the walks, where 4 MiB
  // did not (measured: 10-15% less CPU on both threads, docs/benchmarks.md
  // "Session 11"); the hand-overs it adds cost nothing measurable.
  std::size_t read_bytes = 1u << 20;
  // Set to stop early; the replay returns after the chunk in hand.
  const std::atomic<bool>* stop = nullptr;
};

// Called on the calling thread after each chunk is applied, with how many
// events it held (`applied` is already advanced): where the caller counts,
// takes changes and checkpoints. An error ends the replay with that error.
using replay_progress = std::function<result<void, std::string>(std::uint64_t events)>;

// Replays `logs` (partition p is logs[p]) from `applied` into `p`.
// Returns the events applied, or why it stopped (a read that failed).
result<std::uint64_t, std::string> replay_pipelined(const std::vector<const storage::partition_log*>& logs,
                                                    std::vector<std::uint64_t>& applied,
                                                    projections::projection& p, const replay_options& options,
                                                    const replay_progress& progress);

}  // namespace muninn::broker
