// What every measurement of `muninn-bench storage` shares: the workload's
// constants and targets, the clock, the options, the run's first failure and
// the scratch directories the partitions and raw files go to.
#pragma once

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace muninn::bench::storage_bench {

inline constexpr std::size_t event_data_bytes = 200;
inline constexpr std::size_t stream_count = 1000;
inline constexpr std::uint64_t segment_bytes = 256ull << 20;
inline constexpr std::string_view event_type = "bench.event";
inline constexpr std::string_view content_type = "application/octet-stream";
inline constexpr double target_events_per_s = 1'000'000.0;
inline constexpr double target_latency_ratio = 1.5;
inline constexpr std::size_t latency_appends = 2000;  // single-event rows (fewer with --quick)
inline constexpr std::size_t probe_batches = 200;
inline constexpr std::size_t probe_batch_events = 10;

inline std::uint64_t now_ns() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                        std::chrono::steady_clock::now().time_since_epoch())
                                        .count());
}

inline double seconds_between(std::uint64_t from_ns, std::uint64_t to_ns) {
  return static_cast<double>(to_ns - from_ns) / 1e9;
}

// A command-line number: the whole text, nothing after it.
template <class T>
bool parse_number(std::string_view text, T& out) {
  const char* end = text.data() + text.size();
  auto [p, ec] = std::from_chars(text.data(), end, out);
  return ec == std::errc() && p == end;
}

// The command line; storage_bench.cc parses it.
struct bench_options {
  double seconds = 3.0;
  bool quick = false;
  std::string dir;  // parent of the temporary directory
  int repeat = 1;
  int producers = 2;
  std::size_t inflight = 0;  // 0: the default for each batch size
  std::vector<std::string> only;  // set: run only these measurements (profiling)
  std::string strace_probe;  // set: probe mode
};

inline double warmup_seconds(const bench_options& opt) { return std::clamp(opt.seconds / 10, 0.1, 0.5); }

// The first failure of the run; main() turns it into exit status 1.
struct failure {
  bool failed = false;
  std::string message;
  void set(std::string m) {
    if (failed) return;
    failed = true;
    message = std::move(m);
  }
};

// A fresh partition directory under the run's temporary directory.
class scratch {
 public:
  explicit scratch(std::string root) : root_(std::move(root)) {}
  std::string next(std::string_view what) {
    return root_ + "/" + std::to_string(++n_) + "-" + std::string(what);
  }
  static void remove(const std::string& path) {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }

 private:
  std::string root_;
  int n_ = 0;
};

}  // namespace muninn::bench::storage_bench
