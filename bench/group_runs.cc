#include "bench/group_runs.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <span>
#include <sstream>
#include <thread>

#include "bench/broker_process.h"
#include "clients/group_consumer.h"
#include "clients/groups.h"

namespace muninn::bench::group_bench {
namespace {

using broker_bench::connect;
using broker_bench::cpu_window;
using broker_bench::interrupted;
using broker_bench::shared_failure;
using storage_bench::now_ns;
using storage_bench::seconds_between;

// Runs `f` when the scope ends, on every path out of a run.
template <class F>
struct at_exit {
  F f;
  ~at_exit() { f(); }
};

std::string list_text(const std::vector<std::uint32_t>& ps) {
  std::string s;
  for (auto p : ps) s += (s.empty() ? "" : ",") + std::to_string(p);
  return s.empty() ? "-" : s;
}

bool sleep_checked(double seconds, const shared_failure& sf) {
  const std::uint64_t until = now_ns() + static_cast<std::uint64_t>(seconds * 1e9);
  while (now_ns() < until) {
    if (interrupted || sf.failed()) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

// Raises `a` to `v`; true (and the value before in `before`) if it did.
bool raise_to(std::atomic<std::uint64_t>& a, std::uint64_t v, std::uint64_t& before) {
  before = a.load();
  while (v > before)
    if (a.compare_exchange_weak(before, v)) return true;
  return false;
}

// What the handlers of all members of a drain share. Partition progress is
// the highest offset delivered, so that a redelivery after a handover
// neither ends the run early nor counts twice.
struct drain_state {
  explicit drain_state(const std::vector<std::uint64_t>& h)
      : heads(h), high(std::make_unique<std::atomic<std::uint64_t>[]>(h.size())) {
    for (std::size_t p = 0; p < h.size(); ++p) {
      high[p] = 0;
      if (h[p] == 0) ++done_parts;
    }
  }

  void on_events(std::uint32_t p, std::span<const client::event_record> evs) {
    if (evs.empty() || p >= heads.size()) return;
    std::uint64_t bytes = 0;
    for (const auto& e : evs) bytes += e.data().size();  // looks at every event, as the plain replay does
    data += bytes;
    delivered += evs.size();
    std::uint64_t before = 0;
    const std::uint64_t next = evs.back().offset + 1;
    if (raise_to(high[p], next, before) && before < heads[p] && next >= heads[p])
      if (done_parts.fetch_add(1) + 1 == heads.size()) t_done = now_ns();
  }

  void note_error(std::string what) {
    std::lock_guard lock(mu);
    if (errors++ == 0) first_error = std::move(what);
  }

  const std::vector<std::uint64_t>& heads;
  std::unique_ptr<std::atomic<std::uint64_t>[]> high;
  std::atomic<std::uint64_t> delivered{0}, data{0}, done_parts{0}, t_done{0}, moves{0};
  std::mutex mu;
  std::uint64_t errors = 0;  // under mu
  std::string first_error;   // under mu
};

// "" when every partition's committed offset is at its head; else the
// first one that is not, for the error line.
std::string behind_heads(const std::vector<client::partition_offset>& committed, const std::vector<std::uint64_t>& heads) {
  for (std::uint32_t p = 0; p < heads.size(); ++p) {
    const auto it = std::find_if(committed.begin(), committed.end(), [&](const auto& c) { return c.partition == p; });
    const std::string at = it == committed.end() ? "nothing" : std::to_string(it->offset);
    if (it == committed.end() ? heads[p] > 0 : it->offset < heads[p])
      return "partition " + std::to_string(p) + " has committed " + at + " of head " + std::to_string(heads[p]);
  }
  return {};
}

// The `muninn consume --group` member that gets killed. Killed and reaped
// by the destructor if it still runs.
class member_process {
 public:
  ~member_process() { kill(); }
  // The error line, or nullopt once it runs.
  std::optional<std::string> start(const failover_config& cfg, const std::string& address, const std::string& topic,
                                   const std::string& group) {
    if (::access(cfg.muninn.c_str(), X_OK) != 0)
      return "cannot run muninn at " + cfg.muninn + ": " + std::strerror(errno) + " (build it, or pass --muninn PATH)";
    log_ = cfg.log_dir + "/member-" + group + ".log";
    std::vector<std::string> args = {cfg.muninn, "--broker", address,    "consume", "--topic", topic, "--group",
                                     group,      "--follow", "--session-timeout-ms", std::to_string(cfg.session_timeout.count())};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    const pid_t parent = ::getpid();
    pid_ = ::fork();
    if (pid_ == 0) {
      // Only async-signal-safe calls between fork and exec: other threads
      // of this process may hold locks. A benchmark killed hard must not
      // leave the member behind (it would keep its partitions).
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) ::_exit(127);
      const int out = ::open("/dev/null", O_WRONLY);
      const int err = ::open(log_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      if (out >= 0) ::dup2(out, 1);
      if (err >= 0) ::dup2(err, 2);
      ::signal(SIGINT, SIG_DFL);
      ::signal(SIGTERM, SIG_DFL);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    if (pid_ < 0) {
      pid_ = -1;
      return std::string("fork: ") + std::strerror(errno);
    }
    return std::nullopt;
  }
  // True while it runs; reaps it when it has exited.
  bool running() {
    if (pid_ <= 0) return false;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) != pid_) return true;
    pid_ = -1;
    return false;
  }
  void kill() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  pid_t pid() const { return pid_; }
  // The end of its stderr, for an error line (the directory goes at exit).
  std::string log_tail() const {
    std::ifstream in(log_);
    std::stringstream s;
    s << in.rdbuf();
    std::string t = s.str();
    if (t.size() > 600) t = "..." + t.substr(t.size() - 600);
    while (!t.empty() && t.back() == '\n') t.pop_back();
    return t.empty() ? "(its stderr is empty)" : "its stderr: " + t;
  }

 private:
  pid_t pid_ = -1;
  std::string log_;
};

// The group as the broker describes it, for `topic`; nullopt if absent.
std::optional<client::group_info> describe(client::client& c, const std::string& group, const std::string& topic,
                                           shared_failure& sf) {
  auto d = client::describe_group(c, group);
  if (!d) {
    if (d.error().code != fb::ErrorCode::not_found) sf.set("describe group " + group + ": " + d.error().describe());
    return std::nullopt;
  }
  for (auto& g : *d)
    if (g.topic == topic) return g;
  return std::nullopt;
}

bool stable_with_two(const client::group_info& g) {
  if (g.state != "stable" || g.members.size() != 2) return false;
  return std::all_of(g.members.begin(), g.members.end(),
                     [](const auto& m) { return !m.assigned.empty() && m.waiting.empty(); });
}

}  // namespace

drain_row run_group_drain(const broker_ref& broker, const std::string& topic, const std::vector<std::uint64_t>& heads,
                          int members, const std::string& group, failure& fail) {
  drain_row row;
  row.b.name = "group of " + std::to_string(members) + " member" + (members == 1 ? "" : "s");
  shared_failure sf;
  std::vector<std::unique_ptr<client::client>> clients;
  std::map<pid_t, std::string> roles;
  for (int m = 0; m < members && !sf.failed(); ++m) {
    auto c = connect(broker.address, sf);
    if (!c) break;
    // Connects now, so that connecting is not part of the group's time.
    if (auto t = c->describe_topic(topic); !t) sf.set("describe " + topic + ": " + t.error().describe());
    roles[broker_bench::io_thread_id(*c)] = "member I/O";
    clients.push_back(std::move(c));
  }
  auto watcher = sf.failed() ? nullptr : connect(broker.address, sf);
  if (sf.failed()) {
    sf.copy_to(fail);
    return row;
  }
  drain_state st(heads);
  std::vector<std::unique_ptr<client::group_consumer>> group_members;
  at_exit close_members{[&] {
    for (auto& m : group_members) m->close();
  }};
  cpu_window cpu(broker.pid, roles);
  cpu.begin();
  const std::uint64_t t0 = now_ns();
  for (int m = 0; m < members; ++m) {
    client::group_consumer_options o;
    o.group = group;
    o.topic = topic;
    o.client_name = "muninn-bench member " + std::to_string(m);
    client::rebalance_handlers h;
    h.revoked = [&st](const std::vector<std::uint32_t>& ps) { st.moves += ps.size(); };
    h.lost = [&st](const std::vector<std::uint32_t>& ps) { st.note_error("partitions " + list_text(ps) + " lost"); };
    h.error = [&st](const client::client_error& e) { st.note_error(e.describe()); };
    group_members.push_back(std::make_unique<client::group_consumer>(
        *clients[static_cast<std::size_t>(m)], o,
        [&st](std::uint32_t p, std::span<const client::event_record> evs) { st.on_events(p, evs); }, h));
  }
  const std::uint64_t deadline = t0 + 600'000'000'000ull;
  while (st.done_parts.load() < heads.size() && !interrupted && now_ns() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  cpu.end(row.b);
  const bool drained = st.done_parts.load() == heads.size();
  std::uint64_t t_committed = 0;
  if (drained) {
    // Auto-commit (every second) brings the offsets to the heads a moment later.
    const std::uint64_t until = now_ns() + 30'000'000'000ull;
    while (!interrupted) {
      auto c = watcher->fetch_offsets(group, topic);
      if (!c) {
        sf.set("fetch offsets of group " + group + ": " + c.error().describe());
        break;
      }
      const std::string behind = behind_heads(*c, heads);
      if (behind.empty()) {
        t_committed = now_ns();
        break;
      }
      if (now_ns() > until) {
        sf.set("group " + group + ": every event was delivered, but 30 s later " + behind);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  } else {
    sf.set(interrupted ? "interrupted"
                       : "group " + group + ": " + std::to_string(st.done_parts.load()) + " of " +
                             std::to_string(heads.size()) + " partitions reached their heads within 600 s");
  }
  if (interrupted) sf.set("interrupted");
  sf.copy_to(fail);
  if (fail.failed) return row;
  std::uint64_t total = 0;
  for (auto h : heads) total += h;
  const double secs = seconds_between(t0, st.t_done.load());
  row.b.v[broker_bench::b_events] = static_cast<double>(total);
  row.b.v[broker_bench::b_events_s] = static_cast<double>(total) / secs;
  row.b.v[broker_bench::b_data_mb_s] = static_cast<double>(st.data.load()) / secs / 1e6;
  row.committed_s = seconds_between(t0, t_committed);
  row.moves = st.moves.load();
  row.redelivered = st.delivered.load() - std::min(st.delivered.load(), total);
  std::lock_guard lock(st.mu);
  row.errors = st.errors;
  row.first_error = st.first_error;
  return row;
}

failover_result run_failover(const broker_ref& broker, const std::string& topic, const std::string& group,
                             const failover_config& cfg, failure& fail) {
  failover_result out;
  const std::uint32_t parts = cfg.partitions;
  shared_failure sf;
  auto ctl = connect(broker.address, sf);
  auto survivor_client = ctl ? connect(broker.address, sf) : nullptr;
  if (sf.failed()) {
    sf.copy_to(fail);
    return out;
  }

  // The live load: one open-loop producer in small batches, so that every
  // partition gets new events every few milliseconds and a partition's
  // first delivery after the handover is not held back by a quiet log.
  std::atomic<bool> stop_load{false};
  failure load_fail;
  storage_bench::workload work(0);
  const broker_bench::stream_table streams(parts);
  broker_bench::produce_config load;
  load.name = "failover load";
  load.producers = 1;
  load.batch = 20;
  load.acks = client::ack_mode::written;
  load.inflight = 64;
  load.rate = cfg.rate;
  load.warmup = 0;
  load.seconds = 3600;  // ended by stop_load
  load.stop = &stop_load;
  std::thread producer([&] { broker_bench::run_produce(load, broker, topic, streams, work, load_fail); });
  auto end_load = [&] {
    stop_load = true;
    if (producer.joinable()) producer.join();
  };
  at_exit stop_producer{end_load};

  // The survivor: records, per partition, when it was assigned and when its
  // first event arrived after the kill (kill_ns is 0 before it).
  std::atomic<std::uint64_t> kill_ns{0};
  auto assigned_ns = std::make_unique<std::atomic<std::uint64_t>[]>(parts);
  auto first_ns = std::make_unique<std::atomic<std::uint64_t>[]>(parts);
  auto first_offset = std::make_unique<std::atomic<std::uint64_t>[]>(parts);
  for (std::uint32_t p = 0; p < parts; ++p) assigned_ns[p] = first_ns[p] = first_offset[p] = 0;
  client::group_consumer_options o;
  o.group = group;
  o.topic = topic;
  o.session_timeout = cfg.session_timeout;
  o.client_name = "muninn-bench survivor";
  client::rebalance_handlers h;
  h.assigned = [&](const std::vector<std::uint32_t>& ps) {
    const std::uint64_t now = now_ns();
    if (kill_ns.load() == 0) return;
    for (auto p : ps)
      if (p < parts && assigned_ns[p] == 0) assigned_ns[p] = now;
  };
  h.lost = [&](const std::vector<std::uint32_t>& ps) {
    sf.set("the surviving member was fenced (it missed its own session timeout) and lost partitions " + list_text(ps));
  };
  client::group_consumer survivor(
      *survivor_client, o,
      [&](std::uint32_t p, std::span<const client::event_record> evs) {
        const std::uint64_t now = now_ns();
        if (evs.empty() || p >= parts || kill_ns.load() == 0 || first_ns[p] != 0) return;
        first_offset[p] = evs.front().offset;
        first_ns[p] = now;
      },
      h);
  at_exit close_survivor{[&] { survivor.close(); }};

  member_process victim;
  auto wait_for = [&](double seconds, auto&& cond) {
    const std::uint64_t until = now_ns() + static_cast<std::uint64_t>(seconds * 1e9);
    while (!cond()) {
      if (interrupted || sf.failed() || now_ns() > until) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return true;
  };
  std::optional<client::group_info> g;
  do {
    if (!wait_for(30, [&] { return survivor.assignment().size() == parts; })) {
      sf.set("group " + group + ": the first member did not get all " + std::to_string(parts) + " partitions within 30 s");
      break;
    }
    if (auto err = victim.start(cfg, broker.address, topic, group)) {
      sf.set(*err);
      break;
    }
    const std::string victim_client = "muninn consume pid " + std::to_string(victim.pid());
    const bool stable = wait_for(30, [&] {
      if (!victim.running()) return true;
      g = describe(*ctl, group, topic, sf);
      return g && stable_with_two(*g);
    });
    if (!victim.running()) {
      sf.set("muninn consume (the member to be killed) exited early; " + victim.log_tail());
      break;
    }
    if (!stable) {
      sf.set("group " + group + ": not stable with two members within 30 s of starting muninn consume; " +
             victim.log_tail());
      break;
    }
    // The handover that made the group stable also set both members'
    // heartbeat phases, so a fixed warm-up would kill at the same point of
    // their cycles every run; a random part of one interval samples them all.
    std::mt19937_64 rng(std::random_device{}());
    const double beat_s = static_cast<double>(std::max<std::int64_t>(100, cfg.session_timeout.count() / 3)) / 1e3;
    if (!sleep_checked(cfg.warmup_s + std::uniform_real_distribution<double>(0, beat_s)(rng), sf)) break;
    g = describe(*ctl, group, topic, sf);
    if (!g || !stable_with_two(*g)) {
      sf.set("group " + group + ": no longer stable with two members after the warm-up");
      break;
    }
    for (const auto& m : g->members)
      if (m.client == victim_client) out.moved = m.assigned;
    if (out.moved.empty()) {
      sf.set("group " + group + ": no member named '" + victim_client + "'");
      break;
    }
    for (const auto& pi : g->partitions)
      if (pi.committed > 0 && std::find(out.moved.begin(), out.moved.end(), pi.partition) != out.moved.end())
        ++out.killed_committed;
    // The clock starts before the signal is sent: the measured time is
    // never shorter than the real one.
    kill_ns = now_ns();
    victim.kill();
    auto at_kill = ctl->describe_topic(topic);
    if (!at_kill) {
      sf.set("describe " + topic + ": " + at_kill.error().describe());
      break;
    }
    const double limit_s = 3.0 * static_cast<double>(cfg.session_timeout.count()) / 1e3 + 10;
    if (!wait_for(limit_s, [&] {
          return std::all_of(out.moved.begin(), out.moved.end(), [&](auto p) { return first_ns[p] != 0; });
        })) {
      std::vector<std::uint32_t> missing;
      for (auto p : out.moved)
        if (first_ns[p] == 0) missing.push_back(p);
      sf.set("group " + group + ": partitions " + list_text(missing) + " of the killed member were not consumed again within " +
             std::to_string(static_cast<int>(limit_s)) + " s");
      break;
    }
    const std::uint64_t k = kill_ns.load();
    double first = 1e300, last = 0, assigned = 0;
    for (auto p : out.moved) {
      const double ms = static_cast<double>(first_ns[p] - k) / 1e6;
      first = std::min(first, ms);
      last = std::max(last, ms);
      assigned = std::max(assigned, static_cast<double>(assigned_ns[p] - std::min(k, assigned_ns[p].load())) / 1e6);
      for (const auto& pi : at_kill->parts)
        if (pi.id == p && pi.head > first_offset[p]) out.redelivered += pi.head - first_offset[p];
    }
    out.first_event_first_ms = first;
    out.first_event_last_ms = last;
    out.assigned_last_ms = assigned;
    out.heartbeat_interval_ms = static_cast<double>(std::max<std::int64_t>(100, cfg.session_timeout.count() / 3));
  } while (false);
  if (interrupted) sf.set("interrupted");
  sf.copy_to(fail);
  end_load();
  // The load's own failure matters only when nothing else failed first.
  if (!fail.failed && load_fail.failed) fail.set("failover load: " + load_fail.message);
  return out;
}

}  // namespace muninn::bench::group_bench
