#include "broker/broker_metrics.h"

#include <string>

#include "broker/groups.h"
#include "broker/projection_runner.h"

namespace muninn::broker {
namespace {

// Every partition of every topic, with its labels.
template <class F>
void each_partition(const topic_registry& topics, F&& f) {
  for (const auto& t : topics.list()) {
    for (std::uint32_t p = 0; p < t->partitions(); ++p) f(t->config().name, std::to_string(p), t->partition(p));
  }
}

}  // namespace

broker_metrics::broker_metrics(metrics_registry& r, const topic_registry& topics)
    : registry_(r),
      produce_requests_(r.add_counter("muninn_produce_requests_total", "Produce requests accepted", {"topic"})),
      produce_events_(r.add_counter("muninn_produce_events_total", "Events in accepted produce requests", {"topic"})),
      produce_bytes_(r.add_counter("muninn_produce_bytes_total", "Bytes of accepted produce requests", {"topic"})),
      fetch_requests_(r.add_counter("muninn_fetch_requests_total", "Fetch requests served", {"topic"})),
      fetch_bytes_(r.add_counter("muninn_fetch_bytes_total", "Batch bytes sent by fetches", {"topic"})),
      refused_(r.add_counter("muninn_refused_requests_total", "Requests refused, by reason", {"reason"})),
      produce_latency_(r.add_histogram("muninn_produce_latency_seconds",
                                       "From a produce request's arrival to its acknowledgement (commit latency)",
                                       latency_buckets_seconds())
                           .with()),
      connections_(r.add_gauge("muninn_connections", "Open protocol connections").with()) {
  const topic_registry* t = &topics;
  r.add_callback_gauge("muninn_partition_head_offset", "Durable events in the partition (the next offset)",
                       {"topic", "partition"}, [t](sample_sink& out) {
                         each_partition(*t, [&](const std::string& name, const std::string& p, auto& log) {
                           out.emit({name, p}, log.head());
                         });
                       });
  r.add_callback_gauge("muninn_partition_indexed_offset", "Events of the partition reflected in its index",
                       {"topic", "partition"}, [t](sample_sink& out) {
                         each_partition(*t, [&](const std::string& name, const std::string& p, auto& log) {
                           out.emit({name, p}, log.stats().indexed);
                         });
                       });
  r.add_callback_counter("muninn_partition_commits_total", "Group commits (one fdatasync each) since start",
                         {"topic", "partition"}, [t](sample_sink& out) {
                           each_partition(*t, [&](const std::string& name, const std::string& p, auto& log) {
                             out.emit({name, p}, log.stats().commits);
                           });
                         });
  r.add_callback_counter("muninn_partition_write_sync_seconds_total",
                         "Time in write + fdatasync since start; divided by commits: the mean fdatasync latency",
                         {"topic", "partition"}, [t](sample_sink& out) {
                           each_partition(*t, [&](const std::string& name, const std::string& p, auto& log) {
                             out.emit({name, p}, double(log.stats().write_sync_ns) / 1e9);
                           });
                         });
}

void broker_metrics::add_projections(const projection_runner& runner) {
  const projection_runner* pr = &runner;
  registry_.add_callback_gauge("muninn_projection_lag_events", "Durable events of the topic not yet applied",
                               {"projection"}, [pr](sample_sink& out) {
                                 for (const auto& c : pr->metrics()) out.emit({c.name}, c.lag);
                               });
  registry_.add_callback_counter("muninn_projection_applied_events_total", "Events applied since start",
                                 {"projection"}, [pr](sample_sink& out) {
                                   for (const auto& c : pr->metrics()) out.emit({c.name}, c.applied_total);
                                 });
}

void broker_metrics::add_groups(const group_coordinator& groups) {
  const group_coordinator* g = &groups;
  registry_.add_callback_gauge(
      "muninn_group_lag", "Durable events of a partition after the group's committed offset",
      {"group", "topic", "partition"}, [g](sample_sink& out) {
        for (const auto& v : g->list())
          for (const auto& p : v.partitions) out.emit({v.group, v.topic, std::to_string(p.partition)}, p.lag);
      });
  registry_.add_callback_gauge("muninn_group_members", "Live members of a consumer group", {"group", "topic"},
                               [g](sample_sink& out) {
                                 for (const auto& v : g->list()) out.emit({v.group, v.topic}, v.members.size());
                               });
}

void broker_metrics::produced(std::string_view topic, std::size_t events, std::size_t bytes) {
  produce_requests_.with_values({topic}).inc();
  produce_events_.with_values({topic}).inc(events);
  produce_bytes_.with_values({topic}).inc(bytes);
}

void broker_metrics::fetched(std::string_view topic, std::size_t bytes) {
  fetch_requests_.with_values({topic}).inc();
  fetch_bytes_.with_values({topic}).inc(bytes);
}

void broker_metrics::refused(std::string_view reason) { refused_.with_values({reason}).inc(); }

void broker_metrics::produce_latency(double seconds) { produce_latency_.observe(seconds); }

}  // namespace muninn::broker
