// The contract every projection keeps (architecture.md "Projections"):
// state is a pure function of the events in log order, held as canonical
// records (key -> value bytes) so that the runner can store it incrementally
// beside its checkpoint and anyone can digest it. Pure: no I/O, no clock,
// no Asio, no RocksDB. A projection object is not thread-safe; the runner
// serialises apply, queries and snapshots on one strand.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "broker/projections/event.h"
#include "codec/batch.h"
#include "codec/result.h"

namespace muninn::projections {

// A record created, changed (value) or erased (nullopt) since the last
// take_changes(). Keys and values are canonical: the same events give the
// same bytes on any machine. Views into the record_changes holding it.
struct record_change {
  std::string_view key;
  std::optional<std::string_view> value;
};

// What take_changes() hands over: the changed records packed in one buffer
// the caller keeps between calls, so that once it has grown to a
// checkpoint's size taking changes allocates nothing per record (a rebuild
// writes a few records per event; two heap strings each cost more than
// encoding them). Views from it are valid until the next non-const call.
class record_changes {
 public:
  void put(std::string_view key, std::string_view value) {
    value_buffer(key).append(value);
    end_value();
  }
  void erase(std::string_view key);
  // Encoding in place: appends `key` and returns the buffer the value is to
  // be appended to; end_value() closes the record. Nothing else between.
  std::string& value_buffer(std::string_view key);
  void end_value();

  // Forgets the records, keeps the memory.
  void clear() noexcept {
    bytes_.clear();
    entries_.clear();
  }
  std::size_t size() const noexcept { return entries_.size(); }
  bool empty() const noexcept { return entries_.empty(); }
  record_change operator[](std::size_t i) const noexcept;

  class iterator {
   public:
    iterator(const record_changes* c, std::size_t i) : c_(c), i_(i) {}
    record_change operator*() const noexcept { return (*c_)[i_]; }
    iterator& operator++() noexcept {
      ++i_;
      return *this;
    }
    bool operator==(const iterator&) const = default;

   private:
    const record_changes* c_;
    std::size_t i_;
  };
  iterator begin() const noexcept { return {this, 0}; }
  iterator end() const noexcept { return {this, entries_.size()}; }

 private:
  static constexpr std::uint32_t erased = 0xFFFFFFFF;
  struct entry {
    std::size_t key_at;  // the value follows the key
    std::uint32_t key_size;
    std::uint32_t value_size;  // `erased` for an erased record
  };
  std::string bytes_;
  std::vector<entry> entries_;
};

// Query parameters exactly as HTTP's query string or the CLI's flags give
// them (name -> text; the projection parses and checks each).
using query_params = std::map<std::string, std::string, std::less<>>;

enum class query_errc : std::uint8_t {
  unknown_query = 1,  // no such query for this projection
  bad_parameter = 2,  // a parameter is missing or malformed (message names it)
  not_found = 3,      // the entity asked for does not exist
};

struct query_error {
  query_errc code = query_errc::bad_parameter;
  std::string message;  // one line for people: "parameter 'at': must be RFC 3339"
};

class projection {
 public:
  virtual ~projection() = default;

  // "dispatch-status", "reskontra": the name the runner, the protocol and
  // the auditor use.
  virtual std::string_view name() const noexcept = 0;

  // Applies one event. Never throws on any input: an event the projection
  // cannot use (unknown type, unreadable data, illegal transition, broken
  // invariant) is recorded as an anomaly with its position and reason and
  // leaves the rest of the state unchanged.
  virtual void apply(const event_view& e) = 0;

  // Splitting apply() in two so a replay can run the first half on its
  // reader thread, ahead of the applying thread (broker/projection_replay.h):
  // prepare() does the work that depends on the event and the projection's
  // configuration alone (parsing data, identifiers, amounts, picking the
  // handler), apply_prepared() the rest. apply_prepared(e, prepare(e)) has
  // exactly apply(e)'s effect, down to the byte.
  //
  // prepare() runs on another thread than apply_prepared() of other events,
  // at the same time: it must read nothing that apply() or load() write.
  // `out` is prepared_size() bytes, 8-aligned, not initialised; what it
  // stores must be trivially copyable and may view the event's bytes (they
  // live as long as the event_view's). prepared_size() 0 (the default)
  // means the projection does everything in apply().
  virtual std::size_t prepared_size() const noexcept { return 0; }
  virtual void prepare(const event_view& e, std::span<std::byte> out) const {
    (void)e;
    (void)out;
  }
  virtual void apply_prepared(const event_view& e, std::span<const std::byte> prepared) {
    (void)prepared;
    apply(e);
  }

  // A hint, for state larger than the caches: a replay that holds prepared
  // events ahead calls prefetch(prepared of event i + 2d, 0) and
  // prefetch(prepared of event i + d, 1) before apply_prepared(event i), on
  // the applying thread, so the memory misses of ~2d events overlap instead
  // of each event waiting for its own in turn. Stage 0 asks for what the
  // prepared event alone locates (a hash table's slots), stage 1 for what
  // stage 0 brought in (the entities the slots point to). It only reads:
  // skipping it, or calling it for events never applied, changes nothing
  // but time.
  static constexpr std::size_t prefetch_distance = 8;
  virtual void prefetch(std::span<const std::byte> prepared, int stage) const noexcept {
    (void)prepared;
    (void)stage;
  }

  // Appends every record changed since the last call to `out` (each key
  // once, with its latest value) and forgets the changes.
  virtual void take_changes(record_changes& out) = 0;

  // Restores one record written by take_changes (records arrive in key
  // order, into a fresh projection). False when the record cannot be read;
  // the runner then rebuilds from offset 0.
  virtual bool load(std::string_view key, std::string_view value) = 0;
  // Called once after the last load(): rebuild in-memory indexes.
  virtual void finish_load() {}

  // Every record in ascending key order (bytewise); the digest covers them.
  virtual void for_each_record(
      const std::function<void(std::string_view key, std::string_view value)>& fn) const = 0;

  // Events recorded as anomalies so far (status and metrics).
  virtual std::uint64_t anomaly_count() const noexcept = 0;

  // Answers a query as JSON text (the same bytes HTTP and `--json` print).
  virtual result<std::string, query_error> query(std::string_view what,
                                                 const query_params& params) const = 0;
};

// SHA-256 over every record in key order, each as
// u32 key length (LE) | key | u32 value length (LE) | value.
codec::hash256 state_digest(const projection& p);

}  // namespace muninn::projections
