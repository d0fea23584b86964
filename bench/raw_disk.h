// The raw disk of `muninn-bench storage`: the log's io path (storage/io
// uring_file_system(), a write + linked fdatasync per submission) with no
// broker logic, as the limit the log's rows are compared against.
#pragma once

#include <cstddef>
#include <string>

#include "bench/storage_common.h"
#include "bench/table.h"
#include "bench/workload.h"

namespace muninn::bench::storage_bench {

// Single writes of `bytes` + fdatasync one at a time: the disk's latency
// floor. With `handoff`, each write runs on a second thread the caller hands
// it to, as a queued append is handed to the log's I/O thread.
row run_raw_latency(std::size_t bytes, bool handoff, const bench_options& opt, workload& work, scratch& tmp,
                    failure& fail, std::size_t writes = 0, latency_histogram* also = nullptr);

// Writes of `bytes` + fdatasync back to back for opt.seconds: what the disk
// streams durably at the log's group size. `label` ends the row's name.
row run_raw_throughput(std::size_t bytes, const std::string& label, const bench_options& opt, workload& work,
                       scratch& tmp, failure& fail);

}  // namespace muninn::bench::storage_bench
