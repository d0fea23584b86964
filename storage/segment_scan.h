// Sequential reading of one segment file, frame by frame, for recovery,
// verify, re-indexing and reads. Internal to storage. Not thread-safe: one
// scanner per reader (the read_file underneath is shared safely).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "codec/errors.h"
#include "storage/io/file_system.h"

namespace muninn::storage {

class frame_scanner {
 public:
  enum class kind : std::uint8_t {
    frame,     // a whole frame with a good CRC
    end,       // clean end at `limit`
    torn,      // bytes remain before `limit` but not a whole frame
    corrupt,   // a frame header or CRC is bad
    io_error,  // reading failed
  };
  struct item {
    kind k = kind::end;
    std::uint64_t position = 0;        // where the frame (or the problem) starts
    std::span<const std::byte> frame;  // header + payload, valid until next()
    std::span<const std::byte> payload;
    codec::errc error = codec::errc::ok;
  };

  // Scans [start, limit) of `file`.
  frame_scanner(const io::read_file& file, std::uint64_t start, std::uint64_t limit,
                std::size_t chunk_bytes = 1u << 20);
  item next();
  std::uint64_t position() const { return pos_; }  // of the next frame

 private:
  bool fill(std::size_t need);
  const io::read_file& file_;
  std::uint64_t pos_;          // file position of buf_[cur_]
  std::uint64_t limit_;
  std::size_t chunk_;
  // Grown without zero-filling: every byte is overwritten by a read first.
  std::unique_ptr<std::byte[]> buf_;
  std::size_t cap_ = 0;
  std::size_t cur_ = 0;        // consumed bytes of buf_
  std::size_t len_ = 0;        // valid bytes of buf_
  std::uint64_t file_pos_;     // file position of buf_[len_]
  bool io_failed_ = false;
};

}  // namespace muninn::storage
