// Building response frames, shared by the request handlers: one Response
// FlatBuffer in one frame (codec/frame.h), and the Error table every
// refusal carries (one line for people, typed fields for code).
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "codec/frame.h"
#include "codec/protocol_generated.h"

namespace muninn::broker {

inline std::vector<std::byte> finish(flatbuffers::FlatBufferBuilder& b, std::uint64_t corr, fb::ResponseBody type,
                                     flatbuffers::Offset<void> body) {
  b.Finish(fb::CreateResponse(b, corr, type, body));
  return codec::encode_frame(std::as_bytes(std::span(b.GetBufferPointer(), b.GetSize())));
}

inline flatbuffers::Offset<fb::Error> make_error(flatbuffers::FlatBufferBuilder& b, fb::ErrorCode code,
                                                 std::string_view message, std::int32_t index = -1,
                                                 std::string_view field = {}, std::string_view rule = {},
                                                 std::int64_t actual_version = -1) {
  return fb::CreateError(b, code, b.CreateString(message), index, field.empty() ? 0 : b.CreateString(field),
                         rule.empty() ? 0 : b.CreateString(rule), actual_version);
}

}  // namespace muninn::broker
