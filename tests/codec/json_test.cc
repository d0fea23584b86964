#include <catch2/catch.hpp>

#include "codec/batch_generated.h"
#include "codec/frame.h"
#include "codec/json.h"
#include "tests/codec/helpers.h"

using namespace muninn::codec;
using muninn::codec::test::as_bytes;

namespace {

// Parses `line` and returns the data re-printed as JSON.
std::string data_round_trip(const std::string& data_json) {
  const auto ev = event_from_json(R"({"stream":"s","type":"t","data":)" + data_json + "}");
  REQUIRE(ev);
  CHECK(ev->content_type == content_type_flexbuffers);
  return data_to_json(ev->content_type, ev->data);
}

json_error error_of(std::string_view line, const batch_limits& limits = {}) {
  const auto r = event_from_json(line, limits);
  REQUIRE_FALSE(r);
  CHECK(r.error().message.find('\n') == std::string::npos);
  return r.error();
}

}  // namespace

TEST_CASE("json: a full envelope is parsed into an owned event", "[codec][json]") {
  const auto r = event_from_json(
      R"({"stream":"forsendelse-42","type":"Sendt","id":"0190a6e0-7a3b-7c4d-8e5f-0123456789ab",)"
      R"("expected_version":3,"time":"2024-02-29T12:00:00.5Z","data":{"kanal":"digipost"}})");
  REQUIRE(r);
  CHECK(r->stream == "forsendelse-42");
  CHECK(r->type == "Sendt");
  REQUIRE(r->id);
  CHECK(r->id->to_string() == "0190a6e0-7a3b-7c4d-8e5f-0123456789ab");
  CHECK(r->expected_version == 3);
  CHECK(r->time == *parse_rfc3339_micros("2024-02-29T12:00:00.500000Z"));
  CHECK(r->content_type == content_type_flexbuffers);
  CHECK(data_to_json(r->content_type, r->data) == R"({"kanal":"digipost"})");

  const auto v = r->view();
  CHECK(v.stream == "forsendelse-42");
  CHECK(v.id == *r->id);
  CHECK(v.data.size() == r->data.size());
  CHECK(check_event(v, {}) == errc::ok);
}

TEST_CASE("json: optional fields default to no id, expected_version -2 and time 0",
          "[codec][json]") {
  const auto r = event_from_json(R"({"stream":"s","type":"t","data":null})");
  REQUIRE(r);
  CHECK_FALSE(r->id);
  CHECK(r->view().id.is_nil());
  CHECK(r->expected_version == expect_any);
  CHECK(r->time == 0);
  CHECK(data_to_json(r->content_type, r->data) == "null");
}

TEST_CASE("json: nested data round trips as compact JSON", "[codec][json]") {
  const std::string nested =
      R"({"a":[1,-2,{"b":[true,false,null]},[]],"c":{"d":{"e":"f"}},"g":{}})";
  CHECK(data_round_trip(nested) == nested);
  CHECK(data_round_trip(R"([ 1 , "x" , [ [ ] ] ])") == R"([1,"x",[[]]])");
  CHECK(data_round_trip(R"("just a string")") == R"("just a string")");
}

TEST_CASE("json: object keys come back sorted (FlexBuffers maps are sorted)", "[codec][json]") {
  CHECK(data_round_trip(R"({"z":1,"a":2,"m":3})") == R"({"a":2,"m":3,"z":1})");
}

TEST_CASE("json: unicode text survives, escapes are decoded, control characters re-escaped",
          "[codec][json]") {
  CHECK(data_round_trip(R"({"navn":"Ærlig Østby Åsen","emoji":"\ud83d\ude00","e":"\u00e9"})") ==
        "{\"e\":\"\xC3\xA9\",\"emoji\":\"\xF0\x9F\x98\x80\",\"navn\":\"\xC3\x86rlig \xC3\x98stby "
        "\xC3\x85sen\"}");
  CHECK(data_round_trip(R"("tab\tquote\"back\\slash\u0001nl\n")") ==
        R"("tab\tquote\"back\\slash\u0001nl\n")");
}

TEST_CASE("json: int64 extremes keep every digit", "[codec][json]") {
  CHECK(data_round_trip(R"({"max":9223372036854775807,"min":-9223372036854775808})") ==
        R"({"max":9223372036854775807,"min":-9223372036854775808})");
  CHECK(data_round_trip("123456789012345678") == "123456789012345678");
}

TEST_CASE("json: an integer outside int64 is refused, not turned into 0", "[codec][json]") {
  for (const char* n : {"9223372036854775808", "-9223372036854775809", "18446744073709551616",
                        "0x10"}) {
    INFO(n);
    const auto e = error_of(std::string(R"({"stream":"s","type":"t","data":{"amount":)") + n + "}}");
    CHECK(e.code == errc::invalid_value);
    CHECK(e.message.find(n) != std::string::npos);
  }
}

TEST_CASE("json: floats round trip exactly and stay floats", "[codec][json]") {
  CHECK(data_round_trip("[0.1,1e-15,1.5e+300,-2.5,1.0,100.0]") ==
        "[0.1,1e-15,1.5e+300,-2.5,1.0,100.0]");
}

TEST_CASE("json: a float that overflows to infinity is refused", "[codec][json]") {
  const auto e = error_of(R"({"stream":"s","type":"t","data":1e400})");
  CHECK(e.code == errc::invalid_value);
  CHECK(e.field == "data");
}

TEST_CASE("json: text that is not one JSON object is json_syntax", "[codec][json]") {
  for (std::string bad : {std::string(""), std::string("not json"), std::string(R"({"stream":)"),
                          std::string(R"({"stream":"s","type":"t","data":1} trailing)"),
                          std::string(R"({"stream":"s","type":"t","data":1}{"a":1})"),
                          std::string(R"({stream:"s","type":"t","data":1})"),
                          std::string(R"({"stream":"s","type":"t","data":1,})"),
                          std::string(R"({"stream":"s","stream":"s","type":"t","data":1})"),
                          std::string("{\"stream\":\"s\",\"type\":\"t\",\"data\":\"\xFF\"}"),
                          std::string(R"({"stream":"s","type":"t","data":1})") + '\0' + "x"}) {
    INFO(bad);
    CHECK(error_of(bad).code == errc::json_syntax);
  }
}

TEST_CASE("json: unknown top-level keys are refused and named", "[codec][json]") {
  const auto e = error_of(R"({"stream":"s","type":"t","data":1,"topic":"x"})");
  CHECK(e.code == errc::invalid_value);
  CHECK(e.field == "topic");
  CHECK(e.message.find("'topic'") != std::string::npos);
}

TEST_CASE("json: stream, type and data are required", "[codec][json]") {
  auto e = error_of(R"({"type":"t","data":1})");
  CHECK(e.code == errc::missing_field);
  CHECK(e.field == "stream");
  e = error_of(R"({"stream":"s","data":1})");
  CHECK(e.code == errc::missing_field);
  CHECK(e.field == "type");
  e = error_of(R"({"stream":"s","type":"t"})");
  CHECK(e.code == errc::missing_field);
  CHECK(e.field == "data");
  e = error_of(R"({"stream":"","type":"t","data":1})");
  CHECK(e.code == errc::missing_field);
  CHECK(e.field == "stream");
}

TEST_CASE("json: a non-object line and wrongly typed fields are invalid_value", "[codec][json]") {
  CHECK(error_of("[1,2]").code == errc::invalid_value);
  for (const char* line : {R"({"stream":5,"type":"t","data":1})",
                           R"({"stream":"s","type":["t"],"data":1})",
                           R"({"stream":"s","type":"t","id":42,"data":1})",
                           R"({"stream":"s","type":"t","expected_version":"3","data":1})",
                           R"({"stream":"s","type":"t","expected_version":1.5,"data":1})",
                           R"({"stream":"s","type":"t","time":1700000000,"data":1})"}) {
    INFO(line);
    CHECK(error_of(line).code == errc::invalid_value);
  }
}

TEST_CASE("json: stream and type lengths at the limit pass, one over is limit_exceeded",
          "[codec][json][limits]") {
  auto line = [](std::size_t s, std::size_t t) {
    return R"({"stream":")" + std::string(s, 's') + R"(","type":")" + std::string(t, 't') +
           R"(","data":1})";
  };
  CHECK(event_from_json(line(200, 100)));
  auto e = error_of(line(201, 100));
  CHECK(e.code == errc::limit_exceeded);
  CHECK(e.field == "stream");
  CHECK(e.message == "field 'stream': must be 1-200 bytes (got 201)");
  e = error_of(line(200, 101));
  CHECK(e.code == errc::limit_exceeded);
  CHECK(e.field == "type");
}

TEST_CASE("json: encoded data at max_data_bytes passes, one over is limit_exceeded",
          "[codec][json][limits]") {
  const std::string line = R"({"stream":"s","type":"t","data":"abcdefghij"})";
  const auto ok = event_from_json(line);
  REQUIRE(ok);
  batch_limits l;
  l.max_data_bytes = static_cast<std::uint32_t>(ok->data.size());
  CHECK(event_from_json(line, l));
  l.max_data_bytes -= 1;
  const auto e = error_of(line, l);
  CHECK(e.code == errc::limit_exceeded);
  CHECK(e.field == "data");
}

TEST_CASE("json: a NUL in the stream, a bad or nil id, expected_version below -2 are refused",
          "[codec][json]") {
  auto e = error_of(R"({"stream":"a\u0000b","type":"t","data":1})");
  CHECK(e.code == errc::invalid_value);
  CHECK(e.field == "stream");
  e = error_of(R"({"stream":"s","type":"t","id":"not-a-uuid","data":1})");
  CHECK(e.field == "id");
  e = error_of(R"({"stream":"s","type":"t","id":"00000000-0000-0000-0000-000000000000","data":1})");
  CHECK(e.code == errc::invalid_value);
  CHECK(e.field == "id");
  e = error_of(R"({"stream":"s","type":"t","expected_version":-3,"data":1})");
  CHECK(e.code == errc::invalid_value);
  CHECK(e.field == "expected_version");
  CHECK(event_from_json(R"({"stream":"s","type":"t","expected_version":-1,"data":1})")
            ->expected_version == expect_no_stream);
}

TEST_CASE("json: a bad time string names the field", "[codec][json]") {
  const auto e = error_of(R"({"stream":"s","type":"t","time":"2023-02-29T00:00:00Z","data":1})");
  CHECK(e.code == errc::invalid_value);
  CHECK(e.field == "time");
}

TEST_CASE("json: data_to_json passes JSON through, base64s other types, null for empty",
          "[codec][json]") {
  CHECK(data_to_json(content_type_json, as_bytes(R"({"a": 1})")) == R"({"a": 1})");
  CHECK(data_to_json("application/octet-stream", as_bytes("hello")) == R"("aGVsbG8=")");
  CHECK(data_to_json("", as_bytes("hi")) == R"("aGk=")");
  CHECK(data_to_json("text/plain", as_bytes("abc")) == R"("YWJj")");
  CHECK(data_to_json(content_type_flexbuffers, {}) == "null");
}

TEST_CASE("json: corrupt FlexBuffers data falls back to base64", "[codec][json]") {
  CHECK(data_to_json(content_type_flexbuffers, as_bytes("\xff\xff\xff")) == R"("////")");
}

TEST_CASE("json: event_to_json prints a stored event with the caller's extra fields",
          "[codec][json]") {
  const auto in = event_from_json(
      R"({"stream":"forsendelse-42","type":"Sendt","id":"0190a6e0-7a3b-7c4d-8e5f-0123456789ab",)"
      R"("expected_version":3,"time":"2024-02-29T12:00:00+01:00","data":{"n":7}})");
  REQUIRE(in);
  const event_in e = in->view();
  const std::int64_t version = 4;
  batch_builder b;
  hash256 hash{};
  const auto frame = b.build({}, std::span(&e, 1), std::span(&version, 1), hash);
  const auto vb = verify_batch(decode_frame(frame).payload);
  REQUIRE(vb);
  const auto* ev = vb->batch->events()->Get(0);

  event_json_extra extra;
  extra.topic = "letters";
  extra.partition = 2;
  extra.offset = 1234;
  extra.commit_time = 1'700'000'000'000'001;
  CHECK(event_to_json(*ev, extra) ==
        R"({"topic":"letters","partition":2,"offset":1234,"commit_time":"2023-11-14T22:13:20.000001Z",)"
        R"("stream":"forsendelse-42","type":"Sendt","id":"0190a6e0-7a3b-7c4d-8e5f-0123456789ab",)"
        R"("expected_version":3,"time":"2024-02-29T11:00:00.000000Z","version":4,"data":{"n":7}})");
}

TEST_CASE("json: event_to_json leaves out expected_version -2 and time 0, shows other content types",
          "[codec][json]") {
  event_in e;
  e.stream = "s";
  e.type = "t";
  e.id = muninn::codec::test::id_from(1);
  e.content_type = "application/octet-stream";
  e.data = as_bytes("hello");
  const std::int64_t version = 0;
  batch_builder b;
  hash256 hash{};
  const auto frame = b.build({}, std::span(&e, 1), std::span(&version, 1), hash);
  const auto vb = verify_batch(decode_frame(frame).payload);
  REQUIRE(vb);
  CHECK(event_to_json(*vb->batch->events()->Get(0)) ==
        R"({"stream":"s","type":"t","id":"01000000-0000-0000-0000-000000000001","version":0,)"
        R"("content_type":"application/octet-stream","data":"aGVsbG8="})");
}

TEST_CASE("json: a FlexBuffer key without a NUL inside the buffer falls back to base64",
          "[codec][json]") {
  // Regression (found by fuzz_frame_batch): flexbuffers::Verifier 2.0.8
  // accepts an unterminated key and strlen then ran off the buffer.
  // Root = FBT_KEY at offset 0: bytes "abc", root offset 3, type KEY/8-bit, width 1.
  const std::uint8_t unterminated[] = {'a', 'b', 'c', 3, 0x10, 1};
  const std::uint8_t terminated[] = {'a', 'b', 0, 3, 0x10, 1};
  CHECK(data_to_json(content_type_flexbuffers, std::as_bytes(std::span(unterminated))) ==
        R"("YWJjAxAB")");
  CHECK(data_to_json(content_type_flexbuffers, std::as_bytes(std::span(terminated))) ==
        R"("ab")");
}
