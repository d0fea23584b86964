#include "codec/frame.h"

#include <algorithm>
#include <cassert>
#include <stdexcept>

#include "codec/crc32c.h"

namespace muninn::codec {

frame_view decode_frame(std::span<const std::byte> in, std::uint32_t max_payload) noexcept {
  frame_view out;
  if (in.size() < frame_header_bytes) return out;  // need_more
  // The hard limit wins over a caller's larger one: nothing may make us
  // wait for (and so buffer) more than max_frame_payload_bytes.
  const std::uint32_t limit = std::min(max_payload, max_frame_payload_bytes);
  const std::uint32_t length = load_le32(in.data());
  // Checked before waiting for the payload, so a hostile length is refused
  // at once instead of making the caller buffer up to 4 GiB.
  if (length > limit) {
    out.status = decode_status::error;
    out.error = errc::frame_too_large;
    return out;
  }
  if (length == 0) {
    out.status = decode_status::error;
    out.error = errc::empty_frame;
    return out;
  }
  if (in.size() - frame_header_bytes < length) return out;  // need_more
  const auto payload = in.subspan(frame_header_bytes, length);
  if (crc32c(payload) != load_le32(in.data() + 4)) {
    out.status = decode_status::error;
    out.error = errc::checksum_mismatch;
    return out;
  }
  out.status = decode_status::frame;
  out.payload = payload;
  out.consumed = frame_header_bytes + length;
  return out;
}

void write_frame_header(std::span<std::byte, frame_header_bytes> out,
                        std::span<const std::byte> payload) noexcept {
  assert(!payload.empty() && payload.size() <= max_frame_payload_bytes);
  store_le32(out.data(), static_cast<std::uint32_t>(payload.size()));
  store_le32(out.data() + 4, crc32c(payload));
}

std::vector<std::byte> encode_frame(std::span<const std::byte> payload) {
  // A frame nobody may decode is a bug in the caller, not bad input.
  if (payload.empty() || payload.size() > max_frame_payload_bytes) {
    throw std::length_error("encode_frame: payload empty or above max_frame_payload_bytes");
  }
  std::vector<std::byte> out(frame_header_bytes + payload.size());
  write_frame_header(std::span<std::byte, frame_header_bytes>(out.data(), frame_header_bytes),
                     payload);
  std::copy(payload.begin(), payload.end(), out.begin() + frame_header_bytes);
  return out;
}

std::optional<std::uint32_t> crc32c_of_frames(std::span<const std::byte> frames, std::uint32_t crc,
                                              payload_crcs mode) noexcept {
  for (std::size_t pos = 0; pos < frames.size();) {
    const auto rest = frames.subspan(pos);
    if (rest.size() < frame_header_bytes) return std::nullopt;
    const std::uint32_t len = load_le32(rest.data());
    if (len == 0 || rest.size() - frame_header_bytes < len) return std::nullopt;
    const std::uint32_t stored = load_le32(rest.data() + 4);
    const std::uint32_t payload =
        mode == payload_crcs::trust ? stored : crc32c(rest.subspan(frame_header_bytes, len));
    if (payload != stored) return std::nullopt;
    crc = crc32c(rest.first(frame_header_bytes), crc);
    crc = crc32c_combine(crc, payload, len);
    pos += frame_header_bytes + len;
  }
  return crc;
}

}  // namespace muninn::codec
