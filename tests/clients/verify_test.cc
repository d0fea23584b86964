// `muninn verify` and the client's fetch path against answers a real broker
// would never give: a batch whose prev_hash breaks the chain, a flipped
// byte, a response that is not a FlatBuffer. Served by tests/clients/fake_broker.h.
#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>

#include "clients/client.h"
#include "clients/protocol.h"
#include "codec/batch.h"
#include "tests/clients/broker_process.h"
#include "tests/clients/fake_broker.h"

namespace fb = muninn::fb;
namespace codec = muninn::codec;
namespace test = muninn::test;
namespace mc = muninn::client;

namespace {

struct stored_batch {
  std::uint64_t base = 0;
  std::uint32_t count = 0;
  std::vector<std::byte> frame;
  codec::hash256 hash{};
};

// `n` batches of 2 events; batch `broken_link` (if any) chains onto a wrong hash.
std::vector<stored_batch> make_log(int n, int broken_link = -1) {
  std::vector<stored_batch> out;
  codec::batch_builder bb;
  codec::hash256 prev{};
  std::vector<std::string> keep;
  keep.reserve(64);
  for (int i = 0; i < n; ++i) {
    std::vector<codec::event_in> evs(2);
    for (auto& e : evs) {
      e.stream = keep.emplace_back("s-" + std::to_string(i));
      e.type = "T";
      e.id = codec::event_id::generate_v7();
    }
    const std::int64_t versions[] = {0, 1};
    codec::batch_builder::header h;
    h.base_offset = static_cast<std::uint64_t>(i) * 2;
    h.commit_time = 1'700'000'000'000'000 + i;
    h.prev_hash = prev;
    if (i == broken_link) h.prev_hash[0] ^= 0xff;
    stored_batch s;
    s.base = h.base_offset;
    s.count = 2;
    auto frame = bb.build(h, evs, versions, s.hash);
    s.frame.assign(frame.begin(), frame.end());
    prev = s.hash;
    out.push_back(std::move(s));
  }
  return out;
}

test::fake_broker::handler serve_log(std::vector<stored_batch> log) {
  return [log](const fb::Request& req) -> std::optional<std::vector<std::byte>> {
    flatbuffers::FlatBufferBuilder b;
    const std::uint64_t head = log.empty() ? 0 : log.back().base + log.back().count;
    if (req.body_type() == fb::RequestBody::DescribeTopicRequest) {
      const codec::hash256 h = log.empty() ? codec::hash256{} : log.back().hash;
      const fb::Hash256 fh(flatbuffers::span<const std::uint8_t, 32>(h.data(), 32));
      std::vector<flatbuffers::Offset<fb::PartitionInfo>> parts{fb::CreatePartitionInfo(b, 0, head, &fh, head)};
      std::vector<flatbuffers::Offset<fb::TopicInfo>> topics{fb::CreateTopicInfoDirect(b, "v", 1, "", 0, &parts)};
      b.Finish(fb::CreateResponse(b, req.correlation_id(), fb::ResponseBody::TopicsResponse,
                                  fb::CreateTopicsResponseDirect(b, &topics).Union()));
      return test::fake_broker::frame_of(b);
    }
    if (req.body_type() == fb::RequestBody::FetchRequest) {
      const auto from = req.body_as_FetchRequest()->from_offset();
      std::vector<std::uint8_t> bytes;
      for (const auto& s : log)
        if (s.base + s.count > from) {
          const auto* p = reinterpret_cast<const std::uint8_t*>(s.frame.data());
          bytes.insert(bytes.end(), p, p + s.frame.size());
        }
      b.Finish(fb::CreateResponse(b, req.correlation_id(), fb::ResponseBody::FetchResponse,
                                  fb::CreateFetchResponseDirect(b, head, &bytes).Union()));
      return test::fake_broker::frame_of(b);
    }
    return std::nullopt;
  };
}

struct verify_run {
  int status = -1;
  std::string out, err;
};

verify_run run_verify(std::uint16_t port) {
  test::temp_dir dir;
  const auto err_path = dir.path() / "stderr";
  auto r = test::run_command((test::bin_dir() / "muninn").string() + " --broker 127.0.0.1:" + std::to_string(port) +
                             " verify --topic v 2> " + err_path.string());
  std::ifstream in(err_path);
  std::stringstream ss;
  ss << in.rdbuf();
  return {r.status, r.out, ss.str()};
}

}  // namespace

TEST_CASE("verify: an intact chain passes and prints the head hash", "[clients][tool][verify]") {
  auto log = make_log(4);
  test::fake_broker fake(serve_log(log));
  auto r = run_verify(fake.port());
  INFO(r.err);
  CHECK(r.status == 0);
  CHECK(r.out.find("\"head\":8") != std::string::npos);
  CHECK(r.out.find(mc::hex(log.back().hash)) != std::string::npos);
  CHECK(r.err.empty());
}

TEST_CASE("verify: a broken link is named by partition and offset", "[clients][tool][verify]") {
  test::fake_broker fake(serve_log(make_log(4, 2)));
  auto r = run_verify(fake.port());
  CHECK(r.status == 1);
  CHECK(r.err.find("partition 0, offset 4") != std::string::npos);
  CHECK(r.err.find("prev_hash") != std::string::npos);
  CHECK(r.out.find("\"ok\":false") != std::string::npos);
}

TEST_CASE("verify: a flipped byte fails the CRC at its batch", "[clients][tool][verify]") {
  auto log = make_log(3);
  log[1].frame[log[1].frame.size() - 9] ^= std::byte{0x10};
  test::fake_broker fake(serve_log(log));
  auto r = run_verify(fake.port());
  CHECK(r.status == 1);
  CHECK(r.err.find("partition 0, offset 2") != std::string::npos);
  CHECK(r.err.find("CRC32C") != std::string::npos);
}

TEST_CASE("client: a response that is not a FlatBuffer is a protocol error, and the next request works", "[clients][client]") {
  std::atomic<int> calls{0};
  test::fake_broker fake([&](const fb::Request& req) -> std::optional<std::vector<std::byte>> {
    if (calls++ == 0) {
      const std::string junk = "definitely not a flatbuffer response";
      return codec::encode_frame(std::as_bytes(std::span(junk)));
    }
    flatbuffers::FlatBufferBuilder b;
    std::vector<flatbuffers::Offset<fb::TopicInfo>> topics{fb::CreateTopicInfoDirect(b, "v", 3, "", 0)};
    b.Finish(fb::CreateResponse(b, req.correlation_id(), fb::ResponseBody::TopicsResponse,
                                fb::CreateTopicsResponseDirect(b, &topics).Union()));
    return test::fake_broker::frame_of(b);
  });
  mc::client_options o;
  o.port = fake.port();
  mc::client c(o);
  auto first = c.list_topics();
  REQUIRE_FALSE(first);
  CHECK(first.error().kind == mc::error_kind::protocol);
  auto second = c.describe_topic("v");
  REQUIRE(second);
  CHECK(second->partitions == 3);
}

TEST_CASE("client: a broker that never answers times out and the request fails", "[clients][client]") {
  test::fake_broker fake([](const fb::Request&) { return std::optional<std::vector<std::byte>>{}; });
  mc::client_options o;
  o.port = fake.port();
  o.request_timeout = std::chrono::milliseconds(300);
  o.reconnect_backoff_max = std::chrono::milliseconds(50);
  mc::client c(o);
  const auto start = std::chrono::steady_clock::now();
  const auto corr = c.next_correlation_id();
  auto r = c.request(corr, mc::encode_list_topics(corr));
  REQUIRE_FALSE(r);
  CHECK(r.error().kind == mc::error_kind::timeout);
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(5));
}
