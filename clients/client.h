// A connection to one muninnd: pipelined FlatBuffers requests matched to
// their responses by correlation id, on an Asio core with one I/O thread
// that the client owns, plus a blocking facade for simple programs.
// Thread-safety: every public member may be called from any thread. Handlers
// and subscription callbacks run on the client's I/O thread; a blocking call
// made from that thread returns a `usage` error instead of deadlocking.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "clients/errors.h"
#include "clients/protocol.h"
#include "codec/json.h"
#include "codec/result.h"

namespace muninn::client {

struct client_options {
  std::string host = "127.0.0.1";
  std::uint16_t port = 7070;
  std::chrono::milliseconds connect_timeout{5000};
  // Without a response in this time (plus a fetch's max_wait) the connection
  // is reset and every request on it fails with a `timeout` error.
  std::chrono::milliseconds request_timeout{30000};
  std::uint32_t max_frame_bytes = 64u << 20;
  // Subscriptions reconnect after a loss, backing off from min to max.
  std::chrono::milliseconds reconnect_backoff_min{50};
  std::chrono::milliseconds reconnect_backoff_max{2000};
  decode_limits limits;
};

// "HOST:PORT" (the tool's --broker) into options; usage error otherwise.
result<client_options, client_error> parse_broker_address(std::string_view address, client_options base = {});

// Where an appended event landed.
struct event_position {
  std::uint32_t partition = 0;
  std::uint64_t offset = 0;
  std::int64_t version = -1;
  bool duplicate = false;  // the id was stored before: the first append's position
  codec::event_id id;
};

struct fetch_result {
  std::uint64_t head = 0;                // events in the partition when the broker answered
  std::vector<batch_record> batches;     // verified, whole batches as stored
  std::vector<event_record> events;      // events with offset >= from_offset
  std::uint64_t next_offset = 0;         // where the next fetch continues
};

using response_handler = std::function<void(result<response, client_error>)>;
// Called on the I/O thread with the new events of one SubscribeData, in
// offset order; credit for them is returned to the broker when it returns.
using events_handler = std::function<void(std::span<const event_record> events, std::uint64_t head)>;
// Called once when a subscription ends for good (a non-retryable error).
using error_handler = std::function<void(const client_error&)>;

struct subscribe_options {
  std::uint32_t credit_bytes = 4u << 20;
  bool check_chain = false;  // verify the hash chain of delivered batches (error ends the subscription)
};

class client;

// A live subscription; cancel() (or the client's destruction) ends it.
// Copies share the subscription. Thread-safe.
class subscription {
 public:
  subscription() = default;
  void cancel();
  // The offset after the last delivered event (where a resume starts).
  std::uint64_t next_offset() const noexcept;
  bool active() const noexcept;

  struct state;

 private:
  friend class client;
  std::shared_ptr<state> state_;
  std::weak_ptr<void> client_;
};

class client {
 public:
  explicit client(client_options options = {});
  ~client();
  client(const client&) = delete;
  client& operator=(const client&) = delete;

  const client_options& options() const noexcept;

  // ---- async core ----------------------------------------------------------
  std::uint64_t next_correlation_id() noexcept;
  // Sends `frame` (a Request carrying `correlation_id`), connecting first if
  // needed; `handler` gets the verified response or an error (connection
  // loss, timeout, protocol). Broker errors inside the response are left to
  // the caller (see check_response).
  void async_request(std::uint64_t correlation_id, frame_bytes frame, response_handler handler,
                     std::chrono::milliseconds extra_timeout = {});
  // Runs `fn` on the I/O thread.
  void post(std::function<void()> fn);
  boost::asio::io_context& io_context() noexcept;
  bool on_io_thread() const noexcept;
  // Connections made so far. A change means that what follows travels over
  // a new connection, possibly to a restarted broker (the group consumer
  // confirms its membership again before it delivers more).
  std::uint64_t connections() const noexcept;
  // The partition count of `topic` from the cache, describing it once.
  void async_partition_count(std::string topic, std::function<void(result<std::uint32_t, client_error>)> handler);

  // ---- blocking facade -------------------------------------------------------
  result<response, client_error> request(std::uint64_t correlation_id, frame_bytes frame,
                                         std::chrono::milliseconds extra_timeout = {});

  result<topic_info, client_error> create_topic(std::string_view name, std::uint32_t partitions = 1,
                                                std::string_view schema = {}, std::uint64_t segment_bytes = 0);
  result<std::vector<topic_info>, client_error> list_topics();
  result<topic_info, client_error> describe_topic(std::string_view name);
  result<std::uint32_t, client_error> partition_count(std::string_view topic);

  result<fetch_result, client_error> fetch(std::string_view topic, std::uint32_t partition, std::uint64_t from_offset,
                                           std::uint32_t max_bytes = 1u << 20, std::uint32_t max_wait_ms = 0);
  // First offset committed at or after `time_micros` (µs since the epoch).
  result<std::uint64_t, client_error> offset_for_time(std::string_view topic, std::uint32_t partition,
                                                      std::int64_t time_micros);
  // Every event of `stream` from `from_version` on (pages until the end).
  result<std::vector<event_record>, client_error> read_stream(std::string_view topic, std::string_view stream,
                                                              std::int64_t from_version = 0);

  // Offsets are the next offset to read per partition.
  result<void, client_error> commit_offsets(std::string_view consumer, std::string_view topic,
                                            std::span<const partition_offset> offsets);
  result<std::vector<partition_offset>, client_error> fetch_offsets(std::string_view consumer, std::string_view topic);

  // One produce request to one partition, no batching and no retry.
  result<std::vector<event_position>, client_error> produce(std::string_view topic, std::uint32_t partition,
                                                            std::span<const codec::event_in> events,
                                                            ack_mode acks = ack_mode::durable);
  // Appends one event if its stream's last version is `expected_version`
  // (codec::expect_no_stream: the stream must not exist). A mismatch is an
  // error of kind `conflict` with actual_version set. Retries a lost
  // connection with the same id (a generated UUIDv7 when the event has none).
  result<event_position, client_error> append_expected(std::string_view topic, codec::owned_event event,
                                                       std::int64_t expected_version,
                                                       ack_mode acks = ack_mode::durable);

  // ---- projections (docs/projections.md) ----------------------------------
  // The JSON text the projection answered (the bytes HTTP serves); a broker
  // error `not_found` (unknown projection or entity) or `invalid_argument`
  // (unknown query, bad parameter) otherwise. Retried like other reads.
  result<std::string, client_error> projection_query(std::string_view projection, std::string_view query,
                                                     std::span<const query_param> params = {});
  // Every projection when `projection` is empty. The broker walks the whole
  // state for the digest, so this is an operator's call. Retried like reads.
  result<std::vector<projection_info>, client_error> projection_status(std::string_view projection = {});
  // Starts a rebuild from offset 0; the status as it starts. Not retried (a
  // repeat would find the rebuild running: `too_many_requests`).
  result<std::vector<projection_info>, client_error> projection_rebuild(std::string_view projection);

  // Catch-up from `from_offset`, then live. Reconnects after a connection
  // loss and resumes after the last delivered event.
  subscription subscribe(std::string_view topic, std::uint32_t partition, std::uint64_t from_offset,
                         events_handler on_events, error_handler on_error = {}, subscribe_options options = {});

  struct impl;

 private:
  friend class subscription;
  std::shared_ptr<impl> impl_;
};

}  // namespace muninn::client
