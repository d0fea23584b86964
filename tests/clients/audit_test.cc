// muninn audit against a real muninnd: an honest log passes for both
// projections; a byte changed in a stored batch fails the hash chain; a
// projection state that is not what the log rebuilds fails the digest
// comparison while the chain still holds.
#include <catch2/catch.hpp>

#include <cstring>
#include <fstream>

#include "codec/crc32c.h"
#include "codec/frame.h"
#include "tests/clients/projection_helpers.h"

namespace fs = std::filesystem;
namespace codec = muninn::codec;
namespace test = muninn::test;
namespace mc = muninn::client;

namespace {

std::uint32_t read_u32(const std::string& s, std::size_t at) {
  std::uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(s[at + static_cast<std::size_t>(i)]);
  return v;
}

void write_u32(std::string& s, std::size_t at, std::uint32_t v) {
  for (std::size_t i = 0; i < 4; ++i) s[at + i] = static_cast<char>((v >> (8 * i)) & 0xff);
}

// Changes one byte of `needle` inside a stored event in `segment` and, like
// a careful forger, recomputes the frame's CRC32C, so storage's own checks
// (CRC, verifier) still pass and only the hash chain can tell. Returns the
// file offset changed.
std::size_t tamper(const fs::path& segment, const std::string& needle) {
  std::string bytes = test::slurp(segment);
  const auto at = bytes.find(needle);
  REQUIRE(at != std::string::npos);
  const std::size_t changed = at + 1;
  bytes[changed] = static_cast<char>(bytes[changed] ^ 0x20);  // "Bergen" -> "BErgen"
  std::size_t pos = 32;                                       // after the segment header (docs/storage-format.md)
  bool fixed = false;
  while (pos + codec::frame_header_bytes <= bytes.size()) {
    const std::uint32_t length = read_u32(bytes, pos);
    const std::size_t payload = pos + codec::frame_header_bytes;
    if (changed >= payload && changed < payload + length) {
      const auto span = std::as_bytes(std::span(bytes.data() + payload, length));
      write_u32(bytes, pos + 4, codec::crc32c(span));
      fixed = true;
      break;
    }
    pos = payload + length;
  }
  REQUIRE(fixed);
  std::ofstream(segment, std::ios::binary | std::ios::trunc) << bytes;
  return changed;
}

// The partition directory of `stream` in `topic`.
fs::path partition_dir(const test::projection_broker& t, const std::string& topic, const std::string& stream,
                       std::uint32_t partitions) {
  return t.broker.data_dir() / "topics" / topic / std::to_string(codec::partition_for(stream, partitions));
}

std::vector<fs::path> segments(const fs::path& dir) {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().extension() == ".log") out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

const std::string example_stream = "forsendelse-3f6c1d2e-8a4b-4c5d-9e6f-7a8b9c0d1e2f";

}  // namespace

TEST_CASE("audit: an honest log rebuilds both projections to the broker's digests", "[clients][tool][audit]") {
  test::projection_broker t;
  t.produce("forsendelser", test::example_forsendelse());
  t.produce("forsendelser", test::second_forsendelse());
  t.produce("reskontra", test::reskontra_events());
  const auto status = t.wait_caught_up();
  for (const auto& p : status) {
    INFO(p.name);
    auto r = t.run("audit --projection " + p.name);
    INFO(r.out << r.err);
    CHECK(r.status == 0);
    CHECK(r.out.find("audit: OK") != std::string::npos);
    CHECK(r.out.find("broker digest: " + mc::hex(p.digest)) != std::string::npos);
    CHECK(r.out.find("local digest:  " + mc::hex(p.digest)) != std::string::npos);
    CHECK(r.out.find("events: " + std::to_string(p.applied_total())) != std::string::npos);
    CHECK(r.err.empty());
  }
  auto with_topic = t.run("audit --topic reskontra --projection reskontra");
  CHECK(with_topic.status == 0);
  // The head hash of the one reskontra partition is the broker's.
  auto info = t.c->describe_topic("reskontra");
  REQUIRE(info);
  CHECK(with_topic.out.find("partition 0: applied 5, batches 5, head hash " + info->parts.at(0).head_hash) !=
        std::string::npos);
  CHECK(t.run("audit --topic reskontra --projection dispatch-status").status == 2);
}

TEST_CASE("audit: a byte changed in a stored batch breaks the hash chain", "[clients][tool][audit]") {
  // Small segments: every commit rolls a new segment. Recovery re-reads only
  // the last segment of a partition, so a change in an earlier one reaches
  // the reader as stored, which is what an auditor has to catch.
  test::temp_dir conf;
  const auto config = conf.path() / "muninnd.toml";
  std::ofstream(config) << "[storage]\nsegment_bytes = 256\n";
  test::projection_broker t({"--config", config.string()});
  t.produce("forsendelser", test::example_forsendelse());
  t.produce("forsendelser", test::second_forsendelse());
  t.wait_caught_up();
  REQUIRE(t.run("audit --projection dispatch-status").status == 0);
  t.stop();

  const auto dir = partition_dir(t, "forsendelser", example_stream, 8);
  const auto segs = segments(dir);
  REQUIRE(segs.size() >= 2);  // the first event's segment is not the last
  tamper(segs.front(), "Bergen kommune");

  t.restart();
  auto r = t.run("audit --projection dispatch-status");
  INFO(r.out << r.err);
  CHECK(r.status == 1);
  const std::string partition = std::to_string(codec::partition_for(example_stream, 8));
  CHECK(r.out.find("audit: FAILED: hash chain broken at partition " + partition +
                   ", offset 0: hash does not match the batch content") != std::string::npos);
  auto v = t.run("verify --topic forsendelser");
  CHECK(v.status == 1);
  CHECK(v.err.find("partition " + partition + ", offset 0") != std::string::npos);
}

TEST_CASE("audit: a projection state that is not what the log rebuilds fails the digest comparison", "[clients][tool][audit]") {
  // Two brokers get logs of the same shape (the same streams, the same
  // number of events per partition) that differ in one field: broker B's
  // forsendelse was notified with another `detalj`. Broker A's projection
  // store is then copied over B's, as a restore from the wrong backup
  // would. B's log is intact and its chain verifies, B's runner resumes
  // from the copied checkpoint (it sits exactly at B's heads) and reports
  // A's state. Only rebuilding from B's log and comparing digests shows it.
  auto example = test::example_forsendelse();
  test::projection_broker a;
  a.produce("forsendelser", example);
  const auto a_status = a.wait_caught_up();
  a.stop();

  auto changed = example;
  const std::string from = "Varsel sendt til digital postkasse";
  const auto at = changed[2].find(from);
  REQUIRE(at != std::string::npos);
  changed[2].replace(at, from.size(), "Varsel sendt på SMS");
  test::projection_broker b;
  b.produce("forsendelser", changed);
  const auto b_status = b.wait_caught_up();
  REQUIRE(b.run("audit --projection dispatch-status").status == 0);
  b.stop();

  auto digest_of = [](const std::vector<mc::projection_info>& s) {
    for (const auto& p : s)
      if (p.name == "dispatch-status") return p.digest;
    return codec::hash256{};
  };
  REQUIRE(digest_of(a_status) != digest_of(b_status));

  const auto b_projections = b.broker.data_dir() / "projections";
  fs::remove_all(b_projections);
  fs::copy(a.broker.data_dir() / "projections", b_projections, fs::copy_options::recursive);
  b.restart();
  const auto restored = b.wait_caught_up();
  REQUIRE(digest_of(restored) == digest_of(a_status));  // B now serves A's state

  auto r = b.run("audit --projection dispatch-status");
  INFO(r.out << r.err);
  CHECK(r.status == 1);
  CHECK(r.out.find("partition ") != std::string::npos);  // the chain was walked and held
  CHECK(r.out.find("hash chain broken") == std::string::npos);
  CHECK(r.out.find("broker digest: " + mc::hex(digest_of(a_status))) != std::string::npos);
  CHECK(r.out.find("local digest:  " + mc::hex(digest_of(b_status))) != std::string::npos);
  CHECK(r.out.find("audit: FAILED: state digest differs") != std::string::npos);
  // The reskontra projection, untouched by the copy of an equal empty state, still passes.
  CHECK(b.run("audit --projection reskontra").status == 0);
}
