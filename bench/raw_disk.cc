#include "bench/raw_disk.h"

#include <algorithm>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "bench/histogram.h"
#include "storage/io/file_system.h"

namespace muninn::bench::storage_bench {
namespace {

// Appends to files in `dir` through uring_file_system(), rolling to a new
// file (and deleting the old one) at the log's segment size, as the log does.
class raw_writer {
 public:
  raw_writer(std::string dir, failure& fail) : dir_(std::move(dir)), fail_(fail), fs_(storage::io::uring_file_system()) {
    if (auto ec = fs_->create_dirs(dir_)) fail_.set("cannot create " + dir_ + ": " + ec.message());
  }
  ~raw_writer() {
    file_.reset();
    scratch::remove(dir_);
  }

  // One write of `data` followed by fdatasync in the same submission.
  bool write_sync(std::span<const std::byte> data) {
    if (fail_.failed) return false;
    if (!file_ || size_ + data.size() > segment_bytes) {
      if (!roll()) return false;
    }
    const storage::io::const_buffer bufs[] = {data};
    if (auto ec = file_->write(bufs, size_, true)) {
      fail_.set("raw write+fdatasync failed in " + dir_ + ": " + ec.message());
      return false;
    }
    size_ += data.size();
    ++syncs_;
    return true;
  }

  std::uint64_t syncs() const { return syncs_; }

 private:
  bool roll() {
    file_.reset();
    if (!path_.empty()) fs_->remove(path_);
    path_ = dir_ + "/raw-" + std::to_string(++files_) + ".dat";
    auto f = fs_->open_append(path_, true);
    if (!f) {
      fail_.set("cannot create " + path_ + ": " + f.error().message());
      return false;
    }
    file_ = std::move(*f);
    size_ = 0;
    if (auto ec = fs_->sync_dir(dir_)) {
      fail_.set("cannot sync " + dir_ + ": " + ec.message());
      return false;
    }
    return true;
  }

  std::string dir_;
  failure& fail_;
  std::shared_ptr<storage::io::file_system> fs_;
  std::unique_ptr<storage::io::append_file> file_;
  std::string path_;
  std::uint64_t size_ = 0;
  std::uint64_t syncs_ = 0;
  int files_ = 0;
};

std::vector<std::byte> raw_payload(workload& work, std::size_t bytes) {
  std::vector<std::byte> out(bytes);
  for (std::size_t i = 0; i < bytes; i += 4096) {
    const std::size_t n = std::min<std::size_t>(4096, bytes - i);
    auto src = work.random_bytes(n, workload::next(i));
    std::memcpy(out.data() + i, src.data(), n);
  }
  return out;
}

// Runs a raw_writer on a thread of its own: each write is handed over with a
// condition variable and the caller waits for it, as an append queued for
// the log's I/O thread is. Diagnostic: the latency floor of any design with
// a separate I/O thread, no log logic included (a lone append_sync() leads
// its own write since session 12 and no longer pays this hand-over).
class handoff_writer {
 public:
  explicit handoff_writer(raw_writer& w) : w_(w), thread_([this] { loop(); }) {}
  handoff_writer(const handoff_writer&) = delete;
  handoff_writer& operator=(const handoff_writer&) = delete;
  ~handoff_writer() {
    {
      std::lock_guard g(mu_);
      stop_ = true;
    }
    cv_.notify_one();
    thread_.join();
  }

  bool write_sync(std::span<const std::byte> data) {
    {
      std::lock_guard g(mu_);
      data_ = data;
      pending_ = true;
    }
    cv_.notify_one();
    std::unique_lock l(mu_);
    done_cv_.wait(l, [&] { return !pending_; });
    return ok_;
  }

 private:
  void loop() {
    std::unique_lock l(mu_);
    for (;;) {
      cv_.wait(l, [&] { return pending_ || stop_; });
      if (!pending_) return;
      const auto data = data_;
      l.unlock();
      const bool ok = w_.write_sync(data);
      l.lock();
      ok_ = ok;
      pending_ = false;
      done_cv_.notify_one();
    }
  }

  raw_writer& w_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::condition_variable done_cv_;
  std::span<const std::byte> data_;
  bool pending_ = false;
  bool stop_ = false;
  bool ok_ = true;
  std::thread thread_;  // last: starts once the members above exist
};

}  // namespace

// Single writes of `bytes` + fdatasync one at a time: the disk's latency
// floor. With `handoff`, each write runs on a second thread (handoff_writer).
row run_raw_latency(std::size_t bytes, bool handoff, const bench_options& opt, workload& work, scratch& tmp,
                    failure& fail, std::size_t writes, latency_histogram* also) {
  row r;
  r.name = "raw write+fdatasync " + std::to_string(bytes) + " B, one at a time" + (handoff ? ", I/O thread" : "");
  r.inflight = "1";
  raw_writer direct(tmp.next("raw-latency"), fail);
  std::optional<handoff_writer> via;
  if (handoff) via.emplace(direct);
  auto write_sync = [&](std::span<const std::byte> d) { return via ? via->write_sync(d) : direct.write_sync(d); };
  const auto data = raw_payload(work, bytes);
  bool ok = true;
  for (int i = 0; i < 50 && ok; ++i) ok = write_sync(data);
  latency_histogram h;
  const std::size_t target = writes ? writes : opt.quick ? latency_appends / 10 : latency_appends;
  const std::uint64_t t0 = now_ns();
  const std::uint64_t deadline = t0 + static_cast<std::uint64_t>(std::max(opt.seconds, 1.0) * 1e9);
  std::size_t n = 0;
  while (ok && n < target && now_ns() < deadline) {
    const std::uint64_t a = now_ns();
    ok = write_sync(data);
    if (ok) {
      h.record(now_ns() - a);
      if (also) also->record(now_ns() - a);
    }
    ++n;
  }
  if (!ok) return r;
  const double secs = seconds_between(t0, now_ns());
  r.v[c_disk_mb_s] = static_cast<double>(n * bytes) / secs / 1e6;
  r.v[c_commits] = static_cast<double>(n);
  r.v[c_commits_s] = static_cast<double>(n) / secs;
  r.v[c_bytes_commit] = static_cast<double>(bytes);
  latency_columns(r, h);
  return r;
}

// Writes of `bytes` + fdatasync back to back for opt.seconds: what the disk
// streams durably at the log's group size.
row run_raw_throughput(std::size_t bytes, const std::string& label, const bench_options& opt, workload& work,
                       scratch& tmp, failure& fail) {
  row r;
  r.name = "raw write+fdatasync " + label;
  r.inflight = "1";
  raw_writer w(tmp.next("raw-throughput"), fail);
  const auto data = raw_payload(work, bytes);
  bool ok = true;
  const double warmup = warmup_seconds(opt);
  for (const std::uint64_t until = now_ns() + static_cast<std::uint64_t>(warmup * 1e9); ok && now_ns() < until;)
    ok = w.write_sync(data);
  latency_histogram h;
  const std::uint64_t t0 = now_ns();
  const std::uint64_t deadline = t0 + static_cast<std::uint64_t>(opt.seconds * 1e9);
  std::size_t n = 0;
  while (ok && now_ns() < deadline) {
    const std::uint64_t a = now_ns();
    ok = w.write_sync(data);
    if (ok) h.record(now_ns() - a);
    ++n;
  }
  if (!ok) return r;
  const double secs = seconds_between(t0, now_ns());
  r.v[c_disk_mb_s] = static_cast<double>(n) * static_cast<double>(bytes) / secs / 1e6;
  r.v[c_commits] = static_cast<double>(n);
  r.v[c_commits_s] = static_cast<double>(n) / secs;
  r.v[c_bytes_commit] = static_cast<double>(bytes);
  latency_columns(r, h);
  return r;
}

}  // namespace muninn::bench::storage_bench
