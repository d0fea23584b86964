// libFuzzer target for the untrusted-input path of the codec: frames are
// decoded in a loop over the input, each payload is verified as a record
// batch and hashed, verified events are printed as JSON; the raw input is
// also verified as a bare payload. Any crash or sanitizer report is a bug.
// With MUNINN_FUZZ_WRITE_SEEDS=DIR it writes a seed corpus to DIR and exits.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <span>
#include <string>
#include <vector>

#include "codec/batch.h"
#include "codec/batch_generated.h"
#include "codec/frame.h"
#include "codec/json.h"
#include "tests/fuzz/seed_hook.h"

namespace {

using namespace muninn::codec;

void check_payload(std::span<const std::byte> bytes, std::vector<std::byte>& aligned) {
  // FlatBuffers reads scalars in place, so a payload must start 8-aligned
  // (batch.h); a fresh vector's storage is, a position in the input is not.
  aligned.assign(bytes.begin(), bytes.end());
  const auto vb = verify_batch(aligned);
  if (!vb) return;
  (void)check_hash(*vb);
  (void)stored_prev_hash(*vb->batch);
  std::size_t printed = 0;
  for (const auto* ev : *vb->batch->events()) printed += event_to_json(*ev).size();
  if (printed == 0 && vb->batch->count() != 0) std::abort();  // a verified event prints something
}

void write_file(const std::string& dir, const std::string& name, std::span<const std::byte> bytes) {
  std::ofstream out(dir + "/" + name, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

}  // namespace

void muninn::fuzz::write_seeds(const std::string& dir) {
  batch_builder builder;
  hash256 hash{};
  std::vector<std::byte> two_frames;

  const char* lines[] = {
      R"({"stream":"forsendelse-1","type":"Sendt","data":{"kanal":"digipost","sider":3}})",
      R"({"stream":"reskontra-9","type":"Postert","expected_version":4,"time":"2024-02-29T12:00:00Z","data":{"belop":-9223372036854775808,"tekst":"\u00e6\u00f8\u00e5","liste":[1,2.5,null,true]}})",
  };
  std::vector<owned_event> owned;
  for (const char* line : lines) {
    auto ev = event_from_json(line);
    if (!ev) std::abort();
    ev->id = event_id::generate_v7();
    owned.push_back(std::move(*ev));
  }
  std::vector<event_in> events;
  for (const auto& o : owned) events.push_back(o.view());
  event_in raw = events[0];
  raw.content_type = "application/octet-stream";
  raw.data = std::as_bytes(std::span(std::string_view("\x00\x01\x02 binary")));
  events.push_back(raw);
  const std::vector<std::int64_t> versions = {0, 5, 1};

  batch_builder::header h;
  h.base_offset = 42;
  h.commit_time = now_micros();
  h.producer_id = "seed-producer";
  h.producer_seq = 7;

  for (std::size_t n = 1; n <= events.size(); ++n) {
    const auto frame = builder.build(h, std::span(events).first(n),
                                     std::span(versions).first(n), hash);
    write_file(dir, "frame-" + std::to_string(n), frame);
    write_file(dir, "payload-" + std::to_string(n), frame.subspan(frame_header_bytes));
    two_frames.insert(two_frames.end(), frame.begin(), frame.end());
    h.prev_hash = hash;
    h.base_offset += n;
  }
  write_file(dir, "frames-concatenated", two_frames);
  const auto small = encode_frame(std::as_bytes(std::span(std::string_view("not a batch"))));
  write_file(dir, "frame-not-a-batch", small);
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::byte> input(reinterpret_cast<const std::byte*>(data), size);
  std::vector<std::byte> aligned;
  std::span<const std::byte> rest = input;
  while (!rest.empty()) {
    const frame_view v = decode_frame(rest);
    if (v.status != decode_status::frame) break;
    if (v.consumed == 0 || v.consumed > rest.size() || v.payload.empty()) std::abort();
    check_payload(v.payload, aligned);
    rest = rest.subspan(v.consumed);
  }
  check_payload(input, aligned);
  (void)data_to_json(content_type_flexbuffers, input);
  return 0;
}
