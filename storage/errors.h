// Typed errors of the storage module. Values are frozen: they travel to
// producers in protocol error responses.
#pragma once

#include <cstdint>
#include <string_view>
#include <system_error>

namespace muninn::storage {

enum class errc : std::uint16_t {
  ok = 0,
  io_error = 1,                // a write, sync or read failed; the partition is fenced
  fenced = 2,                  // an earlier I/O error fenced the partition: reopen to recover
  closed = 3,                  // the log was closed
  wrong_expected_version = 4,  // expected_version does not match the stream's last version
  invalid_event = 5,           // an event breaks a limit or an envelope rule
  empty_batch = 6,             // an append with no events
  offset_out_of_range = 7,     // read beyond the head
  corrupt = 8,                 // bytes on disk do not decode
  checksum_mismatch = 9,       // CRC32C or hash chain broken
  index_error = 10,            // RocksDB failed
  not_found = 11,              // no such stream / nothing at that position
  bad_directory = 12,          // the partition directory cannot be opened
};

const std::error_category& storage_category() noexcept;
inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), storage_category()};
}
std::string_view to_string(errc e) noexcept;

}  // namespace muninn::storage

template <>
struct std::is_error_code_enum<muninn::storage::errc> : std::true_type {};
