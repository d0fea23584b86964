// CRC32C with the SSE4.2 crc32 instruction. This file alone is compiled with
// -msse4.2 (codec/CMakeLists.txt); crc32c.cc calls it only after checking
// the CPU. Keep it free of header-defined inline functions (see crc32c.cc).
#include <cstddef>
#include <cstdint>
#include <cstring>

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

namespace muninn::codec::detail {

std::uint32_t crc32c_sse42(const std::byte* p, std::size_t n, std::uint32_t crc) noexcept {
#if defined(__x86_64__)
  std::uint64_t c = ~crc;
  while (n >= 8) {
    std::uint64_t w;
    std::memcpy(&w, p, 8);  // unaligned-safe load
    c = _mm_crc32_u64(c, w);
    p += 8;
    n -= 8;
  }
  auto c32 = static_cast<std::uint32_t>(c);
  while (n-- > 0) c32 = _mm_crc32_u8(c32, static_cast<std::uint8_t>(*p++));
  return ~c32;
#else
  // Never selected off x86-64 (crc32c.cc checks the CPU); kept linkable.
  (void)p;
  (void)n;
  return crc;
#endif
}

}  // namespace muninn::codec::detail
