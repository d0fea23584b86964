// CRC32C (Castagnoli) over byte ranges: the frame checksum. Uses SSE4.2 when
// the CPU has it (checked once at run time) and a portable table otherwise;
// both give identical results. Thread-safe, no state.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace muninn::codec {

// Extends `crc` (0 for a fresh checksum) with `data`.
std::uint32_t crc32c(std::span<const std::byte> data, std::uint32_t crc = 0) noexcept;
std::uint32_t crc32c_portable(std::span<const std::byte> data, std::uint32_t crc = 0) noexcept;
bool crc32c_hardware_available() noexcept;

// The CRC32C of A followed by B, from crc(A), crc(B) and B's length, without
// reading either (GF(2) arithmetic, O(log len_b)). Lets a sender frame bytes
// whose CRCs are already known (stored frames) without a second pass.
std::uint32_t crc32c_combine(std::uint32_t crc_a, std::uint32_t crc_b, std::uint64_t len_b) noexcept;

}  // namespace muninn::codec
