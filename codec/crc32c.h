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

}  // namespace muninn::codec
