// Test fixtures that give each storage_io test a fresh file system of one
// backend, so the same behaviour tests run against every implementation.
// Not thread-safe: one fixture per test case.
#pragma once

#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "storage/io/file_system.h"

namespace muninn::storage::io::testing {

// A private directory under /tmp, removed with everything in it.
class temp_dir {
 public:
  temp_dir() {
    std::string tmpl = "/tmp/muninn-io-test-XXXXXX";
    REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
    path_ = tmpl;
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

struct uring_backend {
  temp_dir dir;
  std::shared_ptr<file_system> fs = uring_file_system();
  std::string root = dir.path();
};

struct memory_backend {
  std::shared_ptr<memory_file_system> mem = make_memory_file_system();
  std::shared_ptr<file_system> fs = mem;
  std::string root = "/mem/muninn-io-test";
  memory_backend() { REQUIRE_FALSE(fs->create_dirs(root)); }
};

struct fault_memory_backend {
  std::shared_ptr<memory_file_system> mem = make_memory_file_system();
  std::shared_ptr<fault_file_system> fault = make_fault_file_system(mem);
  std::shared_ptr<file_system> fs = fault;
  std::string root = "/mem/muninn-io-test";
  fault_memory_backend() { REQUIRE_FALSE(fs->create_dirs(root)); }
};

struct fault_uring_backend {
  temp_dir dir;
  std::shared_ptr<fault_file_system> fault = make_fault_file_system(uring_file_system());
  std::shared_ptr<file_system> fs = fault;
  std::string root = dir.path();
};

inline std::vector<std::byte> bytes(std::string_view s) {
  std::vector<std::byte> out(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) out[i] = static_cast<std::byte>(s[i]);
  return out;
}

inline const_buffer buf(const std::vector<std::byte>& b) { return {b.data(), b.size()}; }

// The whole file through open_read, as a string for readable failures.
inline std::string read_all(file_system& fs, const std::string& path) {
  auto f = fs.open_read(path);
  REQUIRE(f);
  auto size = (*f)->size();
  REQUIRE(size);
  std::vector<std::byte> out(*size + 16);  // ask for more to see where the file ends
  std::size_t got = 0;
  REQUIRE_FALSE((*f)->read(0, out, got));
  REQUIRE(got == *size);
  return std::string(reinterpret_cast<const char*>(out.data()), got);
}

// Writes one string at `offset` as a single buffer.
inline std::error_code write_str(append_file& f, std::string_view s, std::uint64_t offset,
                                 bool sync = false) {
  const auto b = bytes(s);
  const const_buffer bufs[] = {buf(b)};
  return f.write(bufs, offset, sync);
}

inline std::unique_ptr<append_file> create(file_system& fs, const std::string& path) {
  auto f = fs.open_append(path, true);
  REQUIRE(f);
  return std::move(f).value();
}

}  // namespace muninn::storage::io::testing
