#include "clients/errors.h"

namespace muninn::client {

std::string_view to_string(error_kind k) noexcept {
  switch (k) {
    case error_kind::connection: return "connection";
    case error_kind::timeout: return "timeout";
    case error_kind::protocol: return "protocol";
    case error_kind::broker: return "broker";
    case error_kind::conflict: return "conflict";
    case error_kind::would_block: return "would block";
    case error_kind::usage: return "usage";
  }
  return "unknown";
}

std::string client_error::describe() const {
  std::string out(to_string(kind));
  if (code != fb::ErrorCode::ok) {
    out += " ";
    out += fb::EnumNameErrorCode(code);
  }
  out += ": ";
  out += message.empty() ? std::string("(no message)") : message;
  std::string detail;
  auto add = [&](const std::string& s) {
    if (!detail.empty()) detail += ", ";
    detail += s;
  };
  if (event_index >= 0) add("event " + std::to_string(event_index));
  if (!field.empty()) add("field " + field);
  if (!rule.empty()) add("rule " + rule);
  if (actual_version >= 0 || kind == error_kind::conflict) add("actual version " + std::to_string(actual_version));
  if (!detail.empty()) out += " (" + detail + ")";
  for (auto& c : out)
    if (c == '\n' || c == '\r') c = ' ';
  return out;
}

bool client_error::retryable() const noexcept {
  switch (kind) {
    case error_kind::connection:
    case error_kind::timeout: return true;
    case error_kind::broker:
      return code == fb::ErrorCode::fenced || code == fb::ErrorCode::shutting_down ||
             code == fb::ErrorCode::too_many_requests;
    default: return false;
  }
}

client_error make_error(error_kind kind, std::string message) {
  client_error e;
  e.kind = kind;
  e.message = std::move(message);
  return e;
}

client_error error_from_broker(const fb::Error* e) {
  client_error out;
  out.kind = error_kind::broker;
  if (!e) {
    out.code = fb::ErrorCode::internal;
    out.message = "broker error without details";
    return out;
  }
  out.code = e->code();
  if (out.code == fb::ErrorCode::wrong_expected_version) out.kind = error_kind::conflict;
  out.message = e->message() ? e->message()->str() : std::string(fb::EnumNameErrorCode(out.code));
  out.event_index = e->event_index();
  out.field = e->field() ? e->field()->str() : std::string{};
  out.rule = e->rule() ? e->rule()->str() : std::string{};
  out.actual_version = e->actual_version();
  return out;
}

}  // namespace muninn::client
