// The client's pure wire code: request frames, response decoding and
// errors, record batches split, verified and hash-chained.
#include <catch2/catch.hpp>

#include <cstring>

#include "clients/protocol.h"
#include "codec/frame.h"

using namespace muninn;
using namespace muninn::client;

namespace {

const fb::Request* decode_request(const frame_bytes& frame, std::vector<std::uint64_t>& storage) {
  auto f = codec::decode_frame(frame);
  REQUIRE(f.status == codec::decode_status::frame);
  storage.assign((f.payload.size() + 7) / 8, 0);
  std::memcpy(storage.data(), f.payload.data(), f.payload.size());
  flatbuffers::Verifier v(reinterpret_cast<const std::uint8_t*>(storage.data()), f.payload.size());
  REQUIRE(v.VerifyBuffer<fb::Request>(nullptr));
  return flatbuffers::GetRoot<fb::Request>(storage.data());
}

frame_bytes response_frame(flatbuffers::FlatBufferBuilder& b) {
  return codec::encode_frame(std::as_bytes(std::span(b.GetBufferPointer(), b.GetSize())));
}

std::span<const std::byte> payload_of(const frame_bytes& f) {
  return std::span<const std::byte>(f).subspan(codec::frame_header_bytes);
}

struct batch_set {
  std::vector<std::string> keep;
  std::vector<std::byte> bytes;
  std::vector<codec::hash256> hashes;
};

// `n` batches of `per` events, chained from the zero hash.
batch_set make_batches(int n, int per) {
  batch_set out;
  out.keep.reserve(static_cast<std::size_t>(n * per * 2));
  codec::batch_builder bb;
  codec::hash256 prev{};
  std::uint64_t offset = 0;
  for (int i = 0; i < n; ++i) {
    std::vector<codec::event_in> evs;
    std::vector<std::int64_t> versions;
    for (int k = 0; k < per; ++k) {
      codec::event_in e;
      e.stream = out.keep.emplace_back("s-" + std::to_string(k));
      e.type = "T";
      e.id = codec::event_id::generate_v7();
      e.data = std::as_bytes(std::span(out.keep.emplace_back("payload-" + std::to_string(i * per + k))));
      e.content_type = "application/json";
      evs.push_back(e);
      versions.push_back(i);
    }
    codec::batch_builder::header h;
    h.base_offset = offset;
    h.commit_time = 1'000'000 + i;
    h.prev_hash = prev;
    auto frame = bb.build(h, evs, versions, prev);
    out.hashes.push_back(prev);
    out.bytes.insert(out.bytes.end(), frame.begin(), frame.end());
    offset += static_cast<std::uint64_t>(per);
  }
  return out;
}

}  // namespace

TEST_CASE("client protocol: a produce request carries topic, partition, acks and every event", "[clients][protocol]") {
  const auto id = codec::event_id::generate_v7();
  const std::string data = "{\"n\":1}";
  codec::event_in e;
  e.stream = "forsendelse-1";
  e.type = "ForsendelseMottatt";
  e.id = id;
  e.expected_version = -1;
  e.time = 42;
  e.content_type = "application/json";
  e.data = std::as_bytes(std::span(data));
  const auto frame = encode_produce(7, "forsendelser", 3, ack_mode::written, "p1", 9, std::span(&e, 1));
  std::vector<std::uint64_t> storage;
  const auto* req = decode_request(frame, storage);
  CHECK(req->correlation_id() == 7);
  REQUIRE(req->body_type() == fb::RequestBody::ProduceRequest);
  const auto* p = req->body_as_ProduceRequest();
  CHECK(p->topic()->str() == "forsendelser");
  CHECK(p->partition() == 3);
  CHECK(p->acks() == fb::AckMode::written);
  CHECK(p->producer_id()->str() == "p1");
  CHECK(p->producer_seq() == 9);
  REQUIRE(p->events()->size() == 1);
  const auto* ev = p->events()->Get(0);
  CHECK(ev->stream()->str() == "forsendelse-1");
  CHECK(ev->expected_version() == -1);
  CHECK(ev->time() == 42);
  CHECK(std::memcmp(ev->id()->b()->Data(), id.bytes.data(), 16) == 0);
  CHECK(std::string(reinterpret_cast<const char*>(ev->data()->Data()), ev->data()->size()) == data);
}

TEST_CASE("client protocol: every other request encodes its fields", "[clients][protocol]") {
  std::vector<std::uint64_t> st;
  {
    const auto* r = decode_request(encode_fetch(1, "t", 2, 100, 4096, 250), st);
    REQUIRE(r->body_type() == fb::RequestBody::FetchRequest);
    const auto* f = r->body_as_FetchRequest();
    CHECK((f->partition() == 2 && f->from_offset() == 100 && f->max_bytes() == 4096 && f->max_wait_ms() == 250));
  }
  {
    const auto* r = decode_request(encode_offset_for_time(2, "t", 1, 123456), st);
    REQUIRE(r->body_type() == fb::RequestBody::OffsetForTimeRequest);
    CHECK(r->body_as_OffsetForTimeRequest()->time() == 123456);
  }
  {
    const auto* r = decode_request(encode_read_stream(3, "t", "s-1", 5, 10), st);
    REQUIRE(r->body_type() == fb::RequestBody::ReadStreamRequest);
    CHECK(r->body_as_ReadStreamRequest()->stream()->str() == "s-1");
    CHECK(r->body_as_ReadStreamRequest()->from_version() == 5);
    CHECK(r->body_as_ReadStreamRequest()->max_events() == 10);
  }
  {
    const auto* r = decode_request(encode_subscribe(4, "t", 0, 77, 1000), st);
    REQUIRE(r->body_type() == fb::RequestBody::SubscribeRequest);
    CHECK(r->body_as_SubscribeRequest()->from_offset() == 77);
    CHECK(r->body_as_SubscribeRequest()->credit_bytes() == 1000);
  }
  {
    const auto* r = decode_request(encode_credit(5, 4, 512), st);
    REQUIRE(r->body_type() == fb::RequestBody::CreditRequest);
    CHECK((r->body_as_CreditRequest()->subscription() == 4 && r->body_as_CreditRequest()->bytes() == 512));
  }
  {
    const auto* r = decode_request(encode_cancel(6, 4), st);
    REQUIRE(r->body_type() == fb::RequestBody::CancelRequest);
    CHECK(r->body_as_CancelRequest()->subscription() == 4);
  }
  {
    const auto* r = decode_request(encode_create_topic(7, "orders", 4, "dispatch", 1 << 20), st);
    REQUIRE(r->body_type() == fb::RequestBody::CreateTopicRequest);
    const auto* c = r->body_as_CreateTopicRequest();
    CHECK((c->name()->str() == "orders" && c->partitions() == 4 && c->schema()->str() == "dispatch" &&
           c->segment_bytes() == (1u << 20)));
  }
  {
    const auto* r = decode_request(encode_list_topics(8), st);
    CHECK(r->body_type() == fb::RequestBody::ListTopicsRequest);
  }
  {
    const auto* r = decode_request(encode_describe_topic(9, "orders"), st);
    REQUIRE(r->body_type() == fb::RequestBody::DescribeTopicRequest);
    CHECK(r->body_as_DescribeTopicRequest()->name()->str() == "orders");
  }
  {
    const partition_offset offs[] = {{0, 10}, {3, 7}};
    const auto* r = decode_request(encode_commit_offsets(10, "c1", "orders", offs), st);
    REQUIRE(r->body_type() == fb::RequestBody::CommitOffsetsRequest);
    const auto* c = r->body_as_CommitOffsetsRequest();
    REQUIRE(c->offsets()->size() == 2);
    CHECK((c->offsets()->Get(1)->partition() == 3 && c->offsets()->Get(1)->offset() == 7));
  }
  {
    const auto* r = decode_request(encode_fetch_offsets(11, "c1", "orders"), st);
    REQUIRE(r->body_type() == fb::RequestBody::FetchOffsetsRequest);
    CHECK(r->body_as_FetchOffsetsRequest()->consumer()->str() == "c1");
    CHECK(r->correlation_id() == 11);
  }
}

TEST_CASE("client protocol: a wrong_expected_version answer becomes a typed conflict", "[clients][protocol]") {
  flatbuffers::FlatBufferBuilder b;
  auto err = fb::CreateErrorDirect(b, fb::ErrorCode::wrong_expected_version, "stream s-1 is at version 4", 0,
                                   "expected_version", "must equal the stream's last version", 4);
  b.Finish(fb::CreateResponse(b, 12, fb::ResponseBody::ProduceResponse, fb::CreateProduceResponse(b, 0, err).Union()));
  auto frame = response_frame(b);
  auto r = decode_response(payload_of(frame));
  REQUIRE(r);
  CHECK(r->correlation_id() == 12);
  auto e = check_response(*r, fb::ResponseBody::ProduceResponse);
  REQUIRE(e);
  CHECK(e->is_conflict());
  CHECK(e->actual_version == 4);
  CHECK(e->event_index == 0);
  CHECK(e->field == "expected_version");
  CHECK_FALSE(e->retryable());
  const auto line = e->describe();
  CHECK(line.find("wrong_expected_version") != std::string::npos);
  CHECK(line.find("actual version 4") != std::string::npos);
  CHECK(line.find('\n') == std::string::npos);
}

TEST_CASE("client protocol: validation errors name index, field and rule, and fenced is retryable", "[clients][protocol]") {
  flatbuffers::FlatBufferBuilder b;
  auto err = fb::CreateErrorDirect(b, fb::ErrorCode::validation_failed, "bad title", 3, "data.tittel", "1-1000 characters");
  b.Finish(fb::CreateResponse(b, 1, fb::ResponseBody::Error, err.Union()));
  auto frame = response_frame(b);
  auto r = decode_response(payload_of(frame));
  REQUIRE(r);
  auto e = check_response(*r, fb::ResponseBody::TopicsResponse);
  REQUIRE(e);
  CHECK(e->kind == error_kind::broker);
  CHECK(e->describe() == "broker validation_failed: bad title (event 3, field data.tittel, rule 1-1000 characters)");

  client_error fenced;
  fenced.kind = error_kind::broker;
  fenced.code = fb::ErrorCode::fenced;
  CHECK(fenced.retryable());
  CHECK(make_error(error_kind::connection, "x").retryable());
  CHECK_FALSE(make_error(error_kind::protocol, "x").retryable());
}

TEST_CASE("client protocol: garbage and a wrong body are protocol errors", "[clients][protocol]") {
  const std::string junk = "this is not a flatbuffer at all, not even close";
  auto r = decode_response(std::as_bytes(std::span(junk)));
  REQUIRE_FALSE(r);
  CHECK(r.error().kind == error_kind::protocol);
  CHECK_FALSE(decode_response({}));

  flatbuffers::FlatBufferBuilder b;
  b.Finish(fb::CreateResponse(b, 1, fb::ResponseBody::OffsetsResponse, fb::CreateOffsetsResponse(b).Union()));
  auto frame = response_frame(b);
  auto ok = decode_response(payload_of(frame));
  REQUIRE(ok);
  auto e = check_response(*ok, fb::ResponseBody::FetchResponse);
  REQUIRE(e);
  CHECK(e->kind == error_kind::protocol);
  CHECK_FALSE(check_response(*ok, fb::ResponseBody::OffsetsResponse));
}

TEST_CASE("client protocol: batches split, verify and chain, and events before from_offset are dropped", "[clients][batch]") {
  auto set = make_batches(3, 4);
  auto split = split_batches(nullptr, set.bytes);
  REQUIRE(split);
  REQUIRE(split->size() == 3);
  CHECK((*split)[1].base_offset == 4);
  CHECK((*split)[2].count == 4);
  chain_checker chain;
  for (const auto& b : *split) CHECK(chain.check(b).empty());
  CHECK(chain.head_hash() == set.hashes.back());
  CHECK(chain.next_offset() == 12);

  auto events = events_of(*split, 5, 6);
  REQUIRE(events.size() == 6);
  CHECK(events.front().offset == 6);
  CHECK(events.front().partition == 5);
  CHECK(events.front().stream() == "s-2");
  CHECK(std::string(reinterpret_cast<const char*>(events.back().data().data()), events.back().data().size()) == "payload-11");
  CHECK(events.back().to_json("t").find("\"offset\":11") != std::string::npos);
}

TEST_CASE("client protocol: a misaligned batch buffer is copied before it is verified", "[clients][batch]") {
  auto set = make_batches(2, 2);
  std::vector<std::byte> shifted(set.bytes.size() + 1);
  std::memcpy(shifted.data() + 1, set.bytes.data(), set.bytes.size());
  auto split = split_batches(nullptr, std::span<const std::byte>(shifted).subspan(1));
  REQUIRE(split);
  REQUIRE(split->size() == 2);
  chain_checker chain;
  CHECK(chain.check((*split)[0]).empty());
  CHECK(chain.check((*split)[1]).empty());
}

TEST_CASE("client protocol: a flipped byte fails the CRC, a broken link fails the chain", "[clients][batch]") {
  auto set = make_batches(2, 2);
  auto corrupt = set.bytes;
  corrupt[corrupt.size() - 20] ^= std::byte{0x01};
  auto bad = split_batches(nullptr, corrupt);
  REQUIRE_FALSE(bad);
  CHECK(bad.error().kind == error_kind::protocol);
  CHECK(bad.error().message.find("CRC32C") != std::string::npos);

  auto truncated = split_batches(nullptr, std::span<const std::byte>(set.bytes).first(set.bytes.size() - 3));
  REQUIRE_FALSE(truncated);

  // Second batch alone: its prev_hash does not continue a chain from zero.
  auto split = split_batches(nullptr, set.bytes);
  REQUIRE(split);
  chain_checker from_zero(2);
  CHECK(from_zero.check((*split)[1]).find("prev_hash") != std::string::npos);
  chain_checker gap;
  CHECK(gap.check((*split)[1]).find("offset") != std::string::npos);
  chain_checker resumed(2, set.hashes[0]);
  CHECK(resumed.check((*split)[1]).empty());
}

TEST_CASE("client protocol: topics responses become topic_info with hex head hashes", "[clients][protocol]") {
  flatbuffers::FlatBufferBuilder b;
  codec::hash256 h{};
  h[0] = 0xab;
  h[31] = 0x01;
  const fb::Hash256 fh(flatbuffers::span<const std::uint8_t, 32>(h.data(), 32));
  std::vector<flatbuffers::Offset<fb::PartitionInfo>> parts{fb::CreatePartitionInfo(b, 0, 10, &fh, 9)};
  std::vector<flatbuffers::Offset<fb::TopicInfo>> topics{
      fb::CreateTopicInfoDirect(b, "forsendelser", 1, "dispatch", 1 << 26, &parts)};
  auto tr = fb::CreateTopicsResponseDirect(b, &topics);
  b.Finish(fb::CreateResponse(b, 1, fb::ResponseBody::TopicsResponse, tr.Union()));
  auto frame = response_frame(b);
  auto r = decode_response(payload_of(frame));
  REQUIRE(r);
  auto infos = topics_from(*r->root->body_as_TopicsResponse());
  REQUIRE(infos.size() == 1);
  CHECK(infos[0].schema == "dispatch");
  REQUIRE(infos[0].parts.size() == 1);
  CHECK(infos[0].parts[0].head == 10);
  CHECK(infos[0].parts[0].head_hash == "ab" + std::string(60, '0') + "01");
  CHECK(infos[0].to_json().find("\"head_hash\":\"ab") != std::string::npos);
}

TEST_CASE("client protocol: a subscription frame's CRC is checked once, through its batches' CRCs", "[clients][batch]") {
  auto set = make_batches(3, 4);
  auto frame_with = [](const std::vector<std::byte>& batches) {
    flatbuffers::FlatBufferBuilder b;
    b.ForceVectorAlignment(batches.size(), 1, 8);
    auto v = b.CreateVector(reinterpret_cast<const std::uint8_t*>(batches.data()), batches.size());
    b.Finish(fb::CreateResponse(b, 9, fb::ResponseBody::SubscribeData, fb::CreateSubscribeData(b, 12, v).Union()));
    return response_frame(b);
  };
  auto crc_of = [](const frame_bytes& f) {
    std::uint32_t crc = 0;
    auto v = decode_frame_unchecked(f, codec::max_frame_payload_bytes, crc);
    REQUIRE(v.status == codec::decode_status::frame);
    return crc;
  };

  // Intact: the frame checks and its batches need no second CRC pass.
  const auto good = frame_with(set.bytes);
  auto r = decode_response(payload_of(good));
  REQUIRE(r);
  CHECK(check_frame_crc(*r, crc_of(good)));
  CHECK(r->batch_crcs_checked);
  CHECK_FALSE(check_frame_crc(*r, crc_of(good) ^ 1u));
  CHECK_FALSE(r->batch_crcs_checked);

  // A byte flipped on the way (the frame's CRC no longer matches): refused.
  auto on_the_way = good;
  on_the_way[on_the_way.size() - 30] ^= std::byte{0x04};
  auto r2 = decode_response(payload_of(on_the_way));
  REQUIRE(r2);
  CHECK_FALSE(check_frame_crc(*r2, crc_of(on_the_way)));

  // A byte flipped where it was stored (the frame's CRC was made over the
  // damaged batch): the frame checks, the batch does not, and
  // split_batches names it.
  auto stored = set.bytes;
  stored[stored.size() - 20] ^= std::byte{0x01};
  const auto at_rest = frame_with(stored);
  auto r3 = decode_response(payload_of(at_rest));
  REQUIRE(r3);
  CHECK(check_frame_crc(*r3, crc_of(at_rest)));
  CHECK_FALSE(r3->batch_crcs_checked);
  const auto* raw = r3->root->body_as_SubscribeData()->batches();
  auto split = split_batches(r3->bytes, std::span(reinterpret_cast<const std::byte*>(raw->Data()), raw->size()), {},
                             r3->batch_crcs_checked);
  REQUIRE_FALSE(split);
  CHECK(split.error().message.find("CRC32C") != std::string::npos);
}
