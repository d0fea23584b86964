// Test helper: runs muninnd as a child process on a free loopback port with
// its own data directory, waits until it accepts connections, and can
// SIGKILL and restart it on the same directory and port. Binaries are found
// next to the running test (build/bin). Not thread-safe: one owner thread.
#pragma once

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <arpa/inet.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace muninn::test {

inline std::filesystem::path bin_dir() {
  return std::filesystem::read_symlink("/proc/self/exe").parent_path();
}

// A loopback TCP port nobody listens on right now.
inline std::uint16_t free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof a;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    if (fd >= 0) ::close(fd);
    return 0;
  }
  ::close(fd);
  return ntohs(a.sin_port);
}

inline bool accepts(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

// A fresh temporary directory, removed by the destructor.
class temp_dir {
 public:
  temp_dir() {
    std::random_device rd;
    path_ = std::filesystem::temp_directory_path() /
            ("muninn-clients-" + std::to_string(::getpid()) + "-" + std::to_string(rd()));
    std::filesystem::create_directories(path_);
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

class broker_process {
 public:
  // Data in `dir`/data, the broker's log in `dir`/muninnd.log; `extra_args`
  // follow the others on muninnd's command line (e.g. --config FILE).
  explicit broker_process(std::filesystem::path dir, std::vector<std::string> extra_args = {})
      : dir_(std::move(dir)), port_(free_port()), http_port_(free_port()), extra_args_(std::move(extra_args)) {}
  ~broker_process() { kill_hard(); }
  broker_process(const broker_process&) = delete;
  broker_process& operator=(const broker_process&) = delete;

  static std::filesystem::path muninnd_path() { return bin_dir() / "muninnd"; }

  // Starts muninnd and waits until its port accepts; false when it does not
  // within `wait` (or exits first). Until a first start succeeds, a broker
  // that exits at once (its port was taken meanwhile) is retried on fresh ports.
  bool start(std::chrono::milliseconds wait = std::chrono::seconds(20)) {
    for (int attempt = 0; attempt < 3; ++attempt) {
      if (start_once(wait)) {
        started_once_ = true;
        return true;
      }
      if (started_once_) return false;
      port_ = free_port();
      http_port_ = free_port();
    }
    return false;
  }

  bool start_once(std::chrono::milliseconds wait) {
    if (pid_ > 0) return true;
    const auto exe = muninnd_path().string();
    const auto data = (dir_ / "data").string();
    const auto listen = "127.0.0.1:" + std::to_string(port_);
    const auto http = "127.0.0.1:" + std::to_string(http_port_);
    const auto log = (dir_ / "muninnd.log").string();
    pid_ = ::fork();
    if (pid_ == 0) {
      const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      if (fd >= 0) {
        ::dup2(fd, 1);
        ::dup2(fd, 2);
      }
      std::vector<const char*> argv{exe.c_str(), "--data", data.c_str(), "--listen", listen.c_str(), "--http", http.c_str()};
      for (const auto& a : extra_args_) argv.push_back(a.c_str());
      argv.push_back(nullptr);
      ::execv(exe.c_str(), const_cast<char* const*>(argv.data()));
      ::_exit(127);
    }
    if (pid_ < 0) return false;
    const auto deadline = std::chrono::steady_clock::now() + wait;
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return false;
      }
      if (accepts(port_)) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    kill_hard();  // never accepted: not a broker we can use
    return false;
  }

  // SIGKILL: no chance to flush anything.
  void kill_hard() { signal_and_wait(SIGKILL); }
  // SIGTERM: a clean stop; the exit status (or -1).
  int stop() { return signal_and_wait(SIGTERM); }

  bool running() const { return pid_ > 0; }
  std::uint16_t port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  std::uint16_t http_port() const { return http_port_; }
  std::filesystem::path data_dir() const { return dir_ / "data"; }
  std::filesystem::path log_path() const { return dir_ / "muninnd.log"; }

 private:
  int signal_and_wait(int sig) {
    if (pid_ <= 0) return -1;
    ::kill(pid_, sig);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  std::filesystem::path dir_;
  std::uint16_t port_;
  std::uint16_t http_port_;
  std::vector<std::string> extra_args_;
  pid_t pid_ = -1;
  bool started_once_ = false;
};

// Runs `command` through /bin/sh; its exit status and stdout (redirect
// stderr in the command to keep it).
struct command_result {
  int status = -1;
  std::string out;
};

inline std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline std::size_t count_lines(const std::string& s) {
  std::size_t n = 0;
  for (char c : s) n += c == '\n';
  return n;
}

inline command_result run_command(const std::string& command) {
  command_result r;
  FILE* p = ::popen(command.c_str(), "r");
  if (!p) return r;
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  const int status = ::pclose(p);
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

}  // namespace muninn::test
