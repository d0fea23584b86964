// Fault injection over any file system (RocksDB's FaultInjectionTestFS):
// fails the n-th write with a torn half-write, or the n-th sync, with EIO.
// Thread-safety: counters and triggers are atomics shared by the file
// system and every file it opened; each file's latch belongs to its user.
#include <algorithm>
#include <atomic>
#include <cerrno>

#include "storage/io/file_system.h"

namespace muninn::storage::io {
namespace {

std::error_code eio() { return {EIO, std::generic_category()}; }

struct counters {
  std::atomic<std::uint64_t> writes{0};
  std::atomic<std::uint64_t> syncs{0};
  std::atomic<std::uint64_t> fail_write_at{0};
  std::atomic<std::uint64_t> fail_sync_at{0};

  // Every call counts, including ones that fail or hit a latched file, so
  // "the n-th" is simply the n-th call a test made.
  bool write_fails() { return ++writes == fail_write_at.load(); }
  bool sync_fails() { return ++syncs == fail_sync_at.load(); }
};

class fault_append_file final : public append_file {
 public:
  fault_append_file(std::shared_ptr<counters> c, std::unique_ptr<append_file> base)
      : c_(std::move(c)), base_(std::move(base)) {}

  std::error_code write(std::span<const const_buffer> bufs, std::uint64_t offset, bool sync,
                        const std::function<void()>& on_written) override {
    const bool write_fails = c_->write_fails();
    const bool sync_fails = sync && c_->sync_fails();
    if (failed_) return eio();
    if (write_fails) {
      torn_write(bufs, offset);
      return latch();
    }
    if (sync_fails) {
      // The data reaches the base (unsynced), as when fdatasync reports EIO
      // after the write itself succeeded.
      if (auto ec = base_->write(bufs, offset, false, on_written)) return latch(ec);
      return latch();
    }
    if (auto ec = base_->write(bufs, offset, sync, on_written)) return latch(ec);
    return {};
  }

  std::error_code sync() override {
    const bool fails = c_->sync_fails();
    if (failed_) return eio();
    if (fails) return latch();
    if (auto ec = base_->sync()) return latch(ec);
    return {};
  }

  std::error_code truncate(std::uint64_t size) override {
    if (failed_) return eio();
    if (auto ec = base_->truncate(size)) return latch(ec);
    return {};
  }

 private:
  // Only the first half of the bytes land, as when power fails mid-write.
  void torn_write(std::span<const const_buffer> bufs, std::uint64_t offset) {
    std::uint64_t total = 0;
    for (const auto& b : bufs) total += b.size();
    std::uint64_t left = total / 2;
    std::vector<const_buffer> half;
    for (const auto& b : bufs) {
      if (left == 0) break;
      const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(left, b.size()));
      half.push_back(b.first(n));
      left -= n;
    }
    if (!half.empty()) (void)base_->write(half, offset, false);
  }

  // Like NATS' file store: after the first failure the file only says EIO.
  std::error_code latch(std::error_code ec = eio()) {
    failed_ = true;
    return ec;
  }

  std::shared_ptr<counters> c_;
  std::unique_ptr<append_file> base_;
  bool failed_ = false;
};

class fault_fs final : public fault_file_system {
 public:
  explicit fault_fs(std::shared_ptr<file_system> base) : base_(std::move(base)) {}

  void fail_write_at(std::uint64_t n) override { c_->fail_write_at = n; }
  void fail_sync_at(std::uint64_t n) override { c_->fail_sync_at = n; }
  std::uint64_t writes() const override { return c_->writes.load(); }
  std::uint64_t syncs() const override { return c_->syncs.load(); }

  result<std::unique_ptr<append_file>> open_append(const std::string& path,
                                                   bool create) override {
    auto f = base_->open_append(path, create);
    if (!f) return unexpected{f.error()};
    return std::unique_ptr<append_file>(
        std::make_unique<fault_append_file>(c_, std::move(f).value()));
  }
  result<std::unique_ptr<read_file>> open_read(const std::string& path) override {
    return base_->open_read(path);
  }
  result<std::vector<std::string>> list(const std::string& dir) override {
    return base_->list(dir);
  }
  std::error_code create_dirs(const std::string& dir) override { return base_->create_dirs(dir); }
  std::error_code sync_dir(const std::string& dir) override {
    if (c_->sync_fails()) return eio();
    return base_->sync_dir(dir);
  }
  std::error_code remove(const std::string& path) override { return base_->remove(path); }
  result<std::uint64_t> file_size(const std::string& path) override {
    return base_->file_size(path);
  }
  bool exists(const std::string& path) override { return base_->exists(path); }

 private:
  std::shared_ptr<file_system> base_;
  std::shared_ptr<counters> c_ = std::make_shared<counters>();
};

}  // namespace

std::shared_ptr<fault_file_system> make_fault_file_system(std::shared_ptr<file_system> base) {
  return std::make_shared<fault_fs>(std::move(base));
}

}  // namespace muninn::storage::io
