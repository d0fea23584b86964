// Response frames that carry stored batches (SubscribeData) without copying
// them. A subscription sends whole frames exactly as the log stored them
// (docs/protocol.md, "Batches on the wire"); building a FlatBuffer around
// them the usual way copies every byte twice (into the builder, then into
// the frame) and runs a second CRC over bytes whose CRCs the log already
// checked when it read them. Here the FlatBuffer is built around a hole the
// size of the batches, and the frame goes out in three pieces (head, the
// read chunk's own bytes, tail) through one gathered write.
//
// Invariants:
// - head + body + tail is byte for byte the frame the copying path would
//   make (tests/broker/batch_frame_test.cc compares them): no wire change.
// - The frame CRC is the CRC of all three pieces; the body's part of it is
//   derived from the stored frames' own CRCs (codec::crc32c_combine), which
//   is sound only because the log verified each frame's CRC on the read
//   that produced `stored`. Callers pass bytes from partition_log::read only.
// Thread-safety: none; the scratch builder belongs to one thread.
#pragma once

#include <flatbuffers/flatbuffer_builder.h>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace muninn::broker {

struct gather_frame {
  std::vector<std::byte> head;  // frame header + the FlatBuffer before the batch bytes
  std::vector<std::byte> body;  // the stored frames, verbatim (moved from the read chunk)
  std::vector<std::byte> tail;  // the FlatBuffer after the batch bytes (padding, if any)

  std::size_t size() const noexcept { return head.size() + body.size() + tail.size(); }
  // The three pieces in one buffer (tests; slow paths).
  std::vector<std::byte> flatten() const;
};

// The CRC32C of `stored`, whole frames back to back, computed from each
// frame's header bytes and its stored payload CRC without reading the
// payloads. Only for frames whose CRCs were verified (see above).
std::uint32_t crc_of_verified_frames(const std::vector<std::byte>& stored);

// A Response{corr, SubscribeData{head_offset, batches = stored}} frame.
// `scratch` is cleared and reused, so its buffer is allocated once per
// thread, not once per frame. `stored` must be non-empty.
gather_frame subscribe_data_frame(flatbuffers::FlatBufferBuilder& scratch, std::uint64_t corr,
                                  std::uint64_t head_offset, std::vector<std::byte> stored);

}  // namespace muninn::broker
