// Pure pieces of the producer and the tool: batch cutting, routing, JSON
// lines in and acknowledgements out, broker addresses.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "clients/client.h"
#include "clients/json_lines.h"
#include "clients/producer.h"
#include "codec/stream_hash.h"

using namespace muninn;
using namespace muninn::client;

TEST_CASE("producer: a batch is cut at the event count and at the byte limit", "[clients][producer]") {
  batch_queue<int> q;
  for (int i = 0; i < 5; ++i) q.push(i, 100);
  CHECK_FALSE(q.full(10, 1000));
  CHECK(q.full(5, 1000));
  CHECK(q.full(10, 500));
  auto a = q.take(3, 1000);
  REQUIRE(a.size() == 3);
  CHECK(a[0].first == 0);
  CHECK(q.bytes() == 200);
  auto b = q.take(10, 150);  // one fits, the second would exceed 150
  REQUIRE(b.size() == 1);
  CHECK(b[0].first == 3);
  q.push_front(std::move(a));
  CHECK(q.size() == 4);
  CHECK(q.bytes() == 400);
  auto c = q.take(100, 1 << 20);
  REQUIRE(c.size() == 4);
  CHECK((c[0].first == 0 && c[1].first == 1 && c[2].first == 2 && c[3].first == 4));
  CHECK(q.empty());
}

TEST_CASE("producer: one entry larger than the byte limit still makes a batch", "[clients][producer]") {
  batch_queue<int> q;
  q.push(1, 5000);
  q.push(2, 10);
  auto a = q.take(10, 1000);
  REQUIRE(a.size() == 1);
  CHECK(a[0].first == 1);
  CHECK(q.size() == 1);
}

TEST_CASE("producer: events of one stream always route to the same partition", "[clients][producer]") {
  for (std::uint32_t n : {1u, 3u, 8u}) {
    const auto p = codec::partition_for("forsendelse-3f6c1d2e", n);
    CHECK(p < n);
    CHECK(p == codec::stream_hash("forsendelse-3f6c1d2e") % n);
  }
  codec::owned_event e;
  e.stream = "s";
  e.type = "t";
  e.data.resize(1000);
  CHECK(event_bytes(e) > 1000);
}

TEST_CASE("json lines: a good line parses, a blank line is skipped, bad JSON names its line", "[clients][json]") {
  auto good = parse_event_line(R"({"stream":"forsendelse-1","type":"ForsendelseMottatt","expected_version":-1,"data":{"a":1}})" "\r", 1);
  REQUIRE(good);
  REQUIRE(*good);
  CHECK((*good)->stream == "forsendelse-1");
  CHECK((*good)->expected_version == -1);
  CHECK_FALSE((*good)->id);

  auto blank = parse_event_line("   ", 2);
  REQUIRE(blank);
  CHECK_FALSE(*blank);

  auto bad = parse_event_line("{\"stream\": \"s\", \"type\": ", 17);
  REQUIRE_FALSE(bad);
  CHECK(bad.error().rfind("line 17: ", 0) == 0);

  auto missing = parse_event_line(R"({"type":"X","data":{}})", 3);
  REQUIRE_FALSE(missing);
  CHECK(missing.error().find("line 3") == 0);
  CHECK(missing.error().find("stream") != std::string::npos);
}

TEST_CASE("json lines: an acknowledgement has topic, partition, offset, version and id", "[clients][json]") {
  event_position p;
  p.partition = 2;
  p.offset = 41;
  p.version = 3;
  p.id = *codec::event_id::parse("01890a5d-ac96-774b-bcce-b302099a8057");
  CHECK(ack_json("forsendelser", p) ==
        R"({"topic":"forsendelser","partition":2,"offset":41,"version":3,"id":"01890a5d-ac96-774b-bcce-b302099a8057"})");
  p.duplicate = true;
  CHECK(ack_json("t", p).find(",\"duplicate\":true}") != std::string::npos);
  CHECK(json_quote("a\"b\n") == "\"a\\\"b\\n\"");
}

TEST_CASE("client: broker addresses are HOST:PORT", "[clients][client]") {
  auto a = parse_broker_address("10.0.0.1:7070");
  REQUIRE(a);
  CHECK(a->host == "10.0.0.1");
  CHECK(a->port == 7070);
  auto v6 = parse_broker_address("[::1]:9000");
  REQUIRE(v6);
  CHECK(v6->host == "::1");
  CHECK_FALSE(parse_broker_address("localhost"));
  CHECK_FALSE(parse_broker_address("localhost:"));
  CHECK_FALSE(parse_broker_address("localhost:70000"));
  CHECK_FALSE(parse_broker_address(":7070"));
}

// architecture.md: clients depend on codec and on the pure projections
// (broker/projections/, which `muninn audit` rebuilds with), nothing else of broker/.
TEST_CASE("clients: no file of clients/ includes a storage/ header or a broker/ one outside broker/projections/", "[clients][architecture]") {
  const auto root = std::filesystem::path(__FILE__).parent_path().parent_path().parent_path();
  std::size_t files = 0;
  std::string offending;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(root / "clients")) {
    const auto ext = entry.path().extension();
    if (ext != ".h" && ext != ".cc") continue;
    ++files;
    std::ifstream in(entry.path());
    std::string line;
    while (std::getline(in, line))
      if ((line.find("#include \"broker/") != std::string::npos &&
           line.find("#include \"broker/projections/") == std::string::npos) ||
          line.find("#include \"storage/") != std::string::npos)
        offending += entry.path().string() + ": " + line + "\n";
  }
  CHECK(offending == "");
  CHECK(files > 5);
}
