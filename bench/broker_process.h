// What `muninn-bench produce|consume|group` run around the measurements: a
// temporary directory, the muninnd child started on a free loopback port
// (stopped with SIGTERM and waited for, also on errors), fresh topics on
// it, and per-thread CPU time from /proc so that a table can say which side
// was busy. Not thread-safe except where a comment says so.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bench/storage_common.h"

namespace muninn::bench::broker_bench {

// Set by SIGINT/SIGTERM while a run is in progress: loops stop early, the run
// fails with "interrupted", and the destructors below still clean up.
extern std::atomic<bool> interrupted;
void install_interrupt_handlers();

// A fresh directory under `parent` (mkdtemp), removed with everything in it
// by the destructor.
class temp_dir {
 public:
  explicit temp_dir(const std::string& parent);
  ~temp_dir();
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  bool ok() const { return !path_.empty(); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// A loopback TCP port nobody listens on right now; 0 when none was found.
std::uint16_t free_port();

// muninnd as a child process with its data in `dir`/data and its log lines
// in `dir`/muninnd.log. The destructor stops it (SIGTERM, then waits).
class broker_process {
 public:
  broker_process(std::string exe, std::string dir);
  ~broker_process();
  broker_process(const broker_process&) = delete;
  broker_process& operator=(const broker_process&) = delete;

  // Starts muninnd and waits until its port accepts; retries on fresh ports
  // when the broker exits at once (a port taken meanwhile). The error line
  // (with the end of the broker's log) when it fails.
  std::optional<std::string> start();
  // SIGTERM and wait: the broker closes its partitions (index flushed), so
  // the data directory can be opened in-process afterwards. Exit status or -1.
  int stop();

  pid_t pid() const { return pid_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  std::uint16_t port() const { return port_; }
  std::string data_dir() const { return dir_ + "/data"; }
  std::string log_tail(std::size_t bytes = 2000) const;

 private:
  std::optional<std::string> start_once();

  std::string exe_;
  std::string dir_;
  std::uint16_t port_ = 0;
  std::uint16_t http_port_ = 0;
  pid_t pid_ = -1;
};

// muninnd next to the running muninn-bench (build/bin).
std::string default_muninnd_path();
// Another binary of the build next to muninn-bench (e.g. the `muninn` tool).
std::string sibling_path(std::string_view name);

// The broker under test: where it listens, and its pid when this process
// started it (0 otherwise: no broker CPU columns).
struct broker_ref {
  std::string address;
  pid_t pid = 0;
};

// The broker under test for one run: started here (and stopped by the
// destructor) unless `broker` names one.
struct broker_session {
  std::optional<broker_process> proc;
  broker_ref ref;
  int next_topic = 0;

  // The error line when the broker does not start.
  std::optional<std::string> open(const std::string& muninnd, const std::string& broker, const temp_dir& tmp);
  // A fresh topic (unique per process and run, in case of --broker).
  std::optional<std::string> create_topic(std::string_view what, std::uint32_t partitions,
                                          storage_bench::failure& fail);
  // After stop(): prints the run's failure (with the end of the broker's
  // log) or a broker that exited badly to stderr; true if the run failed.
  bool report(std::string_view command, const storage_bench::failure& fail, int stopped) const;
};

// The 1-minute load average, as /proc/loadavg prints it ("?" if unreadable):
// on a shared 2-vCPU machine other processes move every figure, so the
// tables say how busy the machine was.
std::string load_average();
// Cores with two decimals; "-" for NaN.
std::string cores_text(double x);

// CPU time (ns, from /proc/PID/task/TID/schedstat) per thread of a process.
struct thread_times {
  std::map<pid_t, std::uint64_t> ns;
  std::map<pid_t, std::string> names;  // comm
  std::uint64_t process_ns = 0;         // utime + stime of the whole process, ended threads included
};
thread_times read_thread_times(pid_t pid);

// CPU used between two snapshots of one process, in cores (CPU s / wall s).
struct cpu_usage {
  double total = 0;          // all threads
  double busiest = 0;        // the busiest single thread
  std::string busiest_name;  // its comm, or a role the caller gave it
  double of(pid_t tid) const;
  std::map<pid_t, double> per_thread;
};
cpu_usage cpu_between(const thread_times& a, const thread_times& b, double wall_seconds,
                      const std::map<pid_t, std::string>& roles = {});

// The calling thread's id.
pid_t this_thread_id();

}  // namespace muninn::bench::broker_bench
