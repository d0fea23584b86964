#include "broker/projections/registry.h"

#include <algorithm>
#include <array>
#include <charconv>

#include "broker/projections/dispatch.h"
#include "broker/projections/reskontra.h"

namespace muninn::projections {
namespace {

constexpr std::array<projection_kind, 2> kinds{{
    {"dispatch-status", "forsendelser"},
    {"reskontra", "reskontra"},
}};

// reskontra_config's accounts by configuration key, in one table so the
// defaults, the known keys and make_projection cannot drift apart.
struct account_key {
  std::string_view key;
  std::string reskontra_config::*field;
};
constexpr std::array<account_key, 10> account_keys{{
    {"account_bank_in", &reskontra_config::bank_in},
    {"account_bank_out", &reskontra_config::bank_out},
    {"account_fee_income", &reskontra_config::fee_income},
    {"account_input_vat", &reskontra_config::input_vat},
    {"account_losses", &reskontra_config::losses},
    {"account_output_vat", &reskontra_config::output_vat},
    {"account_overpayments", &reskontra_config::overpayments},
    {"account_payables", &reskontra_config::payables},
    {"account_receivables", &reskontra_config::receivables},
    {"account_unidentified", &reskontra_config::unidentified},
}};

constexpr std::string_view deadline_key = "deadline_working_hours";

result<dispatch_config, std::string> dispatch_from(const query_params& config) {
  dispatch_config c;
  for (const auto& [k, v] : config) {
    if (k != deadline_key) return unexpected("unknown key '" + k + "' (known: " + std::string(deadline_key) + ")");
    int hours = 0;
    const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), hours);
    if (ec != std::errc() || end != v.data() + v.size() || hours < 1 || hours > 10000) {
      return unexpected(std::string(deadline_key) + " must be an integer from 1 to 10000, got '" + v + "'");
    }
    c.deadline_working_hours = hours;
  }
  return c;
}

result<reskontra_config, std::string> reskontra_from(const query_params& config) {
  reskontra_config c;
  for (const auto& [k, v] : config) {
    const auto* a = std::find_if(account_keys.begin(), account_keys.end(), [&](const account_key& x) { return x.key == k; });
    if (a == account_keys.end()) return unexpected("unknown key '" + k + "' (known: account_receivables, account_payables, ...)");
    c.*(a->field) = v;
  }
  if (auto bad = c.check()) return unexpected(*bad);
  return c;
}

}  // namespace

std::span<const projection_kind> projection_kinds() noexcept { return kinds; }

const projection_kind* find_projection_kind(std::string_view name) noexcept {
  for (const auto& k : kinds) {
    if (k.name == name) return &k;
  }
  return nullptr;
}

result<query_params, std::string> projection_config(std::string_view name, const query_params& overrides) {
  query_params out;
  if (name == "dispatch-status") {
    auto c = dispatch_from(overrides);
    if (!c) return unexpected(c.error());
    out.emplace(std::string(deadline_key), std::to_string(c->deadline_working_hours));
    return out;
  }
  if (name == "reskontra") {
    auto c = reskontra_from(overrides);
    if (!c) return unexpected(c.error());
    for (const auto& a : account_keys) out.emplace(std::string(a.key), (*c).*(a.field));
    return out;
  }
  return unexpected("unknown projection '" + std::string(name) + "'");
}

result<std::unique_ptr<projection>, std::string> make_projection(std::string_view name, const query_params& config) {
  if (name == "dispatch-status") {
    auto c = dispatch_from(config);
    if (!c) return unexpected(c.error());
    return std::unique_ptr<projection>(std::make_unique<dispatch_projection>(*c));
  }
  if (name == "reskontra") {
    auto c = reskontra_from(config);
    if (!c) return unexpected(c.error());
    return std::unique_ptr<projection>(std::make_unique<reskontra_projection>(*c));
  }
  return unexpected("unknown projection '" + std::string(name) + "'");
}

}  // namespace muninn::projections
