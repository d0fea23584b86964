// The stable 64-bit hash of a stream name. It picks a stream's partition
// (stream_hash % partitions) on clients and brokers alike, and it prefixes
// the stream keys of the storage index. Persisted and on the wire in effect:
// never change it. Pure and thread-safe.
#pragma once

#include <cstdint>
#include <string_view>

namespace muninn::codec {

// FNV-1a 64 followed by the splitmix64 finaliser.
std::uint64_t stream_hash(std::string_view stream) noexcept;

inline std::uint32_t partition_for(std::string_view stream, std::uint32_t partitions) noexcept {
  return partitions == 0 ? 0 : static_cast<std::uint32_t>(stream_hash(stream) % partitions);
}

}  // namespace muninn::codec
