// The broker's TCP side over loopback, in process: produce, fetch, streams,
// topics, and hostile input. A raw blocking client speaks the protocol so
// these tests depend on nothing but codec/.
#include <catch2/catch.hpp>

#include <boost/asio.hpp>
#include <flatbuffers/flexbuffers.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "broker/groups.h"
#include "broker/server.h"
#include "broker/topics.h"
#include "codec/batch_generated.h"
#include "codec/frame.h"
#include "codec/protocol_generated.h"
#include "codec/stream_hash.h"
#include "tests/temp_dir.h"

using namespace muninn;
namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

using muninn::test::temp_dir;

// A broker in this process on a loopback port.
struct running_broker {
  temp_dir dir;
  std::unique_ptr<broker::topic_registry> topics;
  std::unique_ptr<broker::group_coordinator> groups;
  std::unique_ptr<broker::request_handler> handler;
  asio::io_context io;
  std::unique_ptr<broker::server> srv;
  tcp::endpoint endpoint;
  std::thread thread;

  // On `data` when given (a restart), else on a fresh temporary directory.
  explicit running_broker(broker::server_limits limits = {}, std::string data = {}) {
    auto reg = broker::topic_registry::open(data.empty() ? dir.path.string() : data, {});
    REQUIRE(reg);
    topics = std::move(*reg);
    auto g = broker::group_coordinator::open(*topics);
    REQUIRE(g);
    groups = std::move(*g);
    handler = std::make_unique<broker::request_handler>(*topics, *groups, broker::handler_limits{});
    srv = std::make_unique<broker::server>(io, *handler, limits);
    endpoint = srv->listen(tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    thread = std::thread([this] { io.run(); });
  }
  ~running_broker() {
    asio::post(io, [this] { srv->stop(); });
    topics->close();
    io.stop();
    thread.join();
  }
};

struct raw_client {
  asio::io_context io;
  tcp::socket socket{io};
  explicit raw_client(const tcp::endpoint& ep) { socket.connect(ep); }

  void send_bytes(std::span<const std::byte> bytes) { asio::write(socket, asio::buffer(bytes.data(), bytes.size())); }
  void send(flatbuffers::FlatBufferBuilder& b) {
    send_bytes(codec::encode_frame(std::as_bytes(std::span(b.GetBufferPointer(), b.GetSize()))));
  }
  // One response frame's payload; empty when the broker closed the connection.
  std::vector<std::byte> receive() {
    std::array<std::byte, 8> header{};
    boost::system::error_code ec;
    asio::read(socket, asio::buffer(header), ec);
    if (ec) return {};
    std::uint32_t len = 0;
    for (int i = 0; i < 4; ++i) len |= std::uint32_t(std::to_integer<std::uint8_t>(header[std::size_t(i)])) << (8 * i);
    std::vector<std::byte> frame(8 + len);
    std::memcpy(frame.data(), header.data(), 8);
    asio::read(socket, asio::buffer(frame.data() + 8, len), ec);
    if (ec) return {};
    auto f = codec::decode_frame(frame);
    REQUIRE(f.status == codec::decode_status::frame);
    return {f.payload.begin(), f.payload.end()};
  }
  const fb::Response* response(std::vector<std::byte>& keep) {
    keep = receive();
    REQUIRE_FALSE(keep.empty());
    flatbuffers::Verifier v(reinterpret_cast<const std::uint8_t*>(keep.data()), keep.size());
    REQUIRE(v.VerifyBuffer<fb::Response>(nullptr));
    return flatbuffers::GetRoot<fb::Response>(keep.data());
  }
};

struct test_event {
  std::string stream;
  std::string type = "TestEvent";
  std::int64_t expected = codec::expect_any;
  std::string data = "x";
  codec::event_id id = codec::event_id::generate_v7();
};

void build_produce(flatbuffers::FlatBufferBuilder& b, std::uint64_t corr, const std::string& topic, int partition,
                   const std::vector<test_event>& events) {
  std::vector<flatbuffers::Offset<fb::Event>> evs;
  for (const auto& e : events) {
    const fb::EventId id(flatbuffers::span<const std::uint8_t, 16>(e.id.bytes.data(), 16));
    evs.push_back(fb::CreateEvent(b, b.CreateString(e.stream), b.CreateString(e.type), &id, e.expected, -1, 0,
                                  b.CreateString("text/plain"),
                                  b.CreateVector(reinterpret_cast<const std::uint8_t*>(e.data.data()), e.data.size())));
  }
  auto req = fb::CreateProduceRequest(b, b.CreateString(topic), partition, fb::AckMode::durable, 0, 0, b.CreateVector(evs));
  b.Finish(fb::CreateRequest(b, corr, fb::RequestBody::ProduceRequest, req.Union()));
}

void create_topic(raw_client& c, const std::string& name, std::uint32_t partitions) {
  flatbuffers::FlatBufferBuilder b;
  auto req = fb::CreateCreateTopicRequest(b, b.CreateString(name), partitions);
  b.Finish(fb::CreateRequest(b, 1, fb::RequestBody::CreateTopicRequest, req.Union()));
  c.send(b);
  std::vector<std::byte> keep;
  const auto* r = c.response(keep);
  REQUIRE(r->body_type() == fb::ResponseBody::TopicsResponse);
  REQUIRE(r->body_as_TopicsResponse()->error() == nullptr);
}

}  // namespace

TEST_CASE("broker: a fresh data directory has the default topics", "[broker][topics]") {
  running_broker broker;
  raw_client c(broker.endpoint);
  flatbuffers::FlatBufferBuilder b;
  b.Finish(fb::CreateRequest(b, 5, fb::RequestBody::ListTopicsRequest, fb::CreateListTopicsRequest(b).Union()));
  c.send(b);
  std::vector<std::byte> keep;
  const auto* r = c.response(keep);
  CHECK(r->correlation_id() == 5);
  const auto* topics = r->body_as_TopicsResponse()->topics();
  REQUIRE(topics->size() == 2);
  CHECK(topics->Get(0)->name()->str() == "forsendelser");
  CHECK(topics->Get(0)->partitions() == 8);
  CHECK(topics->Get(0)->schema()->str() == "dispatch");
  CHECK(topics->Get(1)->name()->str() == "reskontra");
  CHECK(topics->Get(1)->schema()->str() == "reskontra");
}

TEST_CASE("broker: produce then fetch by offset, by stream and by time over loopback", "[broker][roundtrip]") {
  running_broker broker;
  raw_client c(broker.endpoint);
  create_topic(c, "events", 4);
  const std::string stream = "order-1";
  const int p = int(codec::partition_for(stream, 4));
  std::vector<test_event> events;
  for (int i = 0; i < 3; ++i) events.push_back({stream, "Step", i == 0 ? codec::expect_no_stream : i - 1, "step-" + std::to_string(i)});
  flatbuffers::FlatBufferBuilder b;
  build_produce(b, 77, "events", p, events);
  c.send(b);
  std::vector<std::byte> keep;
  const auto* r = c.response(keep);
  REQUIRE(r->correlation_id() == 77);
  const auto* pr = r->body_as_ProduceResponse();
  REQUIRE(pr->error() == nullptr);
  REQUIRE(pr->positions()->size() == 3);
  CHECK(pr->positions()->Get(2)->offset() == 2);
  CHECK(pr->positions()->Get(2)->version() == 2);

  // Retry with the same ids: duplicates, original positions.
  flatbuffers::FlatBufferBuilder again;
  build_produce(again, 78, "events", p, events);
  c.send(again);
  r = c.response(keep);
  CHECK(r->body_as_ProduceResponse()->positions()->Get(1)->duplicate());
  CHECK(r->body_as_ProduceResponse()->positions()->Get(1)->offset() == 1);

  // Fetch by offset: whole frames as stored.
  flatbuffers::FlatBufferBuilder fb_;
  fb_.Finish(fb::CreateRequest(fb_, 79, fb::RequestBody::FetchRequest,
                               fb::CreateFetchRequest(fb_, fb_.CreateString("events"), p, 1).Union()));
  c.send(fb_);
  r = c.response(keep);
  const auto* fr = r->body_as_FetchResponse();
  REQUIRE(fr->error() == nullptr);
  CHECK(fr->head() == 3);
  auto frame = codec::decode_frame(std::as_bytes(std::span(fr->batches()->data(), fr->batches()->size())));
  REQUIRE(frame.status == codec::decode_status::frame);
  auto vb = codec::verify_batch(frame.payload);
  REQUIRE(vb);
  CHECK(codec::check_hash(*vb));
  CHECK(vb->batch->events()->Get(1)->data()->size() == 6);

  // By stream.
  flatbuffers::FlatBufferBuilder sb;
  sb.Finish(fb::CreateRequest(sb, 80, fb::RequestBody::ReadStreamRequest,
                              fb::CreateReadStreamRequest(sb, sb.CreateString("events"), sb.CreateString(stream), 1).Union()));
  c.send(sb);
  r = c.response(keep);
  const auto* rs = r->body_as_ReadStreamResponse();
  REQUIRE(rs->error() == nullptr);
  CHECK(rs->partition() == p);
  REQUIRE(rs->events()->size() == 2);
  CHECK(rs->events()->Get(0)->event()->version() == 1);

  // By time: everything was committed after the epoch.
  flatbuffers::FlatBufferBuilder tb;
  tb.Finish(fb::CreateRequest(tb, 81, fb::RequestBody::OffsetForTimeRequest,
                              fb::CreateOffsetForTimeRequest(tb, tb.CreateString("events"), p, 0).Union()));
  c.send(tb);
  r = c.response(keep);
  CHECK(r->body_as_OffsetForTimeResponse()->offset() == 0);
}

TEST_CASE("broker: refusals name the event, the field and the rule and append nothing", "[broker][validation]") {
  running_broker broker;
  raw_client c(broker.endpoint);
  const std::string stream = "forsendelse-6f1c2a9e-4b7d-4c1e-9a53-2d8f0e7b1c44";
  const int p = int(codec::partition_for(stream, 8));
  std::vector<test_event> events = {{stream, "ForsendelseStatusEndret", codec::expect_any, "not a flexbuffer"}};
  flatbuffers::FlatBufferBuilder b;
  build_produce(b, 3, "forsendelser", p, events);
  c.send(b);
  std::vector<std::byte> keep;
  const auto* r = c.response(keep);
  const auto* err = r->body_as_ProduceResponse()->error();
  REQUIRE(err != nullptr);
  CHECK(err->code() == fb::ErrorCode::validation_failed);
  CHECK(err->event_index() == 0);
  CHECK(err->field() != nullptr);
  CHECK(err->rule() != nullptr);
  CHECK(broker.topics->find("forsendelser")->partition(std::uint32_t(p)).head() == 0);

  // A stream sent to the wrong partition.
  flatbuffers::FlatBufferBuilder w;
  build_produce(w, 4, "forsendelser", (p + 1) % 8, events);
  c.send(w);
  r = c.response(keep);
  CHECK(r->body_as_ProduceResponse()->error()->code() == fb::ErrorCode::wrong_partition);

  // Unknown topic, unknown partition.
  flatbuffers::FlatBufferBuilder u;
  build_produce(u, 5, "nope", 0, events);
  c.send(u);
  r = c.response(keep);
  CHECK(r->body_as_ProduceResponse()->error()->code() == fb::ErrorCode::unknown_topic);
}

TEST_CASE("broker: garbage and oversized frames get an error and a closed connection; others are served",
          "[broker][hostile]") {
  running_broker broker;
  raw_client good(broker.endpoint);
  {
    raw_client bad(broker.endpoint);
    // A 4 GiB length prefix: refused before anything is allocated.
    const std::array<std::byte, 8> huge = {std::byte{0xff}, std::byte{0xff}, std::byte{0xff}, std::byte{0xff},
                                          std::byte{0}, std::byte{0}, std::byte{0}, std::byte{0}};
    bad.send_bytes(huge);
    std::vector<std::byte> keep;
    const auto* r = bad.response(keep);
    CHECK(r->body_as_Error()->code() == fb::ErrorCode::frame_too_large);
    CHECK(bad.receive().empty());  // then closed
  }
  {
    raw_client bad(broker.endpoint);
    std::vector<std::byte> garbage(100);
    for (std::size_t i = 0; i < garbage.size(); ++i) garbage[i] = std::byte(i * 7 + 3);
    garbage[0] = std::byte{20};  // a plausible length, then a wrong CRC
    garbage[1] = garbage[2] = garbage[3] = std::byte{0};
    bad.send_bytes(garbage);
    std::vector<std::byte> keep;
    const auto* r = bad.response(keep);
    CHECK(r->body_as_Error()->code() == fb::ErrorCode::malformed_request);
  }
  {
    // A well-framed payload that is not a Request: an error, the connection stays.
    raw_client odd(broker.endpoint);
    const std::string junk = "definitely not a flatbuffer";
    odd.send_bytes(codec::encode_frame(std::as_bytes(std::span(junk.data(), junk.size()))));
    std::vector<std::byte> keep;
    CHECK(odd.response(keep)->body_as_Error()->code() == fb::ErrorCode::malformed_request);
    create_topic(odd, "still-works", 1);
  }
  create_topic(good, "after-hostile", 2);
}

TEST_CASE("broker: idle and slow connections are closed by their timeouts; many idle ones do not stop service",
          "[broker][hostile]") {
  broker::server_limits limits;
  limits.idle_timeout = std::chrono::milliseconds(300);
  limits.read_timeout = std::chrono::milliseconds(200);
  limits.max_connections = 2000;
  running_broker broker(limits);
  {
    raw_client slow(broker.endpoint);
    const std::array<std::byte, 3> part = {std::byte{10}, std::byte{0}, std::byte{0}};
    slow.send_bytes(part);  // a frame that never completes
    const auto t0 = std::chrono::steady_clock::now();
    CHECK(slow.receive().empty());
    CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(5));
  }
  std::vector<std::unique_ptr<raw_client>> idle;
  for (int i = 0; i < 1000; ++i) idle.push_back(std::make_unique<raw_client>(broker.endpoint));
  raw_client good(broker.endpoint);
  create_topic(good, "served", 1);
  idle.clear();
}

TEST_CASE("broker: topics survive a restart, as records in the __topics log", "[broker][topics]") {
  temp_dir dir;
  {
    auto reg = broker::topic_registry::open(dir.path.string(), {});
    REQUIRE(reg);
    REQUIRE((*reg)->create({"kept", 3, validation::schema::none, 0}));
    auto again = (*reg)->create({"kept", 3, validation::schema::none, 0});
    REQUIRE_FALSE(again);
    CHECK(again.error().code == broker::topic_errc::exists);
    CHECK_FALSE((*reg)->create({"__hidden", 1, validation::schema::none, 0}));
    CHECK_FALSE((*reg)->create({"zero", 0, validation::schema::none, 0}));
  }
  auto reg = broker::topic_registry::open(dir.path.string(), {});
  REQUIRE(reg);
  auto t = (*reg)->find("kept");
  REQUIRE(t);
  CHECK(t->partitions() == 3);
  CHECK((*reg)->list().size() == 3);
}

TEST_CASE("broker: subscribe catches up, then receives live events, within its credit", "[broker][subscribe]") {
  running_broker broker;
  raw_client producer(broker.endpoint);
  create_topic(producer, "live", 1);
  auto produce_one = [&](std::uint64_t corr, const std::string& data) {
    flatbuffers::FlatBufferBuilder b;
    build_produce(b, corr, "live", 0, {{"s", "E", codec::expect_any, data}});
    producer.send(b);
    std::vector<std::byte> keep;
    REQUIRE(producer.response(keep)->body_as_ProduceResponse()->error() == nullptr);
  };
  produce_one(1, "first");
  produce_one(2, "second");

  raw_client consumer(broker.endpoint);
  flatbuffers::FlatBufferBuilder b;
  // One byte of credit: the broker sends one chunk (at least one batch), then waits.
  b.Finish(fb::CreateRequest(b, 500, fb::RequestBody::SubscribeRequest,
                             fb::CreateSubscribeRequest(b, b.CreateString("live"), 0, 0, 1).Union()));
  consumer.send(b);
  std::vector<std::byte> keep;
  auto next_event_offset = [&](const fb::Response* r) {
    REQUIRE(r->correlation_id() == 500);
    REQUIRE(r->body_type() == fb::ResponseBody::SubscribeData);
    const auto* d = r->body_as_SubscribeData();
    auto f = codec::decode_frame(std::as_bytes(std::span(d->batches()->data(), d->batches()->size())));
    REQUIRE(f.status == codec::decode_status::frame);
    auto vb = codec::verify_batch(f.payload);
    REQUIRE(vb);
    return vb->batch->base_offset();
  };
  CHECK(next_event_offset(consumer.response(keep)) == 0);

  flatbuffers::FlatBufferBuilder credit;
  credit.Finish(fb::CreateRequest(credit, 501, fb::RequestBody::CreditRequest, fb::CreateCreditRequest(credit, 500, 1 << 20).Union()));
  consumer.send(credit);
  CHECK(next_event_offset(consumer.response(keep)) == 1);  // the rest of the catch-up
  produce_one(3, "live!");
  CHECK(next_event_offset(consumer.response(keep)) == 2);  // live

  // A subscription to an unknown topic is refused with its correlation id.
  flatbuffers::FlatBufferBuilder bad;
  bad.Finish(fb::CreateRequest(bad, 600, fb::RequestBody::SubscribeRequest,
                               fb::CreateSubscribeRequest(bad, bad.CreateString("nope"), 0, 0).Union()));
  consumer.send(bad);
  const auto* r = consumer.response(keep);
  CHECK(r->correlation_id() == 600);
  CHECK(r->body_as_Error()->code() == fb::ErrorCode::unknown_topic);
}

TEST_CASE("broker: consumer offsets are committed per partition and survive a restart", "[broker][offsets]") {
  temp_dir dir;
  auto commit = [](raw_client& c, std::uint64_t corr, std::vector<std::pair<int, std::uint64_t>> offs) {
    flatbuffers::FlatBufferBuilder b;
    std::vector<flatbuffers::Offset<fb::PartitionOffset>> v;
    for (auto [p, o] : offs) v.push_back(fb::CreatePartitionOffset(b, p, o));
    b.Finish(fb::CreateRequest(b, corr, fb::RequestBody::CommitOffsetsRequest,
                               fb::CreateCommitOffsetsRequest(b, b.CreateString("printer"), b.CreateString("jobs"),
                                                              b.CreateVector(v)).Union()));
    c.send(b);
    std::vector<std::byte> keep;
    const auto* r = c.response(keep);
    return r->body_as_OffsetsResponse()->error() ? r->body_as_OffsetsResponse()->error()->code() : fb::ErrorCode::ok;
  };
  auto fetch = [](raw_client& c) {
    flatbuffers::FlatBufferBuilder b;
    b.Finish(fb::CreateRequest(b, 9, fb::RequestBody::FetchOffsetsRequest,
                               fb::CreateFetchOffsetsRequest(b, b.CreateString("printer"), b.CreateString("jobs")).Union()));
    c.send(b);
    std::vector<std::byte> keep;
    const auto* r = c.response(keep);
    std::map<int, std::uint64_t> out;
    for (const auto* po : *r->body_as_OffsetsResponse()->offsets()) out[po->partition()] = po->offset();
    return out;
  };
  {
    running_broker broker({}, dir.path.string());
    raw_client c(broker.endpoint);
    create_topic(c, "jobs", 3);
    for (int i = 0; i < 5; ++i) {
      flatbuffers::FlatBufferBuilder b;
      const std::string s = "job-" + std::to_string(i);
      build_produce(b, 100 + std::uint64_t(i), "jobs", int(codec::partition_for(s, 3)), {{s}});
      c.send(b);
      std::vector<std::byte> keep;
      REQUIRE(c.response(keep)->body_as_ProduceResponse()->error() == nullptr);
    }
    const auto head0 = broker.topics->find("jobs")->partition(0).head();
    CHECK(commit(c, 1, {{0, head0}}) == fb::ErrorCode::ok);
    CHECK(commit(c, 2, {{1, 0}}) == fb::ErrorCode::ok);
    CHECK(commit(c, 3, {{0, head0 + 100}}) == fb::ErrorCode::offset_out_of_range);
    CHECK(commit(c, 4, {{7, 0}}) == fb::ErrorCode::unknown_partition);
    auto got = fetch(c);
    CHECK(got.size() == 2);
    CHECK(got[0] == head0);
  }
  // Another broker on the same data directory: the offsets are still there.
  running_broker again({}, dir.path.string());
  raw_client c(again.endpoint);
  auto got = fetch(c);
  CHECK(got.size() == 2);
  CHECK(got[1] == 0);
}

TEST_CASE("broker: a fetch at the head waits up to max_wait_ms for new events", "[broker][fetch]") {
  running_broker broker;
  raw_client producer(broker.endpoint);
  create_topic(producer, "poll", 1);
  raw_client consumer(broker.endpoint);
  auto fetch_at = [&](std::uint64_t corr, std::uint64_t from, std::uint32_t wait_ms) {
    flatbuffers::FlatBufferBuilder b;
    b.Finish(fb::CreateRequest(b, corr, fb::RequestBody::FetchRequest,
                               fb::CreateFetchRequest(b, b.CreateString("poll"), 0, from, 1 << 20, wait_ms).Union()));
    consumer.send(b);
  };
  // Nothing arrives: an empty answer after the wait.
  const auto t0 = std::chrono::steady_clock::now();
  fetch_at(1, 0, 150);
  std::vector<std::byte> keep;
  const auto* r = consumer.response(keep);
  CHECK(std::chrono::steady_clock::now() - t0 >= std::chrono::milliseconds(140));
  CHECK(r->correlation_id() == 1);
  CHECK(r->body_as_FetchResponse()->head() == 0);
  CHECK((r->body_as_FetchResponse()->batches() == nullptr || r->body_as_FetchResponse()->batches()->size() == 0));

  // An event arrives while the fetch waits: it is answered at once with it.
  fetch_at(2, 0, 20'000);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  flatbuffers::FlatBufferBuilder b;
  build_produce(b, 9, "poll", 0, {{"s"}});
  producer.send(b);
  std::vector<std::byte> pk;
  REQUIRE(producer.response(pk)->body_as_ProduceResponse()->error() == nullptr);
  const auto t1 = std::chrono::steady_clock::now();
  r = consumer.response(keep);
  CHECK(std::chrono::steady_clock::now() - t1 < std::chrono::seconds(5));
  CHECK(r->correlation_id() == 2);
  CHECK(r->body_as_FetchResponse()->head() == 1);
  CHECK(r->body_as_FetchResponse()->batches()->size() > 0);
}
