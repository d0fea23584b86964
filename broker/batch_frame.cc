#include "broker/batch_frame.h"

#include <cstring>
#include <stdexcept>

#include "codec/crc32c.h"
#include "codec/frame.h"
#include "codec/protocol_generated.h"

namespace muninn::broker {
std::vector<std::byte> gather_frame::flatten() const {
  std::vector<std::byte> out;
  out.reserve(size());
  out.insert(out.end(), head.begin(), head.end());
  out.insert(out.end(), body.begin(), body.end());
  out.insert(out.end(), tail.begin(), tail.end());
  return out;
}

std::uint32_t crc_of_verified_frames(const std::vector<std::byte>& stored) {
  const auto crc = codec::crc32c_of_frames(stored, 0, codec::payload_crcs::trust);
  // The log hands out whole frames only; anything else is a bug here.
  if (!crc) throw std::logic_error("stored bytes are not whole frames");
  return *crc;
}

gather_frame subscribe_data_frame(flatbuffers::FlatBufferBuilder& scratch, std::uint64_t corr,
                                  std::uint64_t head_offset, std::vector<std::byte> stored) {
  if (stored.empty()) throw std::logic_error("subscribe_data_frame: no batches");
  auto& b = scratch;
  b.Clear();
  // As the copying path did: 8-byte aligned, so the FlatBuffers inside the
  // frames can be read in place. The hole is left uninitialised; its bytes
  // never leave this builder.
  b.ForceVectorAlignment(stored.size(), 1, 8);
  std::uint8_t* hole = nullptr;
  const auto vec = b.CreateUninitializedVector(stored.size(), 1, &hole);
  // The hole's distance from the buffer's end stays fixed while the builder
  // grows downwards; pointers into the buffer do not.
  const std::size_t hole_from_end = std::size_t(b.GetCurrentBufferPointer() + b.GetSize() - hole);
  b.Finish(fb::CreateResponse(
      b, corr, fb::ResponseBody::SubscribeData,
      fb::CreateSubscribeData(b, head_offset, flatbuffers::Offset<flatbuffers::Vector<std::uint8_t>>(vec)).Union()));
  const auto* buf = reinterpret_cast<const std::byte*>(b.GetBufferPointer());
  const std::size_t size = b.GetSize();
  if (size > codec::max_frame_payload_bytes) throw std::length_error("subscribe_data_frame: above the frame limit");
  const std::size_t at = size - hole_from_end;
  const std::span<const std::byte> before(buf, at), after(buf + at + stored.size(), size - at - stored.size());

  gather_frame out;
  out.head.resize(codec::frame_header_bytes + before.size());
  std::memcpy(out.head.data() + codec::frame_header_bytes, before.data(), before.size());
  out.tail.assign(after.begin(), after.end());
  std::uint32_t crc = codec::crc32c(before);
  crc = codec::crc32c_combine(crc, crc_of_verified_frames(stored), stored.size());
  crc = codec::crc32c(after, crc);
  codec::store_le32(out.head.data(), std::uint32_t(size));
  codec::store_le32(out.head.data() + 4, crc);
  out.body = std::move(stored);
  return out;
}

}  // namespace muninn::broker
