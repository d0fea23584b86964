#include "broker/projections/event.h"

#include <cstring>
#include <limits>

#include "codec/batch.h"
#include "codec/json.h"

namespace muninn::projections {

std::optional<flexbuffers::Reference> data_reader::read(std::string_view content_type,
                                                         std::span<const std::byte> data) {
  std::span<const std::byte> bytes = data;
  copied_ = {};
  // FlexBuffers first: nearly every stored event is one.
  if (content_type == codec::content_type_flexbuffers) {
    if (reinterpret_cast<std::uintptr_t>(bytes.data()) % 8 != 0) {
      // FlexBuffers read scalars in place and verify alignment relative to
      // the buffer's start.
      aligned_.assign(bytes.begin(), bytes.end());
      bytes = aligned_;
    }
  } else if (content_type == codec::content_type_json) {
    auto converted = codec::json_data_to_flexbuffer(data);
    if (!converted) return std::nullopt;
    aligned_ = std::move(converted).value();
    bytes = aligned_;
  } else {
    return std::nullopt;
  }
  const auto* buf = reinterpret_cast<const std::uint8_t*>(bytes.data());
  if (!verifier_.verify(buf, bytes.size())) return std::nullopt;
  if (bytes.data() != data.data()) copied_ = bytes;
  return flexbuffers::GetRoot(buf, bytes.size());
}

std::optional<std::string_view> get_string(const flexbuffers::Map& m, const char* key) {
  const auto r = m[key];
  if (!r.IsString()) return std::nullopt;
  const auto s = r.AsString();
  return std::string_view(s.c_str(), s.length());
}

std::optional<std::int64_t> get_int(const flexbuffers::Map& m, const char* key) { return as_int(m[key]); }

std::optional<std::int64_t> as_int(flexbuffers::Reference r) {
  if (r.IsInt()) return r.AsInt64();
  if (r.IsUInt()) {
    const auto u = r.AsUInt64();
    if (u <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      return static_cast<std::int64_t>(u);
    }
  }
  return std::nullopt;
}

std::optional<bool> get_bool(const flexbuffers::Map& m, const char* key) {
  const auto r = m[key];
  if (!r.IsBool()) return std::nullopt;
  return r.AsBool();
}

std::optional<flexbuffers::Map> get_map(const flexbuffers::Map& m, const char* key) {
  const auto r = m[key];
  if (!r.IsMap()) return std::nullopt;
  return r.AsMap();
}

std::optional<flexbuffers::Vector> get_vector(const flexbuffers::Map& m, const char* key) {
  const auto r = m[key];
  if (!r.IsVector() || r.IsMap() || r.IsString() || r.IsBlob()) return std::nullopt;
  return r.AsVector();
}

}  // namespace muninn::projections
