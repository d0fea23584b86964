// The real file system. Segment writes and syncs are io_uring submissions so
// the append path makes no write/pwrite/fsync/fdatasync syscall, only
// io_uring_enter. This is the only file in the repository that includes
// liburing. Thread-safety: each thread owns its ring (thread_local), so
// append_file calls from different threads never share submission state;
// read_file uses pread and is safe from many threads.
#include <dirent.h>
#include <fcntl.h>
#include <liburing.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <limits>
#include <thread>
#include <vector>

#include "storage/io/file_system.h"

namespace muninn::storage::io {
namespace {

std::error_code errno_code(int e) { return {e, std::generic_category()}; }
std::error_code last_errno() { return errno_code(errno); }

// 64 entries leave room for max_writes_per_round writev SQEs plus the fsync
// linked behind them; the completion queue is twice as large, so it cannot
// overflow while we reap every CQE of a round before the next submission.
constexpr unsigned ring_entries = 64;
constexpr std::size_t max_writes_per_round = 32;
constexpr std::size_t iov_max = IOV_MAX;

// One ring per thread, created on first use and torn down at thread exit.
// A failed setup is retried on the next call rather than remembered, since
// the usual cause (ENOMEM, RLIMIT_MEMLOCK on old kernels) can be transient.
class thread_ring {
 public:
  thread_ring() = default;
  thread_ring(const thread_ring&) = delete;
  thread_ring& operator=(const thread_ring&) = delete;
  ~thread_ring() { reset(); }

  io_uring* get(std::error_code& ec) {
    if (ready_) return &ring_;
    // COOP_TASKRUN avoids an IPI per completion and SINGLE_ISSUER lets the
    // kernel skip locking; both hold because only this thread submits. Older
    // kernels reject them with EINVAL, so fall back to no flags.
    int rc = io_uring_queue_init(ring_entries, &ring_,
                                 IORING_SETUP_COOP_TASKRUN | IORING_SETUP_SINGLE_ISSUER);
    if (rc == -EINVAL) rc = io_uring_queue_init(ring_entries, &ring_, 0);
    if (rc < 0) {
      ec = errno_code(-rc);
      return nullptr;
    }
    ready_ = true;
    return &ring_;
  }

  // Called when the ring is in an unknown state (a hard submit/wait error):
  // the next use starts from a fresh ring instead of inheriting stale SQEs.
  void reset() {
    if (ready_) io_uring_queue_exit(&ring_);
    ready_ = false;
  }

 private:
  io_uring ring_{};
  bool ready_ = false;
};

thread_local thread_ring tls_ring;

// Submits everything prepared on the ring and, in the same io_uring_enter,
// waits until `wait_nr` completions are there (so a write costs one syscall
// plus one more for its fsync). EINTR/EAGAIN/EBUSY are transient (signal,
// kernel short of memory, CQ backlog); anything else means the ring itself
// is broken. A partial submission returns without waiting; the caller's
// wait_one() then waits for whatever is missing.
std::error_code submit_all(io_uring* ring, unsigned prepared, unsigned wait_nr,
                           unsigned& submitted) {
  submitted = 0;
  int transient = 0;
  while (submitted < prepared) {
    const int rc = submitted == 0 ? io_uring_submit_and_wait(ring, wait_nr)
                                  : io_uring_submit(ring);
    if (rc > 0) {
      submitted += static_cast<unsigned>(rc);
      transient = 0;
      continue;
    }
    if ((rc == 0 || rc == -EINTR || rc == -EAGAIN || rc == -EBUSY) && ++transient < 1000) {
      std::this_thread::yield();
      continue;
    }
    return errno_code(rc < 0 ? -rc : EAGAIN);
  }
  return {};
}

// Waits for one completion and returns its user_data and res.
std::error_code wait_one(io_uring* ring, std::uint64_t& tag, int& res) {
  for (;;) {
    io_uring_cqe* cqe = nullptr;
    int rc = io_uring_wait_cqe(ring, &cqe);
    if (rc == -EINTR || rc == -EAGAIN || rc == -EBUSY) continue;
    if (rc < 0) return errno_code(-rc);
    tag = io_uring_cqe_get_data64(cqe);
    res = cqe->res;
    io_uring_cqe_seen(ring, cqe);
    return {};
  }
}

// Reaps `n` completions whose results we no longer care about, so no request
// still references our iovecs when we return.
void drain(io_uring* ring, unsigned n) {
  std::uint64_t tag = 0;
  int res = 0;
  for (unsigned i = 0; i < n; ++i) {
    if (wait_one(ring, tag, res)) {
      tls_ring.reset();
      return;
    }
  }
}

// One fsync (fdatasync when `data_only`) through the ring, used by sync(),
// truncate() and sync_dir().
std::error_code ring_fsync(int fd, bool data_only) {
  std::error_code ec;
  io_uring* ring = tls_ring.get(ec);
  if (!ring) return ec;
  for (;;) {
    io_uring_sqe* sqe = io_uring_get_sqe(ring);
    if (!sqe) return errno_code(EBUSY);  // cannot happen: every round is fully reaped
    io_uring_prep_fsync(sqe, fd, data_only ? IORING_FSYNC_DATASYNC : 0);
    io_uring_sqe_set_data64(sqe, 0);
    unsigned submitted = 0;
    if (auto e = submit_all(ring, 1, 1, submitted)) {
      tls_ring.reset();
      return e;
    }
    std::uint64_t tag = 0;
    int res = 0;
    if (auto e = wait_one(ring, tag, res)) {
      tls_ring.reset();
      return e;
    }
    if (res == -EINTR || res == -EAGAIN) continue;
    return res < 0 ? errno_code(-res) : std::error_code{};
  }
}

class uring_append_file final : public append_file {
 public:
  explicit uring_append_file(int fd) : fd_(fd) {}
  ~uring_append_file() override { ::close(fd_); }
  uring_append_file(const uring_append_file&) = delete;
  uring_append_file& operator=(const uring_append_file&) = delete;

  std::error_code write(std::span<const const_buffer> bufs, std::uint64_t offset, bool sync,
                        const std::function<void()>& on_written) override {
    if (failed_) return failed_;
    return latch(write_impl(bufs, offset, sync, on_written));
  }

  std::error_code sync() override {
    if (failed_) return failed_;
    return latch(ring_fsync(fd_, true));
  }

  std::error_code truncate(std::uint64_t size) override {
    if (failed_) return failed_;
    if (size > static_cast<std::uint64_t>(std::numeric_limits<off_t>::max()))
      return latch(errno_code(EINVAL));
    int rc;
    do rc = ::ftruncate(fd_, static_cast<off_t>(size));
    while (rc != 0 && errno == EINTR);
    if (rc != 0) return latch(last_errno());
    // The sync goes through the ring too, so a strace of a run that also
    // recovers a torn tail still shows no fdatasync on a segment.
    return latch(ring_fsync(fd_, true));
  }

 private:
  // NATS-style latch: after a failed write or fsync the page cache and the
  // disk may disagree, and retrying fsync on the same descriptor can report
  // success for data that was dropped. The caller must reopen and recover.
  std::error_code latch(std::error_code ec) {
    if (ec) failed_ = ec;
    return ec;
  }

  std::error_code write_impl(std::span<const const_buffer> bufs, std::uint64_t offset, bool sync,
                             const std::function<void()>& on_written) {
    std::vector<iovec> iov;
    iov.reserve(bufs.size());
    for (const auto& b : bufs) {
      if (b.empty()) continue;  // a zero-length iovec would only cost a slot
      iov.push_back({const_cast<std::byte*>(b.data()), b.size()});
    }
    std::error_code ec;
    io_uring* ring = tls_ring.get(ec);
    if (!ring) return ec;

    // `first` and `skip` mark the unwritten remainder: iov[first] minus its
    // first `skip` bytes, then everything after it.
    std::size_t first = 0;
    std::size_t skip = 0;
    int idle_rounds = 0;  // rounds that wrote nothing (EINTR/EAGAIN results)
    while (first < iov.size()) {
      // The kernel reads the iovecs at submission; trim the first one in
      // place and restore it once the round is reaped.
      const iovec saved = iov[first];
      iov[first].iov_base = static_cast<std::byte*>(saved.iov_base) + skip;
      iov[first].iov_len = saved.iov_len - skip;

      io_uring_sqe* sqes[max_writes_per_round + 1];
      std::uint64_t planned_bytes[max_writes_per_round];
      std::size_t n_writes = 0;
      std::uint64_t pos = offset;
      std::size_t i = first;
      bool no_sqe = false;
      while (i < iov.size() && n_writes < max_writes_per_round) {
        const std::size_t count = std::min(iov_max, iov.size() - i);
        std::uint64_t bytes = 0;
        for (std::size_t k = i; k < i + count; ++k) bytes += iov[k].iov_len;
        io_uring_sqe* sqe = io_uring_get_sqe(ring);
        if (!sqe) {
          no_sqe = true;
          break;
        }
        io_uring_prep_writev(sqe, fd_, &iov[i], static_cast<unsigned>(count), pos);
        io_uring_sqe_set_data64(sqe, n_writes);
        sqes[n_writes] = sqe;
        planned_bytes[n_writes++] = bytes;
        pos += bytes;
        i += count;
      }
      const bool last_round = i == iov.size();
      std::size_t prepared = n_writes;
      if (!no_sqe && last_round && sync) {
        io_uring_sqe* sqe = io_uring_get_sqe(ring);
        if (sqe) {
          io_uring_prep_fsync(sqe, fd_, IORING_FSYNC_DATASYNC);
          io_uring_sqe_set_data64(sqe, fsync_tag);
          sqes[prepared++] = sqe;
        } else {
          no_sqe = true;
        }
      }
      if (no_sqe) {  // cannot happen: every round is fully reaped before the next
        iov[first] = saved;
        tls_ring.reset();
        return errno_code(EBUSY);
      }
      // One chain: the writes run in order and a short or failed one cancels
      // the rest and the fsync, so the fsync never covers a hole.
      for (std::size_t k = 0; k + 1 < prepared; ++k) sqes[k]->flags |= IOSQE_IO_LINK;

      unsigned submitted = 0;
      if (auto e = submit_all(ring, static_cast<unsigned>(prepared),
                              static_cast<unsigned>(n_writes), submitted)) {
        drain(ring, submitted);
        iov[first] = saved;
        tls_ring.reset();  // unsubmitted SQEs must not run in a later call
        return e;
      }

      // Reap the write completions first: on_written must run as soon as
      // the data is written, not after the fsync behind it.
      int res[max_writes_per_round];
      int fsync_res = 0;
      bool fsync_pending = prepared > n_writes;
      std::size_t writes_seen = 0;
      while (writes_seen < n_writes) {
        std::uint64_t tag = 0;
        int r = 0;
        if (auto e = wait_one(ring, tag, r)) {
          iov[first] = saved;
          tls_ring.reset();
          return e;
        }
        if (tag == fsync_tag) {
          fsync_res = r;
          fsync_pending = false;
        } else if (tag < n_writes) {
          res[tag] = r;
          ++writes_seen;
        }
      }
      iov[first] = saved;
      // The fsync's completion, when it has not come yet.
      auto reap_fsync = [&]() -> std::error_code {
        while (fsync_pending) {
          std::uint64_t tag = 0;
          int r = 0;
          if (auto e = wait_one(ring, tag, r)) {
            tls_ring.reset();
            return e;
          }
          if (tag == fsync_tag) {
            fsync_res = r;
            fsync_pending = false;
          }
        }
        return {};
      };

      // Walk the chain in order: full writes advance the remainder; the
      // first short or failed one decides what happens next (and the link
      // cancelled everything behind it, the fsync included).
      bool complete = true;
      bool progressed = false;
      std::error_code write_err;
      for (std::size_t w = 0; w < n_writes; ++w) {
        const int r = res[w];
        if (r < 0) {
          complete = false;
          if (r != -EINTR && r != -EAGAIN && r != -ECANCELED) write_err = errno_code(-r);
          break;
        }
        const auto n = static_cast<std::uint64_t>(r);
        advance(iov, first, skip, n);
        offset += n;
        progressed = progressed || n > 0;
        if (n < planned_bytes[w]) {
          complete = false;
          break;
        }
      }
      if (!complete || !last_round) {
        if (auto e = reap_fsync()) return e;
        if (write_err) return write_err;
        // A device that keeps accepting zero bytes is full, not slow.
        idle_rounds = progressed ? 0 : idle_rounds + 1;
        if (idle_rounds >= max_idle_rounds) return errno_code(res[0] == 0 ? ENOSPC : EAGAIN);
        continue;  // submit the remainder (and the fsync behind it)
      }
      if (on_written) on_written();
      if (!sync) return {};
      if (auto e = reap_fsync()) return e;
      // A cancelled or interrupted fsync is simply issued again; a real
      // fsync error is final (and latched by the caller).
      if (fsync_res == -EINTR || fsync_res == -EAGAIN || fsync_res == -ECANCELED)
        return ring_fsync(fd_, true);
      return fsync_res < 0 ? errno_code(-fsync_res) : std::error_code{};
    }
    // Nothing to write: the sync, if any, stands alone.
    if (on_written) on_written();
    return sync ? ring_fsync(fd_, true) : std::error_code{};
  }

  // Moves the remainder marker forward by `n` written bytes.
  static void advance(const std::vector<iovec>& iov, std::size_t& first, std::size_t& skip,
                      std::uint64_t n) {
    while (n > 0 && first < iov.size()) {
      const std::uint64_t left = iov[first].iov_len - skip;
      if (n < left) {
        skip += n;
        return;
      }
      n -= left;
      ++first;
      skip = 0;
    }
  }

  static constexpr std::uint64_t fsync_tag = ~std::uint64_t{0};
  static constexpr int max_idle_rounds = 1000;
  int fd_;
  std::error_code failed_;
};

class uring_read_file final : public read_file {
 public:
  explicit uring_read_file(int fd) : fd_(fd) {}
  ~uring_read_file() override { ::close(fd_); }
  uring_read_file(const uring_read_file&) = delete;
  uring_read_file& operator=(const uring_read_file&) = delete;

  std::error_code read(std::uint64_t offset, std::span<std::byte> out,
                       std::size_t& got) const override {
    got = 0;
    while (got < out.size()) {
      const std::uint64_t at = offset + got;
      if (at > static_cast<std::uint64_t>(std::numeric_limits<off_t>::max()))
        return errno_code(EINVAL);
      ssize_t n = ::pread(fd_, out.data() + got, out.size() - got, static_cast<off_t>(at));
      if (n < 0) {
        if (errno == EINTR) continue;
        return last_errno();
      }
      if (n == 0) break;  // end of file
      got += static_cast<std::size_t>(n);
    }
    return {};
  }

  result<std::uint64_t> size() const override {
    struct stat st{};
    if (::fstat(fd_, &st) != 0) return unexpected{last_errno()};
    return static_cast<std::uint64_t>(st.st_size);
  }

 private:
  int fd_;
};

int open_retry(const char* path, int flags, mode_t mode = 0) {
  int fd;
  do fd = ::open(path, flags, mode);
  while (fd < 0 && errno == EINTR);
  return fd;
}

class uring_fs final : public file_system {
 public:
  result<std::unique_ptr<append_file>> open_append(const std::string& path,
                                                   bool create) override {
    int flags = O_WRONLY | O_CLOEXEC;
    if (create) flags |= O_CREAT | O_EXCL;
    int fd = open_retry(path.c_str(), flags, 0644);
    if (fd < 0) return unexpected{last_errno()};
    std::unique_ptr<append_file> f(new (std::nothrow) uring_append_file(fd));
    if (!f) {
      ::close(fd);
      return unexpected{errno_code(ENOMEM)};
    }
    return f;
  }

  result<std::unique_ptr<read_file>> open_read(const std::string& path) override {
    int fd = open_retry(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return unexpected{last_errno()};
    std::unique_ptr<read_file> f(new (std::nothrow) uring_read_file(fd));
    if (!f) {
      ::close(fd);
      return unexpected{errno_code(ENOMEM)};
    }
    return f;
  }

  result<std::vector<std::string>> list(const std::string& dir) override {
    DIR* d = ::opendir(dir.c_str());
    if (!d) return unexpected{last_errno()};
    std::vector<std::string> names;
    std::error_code ec;
    for (;;) {
      errno = 0;
      dirent* e = ::readdir(d);
      if (!e) {
        if (errno != 0) ec = last_errno();
        break;
      }
      bool regular = e->d_type == DT_REG;
      if (e->d_type == DT_UNKNOWN) {  // some file systems do not fill d_type
        struct stat st{};
        regular = ::fstatat(::dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
                  S_ISREG(st.st_mode);
      }
      if (regular) names.emplace_back(e->d_name);
    }
    ::closedir(d);
    if (ec) return unexpected{ec};
    return names;
  }

  std::error_code create_dirs(const std::string& dir) override {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    return ec;
  }

  std::error_code sync_dir(const std::string& dir) override {
    int fd = open_retry(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return last_errno();
    // A full fsync: the entries are the directory's data, but being
    // conservative costs nothing on a path taken once per segment roll.
    std::error_code ec = ring_fsync(fd, false);
    ::close(fd);
    return ec;
  }

  std::error_code remove(const std::string& path) override {
    if (::unlink(path.c_str()) != 0) return last_errno();
    return {};
  }

  result<std::uint64_t> file_size(const std::string& path) override {
    struct stat st{};
    if (::stat(path.c_str(), &st) != 0) return unexpected{last_errno()};
    return static_cast<std::uint64_t>(st.st_size);
  }

  bool exists(const std::string& path) override {
    struct stat st{};
    return ::stat(path.c_str(), &st) == 0;
  }
};

}  // namespace

std::shared_ptr<file_system> uring_file_system() {
  // Stateless, so one instance serves the whole process.
  static const std::shared_ptr<file_system> fs = std::make_shared<uring_fs>();
  return fs;
}

}  // namespace muninn::storage::io
