// In-memory files for tests, modelled on inodes and directory entries so a
// power cut can be simulated: drop_unsynced() keeps only what fdatasync
// (contents) and sync_dir (names) made durable. Thread-safety: one mutex
// guards the whole namespace and every file; callbacks run outside it.
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>

#include "storage/io/file_system.h"

namespace muninn::storage::io {
namespace {

std::error_code errno_code(int e) { return {e, std::generic_category()}; }

// Far above anything a test writes, far below what would make a stray
// offset allocate the machine away (the real backend would give EFBIG at
// the file system's limit instead).
constexpr std::uint64_t max_file_size = std::uint64_t{1} << 32;

struct inode {
  std::vector<std::byte> data;
  // Contents as of the last sync. Kept as a copy, not a length, because
  // writes may land anywhere; `dirty_from` (the lowest byte changed since)
  // keeps a sync after appends proportional to the appended bytes.
  std::vector<std::byte> synced;
  std::size_t dirty_from = 0;

  void sync() {
    synced.resize(data.size());
    if (dirty_from < data.size())
      std::copy(data.begin() + static_cast<std::ptrdiff_t>(dirty_from), data.end(),
                synced.begin() + static_cast<std::ptrdiff_t>(dirty_from));
    dirty_from = data.size();
  }
};

// Paths are compared after lexical normalisation so "a/./b" and "a/b/" name
// the same thing; "" (relative root) and "/" always exist.
std::string normal(const std::string& p) {
  std::string s = std::filesystem::path(p).lexically_normal().string();
  while (s.size() > 1 && s.back() == '/') s.pop_back();
  if (s == ".") s.clear();
  return s;
}
std::string parent_of(const std::string& normalised) {
  return std::filesystem::path(normalised).parent_path().string();
}

struct state {
  std::mutex mu;
  // The live namespace and the one a power cut would leave behind. Both map
  // to shared inodes, so a removed-but-durable file keeps its contents.
  std::map<std::string, std::shared_ptr<inode>> files;
  std::map<std::string, std::shared_ptr<inode>> durable_files;
  // Directories are durable once created: the storage code syncs the
  // entries of a partition directory, not the directory tree above it.
  std::set<std::string> dirs{"", "/"};
};

class memory_append_file final : public append_file {
 public:
  memory_append_file(std::shared_ptr<state> st, std::shared_ptr<inode> f)
      : st_(std::move(st)), f_(std::move(f)) {}

  std::error_code write(std::span<const const_buffer> bufs, std::uint64_t offset, bool sync,
                        const std::function<void()>& on_written) override {
    if (failed_) return failed_;
    std::uint64_t total = 0;
    for (const auto& b : bufs) total += b.size();
    if (offset > max_file_size || total > max_file_size - offset)
      return latch(errno_code(EFBIG));
    {
      std::lock_guard lock(st_->mu);
      const auto end = static_cast<std::size_t>(offset + total);
      if (f_->data.size() < end) f_->data.resize(end);  // a gap reads as zeros, as in a sparse file
      auto pos = static_cast<std::size_t>(offset);
      f_->dirty_from = std::min(f_->dirty_from, pos);
      for (const auto& b : bufs) {
        if (!b.empty()) std::memcpy(f_->data.data() + pos, b.data(), b.size());
        pos += b.size();
      }
    }
    if (on_written) on_written();
    if (sync) return this->sync();
    return {};
  }

  std::error_code sync() override {
    if (failed_) return failed_;
    std::lock_guard lock(st_->mu);
    f_->sync();
    return {};
  }

  std::error_code truncate(std::uint64_t size) override {
    if (failed_) return failed_;
    if (size > max_file_size) return latch(errno_code(EFBIG));
    std::lock_guard lock(st_->mu);
    const auto n = static_cast<std::size_t>(size);
    f_->data.resize(n);
    f_->dirty_from = std::min(f_->dirty_from, n);
    f_->sync();
    return {};
  }

 private:
  std::error_code latch(std::error_code ec) {
    failed_ = ec;
    return ec;
  }

  std::shared_ptr<state> st_;
  std::shared_ptr<inode> f_;
  std::error_code failed_;
};

class memory_read_file final : public read_file {
 public:
  memory_read_file(std::shared_ptr<state> st, std::shared_ptr<inode> f)
      : st_(std::move(st)), f_(std::move(f)) {}

  std::error_code read(std::uint64_t offset, std::span<std::byte> out,
                       std::size_t& got) const override {
    std::lock_guard lock(st_->mu);
    got = 0;
    if (offset >= f_->data.size()) return {};
    const auto at = static_cast<std::size_t>(offset);
    got = std::min(out.size(), f_->data.size() - at);
    if (got > 0) std::memcpy(out.data(), f_->data.data() + at, got);
    return {};
  }

  result<std::uint64_t> size() const override {
    std::lock_guard lock(st_->mu);
    return std::uint64_t{f_->data.size()};
  }

 private:
  std::shared_ptr<state> st_;
  std::shared_ptr<inode> f_;
};

class memory_fs final : public memory_file_system {
 public:
  result<std::unique_ptr<append_file>> open_append(const std::string& path,
                                                   bool create) override {
    const std::string p = normal(path);
    std::lock_guard lock(st_->mu);
    if (st_->dirs.count(p)) return unexpected{errno_code(EISDIR)};
    auto it = st_->files.find(p);
    if (it == st_->files.end()) {
      if (!create) return unexpected{errno_code(ENOENT)};
      if (!st_->dirs.count(parent_of(p))) return unexpected{errno_code(ENOENT)};
      it = st_->files.emplace(p, std::make_shared<inode>()).first;
    } else if (create) {
      return unexpected{errno_code(EEXIST)};
    }
    return std::unique_ptr<append_file>(std::make_unique<memory_append_file>(st_, it->second));
  }

  result<std::unique_ptr<read_file>> open_read(const std::string& path) override {
    const std::string p = normal(path);
    std::lock_guard lock(st_->mu);
    auto it = st_->files.find(p);
    if (it == st_->files.end())
      return unexpected{errno_code(st_->dirs.count(p) ? EISDIR : ENOENT)};
    return std::unique_ptr<read_file>(std::make_unique<memory_read_file>(st_, it->second));
  }

  result<std::vector<std::string>> list(const std::string& dir) override {
    const std::string d = normal(dir);
    std::lock_guard lock(st_->mu);
    if (!st_->dirs.count(d))
      return unexpected{errno_code(st_->files.count(d) ? ENOTDIR : ENOENT)};
    std::vector<std::string> names;
    for (const auto& [p, f] : st_->files)
      if (parent_of(p) == d) names.push_back(std::filesystem::path(p).filename().string());
    return names;
  }

  std::error_code create_dirs(const std::string& dir) override {
    std::lock_guard lock(st_->mu);
    for (std::string d = normal(dir); !st_->dirs.count(d); d = parent_of(d)) {
      if (st_->files.count(d)) return errno_code(ENOTDIR);
      st_->dirs.insert(d);
    }
    return {};
  }

  std::error_code sync_dir(const std::string& dir) override {
    const std::string d = normal(dir);
    std::lock_guard lock(st_->mu);
    if (!st_->dirs.count(d)) return errno_code(ENOENT);
    // The directory's durable entries become exactly its live entries.
    std::erase_if(st_->durable_files, [&](const auto& e) { return parent_of(e.first) == d; });
    for (const auto& [p, f] : st_->files)
      if (parent_of(p) == d) st_->durable_files.emplace(p, f);
    return {};
  }

  std::error_code remove(const std::string& path) override {
    const std::string p = normal(path);
    std::lock_guard lock(st_->mu);
    if (st_->files.erase(p) == 0) return errno_code(st_->dirs.count(p) ? EISDIR : ENOENT);
    return {};
  }

  result<std::uint64_t> file_size(const std::string& path) override {
    const std::string p = normal(path);
    std::lock_guard lock(st_->mu);
    auto it = st_->files.find(p);
    if (it == st_->files.end()) return unexpected{errno_code(ENOENT)};
    return std::uint64_t{it->second->data.size()};
  }

  bool exists(const std::string& path) override {
    const std::string p = normal(path);
    std::lock_guard lock(st_->mu);
    return st_->files.count(p) > 0 || st_->dirs.count(p) > 0;
  }

  void drop_unsynced() override {
    std::lock_guard lock(st_->mu);
    st_->files = st_->durable_files;
    for (const auto& [p, f] : st_->files) {
      f->data = f->synced;
      f->dirty_from = f->data.size();
    }
  }

 private:
  std::shared_ptr<state> st_ = std::make_shared<state>();
};

}  // namespace

std::shared_ptr<memory_file_system> make_memory_file_system() {
  return std::make_shared<memory_fs>();
}

}  // namespace muninn::storage::io
