// Incremental SHA-256 for digests built piece by piece (projection state
// digests over their canonical records). One object per digest; not
// thread-safe. OpenSSL stays private to muninn_codec.
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <string_view>

#include "codec/batch.h"

namespace muninn::codec {

class sha256 {
 public:
  sha256();
  ~sha256();
  sha256(sha256&&) noexcept;
  sha256& operator=(sha256&&) noexcept;

  void update(std::span<const std::byte> bytes);
  void update(std::string_view bytes);
  // The digest of everything updated so far; the object starts over after it.
  hash256 finish();

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

// Lower-case hex, 64 characters.
std::string to_hex(const hash256& h);

}  // namespace muninn::codec
