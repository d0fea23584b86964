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

void record_changes::erase(std::string_view key) {
  entries_.push_back({bytes_.size(), static_cast<std::uint32_t>(key.size()), erased});
  bytes_.append(key);
}

std::string& record_changes::value_buffer(std::string_view key) {
  entries_.push_back({bytes_.size(), static_cast<std::uint32_t>(key.size()), 0});
  bytes_.append(key);
  return bytes_;
}

void record_changes::end_value() {
  auto& e = entries_.back();
  e.value_size = static_cast<std::uint32_t>(bytes_.size() - e.key_at - e.key_size);
}

record_change record_changes::operator[](std::size_t i) const noexcept {
  const auto& e = entries_[i];
  const std::string_view key(bytes_.data() + e.key_at, e.key_size);
  if (e.value_size == erased) return {key, std::nullopt};
  return {key, std::string_view(bytes_.data() + e.key_at + e.key_size, e.value_size)};
}

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
