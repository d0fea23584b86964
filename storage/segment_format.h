// On-disk constants of a partition's segment files. Every byte is described
// in docs/storage-format.md; change both together. Values marked frozen are
// read back by every later version: never change them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace muninn::storage::format {

// Segment file name: the base offset as 20 decimal digits, then ".log".
inline constexpr std::string_view segment_suffix = ".log";
inline constexpr std::size_t segment_name_digits = 20;

// Segment header (frozen layout, little-endian):
//   0  u8[8]  magic "MUNINNSG"
//   8  u32    format version (1)
//  12  u32    header size in bytes (32)
//  16  u64    base offset (must equal the file name)
//  24  u32    reserved, zero
//  28  u32    CRC32C of bytes 0..27
inline constexpr std::size_t segment_header_bytes = 32;
inline constexpr char segment_magic[8] = {'M', 'U', 'N', 'I', 'N', 'N', 'S', 'G'};
inline constexpr std::uint32_t segment_format_version = 1;

// After the header: frames (codec/frame.h) back to back, each holding one
// RecordBatch (codec/schemas/batch.fbs), in offset order with no gaps.

std::string segment_name(std::uint64_t base_offset);
// The base offset a segment file name encodes; nullopt for other files.
std::optional<std::uint64_t> parse_segment_name(std::string_view name);

void encode_segment_header(std::span<std::byte, segment_header_bytes> out, std::uint64_t base_offset);
// True when `in` is a valid header for `base_offset`.
bool check_segment_header(std::span<const std::byte> in, std::uint64_t base_offset);

}  // namespace muninn::storage::format
