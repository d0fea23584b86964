#include "storage/index.h"

#include "codec/stream_hash.h"

#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/options.h>
#include <rocksdb/slice_transform.h>
#include <rocksdb/memtablerep.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>

#include <cstring>

namespace muninn::storage {
namespace {

enum cf_id : std::size_t { cf_default = 0, cf_offsets, cf_streams, cf_heads, cf_ids, cf_count };
const char* const cf_names[cf_count] = {"default", "offsets", "streams", "heads", "ids"};
constexpr std::string_view checkpoint_key = "checkpoint";
constexpr std::string_view format_key = "format";

// One append of 8 bytes rather than 8 push_backs: stream runs put one
// offset per event.
void put_be64(std::string& s, std::uint64_t v) {
  char b[8];
  for (int i = 0; i < 8; ++i) b[i] = char(std::uint8_t(v >> (8 * (7 - i))));
  s.append(b, 8);
}
std::uint64_t get_be64(const char* p) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | std::uint8_t(p[i]);
  return v;
}
void put_le64(std::string& s, std::uint64_t v) {
  char b[8];
  for (int i = 0; i < 8; ++i) b[i] = char(std::uint8_t(v >> (8 * i)));
  s.append(b, 8);
}
std::uint64_t get_le64(const char* p) {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | std::uint8_t(p[i]);
  return v;
}
// Signed values sort correctly as big-endian once the sign bit is flipped.
std::uint64_t order_signed(std::int64_t v) { return std::uint64_t(v) ^ (1ull << 63); }

// hash(8, big-endian) | length(1) | name: the length keeps keys prefix-free.
std::string stream_key(std::string_view stream) {
  std::string k;
  k.reserve(9 + stream.size() + 8);
  put_be64(k, codec::stream_hash(stream));
  k.push_back(char(std::uint8_t(stream.size())));
  k.append(stream);
  return k;
}

std::string offset_key(std::uint64_t offset) {
  std::string k = "o";
  put_be64(k, offset);
  return k;
}
std::string time_key(std::int64_t micros, std::uint64_t offset) {
  std::string k = "t";
  put_be64(k, order_signed(micros));
  put_be64(k, offset);
  return k;
}

rocksdb::Slice slice(std::string_view s) { return {s.data(), s.size()}; }

// The key minus its last n bytes: the insert-hint group of a key.
class strip_suffix final : public rocksdb::SliceTransform {
 public:
  explicit strip_suffix(std::size_t n) : n_(n), name_("muninn.strip_suffix." + std::to_string(n)) {}
  const char* Name() const override { return name_.c_str(); }
  rocksdb::Slice Transform(const rocksdb::Slice& key) const override {
    return {key.data(), key.size() - n_};
  }
  bool InDomain(const rocksdb::Slice& key) const override { return key.size() >= n_; }

 private:
  std::size_t n_;
  std::string name_;
};

rocksdb::ColumnFamilyOptions family_options(std::size_t which) {
  rocksdb::ColumnFamilyOptions o;
  rocksdb::BlockBasedTableOptions t;
  t.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10, false));
  t.whole_key_filtering = true;
  if (which == cf_streams || which == cf_heads) {
    // Stream keys start with the stream's hash: prefix blooms make a read
    // of one stream touch only the files that hold it.
    o.prefix_extractor.reset(rocksdb::NewFixedPrefixTransform(8));
    o.memtable_prefix_bloom_size_ratio = 0.05;
  }
  if (which == cf_streams) {
    // One stream's runs arrive in version order: an insert hint per stream
    // turns most skiplist inserts into appends.
    o.memtable_insert_with_hint_prefix_extractor = std::make_shared<strip_suffix>(8);
  }
  if (which == cf_ids) {
    // UUIDv7 ids arrive nearly sorted: one hint for the whole family.
    o.memtable_insert_with_hint_prefix_extractor = std::make_shared<strip_suffix>(16);
  }
  o.table_factory.reset(rocksdb::NewBlockBasedTableFactory(t));
  o.write_buffer_size = 64u << 20;
  // Fresh flushes are rewritten by compaction soon: do not spend CPU
  // compressing them; compress the levels that stay.
  o.compression_per_level = {rocksdb::kNoCompression, rocksdb::kNoCompression, rocksdb::kLZ4Compression};
  return o;
}

}  // namespace

result<std::unique_ptr<index_db>, std::string> index_db::open(const std::string& path) {
  rocksdb::DBOptions opts;
  opts.create_if_missing = true;
  opts.create_missing_column_families = true;
  opts.atomic_flush = true;  // all families persist at the same write boundary
  opts.max_background_jobs = 2;
  opts.paranoid_checks = true;
  opts.allow_concurrent_memtable_write = false;  // one index thread per partition; required by hash memtables
  opts.info_log_level = rocksdb::InfoLogLevel::WARN_LEVEL;
  opts.keep_log_file_num = 2;
  std::vector<rocksdb::ColumnFamilyDescriptor> descs;
  for (std::size_t i = 0; i < cf_count; ++i) descs.emplace_back(cf_names[i], family_options(i));
  std::unique_ptr<index_db> idx(new index_db());
  rocksdb::DB* raw = nullptr;
  auto s = rocksdb::DB::Open(opts, path, descs, &idx->cfs_, &raw);
  if (!s.ok()) return unexpected(s.ToString());
  idx->db_.reset(raw);
  std::string fmt;
  s = idx->db_->Get(rocksdb::ReadOptions(), idx->cfs_[cf_default], slice(format_key), &fmt);
  if (s.IsNotFound()) {
    rocksdb::WriteOptions wo;
    s = idx->db_->Put(wo, idx->cfs_[cf_default], slice(format_key), std::to_string(index_format_version));
    if (!s.ok()) return unexpected(s.ToString());
  } else if (!s.ok()) {
    return unexpected(s.ToString());
  } else if (fmt != std::to_string(index_format_version)) {
    return unexpected("index format " + fmt + " is not " + std::to_string(index_format_version));
  }
  return idx;
}

void index_db::destroy(const std::string& path) {
  std::vector<rocksdb::ColumnFamilyDescriptor> descs;
  for (std::size_t i = 0; i < cf_count; ++i) descs.emplace_back(cf_names[i], family_options(i));
  auto s = rocksdb::DestroyDB(path, rocksdb::Options(), descs);
  (void)s;  // the caller removes whatever is left of the directory
}

index_db::~index_db() {
  if (!db_) return;
  for (auto* h : cfs_) db_->DestroyColumnFamilyHandle(h);
  cfs_.clear();
  db_->Close();
}

std::optional<index_checkpoint> index_db::checkpoint() const {
  std::string v;
  auto s = db_->Get(rocksdb::ReadOptions(), cfs_[cf_default], slice(checkpoint_key), &v);
  if (!s.ok() || v.size() != 8 + 32) return std::nullopt;
  index_checkpoint cp;
  cp.next_offset = get_le64(v.data());
  std::memcpy(cp.hash.data(), v.data() + 8, 32);
  return cp;
}

namespace {

constexpr std::size_t id_entry_bytes = 32;  // id | offset (LE) | version (LE)

std::optional<std::uint64_t> v7_second(const codec::event_id& id) {
  if ((id.bytes[6] >> 4) != 7) return std::nullopt;
  std::uint64_t ms = 0;
  for (int i = 0; i < 6; ++i) ms = (ms << 8) | id.bytes[std::size_t(i)];
  return ms / 1000;
}

std::string single_id_key(const codec::event_id& id) {
  std::string k = "i";
  k.append(reinterpret_cast<const char*>(id.bytes.data()), id.bytes.size());
  return k;
}

std::string run_key(std::uint64_t second, std::uint64_t first_offset) {
  std::string k = "r";
  put_be64(k, second);
  put_be64(k, first_offset);
  return k;
}

}  // namespace

std::optional<std::pair<std::uint64_t, std::int64_t>> index_db::find_id(const codec::event_id& id) const {
  const auto second = v7_second(id);
  if (!second) {
    std::string v;
    auto s = db_->Get(rocksdb::ReadOptions(), cfs_[cf_ids], slice(single_id_key(id)), &v);
    if (!s.ok() || v.size() != 16) return std::nullopt;
    return std::pair{get_le64(v.data()), std::int64_t(get_le64(v.data() + 8))};
  }
  // Every run holding ids of this second: binary search each.
  const std::string from = run_key(*second, 0);
  const std::string to = run_key(*second + 1, 0);
  rocksdb::Slice upper(to);
  rocksdb::ReadOptions ro;
  ro.iterate_upper_bound = &upper;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, cfs_[cf_ids]));
  for (it->Seek(slice(from)); it->Valid(); it->Next()) {
    const auto v = it->value();
    std::size_t lo = 0, hi = v.size() / id_entry_bytes;
    while (lo < hi) {
      const std::size_t mid = (lo + hi) / 2;
      const int c = std::memcmp(v.data() + mid * id_entry_bytes, id.bytes.data(), 16);
      if (c == 0) {
        const char* e = v.data() + mid * id_entry_bytes;
        return std::pair{get_le64(e + 16), std::int64_t(get_le64(e + 24))};
      }
      if (c < 0) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
  }
  return std::nullopt;
}

std::uint64_t index_db::v7_watermark_ms() const {
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cfs_[cf_ids]));
  // The last run key holds the newest second ('r' sorts after 'i').
  it->SeekToLast();
  if (it->Valid() && it->key().size() == 17 && it->key()[0] == 'r') return get_be64(it->key().data() + 1) * 1000 + 999;
  return 0;
}

std::optional<std::pair<std::int64_t, std::uint64_t>> index_db::stream_head(std::string_view stream) const {
  std::string v;
  auto s = db_->Get(rocksdb::ReadOptions(), cfs_[cf_heads], slice(stream_key(stream)), &v);
  if (!s.ok() || v.size() != 16) return std::nullopt;
  return std::pair{std::int64_t(get_le64(v.data())), get_le64(v.data() + 8)};
}

std::vector<std::pair<std::int64_t, std::uint64_t>> index_db::stream_range(std::string_view stream,
                                                                           std::int64_t from_version,
                                                                           std::size_t max) const {
  std::vector<std::pair<std::int64_t, std::uint64_t>> out;
  const std::string prefix = stream_key(stream);
  std::string start = prefix;
  from_version = std::max<std::int64_t>(from_version, 0);
  put_be64(start, std::uint64_t(from_version));
  rocksdb::ReadOptions ro;
  ro.prefix_same_as_start = true;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, cfs_[cf_streams]));
  // The run holding from_version starts at or before it.
  it->SeekForPrev(slice(start));
  auto in_stream = [&] {
    if (!it->Valid()) return false;
    auto k = it->key();
    return k.size() == prefix.size() + 8 && std::memcmp(k.data(), prefix.data(), prefix.size()) == 0;
  };
  if (!in_stream()) it->Seek(slice(start));
  for (; in_stream() && out.size() < max; it->Next()) {
    const auto first = std::int64_t(get_be64(it->key().data() + prefix.size()));
    const auto v = it->value();
    for (std::size_t i = 0; i + 8 <= v.size() && out.size() < max; i += 8) {
      const std::int64_t version = first + std::int64_t(i / 8);
      if (version >= from_version) out.emplace_back(version, get_le64(v.data() + i));
    }
  }
  return out;
}

namespace {
sparse_entry decode_sparse(std::uint64_t offset, rocksdb::Slice v) {
  sparse_entry e;
  e.offset = offset;
  e.segment = get_le64(v.data());
  e.position = get_le64(v.data() + 8);
  if (v.size() >= 24) e.commit_time = std::int64_t(get_le64(v.data() + 16));
  return e;
}
}  // namespace

std::optional<sparse_entry> index_db::sparse_at_or_before(std::uint64_t offset) const {
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cfs_[cf_offsets]));
  it->SeekForPrev(slice(offset_key(offset)));
  if (!it->Valid()) return std::nullopt;
  auto k = it->key();
  if (k.size() != 9 || k[0] != 'o' || it->value().size() != 24) return std::nullopt;
  return decode_sparse(get_be64(k.data() + 1), it->value());
}

std::optional<sparse_entry> index_db::sparse_before_time(std::int64_t micros) const {
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cfs_[cf_offsets]));
  // The largest 't' key below (micros, 0).
  it->SeekForPrev(slice(time_key(micros, 0)));
  if (it->Valid() && it->key() == slice(time_key(micros, 0))) it->Prev();
  if (!it->Valid()) return std::nullopt;
  auto k = it->key();
  if (k.size() != 17 || k[0] != 't' || it->value().size() != 16) return std::nullopt;
  auto e = decode_sparse(get_be64(k.data() + 9), it->value());
  e.commit_time = std::int64_t(get_be64(k.data() + 1) ^ (1ull << 63));
  return e;
}

index_db::write_batch::write_batch() : wb_(std::make_unique<rocksdb::WriteBatch>()) {}
index_db::write_batch::~write_batch() = default;

void index_db::write_batch::add_sparse(const sparse_entry& e) {
  std::string v;
  put_le64(v, e.segment);
  put_le64(v, e.position);
  std::string tv = v;
  put_le64(v, std::uint64_t(e.commit_time));
  wb_->Put(db_->cfs_[cf_offsets], slice(offset_key(e.offset)), slice(v));
  wb_->Put(db_->cfs_[cf_offsets], slice(time_key(e.commit_time, e.offset)), slice(tv));
}

void index_db::write_batch::add_stream_run(std::string_view stream, std::int64_t first_version,
                                           std::span<const std::uint64_t> offsets) {
  key_ = stream_key(stream);
  put_be64(key_, std::uint64_t(first_version));
  // Sized once and filled in place: a run holds one offset per event.
  value_.resize(offsets.size() * 8);
  for (std::size_t i = 0; i < offsets.size(); ++i) {
    for (int b = 0; b < 8; ++b) value_[i * 8 + std::size_t(b)] = char(std::uint8_t(offsets[i] >> (8 * b)));
  }
  wb_->Put(db_->cfs_[cf_streams], slice(key_), slice(value_));
}

void index_db::write_batch::add_ids(std::span<const id_entry> ids) {
  std::size_t i = 0;
  while (i < ids.size()) {
    const auto second = v7_second(ids[i].id);
    if (!second) {
      value_.clear();
      put_le64(value_, ids[i].offset);
      put_le64(value_, std::uint64_t(ids[i].version));
      wb_->Put(db_->cfs_[cf_ids], slice(single_id_key(ids[i].id)), slice(value_));
      ++i;
      continue;
    }
    // Sorted ids: one second's v7 ids are contiguous.
    std::size_t j = i;
    std::uint64_t first_offset = ~0ull;
    value_.clear();
    while (j < ids.size() && v7_second(ids[j].id) == second) {
      value_.append(reinterpret_cast<const char*>(ids[j].id.bytes.data()), 16);
      put_le64(value_, ids[j].offset);
      put_le64(value_, std::uint64_t(ids[j].version));
      first_offset = std::min(first_offset, ids[j].offset);
      ++j;
    }
    wb_->Put(db_->cfs_[cf_ids], slice(run_key(*second, first_offset)), slice(value_));
    i = j;
  }
}

void index_db::write_batch::set_head(std::string_view stream, std::int64_t version, std::uint64_t offset) {
  std::string v;
  put_le64(v, std::uint64_t(version));
  put_le64(v, offset);
  wb_->Put(db_->cfs_[cf_heads], slice(stream_key(stream)), slice(v));
}

std::size_t index_db::write_batch::count() const { return wb_->Count(); }

std::unique_ptr<index_db::write_batch> index_db::begin() {
  auto wb = std::make_unique<write_batch>();
  wb->db_ = this;
  return wb;
}

result<void, std::string> index_db::commit(write_batch& wb, const index_checkpoint& cp) {
  std::string v;
  put_le64(v, cp.next_offset);
  v.append(reinterpret_cast<const char*>(cp.hash.data()), cp.hash.size());
  wb.wb_->Put(cfs_[cf_default], slice(checkpoint_key), slice(v));
  rocksdb::WriteOptions wo;
  wo.disableWAL = true;  // the log is the WAL: a lost index write is redone from the segments
  auto s = db_->Write(wo, wb.wb_.get());
  wb.wb_->Clear();
  if (!s.ok()) return unexpected(s.ToString());
  return {};
}

result<void, std::string> index_db::flush() {
  rocksdb::FlushOptions fo;
  fo.wait = true;
  auto s = db_->Flush(fo, cfs_);
  if (!s.ok()) return unexpected(s.ToString());
  return {};
}

}  // namespace muninn::storage
