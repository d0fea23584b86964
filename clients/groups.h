// Consumer groups through one connection (docs/consumer-groups.md): the
// blocking calls behind `muninn group ...` and the group consumer. Joins,
// heartbeats, commits and resets are idempotent (the member chooses its id),
// so a lost connection is retried like a read.
// Thread-safety: as client; none of these may run on the client's I/O thread.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "clients/client.h"
#include "clients/group_protocol.h"

namespace muninn::client {

result<group_assignment, client_error> join_group(client& c, std::string_view group, std::string_view topic,
                                                  std::string_view member_id, std::uint32_t session_timeout_ms,
                                                  std::string_view client_name);
result<group_assignment, client_error> heartbeat(client& c, std::string_view group, std::string_view member_id,
                                                 std::uint32_t generation, std::span<const std::uint32_t> owned);
result<void, client_error> leave_group(client& c, std::string_view group, std::string_view member_id);
// A member's commit: refused (not_owner, unknown_member) once the member
// no longer owns a partition.
result<void, client_error> commit_group_offsets(client& c, std::string_view group, std::string_view topic,
                                                std::span<const partition_offset> offsets, std::string_view member_id,
                                                std::uint32_t generation);
result<std::vector<group_info>, client_error> list_groups(client& c);
// One entry per topic the group has consumed; not_found for an unknown group.
result<std::vector<group_info>, client_error> describe_group(client& c, std::string_view group);
// The offsets committed; refused (group_active) while the group has members.
result<std::vector<partition_offset>, client_error> reset_group(client& c, std::string_view group, std::string_view topic,
                                                                reset_target to, std::int64_t value = 0);

}  // namespace muninn::client
