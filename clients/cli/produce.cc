// muninn produce: JSON lines on stdin, one acknowledgement line per event on
// stdout in input order. Lines are parsed on the main thread and appended
// through the batching producer; acknowledgements are printed on the
// client's I/O thread (under print_mu).
#include <deque>
#include <iostream>
#include <mutex>
#include <optional>

#include "clients/cli/cli.h"
#include "clients/json_lines.h"
#include "clients/producer.h"

namespace muninn::cli {

namespace {

struct ack_printer {
  std::mutex mu;
  std::string topic;
  std::deque<std::optional<client::append_result>> slots;  // from line index `base`
  std::deque<std::size_t> line_numbers;
  std::size_t base = 0;
  std::optional<std::string> first_error;  // "line N: ..."
  bool failed = false;
  progress* prog = nullptr;

  std::size_t add_slot(std::size_t line_no) {
    std::lock_guard lock(mu);
    slots.emplace_back();
    line_numbers.push_back(line_no);
    return base + slots.size() - 1;
  }

  void complete(std::size_t slot, client::append_result r) {
    std::lock_guard lock(mu);
    slots[slot - base] = std::move(r);
    std::size_t printed = 0;
    while (!slots.empty() && slots.front()) {
      auto& res = *slots.front();
      if (res) {
        for (const auto& p : *res) write_line(client::ack_json(topic, p));
        printed += res->size();
      } else if (!first_error) {
        first_error = "line " + std::to_string(line_numbers.front()) + ": " + res.error().describe();
        failed = true;
      }
      slots.pop_front();
      line_numbers.pop_front();
      ++base;
    }
    if (printed) {
      flush_output();
      if (prog) prog->add(printed);
    }
  }
};

}  // namespace

int cmd_produce(client::client& c, const args& a) {
  const auto topic = a.get("topic");
  if (topic.empty() || a.positional.size() != 1) return fail("usage: muninn produce --topic T [--acks durable|written]", exit_usage);
  client::producer_options po;
  const auto acks = a.get("acks", "durable");
  if (acks == "durable") po.acks = client::ack_mode::durable;
  else if (acks == "written") po.acks = client::ack_mode::written;
  else return fail("--acks must be durable or written", exit_usage);

  // Fail fast on an unknown topic or an unreachable broker, before reading stdin.
  if (auto n = c.partition_count(topic); !n) return fail(n.error().describe());

  progress prog("produce " + topic);
  ack_printer printer;
  printer.topic = topic;
  printer.prog = &prog;
  client::producer producer(c, po);

  std::ios::sync_with_stdio(false);
  std::string line;
  std::size_t line_no = 0;
  std::optional<std::string> parse_error;
  while (std::getline(std::cin, line)) {
    ++line_no;
    auto ev = client::parse_event_line(line, line_no);
    if (!ev) {
      parse_error = ev.error();
      break;
    }
    if (!*ev) continue;
    {
      std::lock_guard lock(printer.mu);
      if (printer.failed) break;
    }
    std::vector<codec::owned_event> events;
    events.push_back(std::move(**ev));
    const auto slot = printer.add_slot(line_no);
    producer.append_async(topic, std::move(events),
                          [&printer, slot](client::append_result r) { printer.complete(slot, std::move(r)); });
  }
  producer.flush();
  prog.done();
  flush_output();
  if (parse_error) return fail(*parse_error);
  std::lock_guard lock(printer.mu);
  if (printer.first_error) return fail(*printer.first_error);
  return exit_ok;
}

}  // namespace muninn::cli
