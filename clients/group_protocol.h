// Wire code of consumer groups on the client side (docs/consumer-groups.md):
// the request frames of join, heartbeat, leave, list, describe and reset,
// and the decoded answers. Pure, like clients/protocol.h: no I/O, no
// shared state; thread-safe.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "clients/protocol.h"

namespace muninn::client {

frame_bytes encode_join_group(std::uint64_t correlation_id, std::string_view group, std::string_view topic,
                              std::string_view member_id, std::uint32_t session_timeout_ms, std::string_view client_name);
frame_bytes encode_heartbeat(std::uint64_t correlation_id, std::string_view group, std::string_view member_id,
                             std::uint32_t generation, std::span<const std::uint32_t> owned);
frame_bytes encode_leave_group(std::uint64_t correlation_id, std::string_view group, std::string_view member_id);
frame_bytes encode_list_groups(std::uint64_t correlation_id);
frame_bytes encode_describe_group(std::uint64_t correlation_id, std::string_view group);

enum class reset_target : std::uint8_t { earliest = 0, latest = 1, offset = 2, time = 3 };
// `value`: the offset (offset) or µs since the epoch (time).
frame_bytes encode_reset_group(std::uint64_t correlation_id, std::string_view group, std::string_view topic,
                               reset_target to, std::int64_t value);

// The answer to join and heartbeat.
struct group_assignment {
  std::uint32_t generation = 0;
  std::vector<std::uint32_t> assigned;  // consume exactly these
  std::vector<std::uint32_t> waiting;   // coming once their previous owner lets go
  std::uint32_t heartbeat_interval_ms = 0;
};
group_assignment assignment_from(const fb::GroupAssignment& a);

struct group_member_info {
  std::string member_id;
  std::string client;
  std::vector<std::uint32_t> assigned;
  std::vector<std::uint32_t> waiting;
  std::uint32_t since_heartbeat_ms = 0;
  std::uint32_t session_timeout_ms = 0;
};

struct group_partition_info {
  std::uint32_t partition = 0;
  std::int64_t committed = -1;  // -1: never committed
  std::uint64_t head = 0;
  std::uint64_t lag = 0;
  std::string owner;
};

// A group on one topic as the broker sees it.
struct group_info {
  std::string group;
  std::string topic;
  std::string state;  // "stable", "rebalancing", "empty"
  std::uint32_t generation = 0;
  std::vector<group_member_info> members;
  std::vector<group_partition_info> partitions;

  std::uint64_t lag() const noexcept;
  // One JSON object (the tool's --json).
  std::string to_json() const;
};
std::vector<group_info> groups_from(const fb::GroupsResponse& r);

}  // namespace muninn::client
