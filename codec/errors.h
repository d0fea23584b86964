// Typed errors of the codec: why a frame or a record batch was refused.
// Values are frozen (they travel in protocol error responses).
#pragma once

#include <cstdint>
#include <string_view>
#include <system_error>

namespace muninn::codec {

enum class errc : std::uint16_t {
  ok = 0,
  frame_too_large = 1,      // length field above the limit
  checksum_mismatch = 2,    // CRC32C of the payload differs from the header
  malformed = 3,            // FlatBuffers verifier refused the payload
  wrong_identifier = 4,     // payload is not a RecordBatch ("MNRB")
  limit_exceeded = 5,       // a field is longer, or a count larger, than allowed
  missing_field = 6,        // a required field is absent
  invalid_value = 7,        // a field is present but its value breaks a rule
  json_syntax = 8,          // JSON text could not be parsed
  unsupported_version = 9,  // format_version we do not understand
  empty_frame = 10,         // zero-length payload
};

const std::error_category& codec_category() noexcept;
inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), codec_category()};
}
std::string_view to_string(errc e) noexcept;

}  // namespace muninn::codec

template <>
struct std::is_error_code_enum<muninn::codec::errc> : std::true_type {};
