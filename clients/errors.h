// Errors of the client library as values: a connection problem, a response
// that does not decode, or an error the broker answered with (including the
// typed expected-version conflict). Plain data; safe to copy between threads.
#pragma once

#include <cstdint>
#include <string>

#include "codec/protocol_generated.h"

namespace muninn::client {

enum class error_kind : std::uint8_t {
  connection = 0,   // connect, read or write failed, or the connection closed
  timeout = 1,      // no response within the request timeout (the connection is reset)
  protocol = 2,     // the broker's answer did not decode or verify
  broker = 3,       // the broker answered with an Error (code says which)
  conflict = 4,     // wrong_expected_version: actual_version holds the stream's version
  would_block = 5,  // the producer's in-flight memory is full (only from the I/O thread)
  usage = 6,        // the caller asked for something impossible (bad argument, wrong thread)
};

struct client_error {
  error_kind kind = error_kind::connection;
  fb::ErrorCode code = fb::ErrorCode::ok;  // the broker's code (broker, conflict)
  std::string message;                     // one line for people
  std::int32_t event_index = -1;           // which event of the caller's append, -1 none
  std::string field;
  std::string rule;
  std::int64_t actual_version = -1;        // conflict: the stream's actual last version

  // One line: "<kind>[ <code>]: message[ (event N, field F, rule R)]".
  std::string describe() const;
  // Worth retrying with the same request: connection loss, timeout, or a
  // broker that is fenced, shutting down or over its in-flight limit.
  bool retryable() const noexcept;
  bool is_conflict() const noexcept { return kind == error_kind::conflict; }
};

std::string_view to_string(error_kind k) noexcept;

client_error make_error(error_kind kind, std::string message);
// From a broker Error table (null: an internal error with no details).
client_error error_from_broker(const fb::Error* e);

}  // namespace muninn::client
