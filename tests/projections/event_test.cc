#include <catch2/catch.hpp>

#include <flatbuffers/flexbuffers.h>

#include <cstring>
#include <string>
#include <vector>

#include "broker/projections/calendar.h"
#include "broker/projections/event.h"
#include "broker/projections/projection.h"
#include "codec/batch.h"
#include "codec/sha256.h"

namespace mp = muninn::projections;

namespace {

std::vector<std::byte> as_bytes(const std::vector<std::uint8_t>& v) {
  std::vector<std::byte> out(v.size());
  std::memcpy(out.data(), v.data(), v.size());
  return out;
}

// A projection of fixed records, enough to pin the digest's framing.
class fixed_records final : public mp::projection {
 public:
  std::vector<std::pair<std::string, std::string>> records;
  std::string_view name() const noexcept override { return "fixed"; }
  void apply(const mp::event_view&) override {}
  void take_changes(mp::record_changes&) override {}
  bool load(std::string_view, std::string_view) override { return true; }
  std::uint64_t anomaly_count() const noexcept override { return 0; }
  void for_each_record(
      const std::function<void(std::string_view, std::string_view)>& fn) const override {
    for (const auto& [k, v] : records) fn(k, v);
  }
  muninn::result<std::string, mp::query_error> query(std::string_view,
                                                     const mp::query_params&) const override {
    return muninn::unexpected{mp::query_error{mp::query_errc::unknown_query, "none"}};
  }
};

}  // namespace

TEST_CASE("data_reader: FlexBuffer and JSON data give the same reading", "[projections]") {
  flexbuffers::Builder b;
  b.Map([&] {
    b.String("status", "AKSEPTERT");
    b.Int("amountMinor", 12345);
    b.Bool("kunDigitalLevering", true);
  });
  b.Finish();
  const auto flex = as_bytes(b.GetBuffer());
  mp::data_reader r;
  auto root = r.read(muninn::codec::content_type_flexbuffers, flex);
  REQUIRE(root);
  REQUIRE(root->IsMap());
  CHECK(mp::get_string(root->AsMap(), "status") == "AKSEPTERT");
  CHECK(mp::get_int(root->AsMap(), "amountMinor") == 12345);
  CHECK(mp::get_bool(root->AsMap(), "kunDigitalLevering") == true);
  CHECK_FALSE(mp::get_int(root->AsMap(), "status"));
  CHECK_FALSE(mp::get_string(root->AsMap(), "missing"));

  const std::string json = R"({"status":"AKSEPTERT","amountMinor":12345})";
  std::vector<std::byte> text(json.size());
  std::memcpy(text.data(), json.data(), json.size());
  auto root2 = r.read(muninn::codec::content_type_json, text);
  REQUIRE(root2);
  CHECK(mp::get_int(root2->AsMap(), "amountMinor") == 12345);
}

TEST_CASE("data_reader: unreadable data is refused, never read", "[projections]") {
  mp::data_reader r;
  const std::vector<std::byte> junk(16, std::byte{0xff});
  CHECK_FALSE(r.read(muninn::codec::content_type_flexbuffers, junk));
  CHECK_FALSE(r.read(muninn::codec::content_type_json, junk));
  CHECK_FALSE(r.read("text/plain", junk));
  CHECK_FALSE(r.read(muninn::codec::content_type_flexbuffers, {}));
}

TEST_CASE("state_digest: length-framed records, so boundaries cannot shift", "[projections]") {
  fixed_records a, b;
  a.records = {{"ab", "c"}};
  b.records = {{"a", "bc"}};
  CHECK(mp::state_digest(a) != mp::state_digest(b));

  // The framing is documented: u32 LE length | bytes, key then value.
  muninn::codec::sha256 h;
  h.update(std::string_view("\x02\x00\x00\x00" "ab" "\x01\x00\x00\x00" "c", 11));
  CHECK(mp::state_digest(a) == h.finish());

  fixed_records empty;
  CHECK(muninn::codec::to_hex(mp::state_digest(empty)) ==
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST_CASE("calendar: Easter Sunday and weekdays", "[projections][calendar]") {
  using mp::civil_date;
  CHECK(mp::easter_sunday(2024) == civil_date{2024, 3, 31});
  CHECK(mp::easter_sunday(2025) == civil_date{2025, 4, 20});
  CHECK(mp::easter_sunday(2026) == civil_date{2026, 4, 5});
  CHECK(mp::easter_sunday(2027) == civil_date{2027, 3, 28});
  CHECK(mp::easter_sunday(2038) == civil_date{2038, 4, 25});  // latest possible
  CHECK(mp::easter_sunday(2285) == civil_date{2285, 3, 22});  // earliest possible
  CHECK(mp::weekday(civil_date{1970, 1, 1}) == 3);
  CHECK(mp::weekday(civil_date{2026, 11, 23}) == 0);  // a Monday
  CHECK(mp::weekday(civil_date{1969, 12, 28}) == 6);  // a Sunday before the epoch
}
