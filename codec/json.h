// JSON at the edges (CLI, HTTP): one event envelope per line in, a stored
// event out. Parsing uses FlatBuffers' own IDL parser (no hand-written JSON
// parser); `data` is kept as a FlexBuffer. Thread-safe: no shared state.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "codec/batch.h"
#include "codec/errors.h"
#include "codec/result.h"

namespace muninn::codec {

struct json_error {
  errc code = errc::ok;
  std::string field;    // envelope key at fault; empty for the line as a whole
  std::string message;  // one line naming the field and the rule broken
};

// An event that owns its bytes (event_in only views them).
struct owned_event {
  std::string stream, type, content_type;
  std::optional<event_id> id;  // absent: the caller assigns one (nil until then)
  std::int64_t expected_version = expect_any;
  std::int64_t time = 0;
  std::vector<std::byte> data;

  // Valid while *this is alive and unchanged. A missing id shows as nil.
  event_in view() const;
};

// Parses one envelope line:
//   {"stream": str, "type": str, "id"?: uuid, "expected_version"?: int,
//    "time"?: RFC 3339 str, "data": any JSON}
// `data` is re-encoded as a standalone FlexBuffer (content_type_flexbuffers).
// Unknown keys, integers outside int64 and non-finite numbers are refused.
// Errors: json_syntax (not JSON, or trailing text), missing_field,
// limit_exceeded, invalid_value (wrong JSON type or a rule of check_event).
result<owned_event, json_error> event_from_json(std::string_view line,
                                                const batch_limits& limits = {});

// Event data sent as application/json text, re-encoded as a standalone
// FlexBuffer exactly as event_from_json encodes an envelope's `data`: one
// JSON value, nothing after it, integers within int64. The error is one rule
// for the field "data" ("must be valid JSON: ...").
result<std::vector<std::byte>, std::string> json_data_to_flexbuffer(std::span<const std::byte> data);

// Renders stored event data as one JSON value: FlexBuffers as compact JSON,
// application/json as is, anything else (or a FlexBuffer that fails
// verification) as a base64 string; empty data as null.
std::string data_to_json(std::string_view content_type, std::span<const std::byte> data);

// Fields the caller knows about an event beyond the event itself.
struct event_json_extra {
  std::optional<std::string_view> topic;
  std::optional<std::uint32_t> partition;
  std::optional<std::uint64_t> offset;
  std::optional<std::int64_t> commit_time;  // µs since epoch, printed as RFC 3339
};

// One line of JSON for a stored (verified) event: extra fields first, then
// stream, type, id, expected_version (unless -2), time (unless 0), version,
// content_type (unless FlexBuffers or empty), data.
std::string event_to_json(const fb::Event& e, const event_json_extra& extra = {});

// RFC 3339 `YYYY-MM-DDTHH:MM:SS[.frac](Z|±hh:mm)` to µs since the epoch
// (fraction digits past the sixth are truncated; leap second :60 refused).
std::optional<std::int64_t> parse_rfc3339_micros(std::string_view text) noexcept;
// µs since the epoch as `YYYY-MM-DDTHH:MM:SS.ffffffZ` (UTC, always 6 digits).
std::string format_rfc3339_micros(std::int64_t micros);

}  // namespace muninn::codec
