// Runs the projections inside muninnd (architecture.md "Projections"): each
// one consumes its topic's durable events in partition order, applies them
// with the pure code of broker/projections, and stores its changed records
// together with its checkpoint in one RocksDB write batch, so after a
// restart or a crash it resumes exactly where its stored state ends.
// RocksDB holds derived state only: a missing or unreadable store, or a
// changed configuration, is rebuilt from offset 0.
//
// Threads: one thread per projection applies, checkpoints and rebuilds (a
// rebuild adds a reader thread while it runs, broker/projection_replay.h);
// a mutex per projection lets queries read between chunks of applied events.
// No lock is held across a log read or a RocksDB write. All public members
// are thread-safe.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <string>
#include <string_view>
#include <vector>

#include "broker/projections/projection.h"
#include "codec/batch.h"
#include "codec/result.h"

namespace muninn::broker {

class topic_registry;

struct projection_runner_options {
  std::string dir;  // <data>/projections: one RocksDB per projection below it
  // Configuration overrides per projection name ("deadline_working_hours" ...).
  std::vector<std::pair<std::string, projections::query_params>> config;
  // A checkpoint is written after this many applied events, or when the
  // projection has caught up, whichever comes first.
  std::uint64_t checkpoint_events = 100'000;
};

struct projection_status {
  std::string name;
  std::string topic;
  std::vector<std::uint64_t> applied;     // per partition: events applied (the next offset)
  std::vector<std::uint64_t> heads;       // per partition: durable head when taken
  std::vector<std::uint64_t> checkpoint;  // per partition: what the store holds
  codec::hash256 digest{};                // state digest at `applied`
  projections::query_params config;
  std::uint64_t anomalies = 0;
  bool rebuilding = false;
  std::uint64_t rebuild_applied = 0;
  std::string error;  // why it is stopped; empty while it runs

  std::uint64_t lag() const noexcept;
};

enum class projection_errc : std::uint8_t { unknown_projection, query, busy, stopped };

struct projection_error {
  projection_errc code = projection_errc::unknown_projection;
  projections::query_error query;  // code == query
  std::string message;
};

class projection_runner {
 public:
  // Opens every projection's store and starts its thread. An error names
  // the projection and why (a bad configuration value, RocksDB failing).
  static result<std::unique_ptr<projection_runner>, std::string> start(topic_registry& topics,
                                                                       projection_runner_options options);
  ~projection_runner();  // stop()

  // Finishes the chunk in hand, writes a last checkpoint and joins the threads.
  void stop();

  result<std::string, projection_error> query(std::string_view projection, std::string_view what,
                                              const projections::query_params& params) const;
  // Every projection when `projection` is empty. The digest is computed
  // here: O(state), so this is an operator's call, not a hot path.
  result<std::vector<projection_status>, projection_error> status(std::string_view projection) const;
  // status() on the runner's own status thread; `done` runs there. After
  // stop(), `done` runs at once with a `stopped` error.
  using status_handler = std::function<void(result<std::vector<projection_status>, projection_error>)>;
  void status_async(std::string projection, status_handler done);
  // Starts a rebuild from offset 0 (busy when one is already running).
  result<void, projection_error> rebuild(std::string_view projection);

  // Total events applied since start, per projection (for /metrics).
  struct counters {
    std::string name;
    std::uint64_t lag = 0;
    std::uint64_t applied_total = 0;
  };
  std::vector<counters> metrics() const;

 private:
  struct worker;
  projection_runner() = default;
  worker* find(std::string_view name) const;
  void status_loop();

  std::vector<std::unique_ptr<worker>> workers_;
  std::mutex status_mu_;  // status_jobs_, status_stopped_
  std::condition_variable status_cv_;
  std::deque<std::pair<std::string, status_handler>> status_jobs_;
  bool status_stopped_ = false;
  std::thread status_thread_;
};

}  // namespace muninn::broker
