#include "broker/validation/validate.h"

#include <flatbuffers/flexbuffers.h>

#include <algorithm>
#include <vector>

#include "broker/projections/calendar.h"
#include "broker/validation/catalogs.h"
#include "broker/validation/reader.h"
#include "codec/json.h"

namespace muninn::validation {
namespace {

using detail::checker;
using detail::object;
using detail::path_node;

violation make(std::uint32_t index, std::string field, std::string rule) {
  return violation{index, std::move(field), std::move(rule)};
}

// ---- the walk -----------------------------------------------------------------

std::optional<violation> check_data(schema s, const codec::event_in& e, std::uint32_t index,
                                    std::int64_t commit_time) {
  const auto types = s == schema::dispatch ? detail::dispatch_types() : detail::reskontra_types();
  const auto type = std::find_if(types.begin(), types.end(),
                                 [&e](const detail::event_type& t) { return t.name == e.type; });
  if (type == types.end()) {
    return make(index, "type", "unknown event type for schema " + std::string(to_string(s)));
  }

  // FlexBuffers read scalars in place and the verifier checks alignment
  // relative to the buffer's start, so the start must be 8-byte aligned.
  std::vector<std::byte> owned;
  std::span<const std::byte> bytes = e.data;
  if (e.content_type == codec::content_type_json) {
    auto converted = codec::json_data_to_flexbuffer(e.data);
    if (!converted) return make(index, "data", converted.error());
    owned = std::move(converted).value();
    bytes = owned;
  } else if (e.content_type != codec::content_type_flexbuffers) {
    return make(index, "content_type",
                "must be application/x-flexbuffers or application/json on a topic with schema " +
                    std::string(to_string(s)));
  } else if (reinterpret_cast<std::uintptr_t>(bytes.data()) % 8 != 0) {
    owned.assign(bytes.begin(), bytes.end());
    bytes = owned;
  }

  const auto* buf = reinterpret_cast<const std::uint8_t*>(bytes.data());
  // The reuse tracker makes verification linear in the size: without it a
  // vector whose elements all point at one big vector is walked once per
  // element.
  std::vector<std::uint8_t> reuse;
  if (bytes.size() < 3 || bytes.size() >= FLATBUFFERS_MAX_BUFFER_SIZE ||
      !flexbuffers::VerifyBuffer(buf, bytes.size(), &reuse)) {
    return make(index, "data", "must be a valid FlexBuffer");
  }

  const std::int64_t when = e.time != 0 ? e.time : commit_time != 0 ? commit_time : codec::now_micros();
  checker c(buf, bytes.size(), projections::civil_from_micros(when));
  const path_node root{nullptr, "data", 0, false};
  if (const auto data = object::open(c, flexbuffers::GetRoot(buf, bytes.size()), root)) {
    type->check(*data, e);
  }
  if (const auto& f = c.fault()) return make(index, f->field, f->rule);
  return std::nullopt;
}

}  // namespace

std::string violation::message() const {
  std::string out = "event " + std::to_string(event_index) + ": field '" + field + "': " + rule;
  std::replace(out.begin(), out.end(), '\n', ' ');
  std::replace(out.begin(), out.end(), '\r', ' ');
  return out;
}

std::string_view to_string(schema s) noexcept {
  switch (s) {
    case schema::none: return "none";
    case schema::dispatch: return "dispatch";
    case schema::reskontra: return "reskontra";
  }
  return "unknown";
}

std::optional<schema> schema_from_string(std::string_view text) noexcept {
  if (text == "none") return schema::none;
  if (text == "dispatch") return schema::dispatch;
  if (text == "reskontra") return schema::reskontra;
  return std::nullopt;
}

std::optional<violation> validate_envelope(const codec::event_in& e, std::uint32_t index) {
  if (e.stream.empty() || e.stream.size() > 200) {
    return make(index, "stream", "must be 1-200 bytes");
  }
  if (!std::all_of(e.stream.begin(), e.stream.end(), detail::is_stream_char)) {
    return make(index, "stream", "must contain only A-Z a-z 0-9 . _ : @ -");
  }
  if (e.type.empty() || e.type.size() > 100) return make(index, "type", "must be 1-100 bytes");
  if (e.expected_version < codec::expect_any) {
    return make(index, "expected_version",
                "must be -2 (any), -1 (stream must not exist) or a version >= 0");
  }
  return std::nullopt;
}

std::optional<violation> validate_event(schema s, const codec::event_in& e, std::uint32_t index,
                                        std::int64_t commit_time) {
  if (auto v = validate_envelope(e, index)) return v;
  switch (s) {
    case schema::none: return std::nullopt;
    case schema::dispatch:
    case schema::reskontra: return check_data(s, e, index, commit_time);
  }
  // A schema value this build does not know (metadata from a newer
  // version): fail closed rather than let unchecked data into the topic.
  return make(index, "data",
              "topic is bound to unknown schema " + std::to_string(static_cast<unsigned>(s)));
}

std::optional<violation> validate_batch(schema s, std::span<const codec::event_in> events,
                                        std::int64_t commit_time) {
  for (std::size_t i = 0; i < events.size(); ++i) {
    if (auto v = validate_event(s, events[i], static_cast<std::uint32_t>(i), commit_time)) return v;
  }
  return std::nullopt;
}

}  // namespace muninn::validation
