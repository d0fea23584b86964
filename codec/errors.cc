#include "codec/errors.h"

#include <string>

namespace muninn::codec {
namespace {

class codec_category_impl final : public std::error_category {
 public:
  const char* name() const noexcept override { return "muninn.codec"; }
  std::string message(int ev) const override {
    return std::string(to_string(static_cast<errc>(ev)));
  }
};

}  // namespace

const std::error_category& codec_category() noexcept {
  static const codec_category_impl instance;
  return instance;
}

std::string_view to_string(errc e) noexcept {
  switch (e) {
    case errc::ok: return "ok";
    case errc::frame_too_large: return "frame length is above the payload limit";
    case errc::checksum_mismatch: return "CRC32C of the payload differs from the frame header";
    case errc::malformed: return "payload is not a well-formed FlatBuffer of the expected schema";
    case errc::wrong_identifier: return "payload is not a record batch (file identifier is not MNRB)";
    case errc::limit_exceeded: return "a field is longer, or a count larger, than the limit allows";
    case errc::missing_field: return "a required field is absent or empty";
    case errc::invalid_value: return "a field is present but its value breaks a rule";
    case errc::json_syntax: return "JSON text could not be parsed";
    case errc::unsupported_version: return "record batch format_version is not supported";
    case errc::empty_frame: return "frame has a zero-length payload";
  }
  // Values arrive from the wire (protocol error responses), so an unknown
  // number is possible and must not be undefined behaviour.
  return "unknown codec error";
}

}  // namespace muninn::codec
