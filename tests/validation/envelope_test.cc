// Envelope rules, schemas, batches, the JSON content type and hostile data.
#include <catch2/catch.hpp>

#include <flatbuffers/flexbuffers.h>

#include <chrono>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "broker/validation/validate.h"
#include "codec/json.h"
#include "tests/validation/helpers.h"

using namespace muninn;
using namespace muninn::validation;
using namespace muninn::validation::test;

namespace {

codec::event_in bare(std::string_view stream, std::string_view type) {
  codec::event_in e;
  e.stream = stream;
  e.type = type;
  return e;
}

std::span<const std::byte> bytes_of(const std::vector<std::uint8_t>& v) {
  return {reinterpret_cast<const std::byte*>(v.data()), v.size()};
}

// A dispatch status event whose data is the given FlexBuffer.
codec::event_in with_data(std::span<const std::byte> data) {
  codec::event_in e = bare("forsendelse-0190a6e0-7a3b-7c4d-8e5f-0123456789ab", "ForsendelseStatusEndret");
  e.content_type = codec::content_type_flexbuffers;
  e.data = data;
  e.time = 1'800'000'000'000'000;
  return e;
}

const std::string status_line =
    R"({"stream":"forsendelse-0190a6e0-7a3b-7c4d-8e5f-0123456789ab","type":"ForsendelseStatusEndret",)"
    R"("time":"2026-11-23T10:00:00Z","data":{"forsendelseId":"0190a6e0-7a3b-7c4d-8e5f-0123456789ab",)"
    R"("status":"LEST"}})";

}  // namespace

TEST_CASE("envelope: stream is 1-200 bytes", "[validation][envelope]") {
  const std::string s200(200, 'a'), s201(201, 'a');
  CHECK_FALSE(validate_envelope(bare(s200, "t"), 0));
  const auto empty = validate_envelope(bare("", "t"), 4);
  REQUIRE(empty);
  CHECK(empty->event_index == 4);
  CHECK(empty->field == "stream");
  CHECK(empty->rule == "must be 1-200 bytes");
  const auto long_one = validate_envelope(bare(s201, "t"), 0);
  REQUIRE(long_one);
  CHECK(long_one->field == "stream");
  CHECK(long_one->rule == "must be 1-200 bytes");
}

TEST_CASE("envelope: stream uses only A-Z a-z 0-9 . _ : @ -", "[validation][envelope]") {
  CHECK_FALSE(validate_envelope(bare("Az09._:@-", "t"), 0));
  for (const char* bad : {"a b", "a/b", "ø", "a\tb", "a+b", "a#b"}) {
    INFO(bad);
    const auto v = validate_envelope(bare(bad, "t"), 2);
    REQUIRE(v);
    CHECK(v->event_index == 2);
    CHECK(v->field == "stream");
    CHECK(v->rule == "must contain only A-Z a-z 0-9 . _ : @ -");
  }
  // Through the JSON edge as well, on any topic.
  const auto v = validate_line(schema::none, R"({"stream":"a b","type":"t","data":1})");
  REQUIRE(v);
  CHECK(v->field == "stream");
}

TEST_CASE("envelope: type is 1-100 bytes", "[validation][envelope]") {
  const std::string t100(100, 'T'), t101(101, 'T');
  CHECK_FALSE(validate_envelope(bare("s", t100), 0));
  for (const std::string& bad : {std::string(), t101}) {
    const auto v = validate_envelope(bare("s", bad), 1);
    REQUIRE(v);
    CHECK(v->event_index == 1);
    CHECK(v->field == "type");
    CHECK(v->rule == "must be 1-100 bytes");
  }
}

TEST_CASE("envelope: expected_version is -2 (any), -1 or a version", "[validation][envelope]") {
  for (const std::int64_t ok : {std::int64_t{-2}, std::int64_t{-1}, std::int64_t{0}, std::int64_t{7}}) {
    auto e = bare("s", "t");
    e.expected_version = ok;
    CHECK_FALSE(validate_envelope(e, 0));
  }
  auto e = bare("s", "t");
  e.expected_version = -3;
  const auto v = validate_envelope(e, 0);
  REQUIRE(v);
  CHECK(v->field == "expected_version");
  CHECK(v->rule == "must be -2 (any), -1 (stream must not exist) or a version >= 0");
}

TEST_CASE("envelope: a topic without schema accepts any type and data", "[validation][envelope]") {
  CHECK_FALSE(validate_line(schema::none, R"({"stream":"s","type":"Whatever","data":[1,"x",null]})"));
  auto e = bare("s", "t");
  const std::vector<std::uint8_t> junk{0xff, 0x00, 0x13};
  e.content_type = "application/octet-stream";
  e.data = bytes_of(junk);
  CHECK_FALSE(validate_event(schema::none, e, 0));
}

TEST_CASE("schema: names and frozen values", "[validation][schema]") {
  CHECK(static_cast<int>(schema::none) == 0);
  CHECK(static_cast<int>(schema::dispatch) == 1);
  CHECK(static_cast<int>(schema::reskontra) == 2);
  for (const auto s : {schema::none, schema::dispatch, schema::reskontra}) {
    CHECK(schema_from_string(to_string(s)) == s);
  }
  CHECK(to_string(schema::dispatch) == "dispatch");
  CHECK(to_string(schema::reskontra) == "reskontra");
  CHECK_FALSE(schema_from_string("Dispatch"));
  CHECK_FALSE(schema_from_string(""));
}

TEST_CASE("schema: a schema value this build does not know refuses every event", "[validation][schema]") {
  const auto ev = parse(status_line);
  const auto v = validate_event(static_cast<schema>(9), ev.view(), 2);
  REQUIRE(v);
  CHECK(v->event_index == 2);
  CHECK(v->field == "data");
  CHECK(v->rule == "topic is bound to unknown schema 9");
  CHECK_FALSE(schema_from_string("9"));
}

TEST_CASE("schema: unknown event types are refused on a bound topic", "[validation][schema]") {
  refused(schema::dispatch, with(status_line, "ForsendelseStatusEndret", "ForsendelseSendt"), "type",
          "unknown event type for schema dispatch");
  refused(schema::reskontra, with(valid_lead(schema::reskontra), "PaymentPlanBroken", "InvoicePaid"),
          "type", "unknown event type for schema reskontra");
  // Catalogs do not leak into each other.
  refused(schema::reskontra, status_line, "type", "unknown event type for schema reskontra");
}

TEST_CASE("schema: data must be an object", "[validation][schema]") {
  for (const char* data : {"null", "[]", R"("text")", "12", "true"}) {
    INFO(data);
    refused(schema::dispatch,
            R"({"stream":"forsendelse-1","type":"ForsendelseStatusEndret","data":)" + std::string(data) + "}",
            "data", "must be an object");
  }
}

TEST_CASE("violation: message is one line naming event, field and rule", "[validation]") {
  const violation v{3, "data.mottaker.digitalId.value", "NO_FNR check digit is wrong"};
  CHECK(v.message() == "event 3: field 'data.mottaker.digitalId.value': NO_FNR check digit is wrong");
  const violation multi{0, "data", "line\nbreak"};
  CHECK(multi.message().find('\n') == std::string::npos);
}

TEST_CASE("batch: the first violation in order names its event", "[validation][batch]") {
  const auto good = parse(status_line);
  const auto bad_status = parse(with(status_line, R"("status":"LEST")", R"("status":"LESTT")"));
  const auto bad_type = parse(with(status_line, "ForsendelseStatusEndret", "Nope"));
  const std::vector<codec::event_in> batch{good.view(), good.view(), bad_status.view(), bad_type.view()};
  const auto v = validate_batch(schema::dispatch, batch);
  REQUIRE(v);
  CHECK(v->event_index == 2);
  CHECK(v->field == "data.status");
  CHECK_FALSE(validate_batch(schema::dispatch, std::span<const codec::event_in>(batch).first(2)));
  CHECK_FALSE(validate_batch(schema::dispatch, {}));
  // The same batch on an unbound topic: envelope rules only.
  CHECK_FALSE(validate_batch(schema::none, batch));
}

TEST_CASE("schema: data with another content type is refused", "[validation][schema]") {
  auto ev = parse(status_line);
  ev.content_type = "application/octet-stream";
  const auto v = validate_event(schema::dispatch, ev.view(), 5);
  REQUIRE(v);
  CHECK(v->event_index == 5);
  CHECK(v->field == "content_type");
  CHECK(v->rule == "must be application/x-flexbuffers or application/json on a topic with schema dispatch");
}

TEST_CASE("json data: application/json is parsed by FlatBuffers into the same checks",
          "[validation][json]") {
  const std::string data =
      R"({"forsendelseId":"0190a6e0-7a3b-7c4d-8e5f-0123456789ab","status":"LEST"})";
  auto e = bare("forsendelse-0190a6e0-7a3b-7c4d-8e5f-0123456789ab", "ForsendelseStatusEndret");
  e.content_type = codec::content_type_json;
  auto set = [&e](const std::string& text) {
    e.data = {reinterpret_cast<const std::byte*>(text.data()), text.size()};
  };
  set(data);
  CHECK_FALSE(validate_event(schema::dispatch, e, 0));

  const std::string bad_status = with(data, "LEST", "lest");
  set(bad_status);
  auto v = validate_event(schema::dispatch, e, 0);
  REQUIRE(v);
  CHECK(v->field == "data.status");

  for (const std::string& text :
       {std::string("{"), std::string("{} {}"), data + R"(, "x": 1)", std::string("not json"),
        std::string(R"({"a": 99999999999999999999})"), std::string(""),
        std::string(R"({"a":1}, "time":"2026-01-01T00:00:00Z")")}) {
    INFO(text);
    set(text);
    v = validate_event(schema::dispatch, e, 1);
    REQUIRE(v);
    CHECK(v->event_index == 1);
    CHECK(v->field == "data");
    CHECK_THAT(v->rule, Catch::StartsWith("must be valid JSON"));
  }
  const std::string array = "[1,2]";
  set(array);
  v = validate_event(schema::dispatch, e, 0);
  REQUIRE(v);
  CHECK(v->field == "data");
  CHECK(v->rule == "must be an object");
}

TEST_CASE("json data: money written as a float in JSON text is refused", "[validation][json]") {
  const std::string data =
      R"({"forsendelseId":"0190a6e0-7a3b-7c4d-8e5f-0123456789ab","sorthvitSider":2,"fargeSider":0,)"
      R"("konvoluttertAutomatisk":1,"konvoluttertManuelt":0,"vektGram":20,)"
      R"("produksjonskostnadMinor":450,"portoMinor":24.5})";
  auto e = bare("forsendelse-0190a6e0-7a3b-7c4d-8e5f-0123456789ab", "PrintKvittering");
  e.content_type = codec::content_type_json;
  e.data = {reinterpret_cast<const std::byte*>(data.data()), data.size()};
  const auto v = validate_event(schema::dispatch, e, 0);
  REQUIRE(v);
  CHECK(v->field == "data.portoMinor");
  CHECK(v->rule == "money must be an integer of minor units");
}

TEST_CASE("hostile data: random bytes as a FlexBuffer never crash", "[validation][hostile]") {
  std::mt19937_64 rng(42);
  for (int round = 0; round < 3000; ++round) {
    std::vector<std::uint8_t> junk(rng() % 64);
    for (auto& b : junk) b = static_cast<std::uint8_t>(rng());
    const auto v = validate_event(schema::dispatch, with_data(bytes_of(junk)), 0);
    REQUIRE(v);  // no random buffer is a valid status event
    CHECK(v->event_index == 0);
  }
  const std::vector<std::uint8_t> tiny{0x01};
  const auto v = validate_event(schema::reskontra, with_data(bytes_of(tiny)), 0);
  REQUIRE(v);
  // A dispatch type on the reskontra topic: refused by type before the data is read.
  CHECK(v->field == "type");
  auto e = with_data(bytes_of(tiny));
  e.type = "PaymentPlanBroken";
  e.stream = "plan-1";
  const auto w = validate_event(schema::reskontra, e, 0);
  REQUIRE(w);
  CHECK(w->field == "data");
  CHECK(w->rule == "must be a valid FlexBuffer");
}

TEST_CASE("hostile data: mutations of a valid FlexBuffer never crash", "[validation][hostile]") {
  const auto good = parse(
      R"({"stream":"forsendelse-0190a6e0-7a3b-7c4d-8e5f-0123456789ab","type":"ForsendelseMottatt",)"
      R"("time":"2026-11-23T10:00:00Z","data":{"forsendelseId":"0190a6e0-7a3b-7c4d-8e5f-0123456789ab",)"
      R"("avsender":"Bergen kommune","tittel":"Vedtak","kunDigitalLevering":true,)"
      R"("mottaker":{"navn":"Kari","digitalId":{"type":"NO_FNR","value":"20036914700"}},)"
      R"("dokumenter":[{"filnavn":"a.pdf","mimeType":"application/pdf","storrelseBytes":10}]}})");
  REQUIRE_FALSE(validate_event(schema::dispatch, good.view(), 0));
  std::mt19937_64 rng(7);
  int refused_count = 0;
  for (int round = 0; round < 3000; ++round) {
    auto data = good.data;
    for (int flips = 1 + static_cast<int>(rng() % 4); flips > 0; --flips) {
      data[rng() % data.size()] = static_cast<std::byte>(rng());
    }
    auto e = good.view();
    e.data = data;
    if (validate_event(schema::dispatch, e, 0)) ++refused_count;
  }
  CHECK(refused_count > 0);
}

TEST_CASE("hostile data: nesting deeper than the verifier allows is refused", "[validation][hostile]") {
  flexbuffers::Builder b;
  const auto root = b.StartMap();
  b.String("forsendelseId", "0190a6e0-7a3b-7c4d-8e5f-0123456789ab");
  b.String("status", "LEST");
  b.Key("deep");
  std::vector<std::size_t> starts;
  for (int i = 0; i < 200; ++i) starts.push_back(b.StartVector());
  for (auto it = starts.rbegin(); it != starts.rend(); ++it) b.EndVector(*it, false, false);
  b.EndMap(root);
  b.Finish();
  const auto v = validate_event(schema::dispatch, with_data(bytes_of(b.GetBuffer())), 0);
  REQUIRE(v);
  CHECK(v->field == "data");
  CHECK(v->rule == "must be a valid FlexBuffer");

  // JSON text nested past FlatBuffers' parser depth is refused, not a stack overflow.
  const std::string deep = R"({"forsendelseId":"0190a6e0-7a3b-7c4d-8e5f-0123456789ab","status":"LEST","x":)" +
                           std::string(10000, '[') + std::string(10000, ']') + "}";
  auto e = bare("forsendelse-0190a6e0-7a3b-7c4d-8e5f-0123456789ab", "ForsendelseStatusEndret");
  e.content_type = codec::content_type_json;
  e.data = {reinterpret_cast<const std::byte*>(deep.data()), deep.size()};
  const auto j = validate_event(schema::dispatch, e, 0);
  REQUIRE(j);
  CHECK(j->field == "data");
  CHECK_THAT(j->rule, Catch::StartsWith("must be valid JSON"));
}

namespace {

// PaymentAllocated data whose `lines` are `refs` references to one line
// padded with 3000 keys (a DAG: every reference shares the same bytes).
std::vector<std::uint8_t> shared_lines(int refs) {
  flexbuffers::Builder b;
  const auto root = b.StartMap();
  b.String("allocationId", "A-1");
  b.String("paymentId", "PAY-1");
  b.Key("lines");
  const auto lines = b.StartVector();
  const auto line = b.StartMap();
  b.String("invoiceId", "INV-1");
  b.Int("amountMinor", 100);
  for (int i = 0; i < 3000; ++i) {
    const std::string k = "k" + std::to_string(i);
    b.Int(k.c_str(), i);
  }
  b.EndMap(line);
  const auto shared = b.LastValue();
  for (int i = 1; i < refs; ++i) b.ReuseValue(shared);
  b.EndVector(lines, false, false);
  b.EndMap(root);
  b.Finish();
  return b.GetBuffer();
}

codec::event_in allocation_with(const std::vector<std::uint8_t>& data) {
  auto e = with_data(bytes_of(data));
  e.stream = "payment-PAY-1";
  e.type = "PaymentAllocated";
  return e;
}

}  // namespace

TEST_CASE("hostile data: values shared many times are refused in bounded time", "[validation][hostile]") {
  // 20000 references to one map of 3000 keys: a reader checking each map
  // would walk 60 million entries. The verifier (with its reuse tracker,
  // which keeps verification linear) refuses such sharing outright.
  const auto many = shared_lines(20000);
  const auto start = std::chrono::steady_clock::now();
  const auto v = validate_event(schema::reskontra, allocation_with(many), 0);
  const auto took = std::chrono::steady_clock::now() - start;
  REQUIRE(v);
  CHECK(v->field == "data");
  CHECK(v->rule == "must be a valid FlexBuffer");
  CHECK(took < std::chrono::seconds(1));

  // Fewer references pass the verifier; the walk's work budget (the
  // buffer's size) then stops the checks.
  const auto some = shared_lines(26);
  const auto w = validate_event(schema::reskontra, allocation_with(some), 0);
  REQUIRE(w);
  CHECK(w->field == "data");
  CHECK(w->rule == "is too large or too deeply shared to validate");

  // Two references are within budget and valid.
  const auto two = shared_lines(2);
  CHECK_FALSE(validate_event(schema::reskontra, allocation_with(two), 0));
}

TEST_CASE("hostile data: maps with unsorted or duplicate keys are refused", "[validation][hostile]") {
  auto build = [] {
    flexbuffers::Builder b;
    const auto root = b.StartMap();
    b.String("forsendelseId", "0190a6e0-7a3b-7c4d-8e5f-0123456789ab");
    b.String("status", "LEST");
    b.String("zz", "x");
    b.String("zy", "y");
    b.EndMap(root);
    b.Finish();
    return b.GetBuffer();
  };
  const auto good = build();
  REQUIRE_FALSE(validate_event(schema::dispatch, with_data(bytes_of(good)), 0));

  // Keys are stored NUL-terminated; "zy" sorts before "zz". Rename "zy" to
  // "zz" (a duplicate) and to "z{" (out of order).
  for (const char replacement : {'z', '{'}) {
    auto bad = good;
    const std::uint8_t zy[] = {'z', 'y', 0};
    auto it = std::search(bad.begin(), bad.end(), std::begin(zy), std::end(zy));
    REQUIRE(it != bad.end());
    it[1] = static_cast<std::uint8_t>(replacement);
    const auto v = validate_event(schema::dispatch, with_data(bytes_of(bad)), 0);
    REQUIRE(v);
    CHECK(v->field == "data");
    CHECK(v->rule == "must be a map with unique, sorted, well-formed keys");
  }
}

TEST_CASE("hostile data: strings that are not UTF-8 are refused", "[validation][hostile]") {
  flexbuffers::Builder b;
  const auto root = b.StartMap();
  b.String("forsendelseId", "0190a6e0-7a3b-7c4d-8e5f-0123456789ab");
  b.String("status", "LEST");
  b.String("detalj", "\xff\xfe");
  b.EndMap(root);
  b.Finish();
  const auto v = validate_event(schema::dispatch, with_data(bytes_of(b.GetBuffer())), 0);
  REQUIRE(v);
  CHECK(v->field == "data.detalj");
  CHECK(v->rule == "must be valid UTF-8");
}

TEST_CASE("hostile data: deprecated typed string vectors are refused, not read", "[validation][hostile]") {
  flexbuffers::Builder b;
  const auto root = b.StartMap();
  b.String("planId", "PL-1");
  b.Key("invoiceIds");
  const auto ids = b.StartVector();
  b.String("INV-1");
  b.String("INV-2");
  b.EndVector(ids, true, false);  // typed: FBT_VECTOR_STRING_DEPRECATED
  b.Key("installments");
  const auto inst = b.StartVector();
  const auto one = b.StartMap();
  b.String("dueDate", "2026-12-31");
  b.Int("amountMinor", 100);
  b.EndMap(one);
  b.EndVector(inst, false, false);
  b.EndMap(root);
  b.Finish();
  auto e = with_data(bytes_of(b.GetBuffer()));
  e.stream = "plan-PL-1";
  e.type = "PaymentPlanAgreed";
  e.expected_version = -1;
  const auto v = validate_event(schema::reskontra, e, 0);
  REQUIRE(v);
  CHECK(v->field == "data.invoiceIds");
  CHECK(v->rule == "must be an array");
}

TEST_CASE("hostile data: an unaligned data span is read safely", "[validation][hostile]") {
  const auto ev = parse(status_line);
  std::vector<std::byte> shifted(ev.data.size() + 1);
  std::memcpy(shifted.data() + 1, ev.data.data(), ev.data.size());
  auto e = ev.view();
  e.data = std::span<const std::byte>(shifted).subspan(1);
  CHECK_FALSE(validate_event(schema::dispatch, e, 0));
}

TEST_CASE("business date: an unset time falls back to the commit time", "[validation]") {
  const std::string line =
      R"({"stream":"forsendelse-0190a6e0-7a3b-7c4d-8e5f-0123456789ab","type":"ForsendelseMottatt",)"
      R"("data":{"forsendelseId":"0190a6e0-7a3b-7c4d-8e5f-0123456789ab","avsender":"Bergen kommune",)"
      R"("tittel":"Vedtak","kunDigitalLevering":true,)"
      R"("mottaker":{"navn":"Kari","digitalId":{"type":"NO_FNR","value":"30108299939"}},)"
      R"("dokumenter":[{"filnavn":"a.pdf","mimeType":"application/pdf","storrelseBytes":10}]}})";
  const auto in_2032 = *codec::parse_rfc3339_micros("2032-01-01T00:00:00Z");
  const auto in_2031 = *codec::parse_rfc3339_micros("2031-12-31T23:59:59Z");
  CHECK_FALSE(validate_line(schema::dispatch, line, in_2032));
  const auto v = validate_line(schema::dispatch, line, in_2031);
  REQUIRE(v);
  CHECK(v->field == "data.mottaker.digitalId.value");
  CHECK(v->rule == "NO_FNR check digit is wrong");
  // A set time wins over the commit time.
  const auto timed = with(line, R"("type":"ForsendelseMottatt",)",
                          R"("type":"ForsendelseMottatt","time":"2031-06-01T00:00:00Z",)");
  CHECK(validate_line(schema::dispatch, timed, in_2032));
}
