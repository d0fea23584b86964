// Consumer groups end to end (docs/consumer-groups.md): muninnd and group
// members as separate processes (`muninn consume --group`), SIGKILLed,
// paused and restarted. Every event a member printed is one it processed.
#include <catch2/catch.hpp>

#include <atomic>
#include <map>
#include <set>
#include <thread>

#include "clients/groups.h"
#include "clients/producer.h"
#include "tests/clients/broker_process.h"

namespace test = muninn::test;
namespace client = muninn::client;
using namespace std::chrono_literals;

namespace {

constexpr int session_ms = 3000;

// `muninn consume --topic T --group G --follow` with stdout and stderr in files.
struct member_process {
  std::filesystem::path out, err;
  pid_t pid = -1;

  member_process(const test::broker_process& broker, const std::filesystem::path& dir, const std::string& name,
                 const std::string& topic, const std::string& group, bool follow = true)
      : out(dir / (name + ".out")), err(dir / (name + ".err")) {
    const auto exe = (test::bin_dir() / "muninn").string();
    const auto address = broker.address();
    const auto timeout = std::to_string(session_ms);
    pid = ::fork();
    if (pid == 0) {
      const int o = ::open(out.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      const int e = ::open(err.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      ::dup2(o, 1);
      ::dup2(e, 2);
      std::vector<const char*> argv{exe.c_str(), "--broker", address.c_str(), "consume", "--topic", topic.c_str(),
                                    "--group", group.c_str(), "--session-timeout-ms", timeout.c_str()};
      if (follow) argv.push_back("--follow");
      argv.push_back(nullptr);
      ::execv(exe.c_str(), const_cast<char* const*>(argv.data()));
      ::_exit(127);
    }
  }
  ~member_process() {
    if (pid > 0) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
  }
  void kill_hard() {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    pid = -1;
  }
  // SIGTERM: commit and leave; the exit status.
  int stop() {
    ::kill(pid, SIGTERM);
    return wait();
  }
  int wait() {
    int status = 0;
    ::waitpid(pid, &status, 0);
    pid = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  std::string client_name() const { return "muninn consume pid " + std::to_string(pid); }
};

struct position {
  std::uint32_t partition;
  std::uint64_t offset;
  auto operator<=>(const position&) const = default;
};

std::uint64_t number_after(const std::string& line, const std::string& key) {
  const auto at = line.find("\"" + key + "\":");
  REQUIRE(at != std::string::npos);
  return std::stoull(line.substr(at + key.size() + 3));
}

// The (partition, offset) of every event a member printed, in order. A
// member killed while writing leaves a cut last line: its handler had not
// returned, so that event was not processed.
std::vector<position> printed(const std::filesystem::path& out) {
  std::vector<position> v;
  const auto text = test::read_file(out);
  std::size_t at = 0;
  for (std::size_t nl; (nl = text.find('\n', at)) != std::string::npos; at = nl + 1) {
    const auto line = text.substr(at, nl - at);
    if (!line.empty()) v.push_back({std::uint32_t(number_after(line, "partition")), number_after(line, "offset")});
  }
  return v;
}

void produce(client::client& c, const std::string& topic, int from, int count) {
  client::producer p(c);
  for (int i = from; i < from + count; i += 500) {
    std::vector<muninn::codec::owned_event> events;
    for (int k = i; k < std::min(from + count, i + 500); ++k) {
      muninn::codec::owned_event e;
      e.stream = "order-" + std::to_string(k);
      e.type = "Created";
      events.push_back(std::move(e));
    }
    auto r = p.append(topic, std::move(events));
    REQUIRE(r);
  }
  p.flush();
}

std::vector<client::group_info> describe(client::client& c, const std::string& group) {
  auto r = client::describe_group(c, group);
  if (!r) return {};
  return *r;
}

// The group's view now (a copy: it outlives the response).
client::group_info group_now(client::client& c, const std::string& group) {
  auto v = describe(c, group);
  REQUIRE(!v.empty());
  return v.front();
}

// Polls until `ok(group)` or the deadline; the last view.
template <class F>
client::group_info wait_for(client::client& c, const std::string& group, F ok, std::chrono::seconds limit = 60s) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  client::group_info last;
  while (std::chrono::steady_clock::now() < deadline) {
    auto v = describe(c, group);
    if (!v.empty()) {
      last = v.front();
      if (ok(last)) return last;
    }
    std::this_thread::sleep_for(50ms);
  }
  FAIL("group " << group << " did not get there in time: " << last.to_json());
  return last;
}

const client::group_member_info* member_named(const client::group_info& g, const std::string& name) {
  for (const auto& m : g.members)
    if (m.client == name) return &m;
  return nullptr;
}

std::uint64_t total_head(const client::group_info& g) {
  std::uint64_t n = 0;
  for (const auto& p : g.partitions) n += p.head;
  return n;
}

struct tally {
  std::map<position, int> seen;
  std::uint64_t duplicates = 0;
  void add(const std::vector<position>& v) {
    for (const auto& p : v)
      if (++seen[p] > 1) ++duplicates;
  }
  // Every offset below each partition's head was processed at least once.
  void require_complete(const client::group_info& g) {
    for (const auto& p : g.partitions)
      for (std::uint64_t o = 0; o < p.head; ++o) {
        if (!seen.count({p.partition, o})) FAIL("event at partition " << p.partition << " offset " << o << " was never processed");
      }
  }
};

struct cluster {
  test::temp_dir dir;
  test::broker_process broker{dir.path()};
  std::unique_ptr<client::client> c;
  cluster(std::uint32_t partitions) {
    REQUIRE(broker.start());
    connect();
    REQUIRE(c->create_topic("orders", partitions));
  }
  void connect() {
    client::client_options o;
    o.port = broker.port();
    c = std::make_unique<client::client>(o);
  }
};

// Waits until `members` form a stable group that committed all `total`
// events, stops them (commit, leave) and tallies what they processed.
tally settle(cluster& k, std::vector<member_process*> members, std::uint64_t total) {
  auto g = wait_for(*k.c, "g", [&](const client::group_info& g) {
    return g.members.size() == members.size() && g.state == "stable" && g.lag() == 0 && total_head(g) == total;
  });
  tally t;
  for (auto* m : members) {
    CHECK(m->stop() == 0);
    t.add(printed(m->out));
  }
  t.require_complete(g);
  return t;
}

}  // namespace

TEST_CASE("groups: 3 members share 8 partitions; a SIGKILLed member's partitions move and no event is lost",
          "[clients][groups]") {
  cluster k(8);
  std::vector<std::unique_ptr<member_process>> m;
  for (int i = 0; i < 3; ++i) m.push_back(std::make_unique<member_process>(k.broker, k.dir.path(), "m" + std::to_string(i), "orders", "g"));

  // Balanced: 3/3/2, each partition owned once, nothing waiting.
  auto g = wait_for(*k.c, "g", [](const client::group_info& g) {
    if (g.members.size() != 3 || g.state != "stable") return false;
    for (const auto& mm : g.members)
      if (mm.assigned.size() < 2 || mm.assigned.size() > 3) return false;
    return true;
  });
  std::set<std::uint32_t> owned;
  for (const auto& mm : g.members) owned.insert(mm.assigned.begin(), mm.assigned.end());
  CHECK(owned.size() == 8);

  std::atomic<bool> produced{false};
  std::thread producer([&] {
    client::client_options o;
    o.port = k.broker.port();
    client::client pc(o);
    produce(pc, "orders", 0, 200'000);
    produced = true;
  });

  // Kill member 0 in the middle of the run.
  const auto victim = m[0]->client_name();
  wait_for(*k.c, "g", [](const client::group_info& g) { return total_head(g) >= 60'000; });
  g = group_now(*k.c, "g");
  const auto* vm = member_named(g, victim);
  REQUIRE(vm);
  const std::string victim_id = vm->member_id;
  const std::vector<std::uint32_t> victim_parts = vm->assigned;
  m[0]->kill_hard();
  const auto killed_at = std::chrono::steady_clock::now();
  std::map<std::uint32_t, std::int64_t> committed_at_kill;
  const auto at_kill = group_now(*k.c, "g");
  for (const auto& p : at_kill.partitions) committed_at_kill[p.partition] = p.committed;

  // Its partitions move to the others within the session timeout plus one
  // heartbeat (a third of it), with slack for a loaded CI machine.
  g = wait_for(*k.c, "g", [&](const client::group_info& g) {
    if (g.members.size() != 2) return false;
    for (auto p : victim_parts)
      if (g.partitions[p].owner.empty() || g.partitions[p].owner == victim_id) return false;
    return true;
  });
  const auto moved_ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - killed_at).count();
  INFO("partitions moved " << moved_ms << " ms after the SIGKILL");
  CHECK(moved_ms <= session_ms + session_ms / 3 + 2000);

  producer.join();
  REQUIRE(produced);
  g = wait_for(*k.c, "g", [](const client::group_info& g) { return g.lag() == 0 && total_head(g) == 200'000; }, 120s);
  CHECK(m[1]->stop() == 0);
  CHECK(m[2]->stop() == 0);

  tally t;
  for (const auto& mm : m) t.add(printed(mm->out));
  t.require_complete(g);
  // Duplicates come only from the victim's uncommitted work: its
  // partitions, at or after what it had committed when it died.
  for (const auto& [pos, n] : t.seen) {
    if (n == 1) continue;
    INFO("partition " << pos.partition << " offset " << pos.offset << " processed " << n << " times");
    CHECK(std::find(victim_parts.begin(), victim_parts.end(), pos.partition) != victim_parts.end());
    CHECK(std::int64_t(pos.offset) >= committed_at_kill[pos.partition]);
    CHECK(n == 2);
  }
  WARN("200,000 events: " << t.duplicates << " delivered twice (the killed member's uncommitted work), partitions moved after "
                          << moved_ms << " ms");
}

TEST_CASE("groups: a zombie member (paused past its session timeout) cannot commit and processes nothing twice",
          "[clients][groups]") {
  cluster k(4);
  // Over the wire, by hand: a member that stops heartbeating is fenced.
  auto z = client::join_group(*k.c, "hand", "orders", "zombie", 1000, "test");
  REQUIRE(z);
  REQUIRE(z->assigned.size() == 4);
  std::this_thread::sleep_for(1500ms);
  const std::vector<client::partition_offset> offsets{{0, 0}};
  auto refused = client::commit_group_offsets(*k.c, "hand", "orders", offsets, "zombie", z->generation);
  REQUIRE(!refused);
  CHECK(refused.error().code == muninn::fb::ErrorCode::unknown_member);
  auto hb = client::heartbeat(*k.c, "hand", "zombie", z->generation, z->assigned);
  REQUIRE(!hb);
  CHECK(hb.error().code == muninn::fb::ErrorCode::unknown_member);

  // A member process paused with SIGSTOP while events arrive.
  produce(*k.c, "orders", 0, 2000);
  member_process a(k.broker, k.dir.path(), "a", "orders", "g");
  wait_for(*k.c, "g", [](const client::group_info& g) { return g.members.size() == 1 && g.lag() == 0; });
  member_process b(k.broker, k.dir.path(), "b", "orders", "g");
  wait_for(*k.c, "g", [](const client::group_info& g) { return g.members.size() == 2 && g.state == "stable"; });
  const auto a_name = a.client_name();
  ::kill(a.pid, SIGSTOP);
  produce(*k.c, "orders", 2000, 2000);
  // b takes everything once a's session times out, and consumes it all.
  wait_for(*k.c, "g", [&](const client::group_info& g) {
    return g.members.size() == 1 && !member_named(g, a_name) && g.lag() == 0;
  });
  ::kill(a.pid, SIGCONT);
  // a finds out it was fenced and rejoins under a new member id.
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (test::read_file(a.err).find("fenced") == std::string::npos && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(50ms);
  CHECK(test::read_file(a.err).find("lost (this member was fenced)") != std::string::npos);
  produce(*k.c, "orders", 4000, 1000);
  const auto t = settle(k, {&a, &b}, 5000);
  // Every handover committed first, and the zombie delivered nothing once
  // its session had lapsed: nothing was processed twice.
  CHECK(t.duplicates == 0);
}

TEST_CASE("groups: after a broker SIGKILL and restart members rejoin and continue from the committed offsets",
          "[clients][groups]") {
  cluster k(4);
  member_process a(k.broker, k.dir.path(), "a", "orders", "g");
  member_process b(k.broker, k.dir.path(), "b", "orders", "g");
  wait_for(*k.c, "g", [](const client::group_info& g) { return g.members.size() == 2 && g.state == "stable"; });
  produce(*k.c, "orders", 0, 20'000);
  auto before = wait_for(*k.c, "g", [](const client::group_info& g) { return g.lag() == 0; });
  // Let the last commit land (members commit every second), then kill.
  std::this_thread::sleep_for(1500ms);
  before = group_now(*k.c, "g");
  k.broker.kill_hard();
  REQUIRE(k.broker.start());
  k.connect();
  // Committed offsets survived the crash.
  auto after = describe(*k.c, "g");
  REQUIRE(!after.empty());
  for (std::size_t p = 0; p < before.partitions.size(); ++p)
    CHECK(after.front().partitions[p].committed >= before.partitions[p].committed);
  produce(*k.c, "orders", 20'000, 20'000);
  const auto t = settle(k, {&a, &b}, 40'000);
  // All were committed before the crash: resuming from the committed
  // offsets delivers nothing twice.
  CHECK(t.duplicates == 0);
}

TEST_CASE("groups: lag is head minus committed while members are stopped, in describe and /metrics, and 0 after they catch up",
          "[clients][groups]") {
  cluster k(4);
  produce(*k.c, "orders", 0, 1000);
  {
    member_process a(k.broker, k.dir.path(), "a", "orders", "g", /*follow=*/false);
    CHECK(a.wait() == 0);  // caught up, committed, left
    CHECK(printed(a.out).size() == 1000);
  }
  auto g = group_now(*k.c, "g");
  CHECK(g.state == "empty");
  CHECK(g.lag() == 0);
  produce(*k.c, "orders", 1000, 700);
  g = group_now(*k.c, "g");
  CHECK(g.lag() == 700);
  auto metrics = test::run_command("curl -s http://127.0.0.1:" + std::to_string(k.broker.http_port()) + "/metrics");
  REQUIRE(metrics.status == 0);
  for (const auto& p : g.partitions) {
    CHECK(p.lag == p.head - std::uint64_t(p.committed));
    const auto line = "muninn_group_lag{group=\"g\",topic=\"orders\",partition=\"" + std::to_string(p.partition) +
                      "\"} " + std::to_string(p.lag) + "\n";
    INFO(metrics.out);
    CHECK(metrics.out.find(line) != std::string::npos);
  }
  // The tool shows the same.
  const auto tool = (test::bin_dir() / "muninn").string() + " --broker " + k.broker.address();
  auto text = test::run_command(tool + " group describe g");
  REQUIRE(text.status == 0);
  CHECK(text.out.find("lag 700") != std::string::npos);
  CHECK(text.out.find("PARTITION") != std::string::npos);
  auto list = test::run_command(tool + " group list --json");
  REQUIRE(list.status == 0);
  CHECK(list.out.find("\"lag\":700") != std::string::npos);

  // A reset is refused while a member lives, and works once none does.
  {
    member_process a(k.broker, k.dir.path(), "live", "orders", "g");
    wait_for(*k.c, "g", [](const client::group_info& g) { return g.members.size() == 1 && g.lag() == 0; });
    auto refused = test::run_command(tool + " group reset g --topic orders --to-earliest 2>&1");
    CHECK(refused.status != 0);
    CHECK(refused.out.find("group_active") != std::string::npos);
    CHECK(a.stop() == 0);
    CHECK(printed(a.out).size() == 700);
  }
  CHECK(group_now(*k.c, "g").lag() == 0);
  auto reset = test::run_command(tool + " group reset g --topic orders --to-offset 100");
  REQUIRE(reset.status == 0);
  CHECK(test::count_lines(reset.out) == 4);
  g = group_now(*k.c, "g");
  CHECK(g.lag() == 1700 - 400);
}
