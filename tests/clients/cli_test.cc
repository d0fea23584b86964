// The muninn tool and the example program of docs/clients.md against a
// muninnd on a free loopback port.
#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>
#include <thread>

#include "tests/clients/broker_process.h"

namespace test = muninn::test;

namespace {

using test::count_lines;
using test::read_file;

struct tool {
  test::temp_dir dir;
  test::broker_process broker{dir.path()};
  tool() { REQUIRE(broker.start()); }
  // Runs `muninn --broker ADDR <args>` with `input` on stdin; stderr kept in err.
  test::command_result run(const std::string& args, const std::string& input = {}) {
    const auto in = dir.path() / "stdin";
    std::ofstream(in) << input;
    auto r = test::run_command((test::bin_dir() / "muninn").string() + " --broker " + broker.address() + " " + args +
                               " < " + in.string() + " 2> " + (dir.path() / "stderr").string());
    err = read_file(dir.path() / "stderr");
    return r;
  }
  std::string err;
};

}  // namespace

TEST_CASE("tool: produce, consume, stream read and verify round trip", "[clients][tool]") {
  tool t;
  REQUIRE(t.run("topic create orders --partitions 2").status == 0);
  auto list = t.run("topic list");
  REQUIRE(list.status == 0);
  CHECK(list.out.find("\"topic\":\"orders\"") != std::string::npos);

  const std::string input =
      "{\"stream\":\"order-1\",\"type\":\"Placed\",\"data\":{\"items\":2}}\n"
      "\n"
      "{\"stream\":\"order-2\",\"type\":\"Placed\",\"time\":\"2026-11-23T09:15:00Z\",\"data\":{\"items\":1}}\n"
      "{\"stream\":\"order-1\",\"type\":\"Paid\",\"expected_version\":0,\"data\":null}\n";
  auto produced = t.run("produce --topic orders", input);
  INFO(t.err);
  REQUIRE(produced.status == 0);
  REQUIRE(count_lines(produced.out) == 3);
  CHECK(produced.out.find("\"version\":1") != std::string::npos);

  auto consumed = t.run("consume --topic orders");
  REQUIRE(consumed.status == 0);
  CHECK(count_lines(consumed.out) == 3);
  CHECK(consumed.out.find("\"commit_time\":") != std::string::npos);
  CHECK(consumed.out.find("\"type\":\"Paid\"") != std::string::npos);

  auto stream = t.run("stream read order-1 --topic orders");
  REQUIRE(stream.status == 0);
  CHECK(count_lines(stream.out) == 2);
  CHECK(stream.out.find("\"type\":\"Placed\"") < stream.out.find("\"type\":\"Paid\""));

  auto verified = t.run("verify --topic orders");
  REQUIRE(verified.status == 0);
  CHECK(count_lines(verified.out) == 2);
  CHECK(verified.out.find("\"ok\":false") == std::string::npos);
}

TEST_CASE("tool: a bad JSON line is named, nothing of it is sent, and the exit is non-zero", "[clients][tool]") {
  tool t;
  REQUIRE(t.run("topic create orders").status == 0);
  auto r = t.run("produce --topic orders",
                 "{\"stream\":\"order-1\",\"type\":\"Placed\",\"data\":{}}\n"
                 "{\"stream\":\"order-1\",\"type\":\"Placed\",\"data\":{}}\n"
                 "{\"stream\":\"order-1\",\"type\":\n"
                 "{\"stream\":\"order-1\",\"type\":\"Later\",\"data\":{}}\n");
  CHECK(r.status != 0);
  CHECK(t.err.find("line 3") != std::string::npos);
  CHECK(count_lines(t.err) == 1);
  CHECK(count_lines(r.out) == 2);
  auto consumed = t.run("consume --topic orders");
  REQUIRE(consumed.status == 0);
  CHECK(count_lines(consumed.out) == 2);
  CHECK(consumed.out.find("Later") == std::string::npos);
}

TEST_CASE("tool: a conflict and an unknown topic are one error line with a non-zero exit", "[clients][tool]") {
  tool t;
  REQUIRE(t.run("topic create es").status == 0);
  auto r = t.run("produce --topic es",
                 "{\"stream\":\"acc-1\",\"type\":\"Opened\",\"expected_version\":-1,\"data\":{}}\n"
                 "{\"stream\":\"acc-1\",\"type\":\"Opened\",\"expected_version\":-1,\"data\":{}}\n");
  CHECK(r.status != 0);
  CHECK(count_lines(r.out) == 1);
  CHECK(t.err.find("line 2") != std::string::npos);
  CHECK(t.err.find("wrong_expected_version") != std::string::npos);

  auto missing = t.run("consume --topic nope");
  CHECK(missing.status != 0);
  CHECK(count_lines(t.err) == 1);
  CHECK(t.err.find("unknown_topic") != std::string::npos);
}

TEST_CASE("tool: consume --name resumes after what it printed, --from-time starts at a time", "[clients][tool]") {
  tool t;
  REQUIRE(t.run("topic create orders --partitions 3").status == 0);
  std::string input;
  for (int i = 0; i < 30; ++i) input += "{\"stream\":\"order-" + std::to_string(i) + "\",\"type\":\"Placed\",\"data\":{}}\n";
  REQUIRE(t.run("produce --topic orders", input).status == 0);
  auto first = t.run("consume --topic orders --name audit");
  REQUIRE(first.status == 0);
  CHECK(count_lines(first.out) == 30);
  auto again = t.run("consume --topic orders --name audit");
  REQUIRE(again.status == 0);
  CHECK(count_lines(again.out) == 0);
  REQUIRE(t.run("produce --topic orders", "{\"stream\":\"order-x\",\"type\":\"Late\",\"data\":{}}\n").status == 0);
  auto more = t.run("consume --topic orders --name audit");
  REQUIRE(more.status == 0);
  CHECK(count_lines(more.out) == 1);

  auto future = t.run("consume --topic orders --from-time 2100-01-01T00:00:00Z");
  REQUIRE(future.status == 0);
  CHECK(count_lines(future.out) == 0);
  auto past = t.run("consume --topic orders --from-time 2000-01-01T00:00:00Z");
  REQUIRE(past.status == 0);
  CHECK(count_lines(past.out) == 31);
}

TEST_CASE("example: the program of docs/clients.md runs against a broker", "[clients][example]") {
  tool t;
  auto r = test::run_command((test::bin_dir() / "muninn_client_example").string() + " " + t.broker.address() + " 2>&1");
  INFO(r.out);
  CHECK(r.status == 0);
  CHECK(r.out.find("conflict as expected") != std::string::npos);
}

TEST_CASE("tool: consume --follow prints live events and commits them on SIGTERM", "[clients][tool]") {
  tool t;
  REQUIRE(t.run("topic create live --partitions 2").status == 0);
  REQUIRE(t.run("produce --topic live", "{\"stream\":\"a\",\"type\":\"Old\",\"data\":{}}\n").status == 0);
  const auto out_path = t.dir.path() / "follow.out";
  const auto cmd = "exec " + (test::bin_dir() / "muninn").string() + " --broker " + t.broker.address() +
                   " consume --topic live --follow --name watcher > " + out_path.string() + " 2>&1";
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  REQUIRE(pid > 0);
  auto wait_lines = [&](std::size_t n) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    while (std::chrono::steady_clock::now() < deadline) {
      if (count_lines(read_file(out_path)) >= n) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  };
  CHECK(wait_lines(1));
  std::string input;
  for (int i = 0; i < 5; ++i) input += "{\"stream\":\"s-" + std::to_string(i) + "\",\"type\":\"New\",\"data\":{}}\n";
  REQUIRE(t.run("produce --topic live", input).status == 0);
  CHECK(wait_lines(6));
  ::kill(pid, SIGTERM);
  int status = 0;
  ::waitpid(pid, &status, 0);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  const auto out = read_file(out_path);
  CHECK(count_lines(out) == 6);
  CHECK(out.find("\"type\":\"Old\"") < out.find("\"type\":\"New\""));
  auto resumed = t.run("consume --topic live --name watcher");
  REQUIRE(resumed.status == 0);
  CHECK(count_lines(resumed.out) == 0);
}

TEST_CASE("example: docs/clients.md shows the example program as it is", "[clients][example]") {
  const auto root = std::filesystem::path(__FILE__).parent_path().parent_path().parent_path();
  const auto source = read_file(root / "clients" / "examples" / "example.cc");
  const auto doc = read_file(root / "docs" / "clients.md");
  REQUIRE_FALSE(source.empty());
  CHECK(doc.find(source) != std::string::npos);
}
