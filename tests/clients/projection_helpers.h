// Test helper for the projection commands: a muninnd on a free port, the
// muninn tool run against it, events produced one commit at a time, and a
// wait until every projection has applied the log's head. One owner thread.
#pragma once

#include <catch2/catch.hpp>

#include <chrono>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "clients/client.h"
#include "codec/json.h"
#include "codec/stream_hash.h"
#include "tests/clients/broker_process.h"

namespace muninn::test {

inline std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline std::string source_dir() {
  return std::filesystem::path(__FILE__).parent_path().parent_path().parent_path().string();
}

// The lines of examples/forsendelse.jsonl: one forsendelse from MOTTATT to LEST.
inline std::vector<std::string> example_forsendelse() {
  std::vector<std::string> lines;
  std::istringstream in(slurp(std::filesystem::path(source_dir()) / "examples" / "forsendelse.jsonl"));
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) lines.push_back(line);
  return lines;
}

// A second forsendelse (another avsender), received and accepted only.
inline std::vector<std::string> second_forsendelse() {
  const std::string id = "7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";
  return {
      "{\"stream\":\"forsendelse-" + id + "\",\"type\":\"ForsendelseMottatt\",\"expected_version\":-1,"
      "\"time\":\"2026-11-20T10:00:00Z\",\"data\":{\"forsendelseId\":\"" + id + "\",\"avsender\":\"Oslo kommune\","
      "\"avgivendeSystem\":\"Elements\",\"tittel\":\"Svar på søknad\",\"mottaker\":{\"navn\":\"Ola Nordmann\","
      "\"digitalId\":{\"type\":\"NO_ORGNR\",\"value\":\"123456785\"}},\"konteringskode\":\"SOS-02\","
      "\"kunDigitalLevering\":true,\"dokumenter\":[{\"filnavn\":\"svar.pdf\",\"mimeType\":\"application/pdf\","
      "\"storrelseBytes\":1000,\"skalEkskluderesFraUtskrift\":false}]}}",
      "{\"stream\":\"forsendelse-" + id + "\",\"type\":\"ForsendelseStatusEndret\",\"expected_version\":0,"
      "\"time\":\"2026-11-20T10:00:05Z\",\"data\":{\"forsendelseId\":\"" + id + "\",\"status\":\"AKSEPTERT\"}}",
  };
}

// Two customer invoices, one paid in full, one payment left unallocated;
// the second invoice is overdue from July 2026 on.
inline std::vector<std::string> reskontra_events() {
  return {
      R"({"stream":"invoice-CI-1","type":"CustomerInvoiceIssued","expected_version":-1,"time":"2026-05-05T13:14:31Z","data":{"invoiceId":"CI-1","party":{"type":"SE_ORGNR","value":"852929-2040"},"invoiceNo":"10000001","ocrRef":"100000017","issueDate":"2026-05-05","dueDate":"2026-06-04","currency":"SEK","amountMinor":205097,"vatMinor":0,"revenueAccount":"3051"}})",
      R"({"stream":"invoice-CI-2","type":"CustomerInvoiceIssued","expected_version":-1,"time":"2026-05-07T06:21:55Z","data":{"invoiceId":"CI-2","party":{"type":"SE_PNR","value":"19930721-7266"},"invoiceNo":"10000002","ocrRef":"100000025","issueDate":"2026-05-07","dueDate":"2026-06-06","currency":"SEK","amountMinor":109000,"vatMinor":6169,"revenueAccount":"3081"}})",
      R"({"stream":"payment-PM-1","type":"PaymentReceived","expected_version":-1,"time":"2026-05-26T00:53:19Z","data":{"paymentId":"PM-1","source":"AUTOGIRO","sourceRef":"AUTOGIRO-2026-05-26-0001","ocrRef":"100000017","amountMinor":205097,"currency":"SEK","bookingDate":"2026-05-26"}})",
      R"({"stream":"payment-PM-1","type":"PaymentAllocated","expected_version":0,"time":"2026-05-26T05:37:48Z","data":{"allocationId":"AL-1","paymentId":"PM-1","lines":[{"invoiceId":"CI-1","amountMinor":205097}]}})",
      R"({"stream":"payment-PM-2","type":"PaymentReceived","expected_version":-1,"time":"2026-06-07T10:49:51Z","data":{"paymentId":"PM-2","source":"BGMAX","sourceRef":"BGMAX-2026-06-07-0002","amountMinor":5000,"currency":"SEK","bookingDate":"2026-06-07"}})",
  };
}

struct tool_result {
  int status = -1;
  std::string out, err;
};

// A muninnd in its own temporary directory plus a client connected to it.
struct projection_broker {
  temp_dir dir;
  broker_process broker;
  std::unique_ptr<client::client> c;

  explicit projection_broker(std::vector<std::string> extra_args = {}) : broker(dir.path(), std::move(extra_args)) {
    REQUIRE(broker.start());
    connect();
  }
  void connect() {
    auto opts = client::parse_broker_address(broker.address());
    REQUIRE(opts);
    c = std::make_unique<client::client>(*opts);
  }
  // Stops the broker cleanly (a last projection checkpoint) and drops the client.
  void stop() {
    c.reset();
    CHECK(broker.stop() == 0);
  }
  void restart() {
    REQUIRE(broker.start());
    connect();
  }

  // `muninn --broker ADDR <args>`, stderr kept apart.
  tool_result run(const std::string& args) {
    const auto err = dir.path() / "tool.stderr";
    auto r = run_command((bin_dir() / "muninn").string() + " --broker " + broker.address() + " " + args + " 2> " +
                         err.string() + " < /dev/null");
    return {r.status, r.out, slurp(err)};
  }

  // Each line is its own produce request, so its own commit (and, with a
  // small segment_bytes, its own segment).
  void produce(const std::string& topic, const std::vector<std::string>& lines) {
    auto n = c->partition_count(topic);
    REQUIRE(n);
    for (const auto& line : lines) {
      auto ev = codec::event_from_json(line);
      INFO(line);
      REQUIRE(ev);
      if (!ev->id) ev->id = codec::event_id::generate_v7();
      const auto in = ev->view();
      auto r = c->produce(topic, codec::partition_for(ev->stream, *n), std::span(&in, 1));
      INFO((r ? std::string() : r.error().describe()));
      REQUIRE(r);
    }
  }

  // Until every projection reports lag 0 with its heads at the log's heads.
  std::vector<client::projection_info> wait_caught_up(std::chrono::seconds limit = std::chrono::seconds(30)) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    std::vector<client::projection_info> last;
    while (std::chrono::steady_clock::now() < deadline) {
      auto s = c->projection_status();
      if (s && !s->empty()) {
        bool done = true;
        for (const auto& p : *s) {
          auto t = c->describe_topic(p.topic);
          REQUIRE(t);
          std::uint64_t head = 0;
          for (const auto& part : t->parts) head += part.head;
          done = done && p.lag() == 0 && !p.rebuilding && p.applied_total() == head;
        }
        last = *s;
        if (done) return last;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    FAIL("projections did not catch up; broker log:\n" << slurp(broker.log_path()));
    return last;
  }
};

}  // namespace muninn::test
