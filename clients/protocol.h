// Pure wire code of the client: Request frames out, verified Responses and
// record batches in. No I/O and no shared state, so it is unit-tested
// without a broker; thread-safe (free functions, immutable results).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "clients/errors.h"
#include "codec/batch.h"
#include "codec/frame.h"
#include "codec/protocol_generated.h"
#include "codec/result.h"

namespace muninn::client {

using frame_bytes = std::vector<std::byte>;

enum class ack_mode : std::uint8_t { durable = 0, written = 1 };

// ---- requests: each returns one whole frame (header + Request) ----------

// Finishes `b` as a Request around `body` and frames it.
frame_bytes finish_request(flatbuffers::FlatBufferBuilder& b, std::uint64_t correlation_id, fb::RequestBody type,
                           flatbuffers::Offset<void> body);

frame_bytes encode_produce(std::uint64_t correlation_id, std::string_view topic, std::uint32_t partition,
                           ack_mode acks, std::string_view producer_id, std::uint64_t producer_seq,
                           std::span<const codec::event_in> events);
frame_bytes encode_fetch(std::uint64_t correlation_id, std::string_view topic, std::uint32_t partition,
                         std::uint64_t from_offset, std::uint32_t max_bytes, std::uint32_t max_wait_ms);
frame_bytes encode_offset_for_time(std::uint64_t correlation_id, std::string_view topic, std::uint32_t partition,
                                   std::int64_t time_micros);
frame_bytes encode_read_stream(std::uint64_t correlation_id, std::string_view topic, std::string_view stream,
                               std::int64_t from_version, std::uint32_t max_events);
frame_bytes encode_subscribe(std::uint64_t correlation_id, std::string_view topic, std::uint32_t partition,
                             std::uint64_t from_offset, std::uint32_t credit_bytes);
frame_bytes encode_credit(std::uint64_t correlation_id, std::uint64_t subscription, std::uint32_t bytes);
frame_bytes encode_cancel(std::uint64_t correlation_id, std::uint64_t subscription);
frame_bytes encode_create_topic(std::uint64_t correlation_id, std::string_view name, std::uint32_t partitions,
                                std::string_view schema, std::uint64_t segment_bytes);
frame_bytes encode_list_topics(std::uint64_t correlation_id);
frame_bytes encode_describe_topic(std::uint64_t correlation_id, std::string_view name);

struct partition_offset {
  std::uint32_t partition = 0;
  std::uint64_t offset = 0;
  bool operator==(const partition_offset&) const = default;
};
// `member_id` set: a group member's commit, fenced by the broker
// (docs/consumer-groups.md); empty: a plain consumer's.
frame_bytes encode_commit_offsets(std::uint64_t correlation_id, std::string_view consumer, std::string_view topic,
                                  std::span<const partition_offset> offsets, std::string_view member_id = {},
                                  std::uint32_t generation = 0);
frame_bytes encode_fetch_offsets(std::uint64_t correlation_id, std::string_view consumer, std::string_view topic);

// A projection query's parameter, as HTTP's query string would give it.
struct query_param {
  std::string name;
  std::string value;
  bool operator==(const query_param&) const = default;
};
frame_bytes encode_projection_query(std::uint64_t correlation_id, std::string_view projection, std::string_view query,
                                    std::span<const query_param> params);
// `projection` empty: every projection the broker runs.
frame_bytes encode_projection_status(std::uint64_t correlation_id, std::string_view projection);
frame_bytes encode_projection_rebuild(std::uint64_t correlation_id, std::string_view projection);

// ---- owned, 8-byte aligned bytes that FlatBuffers can read in place ------

class aligned_bytes {
 public:
  explicit aligned_bytes(std::span<const std::byte> src);
  // `n` bytes, not initialised: to be filled through mutable_data() before
  // they are shared (a large frame read straight from the socket).
  explicit aligned_bytes(std::size_t n);
  std::byte* mutable_data() noexcept { return reinterpret_cast<std::byte*>(words_.get()); }
  std::span<const std::byte> span() const noexcept { return {data(), size_}; }
  const std::byte* data() const noexcept { return reinterpret_cast<const std::byte*>(words_.get()); }
  std::size_t size() const noexcept { return size_; }

 private:
  // Not a vector: its zero-filling would touch every byte once more
  // before the copy (a megabyte per subscription frame).
  std::unique_ptr<std::uint64_t[]> words_;
  std::size_t size_ = 0;
};

// ---- responses -----------------------------------------------------------

struct decode_limits {
  std::uint32_t max_depth = 16;
  std::uint32_t max_tables = 1'000'000;
};

// A verified Response that owns (a copy of) its bytes.
struct response {
  std::shared_ptr<const aligned_bytes> bytes;
  const fb::Response* root = nullptr;
  // Set by check_frame_crc when every stored batch frame the response
  // carries had a matching CRC: split_batches need not check them again.
  bool batch_crcs_checked = false;
  std::uint64_t correlation_id() const noexcept { return root->correlation_id(); }
};

// Copies `payload` (a frame payload) to aligned memory and runs the
// FlatBuffers Verifier with `limits`; protocol error when it does not verify.
result<response, client_error> decode_response(std::span<const std::byte> payload, const decode_limits& limits = {});
// The same for a payload already in aligned memory it may keep (no copy).
result<response, client_error> decode_owned_response(std::shared_ptr<const aligned_bytes> payload,
                                               const decode_limits& limits = {});

// The first frame of `in` with its CRC not yet checked (the header's CRC
// goes to `crc`, for check_frame_crc) when `in` holds all of it and its
// length is valid; otherwise what codec::decode_frame says (need_more, or
// the error).
codec::frame_view decode_frame_unchecked(std::span<const std::byte> in, std::uint32_t max_payload,
                                         std::uint32_t& crc) noexcept;

// Checks the CRC32C of the frame that carried `r` (`frame_crc`, from its
// header) reading each byte once. The stored batch frames a SubscribeData
// or FetchResponse carries have CRCs of their own: each is checked, and the
// frame's CRC is derived from them (codec::crc32c_combine) instead of a
// second pass over the same bytes. False when the frame's CRC does not
// match. When it matches but a batch's own CRC does not (a batch damaged
// where it was stored, not on the way), batch_crcs_checked stays false and
// split_batches reports that batch.
bool check_frame_crc(response& r, std::uint32_t frame_crc);

// The broker error of a response (kind broker/conflict), or the protocol
// error of a body other than `expected`; nothing when the response is usable.
std::optional<client_error> check_response(const response& r, fb::ResponseBody expected);

// The Error carried by a response, whichever body it is in; null if none.
const fb::Error* response_error(const fb::Response& r) noexcept;

// ---- events and batches as a consumer sees them ---------------------------

// One stored event: a view into a verified batch or response, kept alive by
// `keep`. Cheap to copy.
struct event_record {
  std::shared_ptr<const void> keep;
  const fb::Event* event = nullptr;
  std::uint32_t partition = 0;
  std::uint64_t offset = 0;
  std::int64_t commit_time = 0;  // µs since epoch

  std::string_view stream() const noexcept;
  std::string_view type() const noexcept;
  codec::event_id id() const noexcept;
  std::int64_t version() const noexcept { return event->version(); }
  std::int64_t time() const noexcept { return event->time(); }
  std::string_view content_type() const noexcept;
  std::span<const std::byte> data() const noexcept;
  // The JSON line of `muninn consume` (codec::event_to_json with topic,
  // partition, offset and commit_time).
  std::string to_json(std::string_view topic) const;
};

// One verified record batch from a fetch or a subscription.
struct batch_record {
  std::shared_ptr<const void> keep;
  codec::verified_batch batch;
  std::uint64_t base_offset = 0;
  std::uint32_t count = 0;
  std::int64_t commit_time = 0;
  codec::hash256 prev_hash{};
  codec::hash256 hash{};
  std::size_t frame_bytes = 0;  // header + payload on the wire
};

// Splits back-to-back frames (FetchResponse/SubscribeData `batches`) into
// verified batches. CRCs are checked by the frame decoder unless
// `crcs_checked` (check_frame_crc did it); the FlatBuffers verifier runs on
// every batch either way. A payload that is not 8-byte aligned is copied
// first. Protocol error naming the byte position of the first bad frame.
result<std::vector<batch_record>, client_error> split_batches(std::shared_ptr<const void> keep,
                                                              std::span<const std::byte> bytes,
                                                              const codec::batch_limits& limits = {},
                                                              bool crcs_checked = false);

// As split_batches, but keeps the verified batches before a bad frame and
// reports the bad frame in `tail_error` (a fetch delivers what verifies and
// fails on the next fetch, at the broken batch's offset).
std::vector<batch_record> split_batches_prefix(std::shared_ptr<const void> keep, std::span<const std::byte> bytes,
                                               std::optional<client_error>& tail_error,
                                               const codec::batch_limits& limits = {}, bool crcs_checked = false);

// The events of `batches` with offset >= from_offset, in offset order.
std::vector<event_record> events_of(std::span<const batch_record> batches, std::uint32_t partition,
                                    std::uint64_t from_offset);

// Follows a partition's hash chain batch by batch: each batch's hash must
// recompute (codec::check_hash) and its prev_hash must equal the previous
// batch's hash; offsets must continue without gap. Not thread-safe.
class chain_checker {
 public:
  // Start of a partition (offset 0, zero hash) unless told otherwise.
  explicit chain_checker(std::uint64_t next_offset = 0, codec::hash256 prev = {}) noexcept
      : next_offset_(next_offset), prev_(prev) {}
  // Empty string when the batch continues the chain, else why not.
  std::string check(const batch_record& b);
  const codec::hash256& head_hash() const noexcept { return prev_; }
  std::uint64_t next_offset() const noexcept { return next_offset_; }

 private:
  std::uint64_t next_offset_;
  codec::hash256 prev_;
};

std::string hex(std::span<const std::uint8_t> bytes);

// ---- topics ---------------------------------------------------------------

struct partition_info {
  std::uint32_t id = 0;
  std::uint64_t head = 0;        // events in the partition (next offset)
  std::string head_hash;         // hex of the last batch's hash (64 zeros when empty)
  std::uint64_t indexed = 0;     // events the broker's index has caught up with
};

struct topic_info {
  std::string name;
  std::uint32_t partitions = 0;
  std::string schema;
  std::uint64_t segment_bytes = 0;
  std::vector<partition_info> parts;
  // One JSON object (for the tool).
  std::string to_json() const;
};

std::vector<topic_info> topics_from(const fb::TopicsResponse& r);

// ---- projections (docs/projections.md) -------------------------------------

// One projection's status as the broker reported it. Vectors are indexed by
// partition; `digest` is the state digest at exactly `applied`.
struct projection_info {
  std::string name;
  std::string topic;
  std::vector<std::uint64_t> applied;     // events applied (next offset)
  std::vector<std::uint64_t> heads;       // durable heads when the status was taken
  std::vector<std::uint64_t> checkpoint;  // what the broker's store holds
  codec::hash256 digest{};
  std::vector<query_param> config;        // in the broker's order (by key)
  bool rebuilding = false;
  std::uint64_t rebuild_applied = 0;
  std::uint64_t anomalies = 0;
  std::string error;                      // why the projection is stopped; empty while it runs

  // Sum over partitions of head - applied (0 where applied is ahead).
  std::uint64_t lag() const noexcept;
  std::uint64_t applied_total() const noexcept;
  // One JSON object (for the tool's --json): every field above plus lag,
  // the digest in hex and the config as an object.
  std::string to_json() const;
};

std::vector<projection_info> projections_from(const fb::ProjectionStatusResponse& r);

}  // namespace muninn::client
