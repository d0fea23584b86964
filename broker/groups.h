// Consumer offsets and consumer groups (docs/consumer-groups.md).
//
// Offsets: a commit appends one record per partition to the internal
// `__offsets` log (stream "offsets-<consumer>-<topic>-<partition>", the
// record an OffsetRecord FlatBuffer); a partition's last record is its
// committed offset. The in-memory table of committed offsets is rebuilt by
// replaying `__offsets` on start, like every other state.
//
// Groups: members join a group for one topic; partitions are shared among
// the live members, balanced and sticky (group_assignment.h). Membership is
// not persisted: after a broker restart members find themselves unknown and
// rejoin, and continue from the committed offsets. Invariants:
// - a partition has at most one owner; a partition moves to its new member
//   only after the old owner released it (heartbeat without it, leave) or
//   missed its session timeout, and after its in-flight commits landed;
// - a member's commit is accepted only while it owns the partition, with a
//   generation no older than the one it was granted the partition in, so a
//   member that was removed (a zombie) can never commit again.
// Thread-safety: every member function may be called from any thread;
// append completions arrive on the offsets log's I/O thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "broker/topics.h"
#include "codec/protocol_generated.h"
#include "codec/result.h"

namespace muninn::broker {

struct group_error {
  fb::ErrorCode code = fb::ErrorCode::internal;
  std::string message;
};

struct partition_commit {
  std::uint32_t partition = 0;
  std::uint64_t offset = 0;
};

struct member_assignment {
  std::uint32_t generation = 0;
  std::vector<std::uint32_t> assigned;  // consume exactly these
  std::vector<std::uint32_t> waiting;   // targeted here, still owned by another member
  std::uint32_t heartbeat_interval_ms = 0;
};

struct group_member_view {
  std::string member_id;
  std::string client;
  std::vector<std::uint32_t> assigned;
  std::vector<std::uint32_t> waiting;
  std::uint32_t since_heartbeat_ms = 0;
  std::uint32_t session_timeout_ms = 0;
};

struct group_partition_view {
  std::uint32_t partition = 0;
  std::int64_t committed = -1;  // -1: never committed
  std::uint64_t head = 0;
  std::uint64_t lag = 0;        // head - committed (head when never committed)
  std::string owner;
};

// One group on one topic: live members (if any) and committed offsets.
struct group_view {
  std::string group;
  std::string topic;
  std::string state;  // "stable", "rebalancing" (a partition waits for its owner), "empty"
  std::uint32_t generation = 0;
  std::vector<group_member_view> members;
  std::vector<group_partition_view> partitions;
};

enum class reset_to : std::uint8_t { earliest, latest, offset, time };

struct group_options {
  std::chrono::milliseconds min_session_timeout{500};
  std::chrono::milliseconds max_session_timeout{300'000};
};

class group_coordinator {
 public:
  using clock = std::chrono::steady_clock;
  using commit_callback = std::function<void(result<std::vector<partition_commit>, group_error>)>;

  // Replays `__offsets` into the table of committed offsets.
  static result<std::unique_ptr<group_coordinator>, std::string> open(topic_registry& topics, group_options options = {});

  // ---- offsets (plain consumers and group members) ------------------------
  // `member_id` empty: a plain consumer's commit, refused (group_active)
  // while a group of that name has live members. `done` may run on the
  // offsets log's I/O thread.
  void commit(std::string_view consumer, std::string_view topic, std::span<const partition_commit> offsets,
              std::string_view member_id, std::uint32_t generation, commit_callback done);
  result<std::vector<partition_commit>, group_error> committed(std::string_view consumer, std::string_view topic) const;

  // ---- membership -----------------------------------------------------------
  // A known member id makes this a heartbeat that reports nothing released.
  result<member_assignment, group_error> join(std::string_view group, std::string_view topic, std::string_view member_id,
                                              std::chrono::milliseconds session_timeout, std::string_view client);
  result<member_assignment, group_error> heartbeat(std::string_view group, std::string_view member_id,
                                                   std::uint32_t generation, std::span<const std::uint32_t> owned);
  result<void, group_error> leave(std::string_view group, std::string_view member_id);
  // Removes members past their session timeout; muninnd calls it often.
  void expire();

  // ---- operators ------------------------------------------------------------
  std::vector<group_view> list() const;
  result<std::vector<group_view>, group_error> describe(std::string_view group) const;
  // Commits one offset per partition; refused (group_active) with members.
  void reset(std::string_view group, std::string_view topic, reset_to to, std::int64_t value, commit_callback done);

  // Tests move time by hand.
  void set_clock(std::function<clock::time_point()> now) { now_ = std::move(now); }

  struct member {
    std::string client;
    std::chrono::milliseconds session_timeout{10'000};
    clock::time_point last_seen{};
    std::uint64_t joined = 0;  // join order: earlier members fill their shares first
  };
  struct slot {
    std::string owner;   // consuming it now (granted, not released); empty: free
    std::string target;  // where the assignment wants it
    std::uint32_t granted_generation = 0;
    std::uint32_t pending_commits = 0;  // a new owner waits for these to land
  };
  struct live_group {
    std::string name;
    std::string topic;
    std::uint32_t generation = 0;
    std::map<std::string, member, std::less<>> members;
    std::vector<slot> slots;  // per partition
  };

 private:
  group_coordinator(topic_registry& topics, group_options options);
  result<void, std::string> replay();
  void append_commits(std::string_view consumer, std::string_view topic, std::vector<partition_commit> offsets,
                      std::string_view member_id, std::uint32_t generation, commit_callback done);
  void expire_locked(clock::time_point now);
  void remove_member_locked(live_group& g, const std::string& member_id);
  void rebalance_locked(live_group& g);
  member_assignment grant_locked(live_group& g, const std::string& member_id);
  std::vector<group_view> views_locked(std::string_view only_group) const;

  topic_registry& topics_;
  const group_options options_;
  std::function<clock::time_point()> now_ = [] { return clock::now(); };
  mutable std::mutex mu_;
  // (consumer, topic) -> committed offset per partition (-1: none).
  std::map<std::pair<std::string, std::string>, std::vector<std::int64_t>, std::less<>> committed_;
  std::map<std::string, live_group, std::less<>> groups_;  // groups with live members
  std::map<std::string, std::uint32_t, std::less<>> generations_;  // survive a group's emptying
  std::uint64_t joins_ = 0;
};

}  // namespace muninn::broker
