// Portable CRC32C (slicing-by-8) and the run-time choice between it and the
// SSE4.2 path in crc32c_sse42.cc.
#include "codec/crc32c.h"

#include <array>
#include <bit>
#include <cstring>

namespace muninn::codec {

namespace detail {
// Defined in crc32c_sse42.cc, the only file compiled with -msse4.2. It takes
// raw pointers so that no inline template from a shared header gets an
// SSE4.2 instantiation the linker could pick for the portable path.
std::uint32_t crc32c_sse42(const std::byte* p, std::size_t n, std::uint32_t crc) noexcept;
}  // namespace detail

namespace {

constexpr std::uint32_t poly_reflected = 0x82F63B78u;  // Castagnoli

constexpr std::array<std::array<std::uint32_t, 256>, 8> make_tables() {
  std::array<std::array<std::uint32_t, 256>, 8> t{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c >> 1) ^ ((c & 1u) ? poly_reflected : 0u);
    t[0][i] = c;
  }
  for (std::uint32_t i = 0; i < 256; ++i) {
    for (std::size_t s = 1; s < 8; ++s) t[s][i] = (t[s - 1][i] >> 8) ^ t[0][t[s - 1][i] & 0xFFu];
  }
  return t;
}

constexpr auto tables = make_tables();

std::uint32_t portable(const std::byte* p, std::size_t n, std::uint32_t crc) noexcept {
  std::uint32_t c = ~crc;
  while (n >= 8) {
    std::uint64_t w;
    std::memcpy(&w, p, 8);
    if constexpr (std::endian::native == std::endian::big) w = __builtin_bswap64(w);
    const auto lo = static_cast<std::uint32_t>(w) ^ c;
    const auto hi = static_cast<std::uint32_t>(w >> 32);
    c = tables[7][lo & 0xFFu] ^ tables[6][(lo >> 8) & 0xFFu] ^ tables[5][(lo >> 16) & 0xFFu] ^
        tables[4][lo >> 24] ^ tables[3][hi & 0xFFu] ^ tables[2][(hi >> 8) & 0xFFu] ^
        tables[1][(hi >> 16) & 0xFFu] ^ tables[0][hi >> 24];
    p += 8;
    n -= 8;
  }
  while (n-- > 0) c = (c >> 8) ^ tables[0][(c ^ static_cast<std::uint8_t>(*p++)) & 0xFFu];
  return ~c;
}

using crc_fn = std::uint32_t (*)(const std::byte*, std::size_t, std::uint32_t) noexcept;

bool cpu_has_sse42() noexcept {
#if defined(__x86_64__)
  return __builtin_cpu_supports("sse4.2");
#else
  return false;
#endif
}

crc_fn choose() noexcept { return cpu_has_sse42() ? &detail::crc32c_sse42 : &portable; }

}  // namespace

std::uint32_t crc32c(std::span<const std::byte> data, std::uint32_t crc) noexcept {
  // Chosen once; function-local static initialisation is thread-safe.
  static const crc_fn fn = choose();
  return fn(data.data(), data.size(), crc);
}

std::uint32_t crc32c_portable(std::span<const std::byte> data, std::uint32_t crc) noexcept {
  return portable(data.data(), data.size(), crc);
}

namespace {

// a * b modulo the (reflected) Castagnoli polynomial; bit 31 is x^0.
constexpr std::uint32_t mul_mod_p(std::uint32_t a, std::uint32_t b) noexcept {
  std::uint32_t m = 1u << 31, p = 0;
  for (;;) {
    if (a & m) {
      p ^= b;
      if ((a & (m - 1)) == 0) break;
    }
    m >>= 1;
    b = (b & 1u) ? (b >> 1) ^ poly_reflected : b >> 1;
  }
  return p;
}

// x^(2^k) mod p for k = 0..31.
constexpr std::array<std::uint32_t, 32> make_x2n() {
  std::array<std::uint32_t, 32> t{};
  std::uint32_t p = 1u << 30;  // x^1
  t[0] = p;
  for (std::size_t k = 1; k < 32; ++k) t[k] = p = mul_mod_p(p, p);
  return t;
}

constexpr auto x2n = make_x2n();

}  // namespace

std::uint32_t crc32c_combine(std::uint32_t crc_a, std::uint32_t crc_b, std::uint64_t len_b) noexcept {
  // crc(A || B) = crc_a * x^(8 len_b) + crc_b (the pre- and post-inversions
  // cancel as in zlib's crc32_combine). x^(8n) from the powers x^(2^k):
  // 8n = n << 3, so start at k = 3.
  std::uint32_t x = 1u << 31;  // x^0
  for (std::size_t k = 3; len_b != 0; len_b >>= 1, ++k)
    if (len_b & 1u) x = mul_mod_p(x2n[k & 31], x);
  return mul_mod_p(x, crc_a) ^ crc_b;
}

bool crc32c_hardware_available() noexcept {
  static const bool has = cpu_has_sse42();
  return has;
}

}  // namespace muninn::codec
