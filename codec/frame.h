// Frames: `u32 length | u32 crc32c | payload`, both little-endian, the CRC
// over the payload only. The same framing is used on disk (segments) and on
// the wire. Byte-level description: docs/storage-format.md.
// Decoding is pure: it never does I/O, never allocates and never reads past
// the span it is given; every length is checked against a hard limit first.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "codec/errors.h"

namespace muninn::codec {

inline constexpr std::size_t frame_header_bytes = 8;

// The header's little-endian u32 fields (length, CRC).
inline std::uint32_t load_le32(const std::byte* p) noexcept {
  return static_cast<std::uint32_t>(p[0]) | (static_cast<std::uint32_t>(p[1]) << 8) |
         (static_cast<std::uint32_t>(p[2]) << 16) | (static_cast<std::uint32_t>(p[3]) << 24);
}
inline void store_le32(std::byte* p, std::uint32_t v) noexcept {
  p[0] = static_cast<std::byte>(v);
  p[1] = static_cast<std::byte>(v >> 8);
  p[2] = static_cast<std::byte>(v >> 16);
  p[3] = static_cast<std::byte>(v >> 24);
}
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

// The CRC32C of `frames` (whole frames back to back) continuing `crc`, for a
// frame that carries stored frames inside it: each inner header's bytes,
// then its payload's CRC combined in (crc32c_combine), so a payload is read
// at most once. `trust` takes each payload's CRC from its header (only for
// frames verified when they were read: the broker sending from its log);
// `check` computes it and requires it to equal the header's (a receiver).
// Nullopt when `frames` is not whole non-empty frames or a payload's CRC
// differs from its header's.
enum class payload_crcs { trust, check };
std::optional<std::uint32_t> crc32c_of_frames(std::span<const std::byte> frames, std::uint32_t crc,
                                              payload_crcs mode) noexcept;

}  // namespace muninn::codec
