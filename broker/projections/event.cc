#include "broker/projections/event.h"

#include <cstring>
#include <limits>

#include "codec/batch.h"
#include "codec/json.h"

namespace muninn::projections {
namespace {

// Every key of every map ends inside the buffer. The node budget bounds the
// walk of a DAG-shaped (shared sub-value) buffer to its size.
struct key_checker {
  const char* begin;
  const char* last_nul;  // the buffer's last NUL byte, null when it has none
  std::size_t nodes_left;

  // A key starting in the buffer ends in it exactly when a NUL follows it
  // somewhere, that is when it starts at or before the last NUL: one
  // comparison instead of a scan per key.
  bool key(flexbuffers::Reference r) {
    const char* k = r.AsKey();
    return last_nul != nullptr && k >= begin && k <= last_nul;
  }

  bool walk(flexbuffers::Reference r, int depth) {
    if (nodes_left-- == 0 || depth > 64) return false;
    if (r.IsKey()) return key(r);
    if (r.IsMap()) {
      const auto m = r.AsMap();
      const auto keys = m.Keys();
      const auto vals = m.Values();
      for (std::size_t i = 0; i < keys.size(); ++i) {
        if (!key(keys[i]) || !walk(vals[i], depth + 1)) return false;
      }
      return true;
    }
    if (r.IsVector() && !r.IsString() && !r.IsBlob()) {
      const auto v = r.AsVector();
      for (std::size_t i = 0; i < v.size(); ++i) {
        if (!walk(v[i], depth + 1)) return false;
      }
    }
    return true;
  }
};

}  // namespace

std::optional<flexbuffers::Reference> data_reader::read(std::string_view content_type,
                                                         std::span<const std::byte> data) {
  std::span<const std::byte> bytes = data;
  copied_ = {};
  if (content_type == codec::content_type_json) {
    auto converted = codec::json_data_to_flexbuffer(data);
    if (!converted) return std::nullopt;
    aligned_ = std::move(converted).value();
    bytes = aligned_;
  } else if (content_type != codec::content_type_flexbuffers) {
    return std::nullopt;
  } else if (reinterpret_cast<std::uintptr_t>(bytes.data()) % 8 != 0) {
    // FlexBuffers read scalars in place and verify alignment relative to
    // the buffer's start.
    aligned_.assign(bytes.begin(), bytes.end());
    bytes = aligned_;
  }
  const auto* buf = reinterpret_cast<const std::uint8_t*>(bytes.data());
  if (bytes.size() < 3 || bytes.size() >= FLATBUFFERS_MAX_BUFFER_SIZE) return std::nullopt;
  reuse_.clear();
  if (!flexbuffers::VerifyBuffer(buf, bytes.size(), &reuse_)) return std::nullopt;
  const auto root = flexbuffers::GetRoot(buf, bytes.size());
  const auto* chars = reinterpret_cast<const char*>(buf);
  const char* last_nul = nullptr;
  for (std::size_t i = bytes.size(); i-- > 0;) {
    if (chars[i] == 0) {
      last_nul = chars + i;
      break;
    }
  }
  key_checker kc{chars, last_nul, bytes.size() + 16};
  if (!kc.walk(root, 0)) return std::nullopt;
  if (bytes.data() != data.data()) copied_ = bytes;
  return root;
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
