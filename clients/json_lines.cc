#include "clients/json_lines.h"

#include <cstdio>

namespace muninn::client {

result<std::optional<codec::owned_event>, std::string> parse_event_line(std::string_view line, std::size_t line_no) {
  while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.remove_suffix(1);
  if (line.find_first_not_of(" \t") == std::string_view::npos) return std::optional<codec::owned_event>{};
  auto e = codec::event_from_json(line);
  if (!e) {
    std::string msg = "line " + std::to_string(line_no) + ": ";
    msg += e.error().message.empty() ? std::string(codec::to_string(e.error().code)) : e.error().message;
    for (auto& c : msg)
      if (c == '\n' || c == '\r') c = ' ';
    return unexpected{msg};
  }
  return std::optional<codec::owned_event>(std::move(e).value());
}

std::string json_quote(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  out.push_back('"');
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(static_cast<unsigned char>(c)));
          out += buf;
        } else {
          out.push_back(c);
        }
    }
  }
  out.push_back('"');
  return out;
}

std::string ack_json(std::string_view topic, const event_position& p) {
  std::string s = "{\"topic\":" + json_quote(topic) + ",\"partition\":" + std::to_string(p.partition) +
                  ",\"offset\":" + std::to_string(p.offset) + ",\"version\":" + std::to_string(p.version) +
                  ",\"id\":\"" + p.id.to_string() + "\"";
  if (p.duplicate) s += ",\"duplicate\":true";
  return s + "}";
}

}  // namespace muninn::client
