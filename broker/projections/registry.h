// The projections by name: which topic each one reads and how it is made
// from its configuration. The broker's runner and the client's auditor both
// build projections here, so the same name and configuration give the same
// code and the same digest. Pure: thread-safe, no state.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "broker/projections/projection.h"
#include "codec/result.h"

namespace muninn::projections {

struct projection_kind {
  std::string_view name;   // "dispatch-status"
  std::string_view topic;  // "forsendelser"
};

std::span<const projection_kind> projection_kinds() noexcept;
const projection_kind* find_projection_kind(std::string_view name) noexcept;

// Every configuration key of the projection with its value, defaults filled
// in, `overrides` applied (an unknown key or a bad value is an error naming
// it). The result is what the broker reports and an auditor passes back.
result<query_params, std::string> projection_config(std::string_view name, const query_params& overrides);

// A fresh projection; `config` as projection_config returns it.
result<std::unique_ptr<projection>, std::string> make_projection(std::string_view name,
                                                                 const query_params& config);

}  // namespace muninn::projections
