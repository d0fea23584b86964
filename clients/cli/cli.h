// The `muninn` tool: shared pieces of its commands (argument parsing, the
// progress line, output). Single-threaded except where a command says so;
// stdout carries only the command's output, errors and progress go to stderr.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "clients/client.h"

namespace muninn::cli {

// Exit codes: 0 ok, 1 the command failed, 2 the command line is wrong.
inline constexpr int exit_ok = 0;
inline constexpr int exit_failed = 1;
inline constexpr int exit_usage = 2;

struct args {
  std::vector<std::string> positional;
  std::map<std::string, std::string> options;  // "--x v" / "--x=v"; flags map to "true"

  bool has(const std::string& name) const { return options.count(name) != 0; }
  std::string get(const std::string& name, std::string fallback = {}) const;
};

// Parses argv[first..]; `flags` take no value, `valued` take one. An
// unknown option or a missing value is an error message.
std::optional<std::string> parse_args(int argc, char** argv, int first, const std::set<std::string>& flags,
                                      const std::set<std::string>& valued, args& out);

std::optional<std::uint64_t> parse_u64(std::string_view s);

// Prints "error: <message>" on stderr; returns `code`.
int fail(const std::string& message, int code = exit_failed);

// A progress line on stderr (`\r<what>: N events, R events/s`) at most
// twice a second, only when stderr is a terminal.
class progress {
 public:
  explicit progress(std::string what);
  ~progress();
  void add(std::uint64_t n);
  void done();

 private:
  std::string what_;
  bool enabled_;
  bool shown_ = false;
  std::uint64_t count_ = 0;
  std::chrono::steady_clock::time_point start_, last_;
};

// Commands; `a.positional[0]` is the command word.
int cmd_topic(client::client& c, const args& a);
int cmd_produce(client::client& c, const args& a);
int cmd_consume(client::client& c, const args& a);
int cmd_stream(client::client& c, const args& a);
int cmd_verify(client::client& c, const args& a);
int cmd_projection(client::client& c, const args& a);
int cmd_forsendelse(client::client& c, const args& a);
int cmd_reskontra(client::client& c, const args& a);
int cmd_audit(client::client& c, const args& a);
int cmd_group(client::client& c, const args& a);
int cmd_consume_group(client::client& c, const args& a);

// One partition's hash chain walked from offset 0 (verify and audit).
struct chain_walk {
  std::uint64_t batches = 0;      // batches that continue the chain
  std::uint64_t next_offset = 0;  // the end of the last of them
  codec::hash256 head_hash{};     // the hash of the last of them
  std::string broken;             // "partition P, offset O: why"; empty while the chain holds
};
using batch_visitor = std::function<void(const client::batch_record&)>;
// Fetches `partition` from offset 0 until the batch holding `target - 1`
// (batches are whole, so next_offset may pass `target`), checking each one
// with client::chain_checker and handing it to `visit` once it is checked.
// A batch that breaks the chain or a frame that does not decode ends the
// walk with `broken` set; other failures (connection, broker) are errors.
result<chain_walk, client::client_error> walk_chain(client::client& c, const std::string& topic,
                                                    std::uint32_t partition, std::uint64_t target,
                                                    const batch_visitor& visit);

// Options a command accepts besides --broker; anything else in `a` is a
// usage error naming it.
std::optional<std::string> only_options(const args& a, std::initializer_list<std::string_view> allowed);

// Renders a JSON document (a projection's answer) for people: objects as
// "key: value" lines, nested objects indented, arrays of objects as
// tables with their keys as columns. Nullopt when `json` does not parse.
std::optional<std::string> render_json(const std::string& json);

// The topic a stream belongs to by domain.md's naming (forsendelse-* ->
// forsendelser, invoice-/payment-/... -> reskontra); empty when unknown.
std::string topic_for_stream(std::string_view stream);

void write_line(const std::string& line);  // to stdout, with '\n'
void flush_output();

}  // namespace muninn::cli
