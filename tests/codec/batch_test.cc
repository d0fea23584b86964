#include <catch2/catch.hpp>
#include <openssl/evp.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "codec/batch.h"
#include "codec/batch_generated.h"
#include "codec/frame.h"
#include "tests/codec/helpers.h"

using namespace muninn::codec;
using muninn::codec::test::as_bytes;
using muninn::codec::test::build_payload;
using muninn::codec::test::event_set;
using muninn::codec::test::id_from;

namespace {

// Generated tables inherit flatbuffers::Table privately; the table pointer
// is the Table itself, as FlatBuffers' own reflection code assumes.
const std::uint8_t* field_address(const void* table, flatbuffers::voffset_t field) {
  return reinterpret_cast<const flatbuffers::Table*>(table)->GetAddressOf(field);
}

event_set three_events() {
  event_set s;
  s.add("forsendelse-1", "Sendt", R"({"kanal":"digipost"})", 1'700'000'000'000'000);
  s.add("forsendelse-1", "Levert", R"({"ok":true})");
  s.add("reskontra-9", "Postert", R"({"belop":12345})", 1'600'000'000'000'000);
  return s;
}

batch_builder::header sample_header() {
  batch_builder::header h;
  h.base_offset = 1000;
  h.commit_time = 1'650'000'000'000'000;
  h.producer_id = "producer-a";
  h.producer_seq = 77;
  for (std::size_t i = 0; i < h.prev_hash.size(); ++i) h.prev_hash[i] = static_cast<std::uint8_t>(i);
  return h;
}

errc verify_error(std::span<const std::byte> payload, const batch_limits& limits = {}) {
  const auto r = verify_batch(payload, limits);
  return r ? errc::ok : r.error();
}

// Patches one scalar of the root table in place (builder forces defaults,
// so every scalar has a slot).
template <class T>
void patch_root_scalar(std::vector<std::byte>& payload, flatbuffers::voffset_t field, T value) {
  auto* buf = reinterpret_cast<std::uint8_t*>(payload.data());
  const auto* table = muninn::fb::GetRecordBatch(buf);
  const auto* addr = field_address(table, field);
  REQUIRE(addr != nullptr);
  std::memcpy(buf + (addr - buf), &value, sizeof value);
}

// Independent of the codec: SHA-256(prev || payload with the 32 bytes at
// `hash_at` zeroed), on a copy.
hash256 reference_hash(const hash256& prev, std::vector<std::byte> payload, std::size_t hash_at) {
  std::fill_n(payload.begin() + static_cast<std::ptrdiff_t>(hash_at), 32, std::byte{0});
  std::vector<std::byte> input(prev.size());
  std::memcpy(input.data(), prev.data(), prev.size());
  input.insert(input.end(), payload.begin(), payload.end());
  hash256 out{};
  unsigned int len = 0;
  REQUIRE(EVP_Digest(input.data(), input.size(), out.data(), &len, EVP_sha256(), nullptr) == 1);
  return out;
}

}  // namespace

TEST_CASE("batch: builder output is one frame whose payload verifies and keeps every field",
          "[codec][batch]") {
  auto set = three_events();
  set.events[1].expected_version = 4;
  set.events[2].content_type = "";
  const auto h = sample_header();
  batch_builder builder;
  hash256 hash{};
  const auto frame = builder.build(h, set.events, set.versions, hash);

  const auto fv = decode_frame(frame);
  REQUIRE(fv.status == decode_status::frame);
  REQUIRE(fv.consumed == frame.size());
  const auto vb = verify_batch(fv.payload);
  REQUIRE(vb);
  const auto& b = *vb->batch;
  CHECK(b.format_version() == 1);
  CHECK(b.base_offset() == 1000);
  CHECK(b.count() == 3);
  CHECK(b.commit_time() == h.commit_time);
  CHECK(b.producer_id()->str() == "producer-a");
  CHECK(b.producer_seq() == 77);
  CHECK(stored_prev_hash(b) == h.prev_hash);
  CHECK(stored_hash(b) == hash);
  REQUIRE(b.events()->size() == 3);
  for (std::size_t i = 0; i < 3; ++i) {
    const auto* ev = b.events()->Get(static_cast<flatbuffers::uoffset_t>(i));
    const auto& in = set.events[i];
    CHECK(ev->stream()->str() == in.stream);
    CHECK(ev->type()->str() == in.type);
    CHECK(std::memcmp(ev->id()->b()->Data(), in.id.bytes.data(), 16) == 0);
    CHECK(ev->expected_version() == in.expected_version);
    CHECK(ev->version() == set.versions[i]);
    CHECK(ev->time() == in.time);
    CHECK((ev->content_type() ? ev->content_type()->str() : "") == in.content_type);
    REQUIRE(ev->data()->size() == in.data.size());
    CHECK(std::memcmp(ev->data()->data(), in.data.data(), in.data.size()) == 0);
  }
}

TEST_CASE("batch: first and last timestamps are min and max event time, commit_time where unset",
          "[codec][batch]") {
  const auto h = sample_header();  // commit_time 1.65e15 lies between the two set times
  const auto payload = build_payload(three_events(), h);
  const auto vb = verify_batch(payload);
  REQUIRE(vb);
  CHECK(vb->batch->first_timestamp() == 1'600'000'000'000'000);
  CHECK(vb->batch->last_timestamp() == 1'700'000'000'000'000);

  event_set unset;
  unset.add("s", "t", "{}");
  const auto p2 = build_payload(unset, h);
  const auto v2 = verify_batch(p2);
  REQUIRE(v2);
  CHECK(v2->batch->first_timestamp() == h.commit_time);
  CHECK(v2->batch->last_timestamp() == h.commit_time);
}

TEST_CASE("batch: every scalar is written even when it equals the schema default",
          "[codec][batch]") {
  event_set s;
  s.add("s", "t", "{}");
  s.versions[0] = -1;  // schema default of version
  const auto payload = build_payload(s);  // base_offset 0, expected_version -2: defaults too
  const auto* b = muninn::fb::GetRecordBatch(payload.data());
  using RB = muninn::fb::RecordBatch;
  using EV = muninn::fb::Event;
  for (auto f : {RB::VT_FORMAT_VERSION, RB::VT_BASE_OFFSET, RB::VT_COUNT, RB::VT_COMMIT_TIME,
                 RB::VT_FIRST_TIMESTAMP, RB::VT_LAST_TIMESTAMP, RB::VT_PRODUCER_SEQ}) {
    CHECK(field_address(b, f) != nullptr);
  }
  const auto* ev = b->events()->Get(0);
  for (auto f : {EV::VT_EXPECTED_VERSION, EV::VT_VERSION, EV::VT_TIME}) {
    CHECK(field_address(ev, f) != nullptr);
  }
}

TEST_CASE("batch: hash is SHA-256 of prev_hash then the payload with the hash field zeroed",
          "[codec][batch][hash]") {
  const auto h = sample_header();
  hash256 hash{};
  const auto payload = build_payload(three_events(), h, &hash);
  const auto vb = verify_batch(payload);
  REQUIRE(vb);
  const auto hash_at = static_cast<std::size_t>(
      reinterpret_cast<const std::byte*>(vb->batch->hash()) - payload.data());
  CHECK(reference_hash(h.prev_hash, payload, hash_at) == hash);
  CHECK(compute_hash(*vb) == hash);
  CHECK(check_hash(*vb));
}

TEST_CASE("batch: changing any byte of a built payload fails verify_batch or check_hash",
          "[codec][batch][hash]") {
  const auto good = build_payload(three_events(), sample_header());
  for (std::size_t i = 0; i < good.size(); ++i) {
    for (std::uint8_t flip : {std::uint8_t{0x01}, std::uint8_t{0x80}, std::uint8_t{0xFF}}) {
      auto bad = good;
      bad[i] ^= std::byte{flip};
      const auto vb = verify_batch(bad);
      INFO("byte " << i << " xor " << int(flip));
      REQUIRE((!vb || !check_hash(*vb)));
    }
  }
}

TEST_CASE("batch: a different prev_hash gives a different hash, so batches chain",
          "[codec][batch][hash]") {
  auto h = sample_header();
  hash256 first{}, second{}, third{};
  const auto p1 = build_payload(three_events(), h, &first);
  h.prev_hash = first;
  const auto p2 = build_payload(three_events(), h, &second);
  h.prev_hash = second;
  const auto p3 = build_payload(three_events(), h, &third);
  CHECK(first != second);
  CHECK(second != third);
  const auto v2 = verify_batch(p2);
  const auto v3 = verify_batch(p3);
  REQUIRE((v2 && v3));
  CHECK(stored_prev_hash(*v2->batch) == first);
  CHECK(stored_prev_hash(*v3->batch) == second);
  CHECK(check_hash(*v2));
  CHECK(check_hash(*v3));
}

TEST_CASE("batch: one builder builds many batches without carrying state between them",
          "[codec][batch]") {
  batch_builder builder;
  hash256 hash{};
  event_set big;
  for (int i = 0; i < 50; ++i) big.add("stream-" + std::to_string(i), "T", std::string(500, 'x'));
  event_set small;
  small.add("only", "T", "1");

  std::vector<std::byte> first;
  {
    const auto f = builder.build({}, big.events, big.versions, hash);
    first.assign(f.begin(), f.end());
  }
  const auto f2 = builder.build({}, small.events, small.versions, hash);
  const auto v = decode_frame(f2);
  REQUIRE(v.status == decode_status::frame);
  CHECK(v.consumed == f2.size());
  const auto vb = verify_batch(v.payload);
  REQUIRE(vb);
  CHECK(vb->batch->count() == 1);
  CHECK(vb->batch->events()->Get(0)->stream()->str() == "only");
  CHECK(f2.size() < first.size());
  // Same input twice: byte-identical output.
  std::vector<std::byte> again;
  {
    const auto f3 = builder.build({}, big.events, big.versions, hash);
    again.assign(f3.begin(), f3.end());
  }
  CHECK(again == first);
}

TEST_CASE("batch: builder frames keep payloads 8-byte aligned when stored back to back",
          "[codec][batch]") {
  batch_builder builder;
  hash256 hash{};
  for (int n = 1; n <= 9; ++n) {
    event_set s;
    for (int i = 0; i < n; ++i) s.add(std::string(static_cast<std::size_t>(i + 1), 's'), "T",
                                      std::string(static_cast<std::size_t>(n * 3), 'd'));
    const auto f = builder.build({}, s.events, s.versions, hash);
    CHECK(f.size() % 8 == 0);
    CHECK(reinterpret_cast<std::uintptr_t>(f.data()) % 8 == 0);
  }
}

TEST_CASE("batch: a version count different from the event count is a programming error",
          "[codec][batch]") {
  auto s = three_events();
  s.versions.pop_back();
  batch_builder builder;
  hash256 hash{};
  CHECK_THROWS_AS(builder.build({}, s.events, s.versions, hash), std::invalid_argument);
}

TEST_CASE("batch: a batch with no events verifies and takes commit_time as its timestamps",
          "[codec][batch]") {
  event_set none;
  auto h = sample_header();
  const auto payload = build_payload(none, h);
  const auto vb = verify_batch(payload);
  REQUIRE(vb);
  CHECK(vb->batch->count() == 0);
  CHECK(vb->batch->first_timestamp() == h.commit_time);
  CHECK(check_hash(*vb));
}

// ---- limits: exactly at the limit is accepted, one over is refused ---------

TEST_CASE("batch limits: max_events", "[codec][batch][limits]") {
  event_set s;
  for (int i = 0; i < 5; ++i) s.add("s", "t", "{}");
  const auto payload = build_payload(s);
  batch_limits l;
  l.max_events = 5;
  CHECK(verify_error(payload, l) == errc::ok);
  l.max_events = 4;
  CHECK(verify_error(payload, l) == errc::limit_exceeded);
}

TEST_CASE("batch limits: max_stream_bytes (default 200)", "[codec][batch][limits]") {
  event_set at, over;
  at.add(std::string(200, 's'), "t", "{}");
  over.add(std::string(201, 's'), "t", "{}");
  CHECK(verify_error(build_payload(at)) == errc::ok);
  CHECK(verify_error(build_payload(over)) == errc::limit_exceeded);
  CHECK(check_event(at.events[0], {}) == errc::ok);
  CHECK(check_event(over.events[0], {}) == errc::limit_exceeded);
}

TEST_CASE("batch limits: max_type_bytes (default 100)", "[codec][batch][limits]") {
  event_set at, over;
  at.add("s", std::string(100, 't'), "{}");
  over.add("s", std::string(101, 't'), "{}");
  CHECK(verify_error(build_payload(at)) == errc::ok);
  CHECK(verify_error(build_payload(over)) == errc::limit_exceeded);
}

TEST_CASE("batch limits: max_content_type_bytes (default 100)", "[codec][batch][limits]") {
  event_set at, over;
  at.add("s", "t", "{}").content_type = at.keep(std::string(100, 'c'));
  over.add("s", "t", "{}").content_type = over.keep(std::string(101, 'c'));
  CHECK(verify_error(build_payload(at)) == errc::ok);
  CHECK(verify_error(build_payload(over)) == errc::limit_exceeded);
}

TEST_CASE("batch limits: max_data_bytes, custom and the 16 MiB default", "[codec][batch][limits]") {
  event_set s;
  s.add("s", "t", std::string(1000, 'd'));
  const auto payload = build_payload(s);
  batch_limits l;
  l.max_data_bytes = 1000;
  CHECK(verify_error(payload, l) == errc::ok);
  l.max_data_bytes = 999;
  CHECK(verify_error(payload, l) == errc::limit_exceeded);

  event_set at, over;
  at.add("s", "t", std::string(16u << 20, 'd'));
  over.add("s", "t", std::string((16u << 20) + 1, 'd'));
  CHECK(verify_error(build_payload(at)) == errc::ok);
  CHECK(verify_error(build_payload(over)) == errc::limit_exceeded);
}

TEST_CASE("batch limits: max_producer_id_bytes (default 200)", "[codec][batch][limits]") {
  event_set s;
  s.add("s", "t", "{}");
  const std::string at(200, 'p'), over(201, 'p');
  batch_builder::header h;
  h.producer_id = at;
  CHECK(verify_error(build_payload(s, h)) == errc::ok);
  h.producer_id = over;
  CHECK(verify_error(build_payload(s, h)) == errc::limit_exceeded);
}

TEST_CASE("batch limits: max_depth of the verifier (a batch nests two tables)",
          "[codec][batch][limits]") {
  const auto payload = build_payload(three_events());
  batch_limits l;
  l.max_depth = 2;
  CHECK(verify_error(payload, l) == errc::ok);
  l.max_depth = 1;
  CHECK(verify_error(payload, l) == errc::malformed);
}

TEST_CASE("batch limits: max_tables of the verifier (one per event plus the batch)",
          "[codec][batch][limits]") {
  const auto payload = build_payload(three_events());
  batch_limits l;
  l.max_tables = 4;
  CHECK(verify_error(payload, l) == errc::ok);
  l.max_tables = 3;
  CHECK(verify_error(payload, l) == errc::malformed);
}

// ---- envelope rules --------------------------------------------------------

TEST_CASE("batch: empty stream or type is missing_field", "[codec][batch][rules]") {
  event_set no_stream, no_type;
  no_stream.add("", "t", "{}");
  no_type.add("s", "", "{}");
  CHECK(verify_error(build_payload(no_stream)) == errc::missing_field);
  CHECK(verify_error(build_payload(no_type)) == errc::missing_field);
}

TEST_CASE("batch: a NUL byte in the stream name is invalid_value", "[codec][batch][rules]") {
  event_set s;
  s.add(std::string("a\0b", 3), "t", "{}");
  CHECK(verify_error(build_payload(s)) == errc::invalid_value);
}

TEST_CASE("batch: a nil event id is invalid_value", "[codec][batch][rules]") {
  event_set s;
  s.add("s", "t", "{}").id = event_id{};
  CHECK(verify_error(build_payload(s)) == errc::invalid_value);
}

TEST_CASE("batch: expected_version below -2 and version below -1 are invalid_value",
          "[codec][batch][rules]") {
  event_set ok, bad_expected, bad_version;
  ok.add("s", "t", "{}").expected_version = expect_any;
  ok.versions[0] = -1;
  bad_expected.add("s", "t", "{}").expected_version = -3;
  bad_version.add("s", "t", "{}");
  bad_version.versions[0] = -2;
  CHECK(verify_error(build_payload(ok)) == errc::ok);
  CHECK(verify_error(build_payload(bad_expected)) == errc::invalid_value);
  CHECK(verify_error(build_payload(bad_version)) == errc::invalid_value);
}

TEST_CASE("batch: format_version other than 1 is unsupported_version", "[codec][batch][rules]") {
  auto payload = build_payload(three_events());
  patch_root_scalar<std::uint8_t>(payload, muninn::fb::RecordBatch::VT_FORMAT_VERSION, 2);
  CHECK(verify_error(payload) == errc::unsupported_version);
}

TEST_CASE("batch: count different from the number of events is invalid_value",
          "[codec][batch][rules]") {
  auto payload = build_payload(three_events());
  patch_root_scalar<std::uint32_t>(payload, muninn::fb::RecordBatch::VT_COUNT, 2);
  CHECK(verify_error(payload) == errc::invalid_value);
}

TEST_CASE("batch: a payload without the MNRB identifier is wrong_identifier",
          "[codec][batch][rules]") {
  auto payload = build_payload(three_events());
  payload[4] = std::byte{'X'};
  CHECK(verify_error(payload) == errc::wrong_identifier);
}

TEST_CASE("batch: short or garbage payloads are malformed, never a crash",
          "[codec][batch][rules]") {
  CHECK(verify_error({}) == errc::malformed);
  CHECK(verify_error(as_bytes("MNRB")) == errc::malformed);
  CHECK(verify_error(as_bytes("\x08\0\0\0MNRB")) == errc::malformed);
  std::string junk = "\xff\xff\xff\x7fMNRB";
  junk += std::string(64, '\xab');
  CHECK(verify_error(as_bytes(junk)) == errc::malformed);
}

TEST_CASE("batch: a RecordBatch lacking a required field is malformed", "[codec][batch][rules]") {
  flatbuffers::FlatBufferBuilder fbb;
  const muninn::fb::Hash256 zero{};
  muninn::fb::RecordBatchBuilder rb(fbb);
  rb.add_prev_hash(&zero);
  rb.add_hash(&zero);
  // no events
  const auto root = flatbuffers::Offset<muninn::fb::RecordBatch>(fbb.EndTable(rb.start_));
  muninn::fb::FinishRecordBatchBuffer(fbb, root);
  const std::span<const std::byte> payload(reinterpret_cast<const std::byte*>(fbb.GetBufferPointer()),
                                           fbb.GetSize());
  CHECK(verify_error(payload) == errc::malformed);
}

TEST_CASE("batch: a truncated payload fails verify_batch or check_hash", "[codec][batch][rules]") {
  // Trailing alignment padding may be cut without breaking the structure;
  // the hash, which covers every byte, still catches it.
  const auto payload = build_payload(three_events());
  for (std::size_t n = 0; n < payload.size(); ++n) {
    INFO("length " << n);
    const auto vb = verify_batch(std::span<const std::byte>(payload).first(n));
    REQUIRE((!vb || !check_hash(*vb)));
  }
}

TEST_CASE("batch: check_event accepts a valid event and names each broken rule",
          "[codec][batch][rules]") {
  event_set s;
  auto& e = s.add("s", "t", "{}");
  CHECK(check_event(e, {}) == errc::ok);
  auto copy = e;
  copy.stream = {};
  CHECK(check_event(copy, {}) == errc::missing_field);
  copy = e;
  copy.id = {};
  CHECK(check_event(copy, {}) == errc::invalid_value);
  copy = e;
  copy.expected_version = expect_no_stream;
  CHECK(check_event(copy, {}) == errc::ok);
  copy.expected_version = -3;
  CHECK(check_event(copy, {}) == errc::invalid_value);
}
