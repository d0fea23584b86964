// JSON lines at the tool's edges: one envelope per input line (domain.md)
// into an event, one acknowledgement per appended event out. Pure functions
// over codec/json.h; thread-safe.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "clients/client.h"
#include "codec/json.h"
#include "codec/result.h"

namespace muninn::client {

// An event from one input line; nullopt for a blank line. The error is one
// line naming the line number and what is wrong ("line 3: ...").
result<std::optional<codec::owned_event>, std::string> parse_event_line(std::string_view line, std::size_t line_no);

// {"topic":T,"partition":P,"offset":O,"version":V,"id":ID[,"duplicate":true]}
std::string ack_json(std::string_view topic, const event_position& p);

// A JSON string literal for `s` (quotes and escapes).
std::string json_quote(std::string_view s);

}  // namespace muninn::client
