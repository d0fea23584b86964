// Frames: `u32 length | u32 crc32c | payload`, both little-endian, the CRC
// over the payload only. The same framing is used on disk (segments) and on
// the wire. Byte-level description: docs/storage-format.md.
// Decoding is pure: it never does I/O, never allocates and never reads past
// the span it is given; every length is checked against a hard limit first.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "codec/errors.h"

namespace muninn::codec {

inline constexpr std::size_t frame_header_bytes = 8;
// Hard upper bound on any frame payload, on disk or on the wire.
inline constexpr std::uint32_t max_frame_payload_bytes = 64u << 20;

enum class decode_status : std::uint8_t { frame = 0, need_more = 1, error = 2 };

struct frame_view {
  decode_status status = decode_status::need_more;
  std::span<const std::byte> payload;  // valid when status == frame
  std::size_t consumed = 0;            // header + payload bytes when status == frame
  errc error = errc::ok;               // set when status == error
};

// Decodes the first frame in `in`. need_more when `in` holds less than a
// whole frame (and the length so far is within `max_payload`). The length is
// checked before waiting for the payload; a `max_payload` above
// max_frame_payload_bytes is clamped to it.
frame_view decode_frame(std::span<const std::byte> in,
                        std::uint32_t max_payload = max_frame_payload_bytes) noexcept;

// Writes the 8-byte header for `payload` into `out`. The payload must be
// 1..max_frame_payload_bytes long (asserted).
void write_frame_header(std::span<std::byte, frame_header_bytes> out,
                        std::span<const std::byte> payload) noexcept;

// Header + payload in a fresh buffer. An empty or oversized payload is a
// programming error: std::length_error.
std::vector<std::byte> encode_frame(std::span<const std::byte> payload);

}  // namespace muninn::codec
