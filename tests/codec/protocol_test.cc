// The wire protocol schema (codec/schemas/protocol.fbs): requests and
// responses build, verify and read back inside frames.
#include <catch2/catch.hpp>

#include "codec/batch.h"
#include "codec/frame.h"
#include "codec/protocol_generated.h"
#include "codec/stream_hash.h"

using namespace muninn;

TEST_CASE("protocol: a pipelined produce request round-trips through a frame", "[codec][protocol]") {
  flatbuffers::FlatBufferBuilder b;
  const auto id = codec::event_id::generate_v7();
  const fb::EventId fid(flatbuffers::span<const std::uint8_t, 16>(id.bytes.data(), 16));
  std::vector<flatbuffers::Offset<fb::Event>> events;
  const std::string data = "{}";
  events.push_back(fb::CreateEventDirect(b, "forsendelse-1", "ForsendelseMottatt", &fid, -1, -1, 0,
                                         "application/json", nullptr));
  auto produce = fb::CreateProduceRequestDirect(b, "forsendelser", 3, fb::AckMode::durable, "case-system", 7, &events);
  b.Finish(fb::CreateRequest(b, 42, fb::RequestBody::ProduceRequest, produce.Union()));
  auto frame = codec::encode_frame(std::as_bytes(std::span(b.GetBufferPointer(), b.GetSize())));

  auto f = codec::decode_frame(frame);
  REQUIRE(f.status == codec::decode_status::frame);
  flatbuffers::Verifier v(reinterpret_cast<const std::uint8_t*>(f.payload.data()), f.payload.size());
  REQUIRE(v.VerifyBuffer<fb::Request>(nullptr));
  const auto* req = flatbuffers::GetRoot<fb::Request>(f.payload.data());
  CHECK(req->correlation_id() == 42);
  REQUIRE(req->body_type() == fb::RequestBody::ProduceRequest);
  const auto* p = req->body_as_ProduceRequest();
  CHECK(p->topic()->str() == "forsendelser");
  CHECK(p->partition() == 3);
  CHECK(p->producer_seq() == 7);
  REQUIRE(p->events()->size() == 1);
  CHECK(p->events()->Get(0)->expected_version() == -1);
}

TEST_CASE("protocol: an error response carries index, field and rule", "[codec][protocol]") {
  flatbuffers::FlatBufferBuilder b;
  auto err = fb::CreateErrorDirect(b, fb::ErrorCode::validation_failed,
                                   "event 3: field 'data.tittel': must be 1-1000 characters", 3, "data.tittel",
                                   "must be 1-1000 characters");
  auto resp = fb::CreateProduceResponse(b, 0, err);
  b.Finish(fb::CreateResponse(b, 9, fb::ResponseBody::ProduceResponse, resp.Union()));
  flatbuffers::Verifier v(b.GetBufferPointer(), b.GetSize());
  REQUIRE(v.VerifyBuffer<fb::Response>(nullptr));
  const auto* r = flatbuffers::GetRoot<fb::Response>(b.GetBufferPointer());
  const auto* e = r->body_as_ProduceResponse()->error();
  CHECK(e->code() == fb::ErrorCode::validation_failed);
  CHECK(e->event_index() == 3);
  CHECK(e->field()->str() == "data.tittel");
}


TEST_CASE("protocol: a stream's partition is its stable hash modulo the partition count", "[codec][protocol]") {
  // Frozen values: clients and brokers of every version must agree.
  CHECK(codec::stream_hash("") == 0x552d3fb62b3c344full);
  CHECK(codec::stream_hash("forsendelse-3f6c1d2e") == 0xf85c9ce865193738ull);
  CHECK(codec::partition_for("forsendelse-3f6c1d2e", 8) == codec::stream_hash("forsendelse-3f6c1d2e") % 8);
  CHECK(codec::partition_for("anything", 1) == 0);
  CHECK(codec::partition_for("anything", 0) == 0);
}
