#include "clients/group_consumer.h"

#include <algorithm>
#include <atomic>
#include <future>

namespace muninn::client {

// One owned partition. The handler wrapper runs on the client's I/O thread
// and touches only the atomics; everything else belongs to the member's
// heartbeat thread.
struct group_consumer::part {
  std::uint32_t partition = 0;
  std::atomic<std::uint64_t> processed{0};
  std::atomic<bool> stopped{false};
  std::atomic<bool> failed{false};
  std::uint64_t committed = 0;  // under commit_mu_
  std::uint64_t target = 0;     // the head when it was granted
  subscription sub;
};

namespace {

std::vector<std::uint32_t> minus(const std::vector<std::uint32_t>& a, const std::vector<std::uint32_t>& b) {
  std::vector<std::uint32_t> out;
  for (auto x : a)
    if (std::find(b.begin(), b.end(), x) == b.end()) out.push_back(x);
  return out;
}

}  // namespace

group_consumer::group_consumer(client& c, group_consumer_options options, group_events_handler on_events,
                               rebalance_handlers handlers)
    : client_(c), options_(std::move(options)), on_events_(std::move(on_events)), handlers_(std::move(handlers)) {
  thread_ = std::thread([this] { run(); });
}

group_consumer::~group_consumer() { close(); }

void group_consumer::report(const client_error& e) {
  if (handlers_.error) handlers_.error(e);
}

void group_consumer::run() {
  using clock = std::chrono::steady_clock;
  auto next_commit = clock::now() + options_.auto_commit_interval;
  auto next_beat = clock::now();
  std::unique_lock lock(mu_);
  while (!closing_) {
    // While a partition waits for its previous owner, or the connection is
    // new, ask again soon: a handover then takes a fraction of a heartbeat.
    const bool urgent = beat_now_ || !waiting_.empty() || client_.connections() != confirmed_connection_.load();
    beat_now_ = false;
    if (!joined_) {
      member_id_ = codec::event_id::generate_v7().to_string();
      const auto id = member_id_;
      lock.unlock();
      const auto connection = client_.connections();
      const auto sent = clock::now();
      auto a = join_group(client_, options_.group, options_.topic, id, std::uint32_t(options_.session_timeout.count()),
                          options_.client_name);
      lock.lock();
      if (!a) {
        report(a.error());
        cv_.wait_for(lock, std::chrono::milliseconds(500), [&] { return closing_; });
        continue;
      }
      joined_ = true;
      confirm(connection, sent);
      lock.unlock();
      apply(*a);
      lock.lock();
      next_beat = clock::now() + heartbeat_interval_;
    } else if (urgent || clock::now() >= next_beat) {
      lock.unlock();
      beat();
      lock.lock();
      next_beat = clock::now() + heartbeat_interval_;
    }
    std::vector<std::function<void()>> commits;
    commits.swap(async_commits_);
    const bool auto_due = options_.auto_commit_interval.count() > 0 && clock::now() >= next_commit;
    lock.unlock();
    if (auto_due) {
      if (auto r = commit_parts({}); !r) report(r.error());
      next_commit = clock::now() + options_.auto_commit_interval;
    }
    for (auto& f : commits) f();
    lock.lock();
    if (closing_ || !joined_) continue;
    auto wake = next_beat;
    if (beat_now_ || !waiting_.empty() || client_.connections() != confirmed_connection_.load())
      wake = std::min(wake, clock::now() + std::chrono::milliseconds(50));
    if (options_.auto_commit_interval.count() > 0) wake = std::min(wake, next_commit);
    cv_.wait_until(lock, wake, [&] { return closing_ || beat_now_ || !async_commits_.empty(); });
  }
  lock.unlock();
  // Closing: deliver nothing more, commit, leave.
  std::vector<std::uint32_t> all;
  for (const auto& [p, pt] : owned_) all.push_back(p);
  stop_partitions(all);
  if (joined_) {
    if (auto r = commit_parts({}); !r) report(r.error());
    if (auto r = leave_group(client_, options_.group, member_id_); !r && r.error().code != fb::ErrorCode::unknown_member)
      report(r.error());
  }
  lock.lock();
  owned_.clear();
  joined_ = false;
}

void group_consumer::beat() {
  std::vector<std::uint32_t> owned;
  for (const auto& [p, pt] : owned_) owned.push_back(p);
  std::string id;
  std::uint32_t gen = 0;
  {
    std::lock_guard lock(mu_);
    id = member_id_;
    gen = generation_;
  }
  const auto connection = client_.connections();
  const auto sent = std::chrono::steady_clock::now();
  auto a = heartbeat(client_, options_.group, id, gen, owned);
  if (!a) {
    report(a.error());
    if (a.error().code == fb::ErrorCode::unknown_member) lose_all();
    return;
  }
  confirm(connection, sent);
  apply(*a);
  restart_failed(a->assigned);
}

void group_consumer::confirm(std::uint64_t connection, std::chrono::steady_clock::time_point sent) {
  last_heartbeat_ok_ = sent.time_since_epoch().count();
  confirmed_connection_ = connection;
}

bool group_consumer::may_deliver() const noexcept {
  if (client_.connections() != confirmed_connection_.load()) return false;
  const auto last = std::chrono::steady_clock::time_point(std::chrono::steady_clock::duration(last_heartbeat_ok_.load()));
  return std::chrono::steady_clock::now() - last <= options_.session_timeout;
}

// Partitions that stopped delivering (their subscription ended, or the
// membership was unconfirmed) while the broker still counts them ours:
// commit what was processed, then start again from there.
void group_consumer::restart_failed(const std::vector<std::uint32_t>& assigned) {
  std::vector<std::uint32_t> failed;
  for (const auto& [p, pt] : owned_)
    if (pt->failed) failed.push_back(p);
  if (failed.empty()) return;
  stop_partitions(failed);
  if (auto r = commit_parts(failed); !r) report(r.error());
  {
    std::lock_guard lock(mu_);
    for (auto p : failed) owned_.erase(p);
  }
  std::vector<std::uint32_t> again;
  for (auto p : failed)
    if (std::find(assigned.begin(), assigned.end(), p) != assigned.end()) again.push_back(p);
  if (!again.empty()) start_partitions(again);
}

void group_consumer::apply(const group_assignment& a) {
  std::vector<std::uint32_t> owned;
  for (const auto& [p, pt] : owned_) owned.push_back(p);
  {
    std::lock_guard lock(mu_);
    generation_ = a.generation;
    waiting_ = a.waiting;
    if (a.heartbeat_interval_ms > 0) heartbeat_interval_ = std::chrono::milliseconds(a.heartbeat_interval_ms);
  }
  const auto revoked = minus(owned, a.assigned);
  if (!revoked.empty()) {
    stop_partitions(revoked);
    if (handlers_.revoked) handlers_.revoked(revoked);
    if (auto r = commit_parts(revoked); !r) report(r.error());
    std::lock_guard lock(mu_);
    for (auto p : revoked) owned_.erase(p);
    beat_now_ = true;  // tell the broker at once that they are free
  }
  const auto added = minus(a.assigned, owned);
  if (!added.empty()) start_partitions(added);
}

void group_consumer::start_partitions(const std::vector<std::uint32_t>& ps) {
  auto committed = client_.fetch_offsets(options_.group, options_.topic);
  if (!committed) return report(committed.error());
  auto info = client_.describe_topic(options_.topic);
  if (!info) return report(info.error());
  if (handlers_.assigned) handlers_.assigned(ps);
  for (auto p : ps) {
    auto pt = std::make_shared<part>();
    pt->partition = p;
    for (const auto& c : *committed)
      if (c.partition == p) pt->committed = c.offset;
    pt->processed = pt->committed;
    for (const auto& pi : info->parts)
      if (pi.id == p) pt->target = pi.head;
    // The handlers hold the part weakly: the part holds the subscription,
    // which holds the handlers.
    std::weak_ptr<part> weak = pt;
    pt->sub = client_.subscribe(
        options_.topic, p, pt->committed,
        [this, weak](std::span<const event_record> events, std::uint64_t) {
          auto pt = weak.lock();
          if (!pt || pt->stopped || events.empty()) return;
          // No heartbeat got through for a session timeout (the broker has
          // probably given the partition to another member), or these
          // events came over a connection no heartbeat has confirmed us a
          // member on (a restarted broker does not know us): deliver
          // nothing, that could be a zombie's work. The next heartbeat
          // restarts the partition if it is still ours.
          if (!may_deliver()) {
            pt->stopped = true;
            pt->failed = true;
            return;
          }
          on_events_(pt->partition, events);
          pt->processed = events.back().offset + 1;
        },
        [this, weak](const client_error& e) {
          if (auto pt = weak.lock()) pt->failed = true;
          report(e);
        },
        options_.subscribe);
    std::lock_guard lock(mu_);
    owned_[p] = pt;
  }
}

void group_consumer::stop_partitions(const std::vector<std::uint32_t>& ps) {
  std::vector<std::shared_ptr<part>> parts;
  for (auto p : ps)
    if (auto it = owned_.find(p); it != owned_.end()) {
      it->second->stopped = true;
      parts.push_back(it->second);
    }
  if (parts.empty()) return;
  // Handlers run on the I/O thread: once this runs there, none is running
  // and, the subscriptions cancelled, none will.
  std::promise<void> done;
  client_.post([&] {
    for (auto& pt : parts) {
      pt->sub.cancel();
      pt->sub = subscription{};
    }
    done.set_value();
  });
  done.get_future().wait();
}

void group_consumer::lose_all() {
  std::vector<std::uint32_t> all;
  for (const auto& [p, pt] : owned_) all.push_back(p);
  stop_partitions(all);
  {
    std::lock_guard lock(mu_);
    owned_.clear();
    waiting_.clear();
    joined_ = false;
  }
  if (!all.empty() && handlers_.lost) handlers_.lost(all);
}

result<void, client_error> group_consumer::commit_parts(const std::vector<std::uint32_t>& only) {
  std::lock_guard commit_lock(commit_mu_);
  std::vector<std::shared_ptr<part>> parts;
  std::string id;
  std::uint32_t gen = 0;
  {
    std::lock_guard lock(mu_);
    if (!joined_) return {};
    id = member_id_;
    gen = generation_;
    for (const auto& [p, pt] : owned_)
      if (only.empty() || std::find(only.begin(), only.end(), p) != only.end()) parts.push_back(pt);
  }
  std::vector<partition_offset> offsets;
  std::vector<std::shared_ptr<part>> changed;
  for (const auto& pt : parts) {
    const auto o = pt->processed.load();
    if (o == pt->committed) continue;
    offsets.push_back({pt->partition, o});
    changed.push_back(pt);
  }
  if (offsets.empty()) return {};
  auto r = commit_group_offsets(client_, options_.group, options_.topic, offsets, id, gen);
  if (!r) return r;
  for (std::size_t i = 0; i < changed.size(); ++i) changed[i]->committed = offsets[i].offset;
  return {};
}

result<void, client_error> group_consumer::commit_sync() {
  if (client_.on_io_thread())
    return unexpected{make_error(error_kind::usage, "commit_sync on the client's I/O thread would deadlock: use commit_async")};
  return commit_parts({});
}

void group_consumer::commit_async(std::function<void(result<void, client_error>)> done) {
  std::lock_guard lock(mu_);
  async_commits_.push_back([this, done = std::move(done)] {
    auto r = commit_parts({});
    if (done) done(r);
  });
  cv_.notify_all();
}

void group_consumer::close() {
  {
    std::lock_guard lock(mu_);
    if (closed_) return;
    closed_ = closing_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::string group_consumer::member_id() const {
  std::lock_guard lock(mu_);
  return member_id_;
}

std::uint32_t group_consumer::generation() const {
  std::lock_guard lock(mu_);
  return generation_;
}

std::vector<std::uint32_t> group_consumer::assignment() const {
  std::lock_guard lock(mu_);
  std::vector<std::uint32_t> out;
  for (const auto& [p, pt] : owned_) out.push_back(p);
  return out;
}

bool group_consumer::caught_up() const {
  std::lock_guard lock(mu_);
  if (!joined_ || !waiting_.empty() || beat_now_) return false;
  return std::all_of(owned_.begin(), owned_.end(), [](const auto& kv) { return kv.second->processed >= kv.second->target; });
}

std::vector<partition_offset> group_consumer::processed() const {
  std::lock_guard lock(mu_);
  std::vector<partition_offset> out;
  for (const auto& [p, pt] : owned_) out.push_back({p, pt->processed.load()});
  return out;
}

}  // namespace muninn::client
