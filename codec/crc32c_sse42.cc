// CRC32C with the SSE4.2 crc32 instruction. This file alone is compiled with
// -msse4.2 (codec/CMakeLists.txt); crc32c.cc calls it only after checking
// the CPU. Keep it free of header-defined inline functions (see crc32c.cc).
//
// The crc32 instruction has a latency of three cycles and a throughput of
// one, so one dependent chain leaves two thirds of it idle. Long buffers are
// checksummed as three interleaved streams whose registers are joined by a
// "shift by N zero bytes" operator (Mark Adler's crc32c.c): frames of a
// batch are tens of KiB, and the CRC is on every write and every read.
#include <cstddef>
#include <cstdint>
#include <cstring>

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

namespace muninn::codec::detail {

#if defined(__x86_64__)
namespace {

constexpr std::uint32_t poly_reflected = 0x82F63B78u;

// Multiplies a vector by a 32x32 matrix over GF(2).
constexpr std::uint32_t gf2_times(const std::uint32_t* mat, std::uint32_t vec) {
  std::uint32_t sum = 0;
  for (; vec != 0; vec >>= 1, ++mat)
    if (vec & 1u) sum ^= *mat;
  return sum;
}

constexpr void gf2_square(std::uint32_t* square, const std::uint32_t* mat) {
  for (int n = 0; n < 32; ++n) square[n] = gf2_times(mat, mat[n]);
}

// The operator that feeds `len` zero bytes (a power of two) to a CRC register.
constexpr void zeros_operator(std::uint32_t* even, std::size_t len) {
  std::uint32_t odd[32] = {};
  odd[0] = poly_reflected;  // one zero bit
  std::uint32_t row = 1;
  for (int n = 1; n < 32; ++n, row <<= 1) odd[n] = row;
  gf2_square(even, odd);  // two zero bits
  gf2_square(odd, even);  // four
  for (;;) {
    gf2_square(even, odd);  // eight, then 32, 128, ...
    len >>= 1;
    if (len == 0) return;
    gf2_square(odd, even);  // 16, then 64, ...
    len >>= 1;
    if (len == 0) break;
  }
  for (int n = 0; n < 32; ++n) even[n] = odd[n];
}

struct shift_table {
  std::uint32_t t[4][256];
};

constexpr shift_table make_shift(std::size_t len) {
  std::uint32_t op[32] = {};
  zeros_operator(op, len);
  shift_table s{};
  for (std::uint32_t n = 0; n < 256; ++n)
    for (int k = 0; k < 4; ++k) s.t[k][n] = gf2_times(op, n << (8 * k));
  return s;
}

// The register after `len` more zero bytes.
std::uint32_t shift(const shift_table& s, std::uint32_t crc) {
  return s.t[0][crc & 0xFFu] ^ s.t[1][(crc >> 8) & 0xFFu] ^ s.t[2][(crc >> 16) & 0xFFu] ^ s.t[3][crc >> 24];
}

constexpr std::size_t long_block = 8192;
constexpr std::size_t short_block = 256;
constexpr shift_table long_shift = make_shift(long_block);
constexpr shift_table short_shift = make_shift(short_block);

std::uint64_t load(const std::byte* p) {
  std::uint64_t w;
  std::memcpy(&w, p, 8);  // unaligned-safe load
  return w;
}

// Three streams of `block` bytes each from p; returns the joined register.
std::uint32_t three_way(std::uint32_t crc, const std::byte* p, std::size_t block, const shift_table& s) {
  std::uint64_t c0 = crc, c1 = 0, c2 = 0;
  for (const std::byte* end = p + block; p < end; p += 8) {
    c0 = _mm_crc32_u64(c0, load(p));
    c1 = _mm_crc32_u64(c1, load(p + block));
    c2 = _mm_crc32_u64(c2, load(p + 2 * block));
  }
  std::uint32_t r = shift(s, static_cast<std::uint32_t>(c0)) ^ static_cast<std::uint32_t>(c1);
  return shift(s, r) ^ static_cast<std::uint32_t>(c2);
}

}  // namespace
#endif

std::uint32_t crc32c_sse42(const std::byte* p, std::size_t n, std::uint32_t crc) noexcept {
#if defined(__x86_64__)
  std::uint32_t c32 = ~crc;
  for (; n >= 3 * long_block; p += 3 * long_block, n -= 3 * long_block) c32 = three_way(c32, p, long_block, long_shift);
  for (; n >= 3 * short_block; p += 3 * short_block, n -= 3 * short_block)
    c32 = three_way(c32, p, short_block, short_shift);
  std::uint64_t c = c32;
  for (; n >= 8; p += 8, n -= 8) c = _mm_crc32_u64(c, load(p));
  c32 = static_cast<std::uint32_t>(c);
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
