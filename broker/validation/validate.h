// Produce-time validation (docs: /work/shared/docs/domain.md, and
// broker/validation/README.md): the envelope rules of every topic and, on a
// topic bound to a schema, every stateless rule of that schema's catalog.
// Pure functions (no I/O, no shared state): thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "codec/batch.h"

namespace muninn::validation {

// The first rule an event breaks. `field` is a path from the envelope:
// "stream", "type", "data.dokumenter[2].filnavn".
struct violation {
  std::uint32_t event_index = 0;  // position in the produced batch
  std::string field;
  std::string rule;

  // One line: "event 3: field 'data.mottaker.digitalId.value': NO_FNR check digit is wrong".
  std::string message() const;
};

// The catalog a topic is bound to. Values are frozen: stored in topic metadata.
enum class schema : std::uint8_t { none = 0, dispatch = 1, reskontra = 2 };

std::string_view to_string(schema s) noexcept;  // "none", "dispatch", "reskontra"
std::optional<schema> schema_from_string(std::string_view text) noexcept;

// Envelope rules that hold on every topic: stream 1-200 bytes of
// [A-Za-z0-9._:@-], type 1-100 bytes, expected_version -2 (any), -1 or >= 0.
std::optional<violation> validate_envelope(const codec::event_in& e, std::uint32_t index);

// validate_envelope plus, for a bound schema, the catalog: known type, data
// a FlexBuffer map (or application/json text, parsed by FlatBuffers' own
// parser), every field rule, the stream named after the entity and
// expected_version -1 on events that create an entity (reskontra).
//
// Rules that depend on the business date (identifier check digits from
// 2032, the century of a 10-digit SE_PNR) use the event's `time`; when it
// is unset, `commit_time` (µs since epoch: the broker passes the time it
// will stamp, which becomes the business time); when that is 0 too, the
// system clock. Hostile data never crashes: the FlexBuffer is verified
// first and the walk has a work budget proportional to the data's size.
std::optional<violation> validate_event(schema s, const codec::event_in& e, std::uint32_t index,
                                        std::int64_t commit_time = 0);

// The first violation of the batch in order; nullopt when all events pass.
std::optional<violation> validate_batch(schema s, std::span<const codec::event_in> events,
                                        std::int64_t commit_time = 0);

}  // namespace muninn::validation
