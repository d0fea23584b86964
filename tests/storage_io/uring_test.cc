// What only the io_uring backend has to get right: splitting large iovec
// lists over several SQEs and submissions, and one ring per thread.
#include <sys/resource.h>
#include <sys/stat.h>

#include <csignal>

#include <thread>

#include "tests/storage_io/backends.h"

namespace muninn::storage::io::testing {
namespace {

// `count` buffers of `width` bytes each, every one distinct so a buffer
// written to the wrong place shows.
struct many_buffers {
  std::vector<std::vector<std::byte>> storage;
  std::vector<const_buffer> bufs;
  std::string expected;
  many_buffers(std::size_t count, std::size_t width) {
    for (std::size_t i = 0; i < count; ++i) {
      std::string s = std::to_string(i);
      s.resize(width, '.');
      s.back() = '|';
      expected += s;
      storage.push_back(bytes(s));
    }
    for (const auto& s : storage) bufs.push_back(buf(s));
  }
};

TEST_CASE("uring: a write of 1000 small buffers lands in order", "[storage][io][uring]") {
  uring_backend b;
  const std::string path = b.root + "/00000000000000000000.log";
  auto f = create(*b.fs, path);
  many_buffers m(1000, 7);
  bool called = false;
  REQUIRE_FALSE(f->write(m.bufs, 0, true, [&] { called = true; }));
  CHECK(called);
  CHECK(read_all(*b.fs, path) == m.expected);
}

TEST_CASE("uring: more buffers than one submission round holds land in order",
          "[storage][io][uring]") {
  // 32 SQEs of IOV_MAX (1024) iovecs make a round; this needs two rounds.
  uring_backend b;
  const std::string path = b.root + "/00000000000000000000.log";
  auto f = create(*b.fs, path);
  REQUIRE_FALSE(write_str(*f, "head|", 0));
  many_buffers m(40000, 6);
  REQUIRE_FALSE(f->write(m.bufs, 5, true));
  CHECK(read_all(*b.fs, path) == "head|" + m.expected);
}

TEST_CASE("uring: a write cut short by the file size limit fails without on_written",
          "[storage][io][uring]") {
  // RLIMIT_FSIZE makes the kernel write up to the limit (a short write) and
  // refuse the continuation with EFBIG; success here would be a false ack.
  uring_backend b;
  const std::string path = b.root + "/short.log";
  auto f = create(*b.fs, path);
  many_buffers m(300, 10);
  auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
  rlimit old_limit{};
  REQUIRE(::getrlimit(RLIMIT_FSIZE, &old_limit) == 0);
  rlimit limit = old_limit;
  limit.rlim_cur = 1000;
  REQUIRE(::setrlimit(RLIMIT_FSIZE, &limit) == 0);
  bool called = false;
  const auto ec = f->write(m.bufs, 0, true, [&] { called = true; });
  ::setrlimit(RLIMIT_FSIZE, &old_limit);
  std::signal(SIGXFSZ, old_handler);
  CHECK(ec == std::errc::file_too_large);
  CHECK_FALSE(called);
  CHECK(read_all(*b.fs, path) == m.expected.substr(0, 1000));
}

TEST_CASE("uring: files are created with mode 0644", "[storage][io][uring]") {
  uring_backend b;
  const mode_t old = ::umask(022);
  auto f = create(*b.fs, b.root + "/mode.log");
  ::umask(old);
  struct stat st{};
  REQUIRE(::stat((b.root + "/mode.log").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0644);
}

TEST_CASE("uring: threads each use their own ring, before and after others exit",
          "[storage][io][uring]") {
  uring_backend b;
  std::vector<std::unique_ptr<append_file>> files;
  for (int t = 0; t < 4; ++t) files.push_back(create(*b.fs, b.root + "/t" + std::to_string(t)));
  std::vector<int> failures(4, 0);
  std::vector<std::thread> writers;
  for (int t = 0; t < 4; ++t) {
    writers.emplace_back([&, t] {
      for (int i = 0; i < 20; ++i)
        if (write_str(*files[static_cast<std::size_t>(t)], "0123456789",
                      static_cast<std::uint64_t>(i) * 10, i % 5 == 4))
          ++failures[static_cast<std::size_t>(t)];
    });
  }
  for (auto& w : writers) w.join();
  // The writer threads are gone with their rings; the files stay usable
  // from this thread's ring.
  for (int t = 0; t < 4; ++t) {
    CHECK(failures[static_cast<std::size_t>(t)] == 0);
    REQUIRE_FALSE(files[static_cast<std::size_t>(t)]->sync());
    CHECK(*b.fs->file_size(b.root + "/t" + std::to_string(t)) == 200);
  }
}

}  // namespace
}  // namespace muninn::storage::io::testing
