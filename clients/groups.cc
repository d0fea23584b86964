#include "clients/groups.h"

#include "clients/retry.h"

namespace muninn::client {

using detail::checked;
using detail::retrying;

namespace {

result<group_assignment, client_error> assignment_of(result<response, client_error> r) {
  return checked(std::move(r), fb::ResponseBody::GroupAssignment,
                 [](const response& x) -> result<group_assignment, client_error> {
                   return assignment_from(*x.root->body_as_GroupAssignment());
                 });
}

result<std::vector<group_info>, client_error> groups_of(result<response, client_error> r) {
  return checked(std::move(r), fb::ResponseBody::GroupsResponse,
                 [](const response& x) -> result<std::vector<group_info>, client_error> {
                   return groups_from(*x.root->body_as_GroupsResponse());
                 });
}

}  // namespace

result<group_assignment, client_error> join_group(client& c, std::string_view group, std::string_view topic,
                                                  std::string_view member_id, std::uint32_t session_timeout_ms,
                                                  std::string_view client_name) {
  return assignment_of(retrying(c, [&](std::uint64_t corr) {
    return encode_join_group(corr, group, topic, member_id, session_timeout_ms, client_name);
  }));
}

result<group_assignment, client_error> heartbeat(client& c, std::string_view group, std::string_view member_id,
                                                 std::uint32_t generation, std::span<const std::uint32_t> owned) {
  return assignment_of(
      retrying(c, [&](std::uint64_t corr) { return encode_heartbeat(corr, group, member_id, generation, owned); }));
}

result<void, client_error> leave_group(client& c, std::string_view group, std::string_view member_id) {
  auto r = assignment_of(retrying(c, [&](std::uint64_t corr) { return encode_leave_group(corr, group, member_id); }));
  if (!r) return unexpected{r.error()};
  return {};
}

result<void, client_error> commit_group_offsets(client& c, std::string_view group, std::string_view topic,
                                                std::span<const partition_offset> offsets, std::string_view member_id,
                                                std::uint32_t generation) {
  auto r = retrying(c, [&](std::uint64_t corr) {
    return encode_commit_offsets(corr, group, topic, offsets, member_id, generation);
  });
  if (!r) return unexpected{r.error()};
  if (auto e = check_response(*r, fb::ResponseBody::OffsetsResponse)) return unexpected{*e};
  return {};
}

result<std::vector<group_info>, client_error> list_groups(client& c) {
  return groups_of(retrying(c, [&](std::uint64_t corr) { return encode_list_groups(corr); }));
}

result<std::vector<group_info>, client_error> describe_group(client& c, std::string_view group) {
  return groups_of(retrying(c, [&](std::uint64_t corr) { return encode_describe_group(corr, group); }));
}

result<std::vector<partition_offset>, client_error> reset_group(client& c, std::string_view group, std::string_view topic,
                                                                reset_target to, std::int64_t value) {
  return checked(retrying(c, [&](std::uint64_t corr) { return encode_reset_group(corr, group, topic, to, value); }),
                 fb::ResponseBody::OffsetsResponse,
                 [](const response& r) -> result<std::vector<partition_offset>, client_error> {
                   std::vector<partition_offset> out;
                   if (const auto* o = r.root->body_as_OffsetsResponse()->offsets())
                     for (const auto* p : *o) out.push_back({static_cast<std::uint32_t>(p->partition()), p->offset()});
                   return out;
                 });
}

}  // namespace muninn::client
