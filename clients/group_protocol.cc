#include "clients/group_protocol.h"

#include "clients/json_lines.h"

namespace muninn::client {
namespace {

using builder = flatbuffers::FlatBufferBuilder;

template <class T>
frame_bytes finish(builder& b, std::uint64_t corr, fb::RequestBody type, flatbuffers::Offset<T> body) {
  return finish_request(b, corr, type, body.Union());
}

flatbuffers::Offset<flatbuffers::String> str(builder& b, std::string_view s) { return b.CreateString(s.data(), s.size()); }

std::string_view sv(const flatbuffers::String* s) noexcept { return s ? s->string_view() : std::string_view{}; }

std::vector<std::uint32_t> partitions(const flatbuffers::Vector<std::int32_t>* v) {
  std::vector<std::uint32_t> out;
  if (v)
    for (auto p : *v)
      if (p >= 0) out.push_back(std::uint32_t(p));
  return out;
}

std::string json_partitions(const std::vector<std::uint32_t>& v) {
  std::string s = "[";
  for (std::size_t i = 0; i < v.size(); ++i) s += (i ? "," : "") + std::to_string(v[i]);
  return s + "]";
}

}  // namespace

frame_bytes encode_join_group(std::uint64_t corr, std::string_view group, std::string_view topic,
                              std::string_view member_id, std::uint32_t session_timeout_ms, std::string_view client_name) {
  builder b(128 + group.size() + topic.size() + member_id.size() + client_name.size());
  auto g = str(b, group), t = str(b, topic), m = str(b, member_id), c = str(b, client_name);
  return finish(b, corr, fb::RequestBody::JoinGroupRequest, fb::CreateJoinGroupRequest(b, g, t, m, session_timeout_ms, c));
}

frame_bytes encode_heartbeat(std::uint64_t corr, std::string_view group, std::string_view member_id,
                             std::uint32_t generation, std::span<const std::uint32_t> owned) {
  builder b(128 + group.size() + member_id.size() + owned.size() * 4);
  auto g = str(b, group), m = str(b, member_id);
  std::vector<std::int32_t> o(owned.begin(), owned.end());
  auto ov = b.CreateVector(o);
  return finish(b, corr, fb::RequestBody::HeartbeatRequest, fb::CreateHeartbeatRequest(b, g, m, generation, ov));
}

frame_bytes encode_leave_group(std::uint64_t corr, std::string_view group, std::string_view member_id) {
  builder b(96 + group.size() + member_id.size());
  auto g = str(b, group), m = str(b, member_id);
  return finish(b, corr, fb::RequestBody::LeaveGroupRequest, fb::CreateLeaveGroupRequest(b, g, m));
}

frame_bytes encode_list_groups(std::uint64_t corr) {
  builder b(64);
  return finish(b, corr, fb::RequestBody::ListGroupsRequest, fb::CreateListGroupsRequest(b));
}

frame_bytes encode_describe_group(std::uint64_t corr, std::string_view group) {
  builder b(64 + group.size());
  auto g = str(b, group);
  return finish(b, corr, fb::RequestBody::DescribeGroupRequest, fb::CreateDescribeGroupRequest(b, g));
}

frame_bytes encode_reset_group(std::uint64_t corr, std::string_view group, std::string_view topic, reset_target to,
                               std::int64_t value) {
  builder b(96 + group.size() + topic.size());
  auto g = str(b, group), t = str(b, topic);
  return finish(b, corr, fb::RequestBody::ResetGroupRequest,
                fb::CreateResetGroupRequest(b, g, t, static_cast<fb::ResetTo>(to), value));
}

group_assignment assignment_from(const fb::GroupAssignment& a) {
  group_assignment out;
  out.generation = a.generation();
  out.assigned = partitions(a.assigned());
  out.waiting = partitions(a.waiting());
  out.heartbeat_interval_ms = a.heartbeat_interval_ms();
  return out;
}

std::uint64_t group_info::lag() const noexcept {
  std::uint64_t n = 0;
  for (const auto& p : partitions) n += p.lag;
  return n;
}

std::string group_info::to_json() const {
  std::string s = "{\"group\":" + json_quote(group) + ",\"topic\":" + json_quote(topic) + ",\"state\":" +
                  json_quote(state) + ",\"generation\":" + std::to_string(generation) + ",\"lag\":" +
                  std::to_string(lag()) + ",\"members\":[";
  for (std::size_t i = 0; i < members.size(); ++i) {
    const auto& m = members[i];
    s += std::string(i ? "," : "") + "{\"member_id\":" + json_quote(m.member_id) + ",\"client\":" + json_quote(m.client) +
         ",\"assigned\":" + json_partitions(m.assigned) + ",\"waiting\":" + json_partitions(m.waiting) +
         ",\"since_heartbeat_ms\":" + std::to_string(m.since_heartbeat_ms) +
         ",\"session_timeout_ms\":" + std::to_string(m.session_timeout_ms) + "}";
  }
  s += "],\"partitions\":[";
  for (std::size_t i = 0; i < partitions.size(); ++i) {
    const auto& p = partitions[i];
    s += std::string(i ? "," : "") + "{\"partition\":" + std::to_string(p.partition) + ",\"committed\":" +
         (p.committed < 0 ? std::string("null") : std::to_string(p.committed)) + ",\"head\":" + std::to_string(p.head) +
         ",\"lag\":" + std::to_string(p.lag) + ",\"owner\":" + (p.owner.empty() ? std::string("null") : json_quote(p.owner)) +
         "}";
  }
  return s + "]}";
}

std::vector<group_info> groups_from(const fb::GroupsResponse& r) {
  std::vector<group_info> out;
  if (!r.groups()) return out;
  for (const auto* g : *r.groups()) {
    group_info gi;
    gi.group = std::string(sv(g->group()));
    gi.topic = std::string(sv(g->topic()));
    gi.state = std::string(sv(g->state()));
    gi.generation = g->generation();
    if (g->members())
      for (const auto* m : *g->members())
        gi.members.push_back({std::string(sv(m->member_id())), std::string(sv(m->client())), partitions(m->assigned()),
                              partitions(m->waiting()), m->since_heartbeat_ms(), m->session_timeout_ms()});
    if (g->partitions())
      for (const auto* p : *g->partitions())
        gi.partitions.push_back({std::uint32_t(std::max(0, p->partition())), p->committed(), p->head(), p->lag(),
                                 std::string(sv(p->owner()))});
    out.push_back(std::move(gi));
  }
  return out;
}

}  // namespace muninn::client
