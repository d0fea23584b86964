// The fault backend: the n-th write is torn and fails, the n-th sync fails,
// and a file that failed once only answers EIO. Run over memory and uring.
#include "tests/storage_io/backends.h"

namespace muninn::storage::io::testing {
namespace {

#define FAULT_BACKENDS fault_memory_backend, fault_uring_backend

// Five records of ten bytes, each written as two buffers (4 + 6) so a torn
// half-write (5 bytes) ends inside the second buffer.
std::string record(int i) { return "rec" + std::to_string(i) + "-abcd|"; }

std::error_code write_record(append_file& f, int i, bool sync, bool& on_written) {
  const auto r = bytes(record(i));
  const std::vector<std::byte> head(r.begin(), r.begin() + 4), tail(r.begin() + 4, r.end());
  const const_buffer bufs[] = {buf(head), buf(tail)};
  return f.write(bufs, static_cast<std::uint64_t>(i) * 10, sync, [&] { on_written = true; });
}

TEMPLATE_TEST_CASE("fault: fail_write_at(n) fails exactly the n-th write and leaves half of it",
                   "[storage][io][fault]", FAULT_BACKENDS) {
  for (int n = 1; n <= 5; ++n) {
    DYNAMIC_SECTION("n = " << n) {
      TestType b;
      b.fault->fail_write_at(static_cast<std::uint64_t>(n));
      const std::string path = b.root + "/00000000000000000000.log";
      auto f = create(*b.fs, path);
      std::string expected;
      for (int i = 0; i < 5; ++i) {
        bool called = false;
        const auto ec = write_record(*f, i, i % 2 == 0, called);
        if (i + 1 < n) {
          REQUIRE_FALSE(ec);
          CHECK(called);
          expected += record(i);
        } else if (i + 1 == n) {
          CHECK(ec == std::errc::io_error);
          CHECK_FALSE(called);
          expected += record(i).substr(0, 5);
        } else {
          CHECK(ec == std::errc::io_error);  // latched
          CHECK_FALSE(called);
        }
      }
      CHECK(b.fault->writes() == 5);
      CHECK(read_all(*b.fs, path) == expected);
    }
  }
}

TEMPLATE_TEST_CASE("fault: fail_sync_at(n) fails the n-th sync and leaves the data unsynced",
                   "[storage][io][fault]", FAULT_BACKENDS) {
  TestType b;
  const std::string path = b.root + "/00000000000000000000.log";
  auto f = create(*b.fs, path);
  REQUIRE_FALSE(b.fs->sync_dir(b.root));  // sync 1
  bool called = false;
  REQUIRE_FALSE(write_record(*f, 0, true, called));  // write 1, sync 2
  CHECK(b.fault->syncs() == 2);

  b.fault->fail_sync_at(3);
  called = false;
  CHECK(write_record(*f, 1, true, called) == std::errc::io_error);  // write 2, sync 3
  CHECK(called);  // the write itself completed; only its sync failed
  CHECK(read_all(*b.fs, path) == record(0) + record(1));
  CHECK(f->sync() == std::errc::io_error);  // never retried on the same file
  CHECK(b.fault->writes() == 2);
  CHECK(b.fault->syncs() == 4);

  if constexpr (std::is_same_v<TestType, fault_memory_backend>) {
    b.mem->drop_unsynced();
    CHECK(read_all(*b.fs, path) == record(0));
  }
}

TEMPLATE_TEST_CASE("fault: a failing sync() and sync_dir() count as syncs",
                   "[storage][io][fault]", FAULT_BACKENDS) {
  TestType b;
  auto f = create(*b.fs, b.root + "/a.log");
  b.fault->fail_sync_at(2);
  REQUIRE_FALSE(f->sync());
  CHECK(b.fs->sync_dir(b.root) == std::errc::io_error);
  REQUIRE_FALSE(b.fs->sync_dir(b.root));  // a directory is not latched
  REQUIRE_FALSE(f->sync());
  CHECK(b.fault->syncs() == 4);
  CHECK(b.fault->writes() == 0);
}

TEMPLATE_TEST_CASE("fault: after an error every later call on that file returns EIO",
                   "[storage][io][fault]", FAULT_BACKENDS) {
  TestType b;
  b.fault->fail_sync_at(1);
  const std::string path = b.root + "/a.log";
  auto f = create(*b.fs, path);
  CHECK(f->sync() == std::errc::io_error);
  CHECK(write_str(*f, "abc", 0) == std::errc::io_error);
  CHECK(write_str(*f, "abc", 0, true) == std::errc::io_error);
  CHECK(f->sync() == std::errc::io_error);
  CHECK(f->truncate(0) == std::errc::io_error);
  CHECK(*b.fs->file_size(path) == 0);

  // Other files, and the same file reopened (as recovery does), still work.
  auto g = b.fs->open_append(path, false);
  REQUIRE(g);
  REQUIRE_FALSE(write_str(**g, "abc", 0, true));
  CHECK(read_all(*b.fs, path) == "abc");
}

TEMPLATE_TEST_CASE("fault: with no trigger set everything passes through and is counted",
                   "[storage][io][fault]", FAULT_BACKENDS) {
  TestType b;
  auto f = create(*b.fs, b.root + "/a.log");
  REQUIRE_FALSE(write_str(*f, "one", 0));
  REQUIRE_FALSE(write_str(*f, "two", 3, true));
  REQUIRE_FALSE(f->sync());
  REQUIRE_FALSE(b.fs->sync_dir(b.root));
  REQUIRE_FALSE(f->truncate(3));  // recovery-only: not counted
  CHECK(b.fault->writes() == 2);
  CHECK(b.fault->syncs() == 3);
  CHECK(read_all(*b.fs, b.root + "/a.log") == "one");
}

}  // namespace
}  // namespace muninn::storage::io::testing
