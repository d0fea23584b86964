// The broker's own metrics (served at /metrics): requests and bytes per
// topic, refusals by reason, produce-to-acknowledgement latency, and, read
// at render time from storage, partition heads, index positions, commits
// and time in write+fdatasync. Thread-safety: handles are lock-free
// atomics; registration happens once, at start.
#pragma once

#include <string_view>

#include "broker/metrics.h"
#include "broker/topics.h"

namespace muninn::broker {

class projection_runner;
class group_coordinator;

class broker_metrics {
 public:
  // Registers every family in `registry`; `topics` is read at render time.
  broker_metrics(metrics_registry& registry, const topic_registry& topics);

  void produced(std::string_view topic, std::size_t events, std::size_t bytes);
  void fetched(std::string_view topic, std::size_t bytes);
  void refused(std::string_view reason);
  void produce_latency(double seconds);
  gauge& connections() { return connections_; }
  // Lag and applied events of each projection, read at render time.
  void add_projections(const projection_runner& runner);
  // Committed-offset lag of every group and consumer, read at render time.
  void add_groups(const group_coordinator& groups);

 private:
  metrics_registry& registry_;
  counter_family& produce_requests_;
  counter_family& produce_events_;
  counter_family& produce_bytes_;
  counter_family& fetch_requests_;
  counter_family& fetch_bytes_;
  counter_family& refused_;
  histogram& produce_latency_;
  gauge& connections_;
};

}  // namespace muninn::broker
