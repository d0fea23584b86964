// The memory backend's power-cut model: drop_unsynced() keeps exactly what
// fdatasync (contents) and sync_dir (names) made durable.
#include "tests/storage_io/backends.h"

namespace muninn::storage::io::testing {
namespace {

TEST_CASE("memory: drop_unsynced loses unsynced bytes and keeps synced ones",
          "[storage][io][memory]") {
  memory_backend b;
  const std::string path = b.root + "/00000000000000000000.log";
  auto f = create(*b.fs, path);
  REQUIRE_FALSE(b.fs->sync_dir(b.root));
  REQUIRE_FALSE(write_str(*f, "acked|", 0, true));
  REQUIRE_FALSE(write_str(*f, "written-only|", 6));   // appended, never synced
  REQUIRE_FALSE(write_str(*f, "XX", 0));              // overwrites synced bytes, never synced
  REQUIRE(read_all(*b.fs, path) == "XXked|written-only|");

  b.mem->drop_unsynced();
  CHECK(read_all(*b.fs, path) == "acked|");

  // A plain sync() is as good as write(sync=true).
  REQUIRE_FALSE(write_str(*f, "more", 6));
  REQUIRE_FALSE(f->sync());
  REQUIRE_FALSE(write_str(*f, "lost", 10));
  b.mem->drop_unsynced();
  CHECK(read_all(*b.fs, path) == "acked|more");
}

TEST_CASE("memory: a file whose creation was never synced to its directory disappears",
          "[storage][io][memory]") {
  memory_backend b;
  const std::string path = b.root + "/00000000000000000000.log";
  auto f = create(*b.fs, path);
  REQUIRE_FALSE(write_str(*f, "synced contents, unsynced name", 0, true));
  b.mem->drop_unsynced();
  CHECK_FALSE(b.fs->exists(path));
  CHECK(b.fs->list(b.root)->empty());

  // Name durable but contents never synced: the file is there, empty.
  auto g = create(*b.fs, path);
  REQUIRE_FALSE(b.fs->sync_dir(b.root));
  REQUIRE_FALSE(write_str(*g, "never synced", 0));
  b.mem->drop_unsynced();
  CHECK(b.fs->exists(path));
  CHECK(*b.fs->file_size(path) == 0);
}

TEST_CASE("memory: a removal not followed by sync_dir comes back with its synced contents",
          "[storage][io][memory]") {
  memory_backend b;
  const std::string path = b.root + "/00000000000000000000.log";
  auto f = create(*b.fs, path);
  REQUIRE_FALSE(write_str(*f, "old segment", 0, true));
  REQUIRE_FALSE(b.fs->sync_dir(b.root));

  REQUIRE_FALSE(b.fs->remove(path));
  CHECK_FALSE(b.fs->exists(path));
  b.mem->drop_unsynced();
  CHECK(read_all(*b.fs, path) == "old segment");

  REQUIRE_FALSE(b.fs->remove(path));
  REQUIRE_FALSE(b.fs->sync_dir(b.root));
  b.mem->drop_unsynced();
  CHECK_FALSE(b.fs->exists(path));
}

TEST_CASE("memory: a file replaced without sync_dir reverts to the durable one",
          "[storage][io][memory]") {
  memory_backend b;
  const std::string path = b.root + "/00000000000000000000.log";
  auto f = create(*b.fs, path);
  REQUIRE_FALSE(write_str(*f, "durable", 0, true));
  REQUIRE_FALSE(b.fs->sync_dir(b.root));
  REQUIRE_FALSE(b.fs->remove(path));
  auto g = create(*b.fs, path);
  REQUIRE_FALSE(write_str(*g, "replacement", 0, true));
  b.mem->drop_unsynced();
  CHECK(read_all(*b.fs, path) == "durable");
}

TEST_CASE("memory: sync_dir makes only its own directory durable", "[storage][io][memory]") {
  memory_backend b;
  REQUIRE_FALSE(b.fs->create_dirs(b.root + "/p0"));
  REQUIRE_FALSE(b.fs->create_dirs(b.root + "/p1"));
  auto f0 = create(*b.fs, b.root + "/p0/a.log");
  auto f1 = create(*b.fs, b.root + "/p1/a.log");
  REQUIRE_FALSE(b.fs->sync_dir(b.root + "/p0"));
  b.mem->drop_unsynced();
  CHECK(b.fs->exists(b.root + "/p0/a.log"));
  CHECK_FALSE(b.fs->exists(b.root + "/p1/a.log"));
  CHECK(b.fs->exists(b.root + "/p1"));  // directories themselves stay
}

TEST_CASE("memory: truncate is durable at once", "[storage][io][memory]") {
  memory_backend b;
  const std::string path = b.root + "/t.log";
  auto f = create(*b.fs, path);
  REQUIRE_FALSE(b.fs->sync_dir(b.root));
  REQUIRE_FALSE(write_str(*f, "0123456789", 0, true));
  REQUIRE_FALSE(f->truncate(4));
  REQUIRE_FALSE(write_str(*f, "xy", 4));
  b.mem->drop_unsynced();
  CHECK(read_all(*b.fs, path) == "0123");
}

TEST_CASE("memory: paths name the same file however they are spelled", "[storage][io][memory]") {
  memory_backend b;
  auto f = create(*b.fs, b.root + "/./x.log");
  REQUIRE_FALSE(write_str(*f, "x", 0));
  CHECK(b.fs->exists(b.root + "/x.log"));
  CHECK(b.fs->list(b.root + "/")->size() == 1);
  CHECK_FALSE(b.fs->open_append(b.root + "//x.log", true));
}

}  // namespace
}  // namespace muninn::storage::io::testing
