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
#include <string>
#include <string_view>
#include <vector>

#include "broker/projections/event.h"
#include "codec/batch.h"
#include "codec/result.h"

namespace muninn::projections {

// A record created, changed (value) or erased (nullopt) since the last
// take_changes(). Keys and values are canonical: the same events give the
// same bytes on any machine.
struct record_change {
  std::string key;
  std::optional<std::string> value;
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

  // Appends every record changed since the last call to `out` (each key
  // once, with its latest value) and forgets the changes.
  virtual void take_changes(std::vector<record_change>& out) = 0;

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
