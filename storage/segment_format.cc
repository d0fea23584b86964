#include "storage/segment_format.h"

#include <cstring>

#include "codec/crc32c.h"

namespace muninn::storage::format {
namespace {
void put_u32(std::byte* p, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = std::byte(v >> (8 * i));
}
void put_u64(std::byte* p, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = std::byte(v >> (8 * i));
}
std::uint32_t get_u32(const std::byte* p) {
  std::uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= std::uint32_t(std::to_integer<std::uint8_t>(p[i])) << (8 * i);
  return v;
}
std::uint64_t get_u64(const std::byte* p) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= std::uint64_t(std::to_integer<std::uint8_t>(p[i])) << (8 * i);
  return v;
}
}  // namespace

std::string segment_name(std::uint64_t base_offset) {
  std::string digits = std::to_string(base_offset);
  return std::string(segment_name_digits - digits.size(), '0') + digits + std::string(segment_suffix);
}

std::optional<std::uint64_t> parse_segment_name(std::string_view name) {
  if (name.size() != segment_name_digits + segment_suffix.size()) return std::nullopt;
  if (name.substr(segment_name_digits) != segment_suffix) return std::nullopt;
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < segment_name_digits; ++i) {
    char c = name[i];
    if (c < '0' || c > '9') return std::nullopt;
    std::uint64_t next = v * 10 + std::uint64_t(c - '0');
    if (next / 10 != v) return std::nullopt;  // overflow
    v = next;
  }
  return v;
}

void encode_segment_header(std::span<std::byte, segment_header_bytes> out, std::uint64_t base_offset) {
  std::memset(out.data(), 0, out.size());
  std::memcpy(out.data(), segment_magic, sizeof segment_magic);
  put_u32(out.data() + 8, segment_format_version);
  put_u32(out.data() + 12, segment_header_bytes);
  put_u64(out.data() + 16, base_offset);
  put_u32(out.data() + 28, codec::crc32c(std::span<const std::byte>(out.data(), 28)));
}

bool check_segment_header(std::span<const std::byte> in, std::uint64_t base_offset) {
  if (in.size() < segment_header_bytes) return false;
  if (std::memcmp(in.data(), segment_magic, sizeof segment_magic) != 0) return false;
  if (get_u32(in.data() + 8) != segment_format_version) return false;
  if (get_u32(in.data() + 12) != segment_header_bytes) return false;
  if (get_u64(in.data() + 16) != base_offset) return false;
  return get_u32(in.data() + 28) == codec::crc32c(in.subspan(0, 28));
}

}  // namespace muninn::storage::format
