#include "bench/broker_process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include "clients/client.h"

namespace muninn::bench::broker_bench {

std::atomic<bool> interrupted{false};

namespace {

extern "C" void on_interrupt(int) { interrupted.store(true); }

bool accepts(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

std::string read_small_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

void install_interrupt_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_interrupt;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
}

temp_dir::temp_dir(const std::string& parent) {
  std::string tmpl = parent + "/muninn-bench-XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (::mkdtemp(buf.data())) path_ = buf.data();
}

temp_dir::~temp_dir() {
  if (path_.empty()) return;
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::uint16_t free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    if (fd >= 0) ::close(fd);
    return 0;
  }
  ::close(fd);
  return ntohs(a.sin_port);
}

std::string default_muninnd_path() { return sibling_path("muninnd"); }

std::string sibling_path(std::string_view name) {
  std::error_code ec;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return std::string(name);
  return (self.parent_path() / name).string();
}

std::optional<std::string> broker_session::open(const std::string& muninnd, const std::string& broker,
                                                const temp_dir& tmp) {
  if (!broker.empty()) {
    ref.address = broker;
    return std::nullopt;
  }
  proc.emplace(muninnd, tmp.path());
  if (auto err = proc->start()) return err;
  ref.address = proc->address();
  ref.pid = proc->pid();
  return std::nullopt;
}

std::optional<std::string> broker_session::create_topic(std::string_view what, std::uint32_t partitions,
                                                        storage_bench::failure& fail) {
  const std::string name =
      "bench-" + std::string(what) + "-" + std::to_string(::getpid()) + "-" + std::to_string(++next_topic);
  auto opts = client::parse_broker_address(ref.address);
  if (!opts) {
    fail.set(opts.error().describe());
    return std::nullopt;
  }
  client::client c(*opts);
  if (auto t = c.create_topic(name, partitions); !t) {
    fail.set("create topic " + name + ": " + t.error().describe());
    return std::nullopt;
  }
  return name;
}

bool broker_session::report(std::string_view command, const storage_bench::failure& fail, int stopped) const {
  if (fail.failed) {
    std::fflush(stdout);
    std::fprintf(stderr, "muninn-bench %.*s: %s\n", static_cast<int>(command.size()), command.data(),
                 fail.message.c_str());
    if (proc) std::fprintf(stderr, "muninnd log (end):\n%s\n", proc->log_tail().c_str());
    return true;
  }
  if (stopped != 0) std::fprintf(stderr, "note: muninnd exited with status %d\n", stopped);
  return false;
}

std::string load_average() {
  std::FILE* f = std::fopen("/proc/loadavg", "r");
  if (!f) return "?";
  char buf[64] = {};
  const bool ok = std::fgets(buf, sizeof buf, f) != nullptr;
  std::fclose(f);
  if (!ok) return "?";
  std::string s(buf);
  return s.substr(0, s.find(' '));
}

std::string cores_text(double x) {
  if (std::isnan(x)) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", x);
  return buf;
}

broker_process::broker_process(std::string exe, std::string dir) : exe_(std::move(exe)), dir_(std::move(dir)) {}

broker_process::~broker_process() { stop(); }

std::optional<std::string> broker_process::start() {
  std::optional<std::string> err;
  for (int attempt = 0; attempt < 3; ++attempt) {
    err = start_once();
    if (!err) return std::nullopt;
  }
  return err;
}

std::optional<std::string> broker_process::start_once() {
  if (::access(exe_.c_str(), X_OK) != 0)
    return "cannot run muninnd at " + exe_ + ": " + std::strerror(errno) + " (build it, or pass --muninnd PATH)";
  port_ = free_port();
  http_port_ = free_port();
  if (port_ == 0 || http_port_ == 0) return std::string("no free loopback port");
  const std::string data = data_dir();
  const std::string listen = "127.0.0.1:" + std::to_string(port_);
  const std::string http = "127.0.0.1:" + std::to_string(http_port_);
  const std::string log = dir_ + "/muninnd.log";
  const pid_t parent = ::getpid();
  pid_ = ::fork();
  if (pid_ == 0) {
    // A benchmark killed hard must not leave a broker behind.
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != parent) ::_exit(127);
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
    }
    // The benchmark's own SIGINT handler must not be inherited as ignored.
    ::signal(SIGINT, SIG_DFL);
    ::signal(SIGTERM, SIG_DFL);
    ::execl(exe_.c_str(), exe_.c_str(), "--data", data.c_str(), "--listen", listen.c_str(), "--http", http.c_str(),
            static_cast<char*>(nullptr));
    ::_exit(127);
  }
  if (pid_ < 0) {
    pid_ = -1;
    return std::string("fork: ") + std::strerror(errno);
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline && !interrupted) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return "muninnd exited at start (status " + std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : -1) +
             "); its log:\n" + log_tail();
    }
    if (accepts(port_)) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  stop();
  return "muninnd did not accept connections on " + listen + " within 20 s; its log:\n" + log_tail();
}

int broker_process::stop() {
  if (pid_ <= 0) return -1;
  ::kill(pid_, SIGTERM);
  int status = 0;
  // Closing flushes the indexes: give it time, then make sure it is gone.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (::waitpid(pid_, &status, WNOHANG) != pid_) {
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  pid_ = -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string broker_process::log_tail(std::size_t bytes) const {
  const std::string s = read_small_file(dir_ + "/muninnd.log");
  return s.size() > bytes ? s.substr(s.size() - bytes) : s;
}

thread_times read_thread_times(pid_t pid) {
  thread_times out;
  const std::string base = "/proc/" + std::to_string(pid) + "/task";
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(base, ec)) {
    const std::string name = e.path().filename().string();
    char* end = nullptr;
    const long tid = std::strtol(name.c_str(), &end, 10);
    if (!end || *end != '\0') continue;
    std::FILE* f = std::fopen((e.path() / "schedstat").c_str(), "r");
    if (!f) continue;
    unsigned long long run_ns = 0;
    const bool ok = std::fscanf(f, "%llu", &run_ns) == 1;
    std::fclose(f);
    if (!ok) continue;
    out.ns[static_cast<pid_t>(tid)] = run_ns;
    std::string comm = read_small_file((e.path() / "comm").string());
    while (!comm.empty() && comm.back() == '\n') comm.pop_back();
    out.names[static_cast<pid_t>(tid)] = comm;
  }
  // utime and stime (fields 14 and 15) follow the ")" that ends the comm.
  const std::string stat = read_small_file("/proc/" + std::to_string(pid) + "/stat");
  if (const auto close = stat.rfind(')'); close != std::string::npos) {
    std::istringstream in(stat.substr(close + 2));
    std::string field;
    unsigned long long utime = 0, stime = 0;
    for (int i = 3; i <= 13 && in >> field; ++i) {
    }
    if (in >> utime >> stime)
      out.process_ns = (utime + stime) * (1'000'000'000ull / static_cast<unsigned long long>(::sysconf(_SC_CLK_TCK)));
  }
  return out;
}

double cpu_usage::of(pid_t tid) const {
  auto it = per_thread.find(tid);
  return it == per_thread.end() ? 0.0 : it->second;
}

cpu_usage cpu_between(const thread_times& a, const thread_times& b, double wall_seconds,
                      const std::map<pid_t, std::string>& roles) {
  cpu_usage u;
  if (wall_seconds <= 0) return u;
  for (const auto& [tid, ns] : b.ns) {
    // A thread that started in between counts from zero.
    const auto it = a.ns.find(tid);
    const std::uint64_t before = it == a.ns.end() ? 0 : it->second;
    const double cores = static_cast<double>(ns - std::min(ns, before)) / 1e9 / wall_seconds;
    u.per_thread[tid] = cores;
    u.total += cores;
    if (cores > u.busiest) {
      u.busiest = cores;
      const auto r = roles.find(tid);
      const auto n = b.names.find(tid);
      u.busiest_name = r != roles.end() ? r->second : n != b.names.end() ? n->second : std::to_string(tid);
    }
  }
  // The process total also holds threads that ended in between (io_uring
  // workers come and go), which the per-thread sum misses.
  if (b.process_ns > a.process_ns)
    u.total = std::max(u.total, static_cast<double>(b.process_ns - a.process_ns) / 1e9 / wall_seconds);
  return u;
}

pid_t this_thread_id() { return static_cast<pid_t>(::syscall(SYS_gettid)); }

}  // namespace muninn::bench::broker_bench
