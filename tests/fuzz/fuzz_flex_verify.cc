// libFuzzer target for the projections' FlexBuffer verifier: whatever
// flex_verifier accepts must also pass the old two-pass check
// (tests/projections/flex_reference.h), and every flexbuffers accessor must
// read it within bounds (ASan). The verifier is reused across inputs, as
// data_reader reuses it, so its generation stamps are exercised too.
// With MUNINN_FUZZ_WRITE_SEEDS=DIR it writes a seed corpus to DIR and exits.
#include <flatbuffers/flexbuffers.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>

#include "broker/projections/flex_verify.h"
#include "tests/fuzz/seed_hook.h"
#include "tests/projections/flex_reference.h"

void muninn::fuzz::write_seeds(const std::string& dir) {
  int n = 0;
  auto put = [&](flexbuffers::Builder& b) {
    b.Finish();
    const auto& buf = b.GetBuffer();
    std::ofstream(dir + "/seed-" + std::to_string(n++), std::ios::binary)
        .write(reinterpret_cast<const char*>(buf.data()), static_cast<std::streamsize>(buf.size()));
  };
  for (auto flags : {flexbuffers::BUILDER_FLAG_SHARE_KEYS, flexbuffers::BUILDER_FLAG_SHARE_ALL}) {
    flexbuffers::Builder b(256, flags);
    b.Map([&] {
      b.String("status", "AKSEPTERT");
      b.Int("amountMinor", 123456789012);
      b.Bool("kunDigitalLevering", true);
      b.Null("none");
      b.Double("rate", 0.25);
      b.IndirectInt("big", -5);
      const char blob[] = "\x01\x02\x03";
      b.Key("blob");
      b.Blob(blob, 3);
      b.Vector("lines", [&] {
        for (int i = 0; i < 3; ++i) {
          b.Map([&] {
            b.String("kind", "debit");
            b.UInt("n", static_cast<std::uint64_t>(i) << 20);
          });
        }
      });
      b.TypedVector("ids", [&] {
        b.Int(1);
        b.Int(70000);
      });
      b.TypedVector("tags", [&] {
        b.Key("a");
        b.Key("bb");
      });
      const double xyz[3] = {1, 2, 3};
      b.Key("xyz");
      b.FixedTypedVector(xyz, 3);
    });
    put(b);
  }
  flexbuffers::Builder s;
  s.String(std::string(300, 'x'));
  put(s);
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static muninn::projections::flex_verifier verifier;
  // An allocation of exactly the input's size, 16-aligned as new[] is, so
  // ASan reports the first byte read past it.
  const std::unique_ptr<std::uint8_t[]> copy(new std::uint8_t[size == 0 ? 1 : size]);
  if (size != 0) std::memcpy(copy.get(), data, size);
  if (!verifier.verify(copy.get(), size)) return 0;
  if (!muninn::projections::testing::reference_flex_verify(copy.get(), size)) std::abort();
  (void)muninn::projections::testing::read_everything(flexbuffers::GetRoot(copy.get(), size));
  return 0;
}
