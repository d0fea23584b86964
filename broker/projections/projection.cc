#include "broker/projections/projection.h"

#include <array>

#include "codec/sha256.h"

namespace muninn::projections {
namespace {

void put_u32(codec::sha256& h, std::size_t n) {
  const auto v = static_cast<std::uint32_t>(n);
  const std::array<char, 4> le{static_cast<char>(v), static_cast<char>(v >> 8),
                               static_cast<char>(v >> 16), static_cast<char>(v >> 24)};
  h.update(std::string_view(le.data(), le.size()));
}

}  // namespace

codec::hash256 state_digest(const projection& p) {
  codec::sha256 h;
  p.for_each_record([&h](std::string_view key, std::string_view value) {
    put_u32(h, key.size());
    h.update(key);
    put_u32(h, value.size());
    h.update(value);
  });
  return h.finish();
}

}  // namespace muninn::projections
