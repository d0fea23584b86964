// muninnd's configuration: built-in defaults, then an optional TOML file, then command-line flags.
// Invariant: every broker_config that parse_config returns is valid (ports 1-65535, sizes and
// timeouts > 0, max_frame_bytes <= the codec's frame limit). Thread-safety: pure functions, no state.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <spdlog/common.h>

#include "broker/projections/projection.h"
#include "codec/frame.h"
#include "codec/result.h"
#include "storage/log.h"

namespace muninn::broker {

// A listening address. `host` is stored without IPv6 brackets ("::1"), as
// Asio's make_address and resolvers want it; to_string puts them back.
struct endpoint {
  std::string host;
  std::uint16_t port = 0;

  friend bool operator==(const endpoint&, const endpoint&) = default;
};

inline constexpr std::uint32_t default_max_frame_bytes = 16u << 20;
static_assert(default_max_frame_bytes <= codec::max_frame_payload_bytes);

struct broker_config {
  std::string data_dir = "./data";
  endpoint listen{"127.0.0.1", 7070};  // binary protocol
  endpoint http{"127.0.0.1", 7071};    // /healthz, /metrics

  // [limits]: what one client may cost the broker.
  std::uint32_t max_frame_bytes = default_max_frame_bytes;  // <= codec::max_frame_payload_bytes
  std::uint32_t max_connections = 1024;
  std::uint32_t max_inflight_per_connection = 256;
  std::uint32_t idle_timeout_ms = 300'000;  // no complete frame for this long: the connection is closed
  std::uint32_t read_timeout_ms = 30'000;   // a started frame must complete within this

  // [storage]
  std::uint64_t segment_bytes = 1ull << 30;
  storage::ack_mode default_acks = storage::ack_mode::durable;

  // [projections.NAME]: configuration overrides per projection (keys and
  // rules in broker/projections/registry.h; checked when the file is read).
  std::vector<std::pair<std::string, projections::query_params>> projections;

  // [log]
  spdlog::level::level_enum log_level = spdlog::level::info;

  // Where the values came from, for the start-up log line.
  std::string config_file;  // empty: none was given

  // --help / -h was given: print usage() and exit 0. The other fields are
  // then the defaults (neither the file nor the later flags were read).
  bool help_requested = false;
};

// Parses argv (argv[0] is the program name and is skipped). Flags take
// `--flag VALUE` or `--flag=VALUE`; a flag given twice keeps the last value.
// The error is one line naming the flag or `file:line: key` and the rule.
result<broker_config, std::string> parse_config(int argc, const char* const* argv);

// "HOST:PORT" or "[IPv6]:PORT", port 1-65535. The error names the rule only;
// callers prefix the flag or key.
result<endpoint, std::string> parse_endpoint(std::string_view text);

// "127.0.0.1:7070", "[::1]:7070".
std::string to_string(const endpoint& e);
std::string_view to_string(storage::ack_mode acks);

// One line with every effective value, for the start-up log.
std::string describe(const broker_config& config);

// The --help text (ends with a newline).
std::string usage();

}  // namespace muninn::broker
