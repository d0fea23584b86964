// A member of a consumer group (docs/consumer-groups.md): joins, heartbeats
// on its own thread, consumes exactly the partitions the broker assigns
// (catch-up from the group's committed offset, then live), and commits
// what the handler has processed.
//
// Delivery is at least once: an event is processed when the handler
// returned for it; what was processed but not committed when a member dies
// or is fenced is delivered again to the partition's next owner. Within a
// partition (and so within a stream) events arrive in offset order.
// Invariants kept here: a revoked partition delivers nothing more before
// its offset is committed and it is released; after the broker fences this
// member (unknown member) it stops every partition, reports them lost and
// rejoins under a new member id.
// Thread-safety: public members may be called from any thread except the
// client's I/O thread (where the handler runs), except commit_async.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "clients/client.h"
#include "clients/groups.h"

namespace muninn::client {

struct group_consumer_options {
  std::string group;
  std::string topic;
  std::chrono::milliseconds session_timeout{10'000};
  std::string client_name;  // shown by `muninn group describe`
  // Processed offsets are committed this often (when they changed); 0:
  // only by commit_sync/commit_async, on revocation and at close.
  std::chrono::milliseconds auto_commit_interval{1000};
  subscribe_options subscribe;
};

// New events of one partition, in offset order, on the client's I/O
// thread. When it returns they count as processed.
using group_events_handler = std::function<void(std::uint32_t partition, std::span<const event_record> events)>;

struct rebalance_handlers {
  // Before the first event of these partitions.
  std::function<void(const std::vector<std::uint32_t>&)> assigned;
  // After their last event, before their offsets are committed and they
  // are handed over (runs on the member's heartbeat thread).
  std::function<void(const std::vector<std::uint32_t>&)> revoked;
  // The broker no longer counts this member as their owner (it missed its
  // session timeout): commits are refused, and what was processed since the
  // last commit will be delivered again to the next owner.
  std::function<void(const std::vector<std::uint32_t>&)> lost;
  // Problems the member rides through (heartbeat or commit failures).
  std::function<void(const client_error&)> error;
};

class group_consumer {
 public:
  // Joins at once (on the heartbeat thread); events arrive once partitions
  // are granted.
  group_consumer(client& c, group_consumer_options options, group_events_handler on_events,
                 rebalance_handlers handlers = {});
  ~group_consumer();
  group_consumer(const group_consumer&) = delete;
  group_consumer& operator=(const group_consumer&) = delete;

  // Commits the processed offsets that changed since the last commit.
  result<void, client_error> commit_sync();
  // Commits on the heartbeat thread; `done` runs there.
  void commit_async(std::function<void(result<void, client_error>)> done = {});
  // Stops delivery, commits, leaves the group. Idempotent.
  void close();

  std::string member_id() const;
  std::uint32_t generation() const;
  std::vector<std::uint32_t> assignment() const;
  // True once every owned partition was processed up to the head it had
  // when it was granted, and no partition is waiting to come here.
  bool caught_up() const;
  // Offsets processed, per owned partition.
  std::vector<partition_offset> processed() const;

  struct part;

 private:
  // The heartbeat thread; it alone changes owned_ (under mu_, so that
  // other threads may read it), and it makes no network call under mu_:
  // the I/O thread that answers must never wait for it.
  void run();
  void beat();
  void apply(const group_assignment& a);
  void stop_partitions(const std::vector<std::uint32_t>& ps);
  void start_partitions(const std::vector<std::uint32_t>& ps);
  void lose_all();
  // Empty `only`: every owned partition.
  result<void, client_error> commit_parts(const std::vector<std::uint32_t>& only);
  void report(const client_error& e);
  // A join or heartbeat was answered (counted from when it was sent)
  // within a session timeout, over the connection in use now.
  bool may_deliver() const noexcept;
  void confirm(std::uint64_t connection, std::chrono::steady_clock::time_point sent);
  void restart_failed(const std::vector<std::uint32_t>& assigned);

  client& client_;
  const group_consumer_options options_;
  group_events_handler on_events_;
  rebalance_handlers handlers_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::mutex commit_mu_;  // one commit at a time, in order
  std::string member_id_;
  std::uint32_t generation_ = 0;
  bool joined_ = false;
  std::map<std::uint32_t, std::shared_ptr<part>> owned_;
  std::vector<std::uint32_t> waiting_;
  std::chrono::milliseconds heartbeat_interval_{1000};
  std::vector<std::function<void()>> async_commits_;
  std::atomic<std::int64_t> last_heartbeat_ok_{0};  // steady_clock ticks
  std::atomic<std::uint64_t> confirmed_connection_{0};
  bool beat_now_ = false;
  bool closing_ = false;
  bool closed_ = false;
  std::thread thread_;
};

}  // namespace muninn::client
