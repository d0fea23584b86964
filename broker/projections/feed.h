// Feeds stored record batches to a projection: the one path from the log's
// bytes to apply(), shared by the broker's runner and the client's auditor
// so both rebuild from exactly the same reading of every event. Pure; a
// feeder is not thread-safe (it owns the data reader's scratch).
#pragma once

#include <cstdint>

#include "broker/projections/event.h"
#include "broker/projections/projection.h"
#include "codec/batch.h"

namespace muninn::projections {

class feeder {
 public:
  // Applies the events of a verified batch of `partition` whose offsets are
  // in [from, to), in order. Returns how many were applied.
  std::uint64_t apply_batch(projection& p, std::uint32_t partition, const fb::RecordBatch& batch,
                            std::uint64_t from, std::uint64_t to);

 private:
  data_reader reader_;
};

}  // namespace muninn::projections
