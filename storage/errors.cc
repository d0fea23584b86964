#include "storage/errors.h"

#include <string>

namespace muninn::storage {

std::string_view to_string(errc e) noexcept {
  switch (e) {
    case errc::ok: return "ok";
    case errc::io_error: return "I/O error: the partition is fenced until it is reopened";
    case errc::fenced: return "partition fenced after an I/O error: reopen it to recover";
    case errc::closed: return "the log is closed";
    case errc::wrong_expected_version: return "expected version does not match the stream";
    case errc::invalid_event: return "event breaks a limit or an envelope rule";
    case errc::empty_batch: return "append with no events";
    case errc::offset_out_of_range: return "offset beyond the head of the log";
    case errc::corrupt: return "data on disk does not decode";
    case errc::checksum_mismatch: return "checksum or hash chain mismatch";
    case errc::index_error: return "index (RocksDB) error";
    case errc::not_found: return "not found";
    case errc::bad_directory: return "partition directory cannot be used";
  }
  return "unknown storage error";
}

namespace {
class category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "muninn.storage"; }
  std::string message(int c) const override { return std::string(to_string(static_cast<errc>(c))); }
};
}  // namespace

const std::error_category& storage_category() noexcept {
  static const category c;
  return c;
}

}  // namespace muninn::storage
