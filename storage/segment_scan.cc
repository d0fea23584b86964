#include "storage/segment_scan.h"

#include <algorithm>
#include <cstring>

#include "codec/frame.h"

namespace muninn::storage {

frame_scanner::frame_scanner(const io::read_file& file, std::uint64_t start, std::uint64_t limit,
                             std::size_t chunk_bytes)
    : file_(file), pos_(start), limit_(limit), chunk_(chunk_bytes), file_pos_(start) {}

// Makes at least `need` unconsumed bytes available, unless the limit is reached.
bool frame_scanner::fill(std::size_t need) {
  if (len_ - cur_ >= need) return true;
  if (cur_ > 0) {
    std::memmove(buf_.get(), buf_.get() + cur_, len_ - cur_);
    len_ -= cur_;
    cur_ = 0;
  }
  while (len_ < need && file_pos_ < limit_) {
    std::size_t want = std::max(need - len_, chunk_);
    want = std::size_t(std::min<std::uint64_t>(want, limit_ - file_pos_));
    if (cap_ < len_ + want) {
      auto bigger = std::make_unique_for_overwrite<std::byte[]>(len_ + want);
      if (len_ > 0) std::memcpy(bigger.get(), buf_.get(), len_);
      buf_ = std::move(bigger);
      cap_ = len_ + want;
    }
    std::size_t got = 0;
    if (file_.read(file_pos_, std::span(buf_.get() + len_, want), got)) {
      io_failed_ = true;
      return false;
    }
    if (got == 0) {
      limit_ = file_pos_;  // the file is shorter than we were told
      break;
    }
    len_ += got;
    file_pos_ += got;
  }
  return len_ >= need;
}

frame_scanner::item frame_scanner::next() {
  item it;
  it.position = pos_;
  if (!fill(codec::frame_header_bytes)) {
    it.k = io_failed_ ? kind::io_error : (len_ == cur_ ? kind::end : kind::torn);
    return it;
  }
  std::uint32_t length = 0;
  for (int i = 0; i < 4; ++i) length |= std::uint32_t(std::to_integer<std::uint8_t>(buf_[cur_ + std::size_t(i)])) << (8 * i);
  if (length == 0 || length > codec::max_frame_payload_bytes) {
    it.k = kind::corrupt;
    it.error = length == 0 ? codec::errc::empty_frame : codec::errc::frame_too_large;
    return it;
  }
  if (!fill(codec::frame_header_bytes + length)) {
    it.k = io_failed_ ? kind::io_error : kind::torn;
    return it;
  }
  auto f = codec::decode_frame(std::span<const std::byte>(buf_.get() + cur_, len_ - cur_));
  if (f.status != codec::decode_status::frame) {
    it.k = kind::corrupt;
    it.error = f.status == codec::decode_status::error ? f.error : codec::errc::malformed;
    return it;
  }
  it.k = kind::frame;
  it.frame = std::span<const std::byte>(buf_.get() + cur_, f.consumed);
  it.payload = f.payload;
  cur_ += f.consumed;
  pos_ += f.consumed;
  return it;
}

}  // namespace muninn::storage
