// The five workloads of issue 6, written once against peers::system so that
// every system runs exactly the same events, batch sizes, rates and reads.
// Each returns one measurement; main.cc repeats them and takes medians.
// Not thread-safe: one workload at a time (each starts its own threads).
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "bench/histogram.h"
#include "bench/peers/system.h"

namespace muninn::bench::peers {

struct options {
  int producers = 4;            // produce and expected-version threads, one session each
  std::size_t batch = 100;      // events per request / transaction / pipeline step
  std::size_t depth = 8;        // requests in flight per producer (one append() call)
  std::size_t event_bytes = 200;
  double seconds = 5;           // measured produce window
  double warmup = 1;            // sent before the window, not measured
  double rate = 1000;           // single-event appends per second (latency)
  double latency_seconds = 5;   // per repeat
  int latency_sessions = 8;     // each sends rate / latency_sessions events/s, one at a time
  std::uint64_t events = 5'000'000;        // filled for replay and reads
  std::size_t streams_of_fill = 50'000;    // the fill's streams: events / streams_of_fill events each
  std::size_t expected_streams = 100'000;  // distinct streams of the expected-version workload
  std::size_t reads = 1000;                // read-one-stream calls
};

struct measurement {
  double events_s = std::nan("");
  double p50_us = std::nan(""), p99_us = std::nan(""), p999_us = std::nan("");
  std::uint64_t events = 0;
};

// (1) `producers` sessions appending batches of `batch`, `depth` in flight,
// for `warmup` + `seconds`; events acknowledged inside the window / window.
// `round` makes its stream names unique across repeats.
measurement run_produce(system& s, const options& o, int round, std::string& error);

// (2) `latency_sessions` sessions, one event per append, `rate`/s in all
// (evenly spread); latency from each append's scheduled time to its
// acknowledgement (a late ack delays that session's next send, and the delay
// is counted: no coordinated omission). Several sessions, because one
// session waiting for each fsync could not keep 1,000/s on a disk whose
// fsync takes milliseconds. Samples go to `h` too, so repeats are pooled.
measurement run_latency(system& s, const options& o, int round, latency_histogram& h, std::string& error);

// (4) `expected_streams` new streams, one event each, appended with
// "stream must not exist" by `producers` sessions in batches as in (1).
measurement run_expected(system& s, const options& o, int round, std::string& error);

// Fills the (reset) store with `events` events over `streams_of_fill`
// streams, interleaved: event i goes to stream f-(i % streams) as its
// version i / streams + 1, so a stream's events are spread over the log.
status fill(system& s, const options& o);

// (3) One session reads every event from the first.
measurement run_replay(system& s, const options& o, std::string& error);

// (5) One session reads `reads` random streams of the fill, one after the
// other; latency per read, and reads/s in events_s.
measurement run_read_stream(system& s, const options& o, std::string& error);

}  // namespace muninn::bench::peers
