// The requests of consumer offsets and consumer groups: decoded here and
// answered by the group_coordinator (broker/groups.h). Part of the request
// handler; holds no state of its own.
#pragma once

#include "broker/handlers.h"
#include "codec/protocol_generated.h"

namespace muninn::broker {

class group_coordinator;

// Commit/FetchOffsets, Join/Heartbeat/LeaveGroup, List/DescribeGroup and
// ResetGroup requests; exactly one response each.
void handle_group_request(group_coordinator& groups, const fb::Request& req, const responder& respond);

}  // namespace muninn::broker
