#include "broker/projection_runner.h"

#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <thread>

#include "broker/projection_replay.h"
#include "broker/projections/feed.h"
#include "broker/projections/registry.h"
#include "broker/topics.h"

namespace muninn::broker {
namespace {

namespace fs = std::filesystem;
using clock_type = std::chrono::steady_clock;

// The store's keys (docs/projections.md "Stored state"). A store of another
// format, or made with another configuration, is rebuilt from offset 0.
constexpr std::string_view format_key = "v";
constexpr std::string_view format_value = "1";
constexpr std::string_view config_key = "g";
constexpr std::string_view checkpoint_key = "c";  // u32 LE n | n x u64 LE next offsets
constexpr char record_prefix = 'r';             // 'r' + record key -> record value

// A read of this size holds a few thousand events: enough to amortise the
// read, small enough that a query waits at most about a millisecond.
constexpr std::size_t read_bytes = 1u << 20;

rocksdb::Slice slice(std::string_view s) { return {s.data(), s.size()}; }

std::string encode_offsets(const std::vector<std::uint64_t>& v) {
  std::string out(4 + 8 * v.size(), '\0');
  const auto n = static_cast<std::uint32_t>(v.size());
  for (int i = 0; i < 4; ++i) out[static_cast<std::size_t>(i)] = static_cast<char>(n >> (8 * i));
  for (std::size_t p = 0; p < v.size(); ++p) {
    for (int i = 0; i < 8; ++i) out[4 + 8 * p + static_cast<std::size_t>(i)] = static_cast<char>(v[p] >> (8 * i));
  }
  return out;
}

std::optional<std::vector<std::uint64_t>> decode_offsets(std::string_view s) {
  if (s.size() < 4) return std::nullopt;
  std::uint32_t n = 0;
  for (int i = 0; i < 4; ++i) n |= std::uint32_t(static_cast<std::uint8_t>(s[static_cast<std::size_t>(i)])) << (8 * i);
  if (s.size() != 4 + 8 * std::size_t(n)) return std::nullopt;
  std::vector<std::uint64_t> out(n);
  for (std::size_t p = 0; p < n; ++p) {
    std::uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v |= std::uint64_t(static_cast<std::uint8_t>(s[4 + 8 * p + static_cast<std::size_t>(i)])) << (8 * i);
    out[p] = v;
  }
  return out;
}

std::string config_text(const projections::query_params& config) {
  std::string out;
  for (const auto& [k, v] : config) out += k + "=" + v + "\n";
  return out;
}

struct wake_signal {
  std::mutex mu;
  std::condition_variable cv;
  bool signaled = false;

  void notify() {
    {
      std::lock_guard lock(mu);
      signaled = true;
    }
    cv.notify_one();
  }
  void wait_for(std::chrono::milliseconds d) {
    std::unique_lock lock(mu);
    cv.wait_for(lock, d, [this] { return signaled; });
    signaled = false;
  }
};

// One projection's state with its store: the live one, or a rebuild.
struct instance {
  std::unique_ptr<projections::projection> state;
  std::unique_ptr<rocksdb::DB> db;
  std::string path;
  std::vector<std::uint64_t> applied;
  std::vector<std::uint64_t> checkpoint;
  std::uint64_t unsaved = 0;  // events applied since the last checkpoint
  projections::record_changes changes;  // scratch, kept for its memory

  // Writes the changed records and the checkpoint in one batch: the store
  // never holds records of one position with the checkpoint of another.
  result<void, std::string> save() {
    changes.clear();
    state->take_changes(changes);
    rocksdb::WriteBatch batch;
    std::string key;
    for (const auto& c : changes) {
      key.assign(1, record_prefix);
      key += c.key;
      if (c.value) {
        batch.Put(slice(key), slice(*c.value));
      } else {
        batch.Delete(slice(key));
      }
    }
    batch.Put(slice(checkpoint_key), slice(encode_offsets(applied)));
    // The WAL (not synced) makes the batch survive a killed process; after a
    // power cut the store may be older, still consistent, and the runner
    // replays the difference from the log.
    auto s = db->Write(rocksdb::WriteOptions(), &batch);
    if (!s.ok()) return unexpected(s.ToString());
    checkpoint = applied;
    unsaved = 0;
    return {};
  }
};

rocksdb::Options store_options() {
  rocksdb::Options o;
  o.create_if_missing = true;
  o.info_log_level = rocksdb::InfoLogLevel::WARN_LEVEL;
  o.keep_log_file_num = 2;
  o.max_background_jobs = 1;
  o.write_buffer_size = 64u << 20;
  o.compression = rocksdb::kLZ4Compression;
  return o;
}

result<std::unique_ptr<rocksdb::DB>, std::string> open_db(const std::string& path) {
  rocksdb::DB* raw = nullptr;
  auto s = rocksdb::DB::Open(store_options(), path, &raw);
  if (!s.ok()) return unexpected("cannot open " + path + ": " + s.ToString());
  return std::unique_ptr<rocksdb::DB>(raw);
}

// Opens (or creates) the store at `path` and loads its state. Anything that
// does not match (format, configuration, partition count, a record the
// projection cannot read) starts a fresh, empty store: it is derived state.
result<std::unique_ptr<instance>, std::string> open_instance(const std::string& name, const std::string& path,
                                                             const projections::query_params& config,
                                                             std::uint32_t partitions, bool fresh) {
  auto made = projections::make_projection(name, config);
  if (!made) return unexpected(made.error());
  auto inst = std::make_unique<instance>();
  inst->path = path;
  inst->state = std::move(made).value();
  inst->applied.assign(partitions, 0);
  inst->checkpoint.assign(partitions, 0);
  const std::string wanted_config = config_text(config);

  if (fresh) {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  auto db = open_db(path);
  if (!db) return unexpected(db.error());
  inst->db = std::move(db).value();

  std::string format, stored_config, offsets;
  const rocksdb::ReadOptions ro;
  const bool has_format = inst->db->Get(ro, slice(format_key), &format).ok();
  inst->db->Get(ro, slice(config_key), &stored_config).PermitUncheckedError();
  const bool has_checkpoint = inst->db->Get(ro, slice(checkpoint_key), &offsets).ok();

  std::string why_fresh;
  std::optional<std::vector<std::uint64_t>> checkpoint;
  if (!has_format) {
    why_fresh = has_checkpoint ? "no format marker" : "";
  } else if (format != format_value) {
    why_fresh = "store format " + format + " is not " + std::string(format_value);
  } else if (stored_config != wanted_config) {
    why_fresh = "its configuration changed";
  } else if (has_checkpoint && (!(checkpoint = decode_offsets(offsets)) || checkpoint->size() != partitions)) {
    why_fresh = "its checkpoint does not match the topic's partitions";
  }

  if (why_fresh.empty() && has_format && checkpoint) {
    std::unique_ptr<rocksdb::Iterator> it(inst->db->NewIterator(ro));
    const std::string prefix(1, record_prefix);
    for (it->Seek(slice(prefix)); it->Valid() && it->key().starts_with(slice(prefix)); it->Next()) {
      const auto k = it->key();
      const auto v = it->value();
      if (!inst->state->load(std::string_view(k.data() + 1, k.size() - 1), std::string_view(v.data(), v.size()))) {
        why_fresh = "a stored record cannot be read";
        break;
      }
    }
    if (why_fresh.empty() && !it->status().ok()) why_fresh = "reading it failed: " + it->status().ToString();
    if (why_fresh.empty()) {
      inst->state->finish_load();
      inst->applied = *checkpoint;
      inst->checkpoint = *checkpoint;
      return inst;
    }
  }

  if (!why_fresh.empty()) {
    spdlog::warn("projection {}: rebuilding from offset 0: {}", name, why_fresh);
    inst->db.reset();
    auto s = rocksdb::DestroyDB(path, store_options());
    if (!s.ok()) return unexpected("cannot clear " + path + ": " + s.ToString());
    auto again = open_db(path);
    if (!again) return unexpected(again.error());
    inst->db = std::move(again).value();
    auto remade = projections::make_projection(name, config);
    if (!remade) return unexpected(remade.error());
    inst->state = std::move(remade).value();
  }
  rocksdb::WriteBatch b;
  b.Put(slice(format_key), slice(format_value));
  b.Put(slice(config_key), slice(wanted_config));
  b.Put(slice(checkpoint_key), slice(encode_offsets(inst->applied)));
  auto s = inst->db->Write(rocksdb::WriteOptions(), &b);
  if (!s.ok()) return unexpected("cannot write " + path + ": " + s.ToString());
  return inst;
}

}  // namespace

std::uint64_t projection_status::lag() const noexcept {
  std::uint64_t lag = 0;
  for (std::size_t p = 0; p < heads.size() && p < applied.size(); ++p) {
    if (heads[p] > applied[p]) lag += heads[p] - applied[p];
  }
  return lag;
}

struct projection_runner::worker {
  std::string name;
  std::string topic_name;
  projections::query_params config;
  std::string dir;  // <options.dir>/<name>
  std::uint64_t checkpoint_events = 0;
  std::shared_ptr<topic> source;

  mutable std::mutex mu;           // live, error
  std::unique_ptr<instance> live;  // apply under mu; queries read under mu
  std::string error;

  std::atomic<bool> stopping{false};
  std::atomic<bool> rebuild_requested{false};
  std::atomic<bool> rebuilding{false};
  std::atomic<std::uint64_t> rebuild_applied{0};
  std::atomic<std::uint64_t> applied_total{0};
  std::shared_ptr<wake_signal> wake = std::make_shared<wake_signal>();
  projections::feeder feeder;
  storage::read_chunk chunk;  // the live path's reads, kept for its memory
  std::thread thread;

  std::string live_path() const { return dir + "/state"; }
  std::string rebuild_path() const { return dir + "/state.rebuild"; }

  // Applies up to one read per partition. `lock` guards the live instance
  // against queries; a rebuild's instance is the thread's alone.
  result<std::uint64_t, std::string> step(instance& inst, bool is_live) {
    std::uint64_t total = 0;
    for (std::uint32_t p = 0; p < source->partitions(); ++p) {
      auto& log = source->partition(p);
      if (inst.applied[p] >= log.head()) continue;
      if (!log.read(inst.applied[p], read_bytes, chunk)) {
        return unexpected("reading partition " + std::to_string(p) + " failed");
      }
      std::unique_lock<std::mutex> lock(mu, std::defer_lock);
      if (is_live) lock.lock();
      for (const auto& b : chunk.batches) {
        const std::uint64_t end = b.base_offset + b.count;
        if (end <= inst.applied[p]) continue;
        const auto n = feeder.apply_batch(*inst.state, p, *b.batch.batch, inst.applied[p], end);
        inst.applied[p] = end;
        total += n;
      }
    }
    inst.unsaved += total;
    if (is_live) applied_total.fetch_add(total, std::memory_order_relaxed);
    return total;
  }

  result<void, std::string> save(instance& inst, bool is_live) {
    // take_changes mutates the projection's change set: keep queries out.
    std::unique_lock<std::mutex> lock(mu, std::defer_lock);
    if (is_live) lock.lock();
    return inst.save();
  }

  void fail(std::string why) {
    spdlog::error("projection {}: stopped: {}", name, why);
    std::lock_guard lock(mu);
    error = std::move(why);
  }

  // Replays into a fresh store beside the live one and swaps it in once it
  // has caught up with the log. The live state keeps answering queries.
  result<void, std::string> run_rebuild() {
    rebuilding = true;
    rebuild_applied = 0;
    spdlog::info("projection {}: rebuild from offset 0 started", name);
    const auto started = clock_type::now();
    auto made = open_instance(name, rebuild_path(), config, source->partitions(), true);
    if (!made) return unexpected(made.error());
    auto next = std::move(made).value();
    // Read and verified on a second thread while this one applies
    // (broker/projection_replay.h); checkpoints as the live path does.
    std::vector<const storage::partition_log*> logs;
    for (std::uint32_t p = 0; p < source->partitions(); ++p) logs.push_back(&source->partition(p));
    replay_options ro;
    ro.stop = &stopping;
    auto replayed = replay_pipelined(logs, next->applied, *next->state, ro,
                                     [&](std::uint64_t n) -> result<void, std::string> {
                                       rebuild_applied += n;
                                       next->unsaved += n;
                                       if (next->unsaved >= checkpoint_events) return save(*next, false);
                                       return {};
                                     });
    if (!replayed) return unexpected(replayed.error());
    if (stopping) {
      next->db.reset();
      std::error_code ec;
      fs::remove_all(rebuild_path(), ec);
      rebuilding = false;
      return {};
    }
    if (auto s = save(*next, false); !s) return s;
    // The swap: the rebuilt store takes the live store's place on disk.
    // Closed first (RocksDB holds a lock file); a crash in between leaves
    // either store complete, and start() takes whichever is in place.
    std::unique_ptr<instance> old;
    {
      std::lock_guard lock(mu);
      old = std::move(live);
      old->db.reset();
      next->db.reset();
      std::error_code ec;
      fs::remove_all(live_path(), ec);
      fs::rename(rebuild_path(), live_path(), ec);
      if (ec) return unexpected("cannot move the rebuilt store into place: " + ec.message());
      auto db = open_db(live_path());
      if (!db) return unexpected(db.error());
      next->db = std::move(db).value();
      next->path = live_path();
      live = std::move(next);
    }
    const auto secs = std::chrono::duration<double>(clock_type::now() - started).count();
    spdlog::info("projection {}: rebuild swapped in: {} events in {:.3f} s", name, rebuild_applied.load(), secs);
    rebuilding = false;
    return {};
  }

  void run() {
    auto last_save = clock_type::now();
    while (!stopping) {
      if (rebuild_requested.exchange(false)) {
        if (auto r = run_rebuild(); !r) {
          rebuilding = false;
          std::error_code ec;
          fs::remove_all(rebuild_path(), ec);
          spdlog::error("projection {}: rebuild failed: {}", name, r.error());
        }
        continue;
      }
      auto n = step(*live, true);
      if (!n) return fail(n.error());
      const bool idle = *n == 0;
      const bool due = live->unsaved >= checkpoint_events ||
                       (live->unsaved > 0 && (idle || clock_type::now() - last_save > std::chrono::seconds(1)));
      if (due) {
        if (auto s = save(*live, true); !s) return fail("writing the store failed: " + s.error());
        last_save = clock_type::now();
      }
      if (idle) wake->wait_for(std::chrono::milliseconds(200));
    }
    if (live && live->unsaved > 0) {
      if (auto s = save(*live, true); !s) spdlog::error("projection {}: last checkpoint failed: {}", name, s.error());
    }
  }
};

result<std::unique_ptr<projection_runner>, std::string> projection_runner::start(topic_registry& topics,
                                                                               projection_runner_options options) {
  std::unique_ptr<projection_runner> r(new projection_runner());
  for (const auto& kind : projections::projection_kinds()) {
    projections::query_params overrides;
    for (const auto& [n, c] : options.config) {
      if (n == kind.name) overrides = c;
    }
    auto config = projections::projection_config(kind.name, overrides);
    if (!config) return unexpected("projection " + std::string(kind.name) + ": " + config.error());
    auto w = std::make_unique<worker>();
    w->name = std::string(kind.name);
    w->topic_name = std::string(kind.topic);
    w->config = std::move(config).value();
    w->dir = options.dir + "/" + w->name;
    w->checkpoint_events = options.checkpoint_events;
    w->source = topics.find(kind.topic);
    if (!w->source) {
      // Default topics exist in every data directory; a missing one means
      // the directory predates them. The projection stays stopped.
      w->error = "topic " + w->topic_name + " does not exist";
      r->workers_.push_back(std::move(w));
      continue;
    }
    std::error_code ec;
    fs::create_directories(w->dir, ec);
    // A rebuild interrupted by a crash is simply dropped.
    fs::remove_all(w->rebuild_path(), ec);
    const auto started = clock_type::now();
    auto inst = open_instance(w->name, w->live_path(), w->config, w->source->partitions(), false);
    if (!inst) return unexpected("projection " + w->name + ": " + inst.error());
    w->live = std::move(inst).value();
    std::uint64_t at = 0;
    for (auto a : w->live->applied) at += a;
    spdlog::info("projection {}: loaded at {} events in {:.3f} s", w->name, at,
                 std::chrono::duration<double>(clock_type::now() - started).count());
    for (std::uint32_t p = 0; p < w->source->partitions(); ++p) {
      std::weak_ptr<wake_signal> weak = w->wake;
      w->source->partition(p).add_durable_listener([weak](std::uint64_t) {
        if (auto s = weak.lock()) s->notify();
      });
    }
    r->workers_.push_back(std::move(w));
  }
  for (auto& w : r->workers_) {
    if (w->live) w->thread = std::thread([p = w.get()] { p->run(); });
  }
  r->status_thread_ = std::thread([p = r.get()] { p->status_loop(); });
  return r;
}

projection_runner::~projection_runner() { stop(); }

void projection_runner::stop() {
  {
    std::lock_guard lock(status_mu_);
    status_stopped_ = true;
  }
  status_cv_.notify_all();
  if (status_thread_.joinable()) status_thread_.join();
  for (auto& w : workers_) {
    w->stopping = true;
    w->wake->notify();
  }
  for (auto& w : workers_) {
    if (w->thread.joinable()) w->thread.join();
  }
}

void projection_runner::status_async(std::string projection, status_handler done) {
  {
    std::lock_guard lock(status_mu_);
    if (!status_stopped_) {
      status_jobs_.emplace_back(std::move(projection), std::move(done));
      status_cv_.notify_one();
      return;
    }
  }
  done(unexpected(projection_error{projection_errc::stopped, {}, "the broker is shutting down"}));
}

void projection_runner::status_loop() {
  std::unique_lock lock(status_mu_);
  for (;;) {
    status_cv_.wait(lock, [this] { return status_stopped_ || !status_jobs_.empty(); });
    if (status_jobs_.empty()) return;  // stopped and drained
    auto job = std::move(status_jobs_.front());
    status_jobs_.pop_front();
    lock.unlock();
    job.second(status(job.first));
    lock.lock();
  }
}

projection_runner::worker* projection_runner::find(std::string_view name) const {
  for (const auto& w : workers_) {
    if (w->name == name) return w.get();
  }
  return nullptr;
}

result<std::string, projection_error> projection_runner::query(std::string_view projection, std::string_view what,
                                                               const projections::query_params& params) const {
  auto* w = find(projection);
  if (!w) return unexpected(projection_error{projection_errc::unknown_projection, {}, "unknown projection '" + std::string(projection) + "'"});
  std::lock_guard lock(w->mu);
  if (!w->live) return unexpected(projection_error{projection_errc::stopped, {}, "projection " + w->name + " is stopped: " + w->error});
  auto answer = w->live->state->query(what, params);
  if (!answer) return unexpected(projection_error{projection_errc::query, answer.error(), answer.error().message});
  return std::move(answer).value();
}

result<std::vector<projection_status>, projection_error> projection_runner::status(std::string_view projection) const {
  std::vector<projection_status> out;
  for (const auto& w : workers_) {
    if (!projection.empty() && w->name != projection) continue;
    projection_status s;
    s.name = w->name;
    s.topic = w->topic_name;
    s.config = w->config;
    s.rebuilding = w->rebuilding;
    s.rebuild_applied = w->rebuild_applied;
    std::lock_guard lock(w->mu);
    s.error = w->error;
    if (w->live) {
      s.applied = w->live->applied;
      s.checkpoint = w->live->checkpoint;
      s.digest = projections::state_digest(*w->live->state);
      s.anomalies = w->live->state->anomaly_count();
      for (std::uint32_t p = 0; p < w->source->partitions(); ++p) s.heads.push_back(w->source->partition(p).head());
    }
    out.push_back(std::move(s));
  }
  if (!projection.empty() && out.empty()) {
    return unexpected(projection_error{projection_errc::unknown_projection, {}, "unknown projection '" + std::string(projection) + "'"});
  }
  return out;
}

result<void, projection_error> projection_runner::rebuild(std::string_view projection) {
  auto* w = find(projection);
  if (!w) return unexpected(projection_error{projection_errc::unknown_projection, {}, "unknown projection '" + std::string(projection) + "'"});
  if (!w->thread.joinable()) return unexpected(projection_error{projection_errc::stopped, {}, "projection " + w->name + " is stopped: " + w->error});
  if (w->rebuilding || w->rebuild_requested.exchange(true)) {
    return unexpected(projection_error{projection_errc::busy, {}, "projection " + w->name + " is already rebuilding"});
  }
  w->wake->notify();
  return {};
}

std::vector<projection_runner::counters> projection_runner::metrics() const {
  std::vector<counters> out;
  for (const auto& w : workers_) {
    counters c;
    c.name = w->name;
    c.applied_total = w->applied_total.load(std::memory_order_relaxed);
    std::lock_guard lock(w->mu);
    if (w->live) {
      for (std::uint32_t p = 0; p < w->source->partitions(); ++p) {
        const auto head = w->source->partition(p).head();
        if (head > w->live->applied[p]) c.lag += head - w->live->applied[p];
      }
    }
    out.push_back(std::move(c));
  }
  return out;
}

}  // namespace muninn::broker
