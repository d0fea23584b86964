#include "codec/stream_hash.h"

namespace muninn::codec {

std::uint64_t stream_hash(std::string_view stream) noexcept {
  std::uint64_t h = 1469598103934665603ull;
  for (char c : stream) {
    h ^= static_cast<std::uint8_t>(c);
    h *= 1099511628211ull;
  }
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ull;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebull;
  h ^= h >> 31;
  return h;
}

}  // namespace muninn::codec
