// The one interface every system under comparison implements (muninnd,
// Redis Streams, NATS JetStream, PostgreSQL), each through its real client
// library, so that the workloads in workloads.cc drive them all alike.
// A session is one connection used by one thread at a time; a system makes
// sessions and may be shared by threads. Every call reports its first
// error as one line and does not retry.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace muninn::bench::peers {

// Every system stores the same event: its stream, its version in the stream
// (1 for the first event), a fixed type and `data` (200 bytes by default).
struct event {
  std::string_view stream;
  std::int64_t version = 1;
  std::span<const std::byte> data;
};
inline constexpr std::string_view event_type = "bench.event";

enum class append_mode {
  plain,     // as fast as the system allows at its durability
  expected,  // each event only if its stream is at version - 1 (optimistic concurrency)
  fill,      // loading for the read workloads: the system may add what its reads need
};

// An error line, or nothing when the call succeeded.
using status = std::optional<std::string>;

class session {
 public:
  virtual ~session() = default;
  // Appends `events` in requests (batches, transactions, pipelines) of
  // `batch` events, keeping all of them in flight at once where the client
  // can, and returns once every event is acknowledged at the row's
  // durability.
  virtual status append(std::span<const event> events, std::size_t batch, append_mode mode) = 0;
  // Reads every stored event from the first, in order, touching each
  // event's data; `events` and `data_bytes` receive what was read.
  virtual status replay(std::uint64_t& events, std::uint64_t& data_bytes) = 0;
  // Reads every event of one stream, in version order.
  virtual status read_stream(std::string_view stream, std::size_t& events) = 0;
};

class system {
 public:
  virtual ~system() = default;
  // The row's name and what its acknowledgement means (the table prints it).
  virtual std::string name() const = 0;
  virtual std::string durability() const = 0;
  // True when an acknowledged event survives a power cut as with Muninn's
  // acks=durable (the latency target compares only with these).
  virtual bool durable() const = 0;
  // Empty when the system can append with an expected version, else why not.
  virtual std::string cannot_expect() const { return {}; }
  // Empties the store (a fresh topic, stream, table or database).
  virtual status reset() = 0;
  virtual std::unique_ptr<session> connect(std::string& error) = 0;
  // Called around a fill (`on` true, then false): a system may load without
  // its per-write durability, since loading is not what is measured.
  virtual status loading(bool) { return std::nullopt; }
  // Waits until what was appended is fully readable the system's fast way
  // (Muninn: its stream index has caught up with the log); `waited`
  // receives the seconds it took. Peers index as they write: no wait.
  virtual status settle(double& waited) {
    waited = 0;
    return std::nullopt;
  }
  // The server's pid for the CPU column; 0 when unknown.
  virtual int pid() const { return 0; }
};

std::unique_ptr<system> make_muninn(const std::string& muninnd, const std::string& dir, std::string& error);
// `appendfsync` is "always" or "everysec"; the system sets it on the server.
std::unique_ptr<system> make_redis(const std::string& address, const std::string& appendfsync);
std::unique_ptr<system> make_nats(const std::string& url);
std::unique_ptr<system> make_postgres(const std::string& conninfo);

}  // namespace muninn::bench::peers
