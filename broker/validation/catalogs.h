// Internal to broker/validation: the event types of each built-in catalog
// and their stateless checks (domain.md "Dispatch catalog", "Reskontra
// catalog"). Immutable tables of plain functions: thread-safe.
#pragma once

#include <span>
#include <string_view>

#include "broker/validation/reader.h"
#include "codec/batch.h"

namespace muninn::validation::detail {

// Checks `data` (the event's data map) and the envelope fields the catalog
// constrains (stream name, expected_version), recording the first fault in
// data.check().
using event_check = void (*)(const object& data, const codec::event_in& e);

struct event_type {
  std::string_view name;
  event_check check;
};

std::span<const event_type> dispatch_types() noexcept;
std::span<const event_type> reskontra_types() noexcept;

}  // namespace muninn::validation::detail
