#include "broker/http_api.h"

#include <cstdint>
#include <vector>

#include "broker/projection_runner.h"

namespace muninn::broker {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Percent-decoding; `+` is a space in a query string only.
std::optional<std::string> url_decode(std::string_view in, bool query) {
  std::string out;
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    if (c == '%') {
      if (i + 2 >= in.size()) return std::nullopt;
      const int hi = hex_value(in[i + 1]);
      const int lo = hex_value(in[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      const char decoded = static_cast<char>(hi * 16 + lo);
      if (decoded == '\0') return std::nullopt;
      out.push_back(decoded);
      i += 2;
    } else if (c == '+' && query) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::string json_error(std::string_view message) {
  std::string out = "{\"error\":\"";
  for (const char c : message) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          static constexpr char digits[] = "0123456789abcdef";
          out += "\\u00";
          out.push_back(digits[(c >> 4) & 0xf]);
          out.push_back(digits[c & 0xf]);
        } else {
          out.push_back(c);
        }
    }
  }
  out += "\"}\n";
  return out;
}

http_response json_response(unsigned status, std::string body) {
  return http_response{status, "application/json", std::move(body)};
}

}  // namespace

std::optional<api_query> resolve_api_target(std::string_view target, std::string* error) {
  const auto q = target.find('?');
  const std::string_view path = target.substr(0, q);
  const std::string_view query = q == std::string_view::npos ? std::string_view{} : target.substr(q + 1);

  api_query out;
  // Query string: name=value pairs; empty values count as absent.
  std::size_t pos = 0;
  while (pos < query.size()) {
    const auto amp = query.find('&', pos);
    const auto pair = query.substr(pos, amp == std::string_view::npos ? std::string_view::npos : amp - pos);
    pos = amp == std::string_view::npos ? query.size() : amp + 1;
    if (pair.empty()) continue;
    const auto eq = pair.find('=');
    auto name = url_decode(pair.substr(0, eq), true);
    auto value = url_decode(eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1), true);
    if (!name || !value) {
      if (error) *error = "malformed percent-encoding in the query string";
      return std::nullopt;
    }
    if (!value->empty()) out.params.insert_or_assign(std::move(*name), std::move(*value));
  }

  // Path segments after /api/.
  constexpr std::string_view api = "/api/";
  if (!path.starts_with(api)) return std::nullopt;
  std::vector<std::string> seg;
  std::size_t s = api.size();
  while (s <= path.size()) {
    const auto slash = path.find('/', s);
    const auto part = path.substr(s, slash == std::string_view::npos ? std::string_view::npos : slash - s);
    auto decoded = url_decode(part, false);
    if (!decoded) {
      if (error) *error = "malformed percent-encoding in the path";
      return std::nullopt;
    }
    seg.push_back(std::move(*decoded));
    if (slash == std::string_view::npos) break;
    s = slash + 1;
  }
  if (!seg.empty() && seg.back().empty()) seg.pop_back();  // a trailing slash

  if (!seg.empty() && seg[0] == "forsendelser") {
    out.projection = "dispatch-status";
    if (seg.size() == 1) {
      out.query = "search";
    } else if (seg.size() == 2 && (seg[1] == "stats" || seg[1] == "due" || seg[1] == "anomalies")) {
      out.query = seg[1];
    } else if (seg.size() == 2) {
      out.query = "get";
      out.params.insert_or_assign("id", seg[1]);
    } else {
      return std::nullopt;
    }
    return out;
  }
  if (!seg.empty() && seg[0] == "reskontra") {
    out.projection = "reskontra";
    if (seg.size() == 3 && seg[1] == "parties") {
      out.query = "party";
      out.params.insert_or_assign("party", seg[2]);
    } else if (seg.size() == 2 && (seg[1] == "trial-balance" || seg[1] == "unallocated" || seg[1] == "overdue" ||
                                   seg[1] == "anomalies")) {
      out.query = seg[1];
    } else {
      return std::nullopt;
    }
    return out;
  }
  return std::nullopt;
}

std::optional<http_response> serve_api(const std::string& target, const projection_runner& runner) {
  if (!target.starts_with("/api/")) return std::nullopt;
  std::string error;
  auto q = resolve_api_target(target, &error);
  if (!q) {
    if (!error.empty()) return json_response(400, json_error(error));
    return std::nullopt;
  }
  auto answer = runner.query(q->projection, q->query, q->params);
  if (answer) return json_response(200, std::move(answer).value());
  const auto& e = answer.error();
  unsigned status = 500;
  switch (e.code) {
    case projection_errc::unknown_projection: status = 404; break;
    case projection_errc::busy:
    case projection_errc::stopped: status = 503; break;
    case projection_errc::query:
      status = e.query.code == projections::query_errc::bad_parameter ? 400 : 404;
      break;
  }
  return json_response(status, json_error(e.message));
}

}  // namespace muninn::broker
