#include "broker/groups.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>

#include "broker/group_assignment.h"
#include "codec/batch.h"

namespace muninn::broker {
namespace {

// The record format of a commit (docs/storage-format.md, "__offsets").
constexpr std::string_view record_content_type = "application/x-muninn-offset-record";
// Before groups, a record held only the offset as 8 bytes (little-endian).
constexpr std::string_view legacy_content_type = "application/x-muninn-offset";
constexpr std::string_view record_type = "OffsetCommitted";

std::string offsets_stream(std::string_view consumer, std::string_view topic, std::uint32_t partition) {
  return "offsets-" + std::string(consumer) + "-" + std::string(topic) + "-" + std::to_string(partition);
}

bool valid_name(std::string_view name) {
  if (name.empty() || name.size() > 100) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
  });
}

group_error err(fb::ErrorCode code, std::string message) { return {code, std::move(message)}; }

std::vector<std::uint8_t> encode_record(std::string_view consumer, std::string_view topic, const partition_commit& c,
                                        std::string_view member_id, std::uint32_t generation) {
  flatbuffers::FlatBufferBuilder b(128);
  b.Finish(fb::CreateOffsetRecord(b, b.CreateString(consumer), b.CreateString(topic), std::int32_t(c.partition), c.offset,
                                  member_id.empty() ? 0 : b.CreateString(member_id), generation));
  return {b.GetBufferPointer(), b.GetBufferPointer() + b.GetSize()};
}

// The (consumer, topic) of a legacy record, from its stream name: the
// longest topic that ends the name wins (names may contain '-').
bool parse_legacy_stream(std::string_view stream, const std::vector<std::string>& topics, std::string& consumer,
                         std::string& topic, std::uint32_t& partition) {
  constexpr std::string_view prefix = "offsets-";
  if (!stream.starts_with(prefix)) return false;
  const auto dash = stream.rfind('-');
  if (dash == std::string_view::npos || dash + 1 >= stream.size()) return false;
  std::uint32_t p = 0;
  for (char c : stream.substr(dash + 1)) {
    if (c < '0' || c > '9' || p > max_partitions) return false;
    p = p * 10 + std::uint32_t(c - '0');
  }
  const auto middle = stream.substr(prefix.size(), dash - prefix.size());  // consumer-topic
  std::size_t best = 0;
  for (const auto& t : topics)
    if (t.size() + 2 <= middle.size() && t.size() > best && middle.ends_with(t) && middle[middle.size() - t.size() - 1] == '-')
      best = t.size();
  if (best == 0) return false;
  consumer = std::string(middle.substr(0, middle.size() - best - 1));
  topic = std::string(middle.substr(middle.size() - best));
  partition = p;
  return true;
}

}  // namespace

group_coordinator::group_coordinator(topic_registry& topics, group_options options)
    : topics_(topics), options_(options) {}

result<std::unique_ptr<group_coordinator>, std::string> group_coordinator::open(topic_registry& topics,
                                                                               group_options options) {
  std::unique_ptr<group_coordinator> g(new group_coordinator(topics, options));
  if (auto r = g->replay(); !r) return unexpected{r.error()};
  return g;
}

result<void, std::string> group_coordinator::replay() {
  auto& log = topics_.offsets_log();
  std::vector<std::string> topic_names;
  for (const auto& t : topics_.list()) topic_names.push_back(t->config().name);
  const std::uint64_t head = log.head();
  std::uint64_t at = 0, records = 0, skipped = 0;
  auto store = [&](const std::string& consumer, const std::string& topic, std::uint32_t p, std::uint64_t offset) {
    auto& v = committed_[{consumer, topic}];
    if (v.size() <= p) v.resize(p + 1, -1);
    v[p] = std::int64_t(offset);
    ++records;
  };
  while (at < head) {
    auto chunk = log.read(at, 4u << 20);
    if (!chunk) return unexpected{"cannot read __offsets at offset " + std::to_string(at) + ": " +
                                  std::string(storage::to_string(chunk.error()))};
    if (chunk->batches.empty()) break;
    for (const auto& ref : chunk->batches) {
      const auto* events = ref.batch.batch->events();
      for (flatbuffers::uoffset_t i = 0; i < events->size(); ++i) {
        if (ref.base_offset + i < at) continue;
        const auto* e = events->Get(i);
        const auto ct = e->content_type() ? e->content_type()->string_view() : std::string_view{};
        const auto* data = e->data();
        if (ct == record_content_type && data) {
          flatbuffers::Verifier v(data->data(), data->size());
          if (!v.VerifyBuffer<fb::OffsetRecord>(nullptr)) {
            ++skipped;
            continue;
          }
          const auto* r = flatbuffers::GetRoot<fb::OffsetRecord>(data->data());
          if (!r->consumer() || !r->topic() || r->partition() < 0 || std::uint32_t(r->partition()) >= max_partitions) {
            ++skipped;
            continue;
          }
          store(r->consumer()->str(), r->topic()->str(), std::uint32_t(r->partition()), r->offset());
        } else if (ct == legacy_content_type && data && data->size() == 8) {
          std::string consumer, topic;
          std::uint32_t p = 0;
          if (!parse_legacy_stream(e->stream()->string_view(), topic_names, consumer, topic, p)) {
            ++skipped;
            continue;
          }
          std::uint64_t o = 0;
          for (int k = 7; k >= 0; --k) o = (o << 8) | data->Get(flatbuffers::uoffset_t(k));
          store(consumer, topic, p, o);
        } else {
          ++skipped;
        }
      }
      at = ref.base_offset + ref.count;
    }
  }
  spdlog::info("offsets: replayed {} commit records of {} consumers and groups from __offsets ({} not commits)", records,
               committed_.size(), skipped);
  return {};
}

// ---- offsets ------------------------------------------------------------------

void group_coordinator::commit(std::string_view consumer, std::string_view topic,
                               std::span<const partition_commit> offsets, std::string_view member_id,
                               std::uint32_t generation, commit_callback done) {
  if (!valid_name(consumer))
    return done(unexpected{err(fb::ErrorCode::invalid_argument, "consumer and group names are 1-100 characters of [A-Za-z0-9._-]")});
  auto t = topics_.find(topic);
  if (!t) return done(unexpected{err(fb::ErrorCode::unknown_topic, "unknown topic '" + std::string(topic) + "'")});
  if (offsets.empty() || offsets.size() > t->partitions())
    return done(unexpected{err(fb::ErrorCode::invalid_argument,
                               "commit 1 to " + std::to_string(t->partitions()) + " partition offsets")});
  for (const auto& c : offsets) {
    if (c.partition >= t->partitions())
      return done(unexpected{err(fb::ErrorCode::unknown_partition, "topic '" + std::string(topic) + "' has no partition " +
                                                                       std::to_string(c.partition))});
    if (c.offset > t->partition(c.partition).head())
      return done(unexpected{err(fb::ErrorCode::offset_out_of_range, "offset " + std::to_string(c.offset) +
                                                                          " is beyond the head of partition " +
                                                                          std::to_string(c.partition))});
  }
  {
    std::lock_guard lock(mu_);
    expire_locked(now_());
    auto g = groups_.find(consumer);
    if (member_id.empty()) {
      if (g != groups_.end())
        return done(unexpected{err(fb::ErrorCode::group_active, "group '" + std::string(consumer) + "' has " +
                                                                    std::to_string(g->second.members.size()) +
                                                                    " live members: only they commit its offsets")});
    } else {
      if (g == groups_.end() || !g->second.members.contains(member_id))
        return done(unexpected{err(fb::ErrorCode::unknown_member,
                                   "member " + std::string(member_id) + " is not in group '" + std::string(consumer) +
                                       "' (it left or missed its session timeout): rejoin")});
      auto& lg = g->second;
      if (lg.topic != topic)
        return done(unexpected{err(fb::ErrorCode::invalid_argument, "group '" + std::string(consumer) + "' consumes topic '" +
                                                                        lg.topic + "', not '" + std::string(topic) + "'")});
      if (generation > lg.generation)
        return done(unexpected{err(fb::ErrorCode::invalid_argument, "generation " + std::to_string(generation) +
                                                                        " is newer than the group's " +
                                                                        std::to_string(lg.generation))});
      for (const auto& c : offsets) {
        const auto& s = lg.slots[c.partition];
        if (s.owner != member_id || generation < s.granted_generation)
          return done(unexpected{err(fb::ErrorCode::not_owner,
                                     "partition " + std::to_string(c.partition) + " of '" + std::string(topic) +
                                         "' is not assigned to member " + std::string(member_id) + " in generation " +
                                         std::to_string(generation))});
      }
      for (const auto& c : offsets) ++lg.slots[c.partition].pending_commits;
    }
  }
  append_commits(consumer, topic, {offsets.begin(), offsets.end()}, member_id, generation, std::move(done));
}

void group_coordinator::append_commits(std::string_view consumer, std::string_view topic,
                                       std::vector<partition_commit> offsets, std::string_view member_id,
                                       std::uint32_t generation, commit_callback done) {
  struct owned {
    std::vector<std::string> streams;
    std::vector<std::vector<std::uint8_t>> values;
    std::vector<codec::event_in> events;
  } o;
  o.events.resize(offsets.size());
  for (const auto& c : offsets) {
    o.streams.push_back(offsets_stream(consumer, topic, c.partition));
    o.values.push_back(encode_record(consumer, topic, c, member_id, generation));
  }
  for (std::size_t i = 0; i < offsets.size(); ++i) {
    auto& e = o.events[i];
    e.stream = o.streams[i];
    e.type = record_type;
    e.id = codec::event_id::generate_v7();
    e.content_type = record_content_type;
    e.data = std::as_bytes(std::span(o.values[i]));
  }
  storage::append_request ar;
  ar.events = o.events;
  // The log copies the events before append() returns.
  topics_.offsets_log().append(ar, [this, key = std::pair<std::string, std::string>(consumer, topic),
                                    member = std::string(member_id), offsets, done = std::move(done)](storage::append_result r) {
    {
      std::lock_guard lock(mu_);
      if (!member.empty()) {
        auto g = groups_.find(key.first);
        if (g != groups_.end())
          for (const auto& c : offsets)
            if (c.partition < g->second.slots.size() && g->second.slots[c.partition].pending_commits > 0)
              --g->second.slots[c.partition].pending_commits;
      }
      if (r) {
        auto& v = committed_[key];
        for (const auto& c : offsets) {
          if (v.size() <= c.partition) v.resize(c.partition + 1, -1);
          v[c.partition] = std::int64_t(c.offset);
        }
      }
    }
    if (!r) {
      const auto code = r.error().code == storage::errc::closed ? fb::ErrorCode::shutting_down
                        : r.error().code == storage::errc::fenced ? fb::ErrorCode::fenced
                                                                  : fb::ErrorCode::io_error;
      return done(unexpected{err(code, "cannot append the commit to __offsets: " + r.error().message)});
    }
    done(offsets);
  });
}

result<std::vector<partition_commit>, group_error> group_coordinator::committed(std::string_view consumer,
                                                                                std::string_view topic) const {
  auto t = topics_.find(topic);
  if (!t) return unexpected{err(fb::ErrorCode::unknown_topic, "unknown topic '" + std::string(topic) + "'")};
  std::vector<partition_commit> out;
  std::lock_guard lock(mu_);
  auto it = committed_.find(std::pair<std::string, std::string>(consumer, topic));
  if (it == committed_.end()) return out;
  for (std::uint32_t p = 0; p < it->second.size() && p < t->partitions(); ++p)
    if (it->second[p] >= 0) out.push_back({p, std::uint64_t(it->second[p])});
  return out;
}

// ---- membership ---------------------------------------------------------------

result<member_assignment, group_error> group_coordinator::join(std::string_view group, std::string_view topic,
                                                               std::string_view member_id,
                                                               std::chrono::milliseconds session_timeout,
                                                               std::string_view client) {
  if (!valid_name(group))
    return unexpected{err(fb::ErrorCode::invalid_argument, "group names are 1-100 characters of [A-Za-z0-9._-]")};
  if (member_id.empty() || member_id.size() > 100)
    return unexpected{err(fb::ErrorCode::invalid_argument, "member id must be 1-100 bytes")};
  if (session_timeout < options_.min_session_timeout || session_timeout > options_.max_session_timeout)
    return unexpected{err(fb::ErrorCode::invalid_argument,
                          "session timeout must be " + std::to_string(options_.min_session_timeout.count()) + " to " +
                              std::to_string(options_.max_session_timeout.count()) + " ms")};
  auto t = topics_.find(topic);
  if (!t) return unexpected{err(fb::ErrorCode::unknown_topic, "unknown topic '" + std::string(topic) + "'")};
  std::lock_guard lock(mu_);
  const auto now = now_();
  expire_locked(now);
  auto it = groups_.find(group);
  if (it == groups_.end()) {
    it = groups_.emplace(std::string(group), live_group{}).first;
    it->second.name = std::string(group);
    it->second.topic = std::string(topic);
    it->second.slots.resize(t->partitions());
    it->second.generation = generations_[std::string(group)];
  } else if (it->second.topic != topic) {
    return unexpected{err(fb::ErrorCode::invalid_argument, "group '" + std::string(group) + "' consumes topic '" +
                                                               it->second.topic + "' now, not '" + std::string(topic) + "'")};
  }
  auto& g = it->second;
  auto m = g.members.find(member_id);
  if (m == g.members.end()) {
    member nm;
    nm.client = std::string(client.substr(0, 200));
    nm.session_timeout = session_timeout;
    nm.joined = ++joins_;
    m = g.members.emplace(std::string(member_id), nm).first;
    spdlog::info("group {}: member {} ({}) joined", group, member_id, nm.client);
    rebalance_locked(g);
  }
  m->second.last_seen = now;
  return grant_locked(g, m->first);
}

result<member_assignment, group_error> group_coordinator::heartbeat(std::string_view group, std::string_view member_id,
                                                                    std::uint32_t generation,
                                                                    std::span<const std::uint32_t> owned) {
  std::lock_guard lock(mu_);
  const auto now = now_();
  expire_locked(now);
  auto it = groups_.find(group);
  if (it == groups_.end() || !it->second.members.contains(member_id))
    return unexpected{err(fb::ErrorCode::unknown_member, "member " + std::string(member_id) + " is not in group '" +
                                                             std::string(group) + "' (it left or missed its session timeout): rejoin")};
  auto& g = it->second;
  if (generation > g.generation)
    return unexpected{err(fb::ErrorCode::invalid_argument, "generation " + std::to_string(generation) +
                                                               " is newer than the group's " + std::to_string(g.generation))};
  auto& m = g.members.find(member_id)->second;
  m.last_seen = now;
  // A partition it owns, does not report, and should give up is released.
  for (std::uint32_t p = 0; p < g.slots.size(); ++p) {
    auto& s = g.slots[p];
    if (s.owner == member_id && s.target != member_id &&
        std::find(owned.begin(), owned.end(), p) == owned.end()) {
      s.owner.clear();
    }
  }
  return grant_locked(g, std::string(member_id));
}

result<void, group_error> group_coordinator::leave(std::string_view group, std::string_view member_id) {
  std::lock_guard lock(mu_);
  auto it = groups_.find(group);
  if (it == groups_.end() || !it->second.members.contains(member_id))
    return unexpected{err(fb::ErrorCode::unknown_member, "member " + std::string(member_id) + " is not in group '" +
                                                             std::string(group) + "'")};
  spdlog::info("group {}: member {} left", group, member_id);
  remove_member_locked(it->second, std::string(member_id));
  if (it->second.members.empty()) groups_.erase(it);
  return {};
}

void group_coordinator::expire() {
  std::lock_guard lock(mu_);
  expire_locked(now_());
}

void group_coordinator::expire_locked(clock::time_point now) {
  for (auto g = groups_.begin(); g != groups_.end();) {
    std::vector<std::string> dead;
    for (const auto& [id, m] : g->second.members)
      if (now - m.last_seen > m.session_timeout) dead.push_back(id);
    for (const auto& id : dead) {
      spdlog::warn("group {}: member {} missed its session timeout: removed", g->first, id);
      remove_member_locked(g->second, id);
    }
    if (g->second.members.empty())
      g = groups_.erase(g);
    else
      ++g;
  }
}

void group_coordinator::remove_member_locked(live_group& g, const std::string& member_id) {
  g.members.erase(member_id);
  for (auto& s : g.slots)
    if (s.owner == member_id) s.owner.clear();
  rebalance_locked(g);
}

void group_coordinator::rebalance_locked(live_group& g) {
  std::vector<std::string> ids;
  for (const auto& [id, m] : g.members) ids.push_back(id);
  std::sort(ids.begin(), ids.end(), [&](const auto& a, const auto& b) { return g.members[a].joined < g.members[b].joined; });
  std::vector<int> current(g.slots.size(), no_member);
  for (std::size_t p = 0; p < g.slots.size(); ++p) {
    auto at = std::find(ids.begin(), ids.end(), g.slots[p].target);
    if (at != ids.end()) current[p] = int(at - ids.begin());
  }
  const auto next = assign_partitions(current, ids.size());
  for (std::size_t p = 0; p < g.slots.size(); ++p) g.slots[p].target = next[p] == no_member ? std::string() : ids[std::size_t(next[p])];
  ++g.generation;
  // Generations only grow while the broker runs, also across a group's
  // emptying; member ids (chosen by members) keep fencing across restarts.
  generations_[g.name] = g.generation;
}

member_assignment group_coordinator::grant_locked(live_group& g, const std::string& member_id) {
  member_assignment a;
  a.generation = g.generation;
  const auto& m = g.members.find(member_id)->second;
  a.heartbeat_interval_ms = std::uint32_t(std::max<std::int64_t>(100, m.session_timeout.count() / 3));
  for (std::uint32_t p = 0; p < g.slots.size(); ++p) {
    auto& s = g.slots[p];
    if (s.target != member_id) continue;
    if (s.owner.empty() && s.pending_commits == 0) {
      s.owner = member_id;
      s.granted_generation = g.generation;
    }
    (s.owner == member_id ? a.assigned : a.waiting).push_back(p);
  }
  return a;
}

// ---- operators ------------------------------------------------------------------

std::vector<group_view> group_coordinator::views_locked(std::string_view only) const {
  const auto now = now_();
  std::map<std::pair<std::string, std::string>, group_view> out;
  auto view_of = [&](const std::string& group, const std::string& topic) -> group_view& {
    auto& v = out[{group, topic}];
    if (v.group.empty()) {
      v.group = group;
      v.topic = topic;
      v.state = "empty";
      if (auto gen = generations_.find(group); gen != generations_.end()) v.generation = gen->second;
      if (auto t = topics_.find(topic)) {
        auto c = committed_.find(std::pair<std::string, std::string>(group, topic));
        for (std::uint32_t p = 0; p < t->partitions(); ++p) {
          group_partition_view pv;
          pv.partition = p;
          pv.head = t->partition(p).head();
          if (c != committed_.end() && p < c->second.size()) pv.committed = c->second[p];
          pv.lag = pv.head - std::min<std::uint64_t>(pv.head, pv.committed < 0 ? 0 : std::uint64_t(pv.committed));
          v.partitions.push_back(pv);
        }
      }
    }
    return v;
  };
  for (const auto& [key, offsets] : committed_)
    if (only.empty() || key.first == only) view_of(key.first, key.second);
  for (const auto& [name, g] : groups_) {
    if (!only.empty() && name != only) continue;
    auto& v = view_of(name, g.topic);
    v.generation = g.generation;
    v.state = "stable";
    for (std::uint32_t p = 0; p < g.slots.size(); ++p) {
      if (g.slots[p].owner != g.slots[p].target) v.state = "rebalancing";
      if (p < v.partitions.size()) v.partitions[p].owner = g.slots[p].owner;
    }
    std::vector<std::pair<std::uint64_t, std::string>> order;
    for (const auto& [id, m] : g.members) order.emplace_back(m.joined, id);
    std::sort(order.begin(), order.end());
    for (const auto& [joined, id] : order) {
      const auto& m = g.members.find(id)->second;
      group_member_view mv;
      mv.member_id = id;
      mv.client = m.client;
      mv.session_timeout_ms = std::uint32_t(m.session_timeout.count());
      mv.since_heartbeat_ms = std::uint32_t(std::chrono::duration_cast<std::chrono::milliseconds>(now - m.last_seen).count());
      for (std::uint32_t p = 0; p < g.slots.size(); ++p) {
        if (g.slots[p].owner == id && g.slots[p].target == id) mv.assigned.push_back(p);
        if (g.slots[p].target == id && g.slots[p].owner != id) mv.waiting.push_back(p);
      }
      v.members.push_back(std::move(mv));
    }
  }
  std::vector<group_view> list;
  for (auto& [k, v] : out) list.push_back(std::move(v));
  return list;
}

std::vector<group_view> group_coordinator::list() const {
  std::lock_guard lock(mu_);
  return views_locked({});
}

result<std::vector<group_view>, group_error> group_coordinator::describe(std::string_view group) const {
  std::lock_guard lock(mu_);
  auto v = views_locked(group);
  if (v.empty()) return unexpected{err(fb::ErrorCode::not_found, "no group '" + std::string(group) + "': no live members and no commits")};
  return v;
}

void group_coordinator::reset(std::string_view group, std::string_view topic, reset_to to, std::int64_t value,
                              commit_callback done) {
  if (!valid_name(group))
    return done(unexpected{err(fb::ErrorCode::invalid_argument, "group names are 1-100 characters of [A-Za-z0-9._-]")});
  auto t = topics_.find(topic);
  if (!t) return done(unexpected{err(fb::ErrorCode::unknown_topic, "unknown topic '" + std::string(topic) + "'")});
  if ((to == reset_to::offset || to == reset_to::time) && value < 0)
    return done(unexpected{err(fb::ErrorCode::invalid_argument, "reset to a negative offset or time")});
  std::vector<partition_commit> offsets;
  for (std::uint32_t p = 0; p < t->partitions(); ++p) {
    const auto& log = t->partition(p);
    std::uint64_t o = 0;
    switch (to) {
      case reset_to::earliest: o = 0; break;
      case reset_to::latest: o = log.head(); break;
      case reset_to::offset: o = std::min(std::uint64_t(value), log.head()); break;
      case reset_to::time: {
        auto r = log.offset_for_time(value);
        if (!r) return done(unexpected{err(fb::ErrorCode::io_error, "partition " + std::to_string(p) + ": " +
                                                                        std::string(storage::to_string(r.error())))});
        o = *r;
        break;
      }
    }
    offsets.push_back({p, o});
  }
  {
    std::lock_guard lock(mu_);
    expire_locked(now_());
    if (auto g = groups_.find(group); g != groups_.end())
      return done(unexpected{err(fb::ErrorCode::group_active,
                                 "group '" + std::string(group) + "' has " + std::to_string(g->second.members.size()) +
                                     " live members: stop them (or wait for their session timeout) before a reset")});
  }
  spdlog::info("group {}: offsets of {} reset", group, topic);
  append_commits(group, topic, std::move(offsets), {}, 0, std::move(done));
}

}  // namespace muninn::broker
