// libFuzzer target for the JSON edge: event_from_json on arbitrary text (the
// HTTP and CLI input), and the re-printing of whatever it accepts. Not part
// of the bounded ctest; run by hand (tests/fuzz/README.md).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "codec/json.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view line(reinterpret_cast<const char*>(data), size);
  const auto ev = muninn::codec::event_from_json(line);
  if (!ev) {
    if (ev.error().message.empty()) std::abort();  // every refusal says why
    return 0;
  }
  if (muninn::codec::check_event([&] {
        auto v = ev->view();
        v.id.bytes[15] |= 1;  // the caller assigns an id when the line had none
        return v;
      }(), {}) != muninn::codec::errc::ok) {
    std::abort();  // accepted by the edge but refused by the log
  }
  const auto json = muninn::codec::data_to_json(ev->content_type, ev->data);
  // What we print must parse again to the same FlexBuffer.
  const auto again = muninn::codec::event_from_json(R"({"stream":"s","type":"t","data":)" + json + "}");
  if (!again || again->data != ev->data) std::abort();
  return 0;
}
