// Behaviour every file_system backend must share, run against each one
// (NATS runs its store tests against memory and file the same way).
#include <algorithm>
#include <atomic>
#include <climits>
#include <thread>

#include "tests/storage_io/backends.h"

namespace muninn::storage::io::testing {
namespace {

#define IO_BACKENDS uring_backend, memory_backend, fault_memory_backend

TEMPLATE_TEST_CASE("io: writes at offsets read back as written", "[storage][io]", IO_BACKENDS) {
  TestType b;
  const std::string path = b.root + "/00000000000000000000.log";
  auto f = create(*b.fs, path);
  REQUIRE_FALSE(write_str(*f, "hello", 0));
  REQUIRE_FALSE(write_str(*f, "world", 5, true));
  REQUIRE_FALSE(write_str(*f, "LL", 2));  // overwrite inside the file
  CHECK(read_all(*b.fs, path) == "heLLoworld");

  auto r = b.fs->open_read(path);
  REQUIRE(r);
  std::vector<std::byte> out(8);
  std::size_t got = 99;
  REQUIRE_FALSE((*r)->read(6, out, got));  // runs past the end
  CHECK(got == 4);
  CHECK(std::string(reinterpret_cast<const char*>(out.data()), got) == "orld");
  REQUIRE_FALSE((*r)->read(10, out, got));
  CHECK(got == 0);
  REQUIRE_FALSE((*r)->read(1000, out, got));
  CHECK(got == 0);
}

TEMPLATE_TEST_CASE("io: a write past the end leaves a zero-filled gap", "[storage][io]",
                   IO_BACKENDS) {
  TestType b;
  const std::string path = b.root + "/gap.log";
  auto f = create(*b.fs, path);
  REQUIRE_FALSE(write_str(*f, "ab", 0));
  REQUIRE_FALSE(write_str(*f, "cd", 6, true));
  CHECK(read_all(*b.fs, path) == std::string("ab\0\0\0\0cd", 8));
}

TEMPLATE_TEST_CASE("io: several buffers are written back to back", "[storage][io]",
                   IO_BACKENDS) {
  TestType b;
  const std::string path = b.root + "/multi.log";
  auto f = create(*b.fs, path);
  const auto x = bytes("frame-header|"), empty = bytes(""), y = bytes("batch"),
             z = bytes("|trailer");
  const const_buffer bufs[] = {buf(x), buf(empty), buf(y), buf(z)};
  REQUIRE_FALSE(f->write(bufs, 3, true));
  CHECK(read_all(*b.fs, path) == std::string("\0\0\0frame-header|batch|trailer", 29));
  CHECK(*b.fs->file_size(path) == 29);
}

TEMPLATE_TEST_CASE("io: a write of no bytes succeeds and still syncs", "[storage][io]",
                   IO_BACKENDS) {
  TestType b;
  const std::string path = b.root + "/empty.log";
  auto f = create(*b.fs, path);
  bool called = false;
  REQUIRE_FALSE(f->write({}, 0, true, [&] { called = true; }));
  CHECK(called);
  CHECK(*b.fs->file_size(path) == 0);
}

TEMPLATE_TEST_CASE("io: on_written runs on the calling thread before write returns",
                   "[storage][io]", IO_BACKENDS) {
  TestType b;
  auto f = create(*b.fs, b.root + "/cb.log");
  const auto data = bytes("payload");
  const const_buffer bufs[] = {buf(data)};
  for (bool sync : {false, true}) {
    int calls = 0;
    std::thread::id on;
    REQUIRE_FALSE(f->write(bufs, sync ? 7 : 0, sync, [&] {
      ++calls;
      on = std::this_thread::get_id();
    }));
    CHECK(calls == 1);
    CHECK(on == std::this_thread::get_id());
  }
  CHECK(*b.fs->file_size(b.root + "/cb.log") == 14);
}

TEMPLATE_TEST_CASE("io: a failed write skips on_written and fences the file", "[storage][io]",
                   IO_BACKENDS) {
  TestType b;
  auto f = create(*b.fs, b.root + "/fenced.log");
  const auto data = bytes("12345678");
  const const_buffer bufs[] = {buf(data)};
  bool called = false;
  // Ends past the largest file offset any file system accepts.
  const std::uint64_t impossible = static_cast<std::uint64_t>(LLONG_MAX) - 3;
  CHECK(f->write(bufs, impossible, true, [&] { called = true; }));
  CHECK_FALSE(called);
  // A good write on the same file must not go through: the caller has to
  // reopen and recover, never retry on the failed descriptor.
  CHECK(f->write(bufs, 0, true, [&] { called = true; }));
  CHECK_FALSE(called);
  CHECK(f->sync());
  CHECK(*b.fs->file_size(b.root + "/fenced.log") == 0);
}

TEMPLATE_TEST_CASE("io: open_append refuses to create an existing file", "[storage][io]",
                   IO_BACKENDS) {
  TestType b;
  const std::string path = b.root + "/exists.log";
  auto f = create(*b.fs, path);
  REQUIRE_FALSE(write_str(*f, "keep", 0, true));

  auto again = b.fs->open_append(path, true);
  REQUIRE_FALSE(again);
  CHECK(again.error() == std::errc::file_exists);
  CHECK(read_all(*b.fs, path) == "keep");

  auto missing = b.fs->open_append(b.root + "/missing.log", false);
  REQUIRE_FALSE(missing);
  CHECK(missing.error() == std::errc::no_such_file_or_directory);
  CHECK_FALSE(b.fs->exists(b.root + "/missing.log"));
  auto in_missing_dir = b.fs->open_append(b.root + "/no/such/dir.log", true);
  REQUIRE_FALSE(in_missing_dir);
  CHECK(in_missing_dir.error() == std::errc::no_such_file_or_directory);
}

TEMPLATE_TEST_CASE("io: reopening without create continues the existing file",
                   "[storage][io]", IO_BACKENDS) {
  TestType b;
  const std::string path = b.root + "/reopen.log";
  {
    auto f = create(*b.fs, path);
    REQUIRE_FALSE(write_str(*f, "first,", 0, true));
  }
  auto f = b.fs->open_append(path, false);
  REQUIRE(f);
  REQUIRE_FALSE(write_str(**f, "second", *b.fs->file_size(path), true));
  CHECK(read_all(*b.fs, path) == "first,second");
}

TEMPLATE_TEST_CASE("io: list, exists, file_size and remove see regular files only",
                   "[storage][io]", IO_BACKENDS) {
  TestType b;
  const std::string dir = b.root + "/topic/0";
  REQUIRE_FALSE(b.fs->create_dirs(dir));
  REQUIRE_FALSE(b.fs->create_dirs(dir));  // already there is fine
  REQUIRE_FALSE(b.fs->create_dirs(dir + "/sub"));
  for (const char* name : {"00000000000000000000.log", "00000000000000001000.log"}) {
    auto f = create(*b.fs, dir + "/" + name);
    REQUIRE_FALSE(write_str(*f, name, 0, true));
  }
  REQUIRE_FALSE(b.fs->sync_dir(dir));

  auto names = b.fs->list(dir);
  REQUIRE(names);
  std::sort(names->begin(), names->end());
  CHECK(*names == std::vector<std::string>{"00000000000000000000.log",
                                           "00000000000000001000.log"});
  CHECK(b.fs->exists(dir));
  CHECK(b.fs->exists(dir + "/00000000000000001000.log"));
  CHECK(*b.fs->file_size(dir + "/00000000000000001000.log") == 24);

  REQUIRE_FALSE(b.fs->remove(dir + "/00000000000000000000.log"));
  REQUIRE_FALSE(b.fs->sync_dir(dir));
  CHECK_FALSE(b.fs->exists(dir + "/00000000000000000000.log"));
  CHECK(b.fs->remove(dir + "/00000000000000000000.log") == std::errc::no_such_file_or_directory);
  auto size = b.fs->file_size(dir + "/00000000000000000000.log");
  REQUIRE_FALSE(size);
  CHECK(size.error() == std::errc::no_such_file_or_directory);
  CHECK_FALSE(b.fs->open_read(dir + "/00000000000000000000.log"));
  names = b.fs->list(dir);
  REQUIRE(names);
  CHECK(*names == std::vector<std::string>{"00000000000000001000.log"});

  auto missing = b.fs->list(b.root + "/nowhere");
  REQUIRE_FALSE(missing);
  CHECK(missing.error() == std::errc::no_such_file_or_directory);
  CHECK(b.fs->sync_dir(b.root + "/nowhere"));
}

TEMPLATE_TEST_CASE("io: truncate cuts the file and later writes extend it again",
                   "[storage][io]", IO_BACKENDS) {
  TestType b;
  const std::string path = b.root + "/torn.log";
  auto f = create(*b.fs, path);
  REQUIRE_FALSE(write_str(*f, "good-frame|torn-fr", 0, true));
  REQUIRE_FALSE(f->truncate(11));
  CHECK(*b.fs->file_size(path) == 11);
  CHECK(read_all(*b.fs, path) == "good-frame|");
  REQUIRE_FALSE(write_str(*f, "next-frame|", 11, true));
  CHECK(read_all(*b.fs, path) == "good-frame|next-frame|");
  REQUIRE_FALSE(f->sync());
}

TEMPLATE_TEST_CASE("io: a read_file serves many threads at once", "[storage][io]",
                   IO_BACKENDS) {
  TestType b;
  const std::string path = b.root + "/shared.log";
  std::string content;
  for (int i = 0; i < 4096; ++i) content.push_back(static_cast<char>('a' + i % 26));
  auto f = create(*b.fs, path);
  REQUIRE_FALSE(write_str(*f, content, 0, true));

  auto r = b.fs->open_read(path);
  REQUIRE(r);
  const read_file& shared = **r;
  std::atomic<int> mismatches{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 4; ++t) {
    readers.emplace_back([&, t] {
      std::vector<std::byte> out(100);
      for (int i = 0; i < 200; ++i) {
        const std::size_t at = static_cast<std::size_t>((t * 997 + i * 31) % 3996);  // keeps at + 100 inside the file
        std::size_t got = 0;
        if (shared.read(at, out, got) || got != out.size() ||
            std::string(reinterpret_cast<const char*>(out.data()), got) !=
                content.substr(at, got))
          ++mismatches;
      }
    });
  }
  for (auto& th : readers) th.join();
  CHECK(mismatches == 0);
}

}  // namespace
}  // namespace muninn::storage::io::testing
