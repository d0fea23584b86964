#include "broker/group_handlers.h"

#include <chrono>

#include "broker/groups.h"
#include "broker/response.h"

namespace muninn::broker {
namespace {

using flatbuffers::FlatBufferBuilder;
using flatbuffers::Offset;

void offsets_response(std::uint64_t corr, const result<std::vector<partition_commit>, group_error>& r,
                      const responder& respond) {
  FlatBufferBuilder b;
  Offset<fb::Error> error;
  std::vector<Offset<fb::PartitionOffset>> out;
  if (r) {
    for (const auto& c : *r) out.push_back(fb::CreatePartitionOffset(b, std::int32_t(c.partition), c.offset));
  } else {
    error = make_error(b, r.error().code, r.error().message);
  }
  respond(finish(b, corr, fb::ResponseBody::OffsetsResponse, fb::CreateOffsetsResponse(b, b.CreateVector(out), error).Union()));
}

void assignment_response(std::uint64_t corr, const result<member_assignment, group_error>& r, const responder& respond) {
  FlatBufferBuilder b;
  if (!r) {
    auto e = make_error(b, r.error().code, r.error().message);
    return respond(finish(b, corr, fb::ResponseBody::GroupAssignment, fb::CreateGroupAssignment(b, 0, 0, 0, 0, e).Union()));
  }
  auto ints = [&](const std::vector<std::uint32_t>& v) {
    std::vector<std::int32_t> out(v.begin(), v.end());
    return b.CreateVector(out);
  };
  auto assigned = ints(r->assigned);
  auto waiting = ints(r->waiting);
  respond(finish(b, corr, fb::ResponseBody::GroupAssignment,
                 fb::CreateGroupAssignment(b, r->generation, assigned, waiting, r->heartbeat_interval_ms).Union()));
}

Offset<fb::GroupInfo> group_info(FlatBufferBuilder& b, const group_view& v) {
  auto ints = [&](const std::vector<std::uint32_t>& x) {
    std::vector<std::int32_t> out(x.begin(), x.end());
    return b.CreateVector(out);
  };
  std::vector<Offset<fb::GroupMember>> members;
  for (const auto& m : v.members)
    members.push_back(fb::CreateGroupMember(b, b.CreateString(m.member_id), b.CreateString(m.client), ints(m.assigned),
                                            ints(m.waiting), m.since_heartbeat_ms, m.session_timeout_ms));
  std::vector<Offset<fb::GroupPartition>> parts;
  for (const auto& p : v.partitions)
    parts.push_back(fb::CreateGroupPartition(b, std::int32_t(p.partition), p.committed, p.head, p.lag,
                                             p.owner.empty() ? 0 : b.CreateString(p.owner)));
  return fb::CreateGroupInfo(b, b.CreateString(v.group), b.CreateString(v.topic), b.CreateString(v.state), v.generation,
                             b.CreateVector(members), b.CreateVector(parts));
}

void groups_response(std::uint64_t corr, const result<std::vector<group_view>, group_error>& r, const responder& respond) {
  FlatBufferBuilder b;
  if (!r) {
    auto e = make_error(b, r.error().code, r.error().message);
    return respond(finish(b, corr, fb::ResponseBody::GroupsResponse, fb::CreateGroupsResponse(b, 0, e).Union()));
  }
  std::vector<Offset<fb::GroupInfo>> infos;
  for (const auto& v : *r) infos.push_back(group_info(b, v));
  respond(finish(b, corr, fb::ResponseBody::GroupsResponse, fb::CreateGroupsResponse(b, b.CreateVector(infos)).Union()));
}

std::string_view sv(const flatbuffers::String* s) { return s ? s->string_view() : std::string_view{}; }

}  // namespace

void handle_group_request(group_coordinator& groups, const fb::Request& req, const responder& respond) {
  const auto corr = req.correlation_id();
  auto reply_offsets = [corr, respond](result<std::vector<partition_commit>, group_error> r) {
    offsets_response(corr, r, respond);
  };
  switch (req.body_type()) {
    case fb::RequestBody::CommitOffsetsRequest: {
      const auto* r = req.body_as_CommitOffsetsRequest();
      std::vector<partition_commit> offsets;
      for (const auto* po : *r->offsets()) {
        if (po->partition() < 0)
          return offsets_response(corr, unexpected{group_error{fb::ErrorCode::unknown_partition, "negative partition " +
                                                                                                   std::to_string(po->partition())}},
                                  respond);
        offsets.push_back({std::uint32_t(po->partition()), po->offset()});
      }
      return groups.commit(r->consumer()->string_view(), r->topic()->string_view(), offsets, sv(r->member_id()),
                           r->generation(), reply_offsets);
    }
    case fb::RequestBody::FetchOffsetsRequest: {
      const auto* r = req.body_as_FetchOffsetsRequest();
      return offsets_response(corr, groups.committed(r->consumer()->string_view(), r->topic()->string_view()), respond);
    }
    case fb::RequestBody::JoinGroupRequest: {
      const auto* r = req.body_as_JoinGroupRequest();
      return assignment_response(corr,
                                 groups.join(r->group()->string_view(), r->topic()->string_view(), r->member_id()->string_view(),
                                             std::chrono::milliseconds(r->session_timeout_ms()), sv(r->client())),
                                 respond);
    }
    case fb::RequestBody::HeartbeatRequest: {
      const auto* r = req.body_as_HeartbeatRequest();
      std::vector<std::uint32_t> owned;
      if (r->owned())
        for (auto p : *r->owned())
          if (p >= 0) owned.push_back(std::uint32_t(p));
      return assignment_response(corr, groups.heartbeat(r->group()->string_view(), r->member_id()->string_view(),
                                                        r->generation(), owned),
                                 respond);
    }
    case fb::RequestBody::LeaveGroupRequest: {
      const auto* r = req.body_as_LeaveGroupRequest();
      auto left = groups.leave(r->group()->string_view(), r->member_id()->string_view());
      if (!left) return assignment_response(corr, unexpected{left.error()}, respond);
      return assignment_response(corr, member_assignment{}, respond);
    }
    case fb::RequestBody::ListGroupsRequest: return groups_response(corr, groups.list(), respond);
    case fb::RequestBody::DescribeGroupRequest:
      return groups_response(corr, groups.describe(req.body_as_DescribeGroupRequest()->group()->string_view()), respond);
    case fb::RequestBody::ResetGroupRequest: {
      const auto* r = req.body_as_ResetGroupRequest();
      reset_to to = reset_to::earliest;
      switch (r->to()) {
        case fb::ResetTo::earliest: to = reset_to::earliest; break;
        case fb::ResetTo::latest: to = reset_to::latest; break;
        case fb::ResetTo::offset: to = reset_to::offset; break;
        case fb::ResetTo::time: to = reset_to::time; break;
        default:
          return offsets_response(corr, unexpected{group_error{fb::ErrorCode::invalid_argument, "unknown reset target"}}, respond);
      }
      return groups.reset(r->group()->string_view(), r->topic()->string_view(), to, r->value(), reply_offsets);
    }
    default:
      return respond(error_frame(corr, std::uint16_t(fb::ErrorCode::unknown_request), "not a group request"));
  }
}

}  // namespace muninn::broker
