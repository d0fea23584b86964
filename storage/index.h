// The RocksDB index of one partition: derived state only, rebuildable from
// the segments at any time (architecture.md). Column families:
//   offsets  sparse offset index 'o'+offset -> (segment, position, commit time)
//            and time index 't'+commit time+offset -> (segment, position)
//   streams  (stream, first version) -> offsets of a run of consecutive
//            versions (one key per stream per index write), for reads by stream
//   heads    stream -> (last version, offset), for expected-version checks
//   ids      dedupe: UUIDv7 ids as sorted runs, one key per second of id
//            time per index write ('r' + second + first offset); other ids
//            one key each ('i' + id). Runs keep the per-event cost of the
//            index low; a lookup reads the runs of one second.
//   default  the checkpoint: every offset below it is reflected here.
// Every write batch carries the checkpoint it brings the index to; the WAL
// is off and flushes are atomic across column families, so after a crash
// the index is exactly the state at some earlier checkpoint.
// Key layouts: docs/storage-format.md. Thread-safety: all members may be
// called concurrently (RocksDB is thread-safe); a write_batch is one thread's.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "codec/batch.h"
#include "codec/result.h"

namespace rocksdb {
class DB;
class ColumnFamilyHandle;
class WriteBatch;
}  // namespace rocksdb

namespace muninn::storage {

inline constexpr std::uint32_t index_format_version = 2;

struct sparse_entry {
  std::uint64_t offset = 0;  // base offset of the batch at `position`
  std::uint64_t segment = 0;  // base offset of the segment
  std::uint64_t position = 0;
  std::int64_t commit_time = 0;
};

struct index_checkpoint {
  std::uint64_t next_offset = 0;  // every offset below is indexed
  codec::hash256 hash{};          // hash of the batch ending at next_offset
};

class index_db {
 public:
  // Opens or creates the index in `path`. An error means the directory is
  // missing pieces or damaged; the caller then destroys and rebuilds it.
  static result<std::unique_ptr<index_db>, std::string> open(const std::string& path);
  static void destroy(const std::string& path);
  ~index_db();

  std::optional<index_checkpoint> checkpoint() const;

  // Dedupe: where an id was stored.
  std::optional<std::pair<std::uint64_t, std::int64_t>> find_id(const codec::event_id& id) const;
  // UUIDv7 ids newer than this (ms) are not in the index: a new id can be
  // admitted without a lookup.
  std::uint64_t v7_watermark_ms() const;
  // (last version, its offset) of a stream.
  std::optional<std::pair<std::int64_t, std::uint64_t>> stream_head(std::string_view stream) const;
  // (version, offset) pairs of a stream from `from_version`, at most `max`.
  std::vector<std::pair<std::int64_t, std::uint64_t>> stream_range(std::string_view stream,
                                                                   std::int64_t from_version,
                                                                   std::size_t max) const;
  // The sparse entry with the largest offset <= `offset`.
  std::optional<sparse_entry> sparse_at_or_before(std::uint64_t offset) const;
  // The sparse entry with the largest commit time < `micros` (ties: largest offset).
  std::optional<sparse_entry> sparse_before_time(std::int64_t micros) const;

  class write_batch {
   public:
    write_batch();
    ~write_batch();
    void add_sparse(const sparse_entry& e);
    // Versions first_version, first_version + 1, ... are at `offsets`.
    void add_stream_run(std::string_view stream, std::int64_t first_version,
                        std::span<const std::uint64_t> offsets);
    struct id_entry {
      codec::event_id id;
      std::uint64_t offset = 0;
      std::int64_t version = 0;
    };
    // `ids` sorted by id; v7 ids go into runs, others one key each.
    void add_ids(std::span<const id_entry> ids);
    void set_head(std::string_view stream, std::int64_t version, std::uint64_t offset);
    std::size_t count() const;

   private:
    friend class index_db;
    std::unique_ptr<rocksdb::WriteBatch> wb_;
    index_db* db_ = nullptr;
    std::string key_, value_;  // reused: no allocation per event
  };
  std::unique_ptr<write_batch> begin();
  // Applies the batch and moves the checkpoint, atomically (WAL off).
  result<void, std::string> commit(write_batch& wb, const index_checkpoint& cp);
  // Persists everything committed so far (atomic flush of all families).
  result<void, std::string> flush();

 private:
  index_db() = default;
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> cfs_;  // default, offsets, streams, heads, ids
};

}  // namespace muninn::storage
