// All file I/O of the storage module goes through this narrow interface
// (LevelDB's Env, RocksDB's FileSystem). Three implementations:
//   - uring:  the real one; segment writes and syncs are io_uring
//             submissions (the only file that includes liburing is uring.cc),
//   - memory: in-process files that remember what was synced, so a test
//             can drop everything unsynced as a power cut would,
//   - fault:  wraps another file system and fails the n-th write or sync.
// Errors are std::error_code in the generic (errno) category.
// Thread-safety: a file_system may be shared; an append_file is used by one
// thread at a time; read_file::read is safe from many threads at once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <system_error>
#include <vector>

#include "codec/result.h"

namespace muninn::storage::io {

using const_buffer = std::span<const std::byte>;

class append_file {
 public:
  virtual ~append_file() = default;

  // Writes `bufs` back to back starting at byte `offset`. When `sync` is
  // true the data is then made durable (fdatasync) in the same submission.
  // `on_written`, when set, runs on the calling thread once the write has
  // completed and before the sync has. Blocks until everything completed.
  // Short writes are continued. After any error the file must not be used
  // again: a failed fsync is never retried on the same descriptor.
  virtual std::error_code write(std::span<const const_buffer> bufs, std::uint64_t offset,
                                bool sync, const std::function<void()>& on_written = {}) = 0;
  // fdatasync on its own.
  virtual std::error_code sync() = 0;
  // Cuts the file to `size` bytes and syncs (recovery only, never in the append path).
  virtual std::error_code truncate(std::uint64_t size) = 0;
};

class read_file {
 public:
  virtual ~read_file() = default;
  // Reads up to out.size() bytes at `offset`; `got` < out.size() only at end of file.
  virtual std::error_code read(std::uint64_t offset, std::span<std::byte> out,
                               std::size_t& got) const = 0;
  virtual result<std::uint64_t> size() const = 0;
};

class file_system {
 public:
  virtual ~file_system() = default;

  // Opens for appending; creates the file when `create` (and fails with
  // file_exists if it already exists then).
  virtual result<std::unique_ptr<append_file>> open_append(const std::string& path,
                                                           bool create) = 0;
  virtual result<std::unique_ptr<read_file>> open_read(const std::string& path) = 0;
  // Names (not paths) of the regular files in `dir`, unsorted.
  virtual result<std::vector<std::string>> list(const std::string& dir) = 0;
  virtual std::error_code create_dirs(const std::string& dir) = 0;
  // Makes creations and removals in `dir` durable.
  virtual std::error_code sync_dir(const std::string& dir) = 0;
  virtual std::error_code remove(const std::string& path) = 0;
  virtual result<std::uint64_t> file_size(const std::string& path) = 0;
  virtual bool exists(const std::string& path) = 0;
};

// The real file system: writes and syncs through io_uring (one ring per
// thread, created on first use), reads with pread.
std::shared_ptr<file_system> uring_file_system();

// In-memory files. drop_unsynced() makes every file what it was at its last
// sync (and forgets files whose creation was never made durable by
// sync_dir), as a power cut would.
class memory_file_system : public file_system {
 public:
  virtual void drop_unsynced() = 0;
};
std::shared_ptr<memory_file_system> make_memory_file_system();

// Fails chosen operations of `base` with EIO. Counting starts at 1 and
// covers every append_file::write (a write with sync=true counts as one
// write and one sync) and every sync()/sync_dir(). 0 disables a trigger.
class fault_file_system : public file_system {
 public:
  virtual void fail_write_at(std::uint64_t n) = 0;
  virtual void fail_sync_at(std::uint64_t n) = 0;
  virtual std::uint64_t writes() const = 0;
  virtual std::uint64_t syncs() const = 0;
};
std::shared_ptr<fault_file_system> make_fault_file_system(std::shared_ptr<file_system> base);

}  // namespace muninn::storage::io
