#include "codec/json.h"

#include "codec/civil.h"

#include <flatbuffers/flexbuffers.h>
#include <flatbuffers/idl.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <climits>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "codec/batch_generated.h"

namespace muninn::codec {
namespace {

// ---- parsing helpers --------------------------------------------------------

// FlatBuffers' ParseFlexBuffer stops after the first value and ignores what
// follows (`{"a":1} xx` parses). The lexer's one-token lookahead tells us
// whether anything follows; its end-of-file token value is private to
// idl_parser.cpp, so it is learnt once from a parse of "0".
class envelope_parser : public flatbuffers::Parser {
 public:
  explicit envelope_parser(const flatbuffers::IDLOptions& o) : flatbuffers::Parser(o) {}
  int lookahead() const noexcept { return token_; }
};

flatbuffers::IDLOptions parser_options() {
  flatbuffers::IDLOptions o;
  o.strict_json = true;  // keys must be quoted, no trailing commas
  return o;
}

int eof_token() {
  static const int token = [] {
    envelope_parser p(parser_options());
    flexbuffers::Builder b;
    (void)p.ParseFlexBuffer("0", nullptr, &b);
    return p.lookahead();
  }();
  return token;
}

std::string one_line(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  for (char& c : s) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return s;
}

// FlatBuffers 2.0.8 turns an integer literal it cannot hold in int64 (and a
// hex literal) into 0 without an error. Amounts are int64 minor units, so a
// silent 0 would be a wrong payment; this lexical pass over text the parser
// has already accepted finds such literals. It is not a parser: it only
// skips strings and comments and looks at number tokens.
std::optional<std::string> first_bad_integer(std::string_view s) {
  auto is_word = [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '+' ||
           c == '-';
  };
  std::size_t i = 0;
  while (i < s.size()) {
    const char c = s[i];
    if (c == '"' || c == '\'') {
      for (++i; i < s.size() && s[i] != c; ++i) {
        if (s[i] == '\\') ++i;
      }
      ++i;
    } else if (c == '/' && i + 1 < s.size() && s[i + 1] == '/') {
      while (i < s.size() && s[i] != '\n') ++i;
    } else if (c == '/' && i + 1 < s.size() && s[i + 1] == '*') {
      const auto end = s.find("*/", i + 2);
      i = end == std::string_view::npos ? s.size() : end + 2;
    } else if (is_word(c)) {
      std::size_t j = i;
      while (j < s.size() && is_word(s[j])) ++j;
      std::string_view tok = s.substr(i, j - i);
      i = j;
      const bool numeric = std::isdigit(static_cast<unsigned char>(tok[0])) ||
                           (tok.size() > 1 && (tok[0] == '-' || tok[0] == '+'));
      if (!numeric) continue;  // true, false, null
      const bool hex = tok.find_first_of("xX") != std::string_view::npos;
      if (!hex && tok.find_first_of(".eE") != std::string_view::npos) continue;  // a float
      std::string_view digits = tok[0] == '+' ? tok.substr(1) : tok;
      std::int64_t v;
      const auto r = std::from_chars(digits.data(), digits.data() + digits.size(), v);
      if (r.ec != std::errc{} || r.ptr != digits.data() + digits.size()) return std::string(tok);
    } else {
      ++i;
    }
  }
  return std::nullopt;
}

// Copies one value of the parsed envelope into its own FlexBuffer.
bool copy_value(flexbuffers::Reference r, flexbuffers::Builder& b, std::string& why) {
  switch (r.GetType()) {
    case flexbuffers::FBT_NULL: b.Null(); return true;
    case flexbuffers::FBT_BOOL: b.Bool(r.AsBool()); return true;
    case flexbuffers::FBT_INT:
    case flexbuffers::FBT_INDIRECT_INT: b.Int(r.AsInt64()); return true;
    case flexbuffers::FBT_UINT:
    case flexbuffers::FBT_INDIRECT_UINT: b.UInt(r.AsUInt64()); return true;
    case flexbuffers::FBT_FLOAT:
    case flexbuffers::FBT_INDIRECT_FLOAT: {
      const double d = r.AsDouble();
      if (!std::isfinite(d)) {
        why = "numbers must be finite (got nan, inf or an out-of-range float)";
        return false;
      }
      b.Double(d);
      return true;
    }
    case flexbuffers::FBT_STRING: {
      const auto s = r.AsString();
      b.String(s.c_str(), s.length());
      return true;
    }
    case flexbuffers::FBT_MAP: {
      const auto m = r.AsMap();
      const auto keys = m.Keys();
      const auto vals = m.Values();
      const auto start = b.StartMap();
      for (std::size_t i = 0; i < keys.size(); ++i) {
        const char* k = keys[i].AsKey();
        b.Key(k, std::strlen(k));
        if (!copy_value(vals[i], b, why)) return false;
      }
      b.EndMap(start);
      return true;
    }
    case flexbuffers::FBT_VECTOR: {  // the JSON parser makes only untyped vectors
      const auto v = r.AsVector();
      const auto start = b.StartVector();
      for (std::size_t i = 0; i < v.size(); ++i) {
        if (!copy_value(v[i], b, why)) return false;
      }
      b.EndVector(start, false, false);
      return true;
    }
    default:
      why = "unsupported JSON value";
      return false;
  }
}

json_error fail(errc code, std::string field, std::string rule) {
  std::string msg = field.empty() ? rule : "field '" + field + "': " + rule;
  return json_error{code, std::move(field), one_line(std::move(msg))};
}

std::string size_rule(std::uint32_t max, std::size_t got) {
  return "must be 1-" + std::to_string(max) + " bytes (got " + std::to_string(got) + ")";
}

// ---- printing helpers -------------------------------------------------------

// Length of the valid UTF-8 sequence at s[i], or 0 when it is not one
// (overlong forms, surrogates and code points above U+10FFFF are invalid).
std::size_t utf8_len(std::string_view s, std::size_t i) noexcept {
  const auto b0 = static_cast<unsigned char>(s[i]);
  std::size_t n;
  std::uint32_t cp;
  if (b0 < 0x80) return 1;
  if (b0 >= 0xC2 && b0 <= 0xDF) { n = 2; cp = b0 & 0x1Fu; }
  else if (b0 >= 0xE0 && b0 <= 0xEF) { n = 3; cp = b0 & 0x0Fu; }
  else if (b0 >= 0xF0 && b0 <= 0xF4) { n = 4; cp = b0 & 0x07u; }
  else return 0;
  if (s.size() - i < n) return 0;
  for (std::size_t k = 1; k < n; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xC0u) != 0x80u) return 0;
    cp = (cp << 6) | (b & 0x3Fu);
  }
  if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF))) return 0;
  if (cp >= 0xD800 && cp <= 0xDFFF) return 0;
  return n;
}

// JSON string literal; invalid UTF-8 bytes become U+FFFD so the output is
// always valid JSON.
void append_quoted(std::string& out, std::string_view s) {
  static constexpr char hex[] = "0123456789abcdef";
  out.push_back('"');
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    switch (c) {
      case '"': out += "\\\""; ++i; continue;
      case '\\': out += "\\\\"; ++i; continue;
      case '\n': out += "\\n"; ++i; continue;
      case '\r': out += "\\r"; ++i; continue;
      case '\t': out += "\\t"; ++i; continue;
      case '\b': out += "\\b"; ++i; continue;
      case '\f': out += "\\f"; ++i; continue;
      default: break;
    }
    if (c < 0x20) {
      out += "\\u00";
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 0xF]);
      ++i;
      continue;
    }
    const std::size_t n = utf8_len(s, i);
    if (n == 0) {
      out += "\\ufffd";
      ++i;
    } else {
      out.append(s.substr(i, n));
      i += n;
    }
  }
  out.push_back('"');
}

void append_base64(std::string& out, std::span<const std::byte> data) {
  static constexpr char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  out.push_back('"');
  std::size_t i = 0;
  for (; i + 3 <= data.size(); i += 3) {
    const auto v = (std::to_integer<std::uint32_t>(data[i]) << 16) |
                   (std::to_integer<std::uint32_t>(data[i + 1]) << 8) |
                   std::to_integer<std::uint32_t>(data[i + 2]);
    out.push_back(tbl[v >> 18]);
    out.push_back(tbl[(v >> 12) & 63]);
    out.push_back(tbl[(v >> 6) & 63]);
    out.push_back(tbl[v & 63]);
  }
  if (const std::size_t rest = data.size() - i; rest > 0) {
    std::uint32_t v = std::to_integer<std::uint32_t>(data[i]) << 16;
    if (rest == 2) v |= std::to_integer<std::uint32_t>(data[i + 1]) << 8;
    out.push_back(tbl[v >> 18]);
    out.push_back(tbl[(v >> 12) & 63]);
    out.push_back(rest == 2 ? tbl[(v >> 6) & 63] : '=');
    out.push_back('=');
  }
  out.push_back('"');
}

template <class T>
void append_number(std::string& out, T v) {
  char buf[32];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

void append_double(std::string& out, double d) {
  if (!std::isfinite(d)) {
    out += "null";  // JSON has no nan/inf
    return;
  }
  char buf[32];
  const auto r = std::to_chars(buf, buf + sizeof buf, d);  // shortest round trip
  const std::string_view s(buf, static_cast<std::size_t>(r.ptr - buf));
  out += s;
  // Keep it a float when read back ("1" would come back as an integer).
  if (s.find_first_of(".eE") == std::string_view::npos) out += ".0";
}

// FlexBuffers -> compact JSON. flexbuffers::Reference::ToString is not used:
// it prints doubles with 12 fixed digits (1e-15 becomes 0.0), pads with
// spaces and can emit non-JSON (\x escapes, nan). A verified FlexBuffer may
// still share sub-values (a DAG), so the walk has a node budget and an
// output cap; past them the caller falls back to base64.
struct json_printer {
  std::string& out;
  std::size_t nodes_left;
  std::size_t max_out;
  const char* buf_begin;
  const char* buf_end;

  // flexbuffers::Verifier in FlatBuffers 2.0.8 does not check that a key is
  // NUL-terminated inside the buffer (VerifyKey tests `*p` instead of `!*p`),
  // so keys are bounded here instead of trusting strlen.
  bool key(flexbuffers::Reference r) {
    const char* k = r.AsKey();
    if (k < buf_begin || k >= buf_end) return false;
    const void* nul = std::memchr(k, 0, static_cast<std::size_t>(buf_end - k));
    if (!nul) return false;
    append_quoted(out, std::string_view(k, static_cast<std::size_t>(static_cast<const char*>(nul) - k)));
    return true;
  }

  bool value(flexbuffers::Reference r, int depth) {
    if (nodes_left-- == 0 || depth > 64 || out.size() > max_out) return false;
    using namespace flexbuffers;
    if (r.IsNull()) {
      out += "null";
    } else if (r.IsBool()) {
      out += r.AsBool() ? "true" : "false";
    } else if (r.IsInt()) {
      append_number(out, r.AsInt64());
    } else if (r.IsUInt()) {
      append_number(out, r.AsUInt64());
    } else if (r.IsFloat()) {
      append_double(out, r.AsDouble());
    } else if (r.IsString()) {
      const auto s = r.AsString();
      append_quoted(out, std::string_view(s.c_str(), s.length()));
    } else if (r.IsKey()) {
      if (!key(r)) return false;
    } else if (r.IsMap()) {
      const auto m = r.AsMap();
      const auto keys = m.Keys();
      const auto vals = m.Values();
      out.push_back('{');
      for (std::size_t i = 0; i < keys.size(); ++i) {
        if (i) out.push_back(',');
        if (!key(keys[i])) return false;
        out.push_back(':');
        if (!value(vals[i], depth + 1)) return false;
      }
      out.push_back('}');
    } else if (r.IsBlob()) {
      const auto blob = r.AsBlob();
      append_base64(out, {reinterpret_cast<const std::byte*>(blob.data()), blob.size()});
    } else if (r.IsVector() || r.IsTypedVector() || r.IsFixedTypedVector()) {
      out.push_back('[');
      if (r.IsVector()) {
        const auto v = r.AsVector();
        for (std::size_t i = 0; i < v.size(); ++i) {
          if (i) out.push_back(',');
          if (!value(v[i], depth + 1)) return false;
        }
      } else if (r.IsTypedVector()) {
        const auto v = r.AsTypedVector();
        for (std::size_t i = 0; i < v.size(); ++i) {
          if (i) out.push_back(',');
          if (!value(v[i], depth + 1)) return false;
        }
      } else {
        const auto v = r.AsFixedTypedVector();
        for (std::size_t i = 0; i < v.size(); ++i) {
          if (i) out.push_back(',');
          if (!value(v[i], depth + 1)) return false;
        }
      }
      out.push_back(']');
    } else {
      return false;
    }
    return true;
  }
};

using codec::civil;
using codec::civil_from_days;
using codec::days_from_civil;
using codec::days_in_month;

constexpr std::int64_t micros_per_day = 86'400'000'000;

}  // namespace

// ---- owned_event / event_from_json -----------------------------------------

event_in owned_event::view() const {
  event_in e;
  e.stream = stream;
  e.type = type;
  e.id = id.value_or(event_id{});
  e.expected_version = expected_version;
  e.time = time;
  e.content_type = content_type;
  e.data = data;
  return e;
}

result<owned_event, json_error> event_from_json(std::string_view line,
                                                const batch_limits& limits) {
  // The parser reads a C string: an embedded NUL would end the text early
  // and hide whatever follows it.
  if (line.find('\0') != std::string_view::npos) {
    return unexpected{fail(errc::json_syntax, "", "line contains a NUL byte")};
  }
  const std::string text(line);
  envelope_parser parser(parser_options());
  flexbuffers::Builder envelope;
  if (!parser.ParseFlexBuffer(text.c_str(), nullptr, &envelope)) {
    return unexpected{fail(errc::json_syntax, "", "invalid JSON: " + parser.error_)};
  }
  if (parser.lookahead() != eof_token()) {
    return unexpected{fail(errc::json_syntax, "", "invalid JSON: text after the event object")};
  }
  if (auto bad = first_bad_integer(text)) {
    return unexpected{fail(errc::invalid_value, "",
                           "integer " + *bad + " is not a decimal integer within int64")};
  }
  const auto root = flexbuffers::GetRoot(envelope.GetBuffer());
  if (!root.IsMap()) {
    return unexpected{fail(errc::invalid_value, "", "an event must be a JSON object")};
  }

  owned_event ev;
  bool has_stream = false, has_type = false, has_data = false;
  const auto m = root.AsMap();
  const auto keys = m.Keys();
  const auto vals = m.Values();
  for (std::size_t i = 0; i < keys.size(); ++i) {
    const std::string key = keys[i].AsKey();
    const auto v = vals[i];
    if (key == "stream" || key == "type") {
      if (!v.IsString()) return unexpected{fail(errc::invalid_value, key, "must be a string")};
      const auto s = v.AsString();
      const std::uint32_t max = key == "stream" ? limits.max_stream_bytes : limits.max_type_bytes;
      if (s.length() == 0) return unexpected{fail(errc::missing_field, key, size_rule(max, 0))};
      if (s.length() > max) {
        return unexpected{fail(errc::limit_exceeded, key, size_rule(max, s.length()))};
      }
      std::string value(s.c_str(), s.length());
      if (key == "stream") {
        if (value.find('\0') != std::string::npos) {
          return unexpected{fail(errc::invalid_value, key, "must not contain a NUL character")};
        }
        ev.stream = std::move(value);
        has_stream = true;
      } else {
        ev.type = std::move(value);
        has_type = true;
      }
    } else if (key == "id") {
      std::optional<event_id> id;
      if (v.IsString()) id = event_id::parse(v.AsString().str());
      if (!id) {
        return unexpected{fail(errc::invalid_value, key,
                               "must be a UUID string like 0190a6e0-7a3b-7c4d-8e5f-0123456789ab")};
      }
      if (id->is_nil()) return unexpected{fail(errc::invalid_value, key, "must not be the nil UUID")};
      ev.id = id;
    } else if (key == "expected_version") {
      if (!v.IsInt() && !v.IsUInt()) {
        return unexpected{fail(errc::invalid_value, key, "must be an integer >= -2")};
      }
      const std::int64_t x = v.AsInt64();
      if (x < expect_any || (v.IsUInt() && v.AsUInt64() > static_cast<std::uint64_t>(INT64_MAX))) {
        return unexpected{fail(errc::invalid_value, key,
                               "must be an integer >= -2 (-2 any, -1 stream must not exist)")};
      }
      ev.expected_version = x;
    } else if (key == "time") {
      std::optional<std::int64_t> t;
      if (v.IsString()) t = parse_rfc3339_micros(v.AsString().str());
      if (!t) {
        return unexpected{fail(errc::invalid_value, key,
                               "must be an RFC 3339 string like 2024-02-29T12:00:00.123456Z")};
      }
      ev.time = *t;
    } else if (key == "data") {
      flexbuffers::Builder data;
      std::string why;
      if (!copy_value(v, data, why)) return unexpected{fail(errc::invalid_value, key, why)};
      data.Finish();
      const auto& bytes = data.GetBuffer();
      if (bytes.size() > limits.max_data_bytes) {
        return unexpected{fail(errc::limit_exceeded, key,
                               "encodes to " + std::to_string(bytes.size()) +
                                   " bytes, above the limit of " +
                                   std::to_string(limits.max_data_bytes))};
      }
      const auto* p = reinterpret_cast<const std::byte*>(bytes.data());
      ev.data.assign(p, p + bytes.size());
      ev.content_type = content_type_flexbuffers;
      has_data = true;
    } else {
      return unexpected{fail(errc::invalid_value, key,
                             "unknown key (expected stream, type, id, expected_version, time, "
                             "data)")};
    }
  }
  if (!has_stream) return unexpected{fail(errc::missing_field, "stream", "is required")};
  if (!has_type) return unexpected{fail(errc::missing_field, "type", "is required")};
  if (!has_data) return unexpected{fail(errc::missing_field, "data", "is required")};

  // Belt and braces: the log's own rule must agree with the checks above.
  // The id may still be assigned by the caller, so a stand-in is checked.
  event_in check = ev.view();
  if (!ev.id) check.id.bytes[15] = 1;
  if (const errc e = check_event(check, limits); e != errc::ok) {
    return unexpected{fail(e, "", std::string(to_string(e)))};
  }
  return ev;
}

// ---- output -----------------------------------------------------------------

// The text is first parsed alone, so that it is exactly one value and cannot
// reach outside the envelope it is then placed in (`1, "time": "..."`); the
// envelope parse refuses what FlatBuffers 2.0.8 would silently change
// (integers outside int64 become 0, non-finite numbers).
result<std::vector<std::byte>, std::string> json_data_to_flexbuffer(std::span<const std::byte> data) {
  const std::string text(reinterpret_cast<const char*>(data.data()), data.size());
  if (text.find('\0') != std::string::npos) return unexpected{std::string("must be valid JSON (NUL byte)")};
  {
    envelope_parser p(parser_options());
    flexbuffers::Builder b;
    if (!p.ParseFlexBuffer(text.c_str(), nullptr, &b)) {
      std::string why = p.error_;
      std::replace(why.begin(), why.end(), '\n', ' ');
      return unexpected{"must be valid JSON: " + why};
    }
    if (p.lookahead() != eof_token()) {
      return unexpected{std::string("must be valid JSON: text after the value")};
    }
  }
  auto ev = event_from_json(R"({"stream":"s","type":"t","data":)" + text + "\n}");
  if (!ev) return unexpected{"must be valid JSON: " + ev.error().message};
  return std::move(ev->data);
}

std::string data_to_json(std::string_view content_type, std::span<const std::byte> data) {
  if (data.empty()) return "null";
  if (content_type == content_type_json) {
    return std::string(reinterpret_cast<const char*>(data.data()), data.size());
  }
  std::string out;
  if (content_type == content_type_flexbuffers) {
    const auto* p = reinterpret_cast<const std::uint8_t*>(data.data());
    // The reuse tracker keeps verification linear: without it a vector whose
    // elements all point at one big value is walked once per element.
    std::vector<std::uint8_t> reuse;
    if (flexbuffers::VerifyBuffer(p, data.size(), &reuse)) {
      // Every FlexBuffer value takes at least one byte unless shared, so
      // size + a little bounds an honest walk.
      const auto* chars = reinterpret_cast<const char*>(p);
      json_printer pr{out, data.size() + 16, 32 * data.size() + (1u << 20), chars,
                      chars + data.size()};
      if (pr.value(flexbuffers::GetRoot(p, data.size()), 0)) return out;
      out.clear();
    }
  }
  append_base64(out, data);
  return out;
}

std::string event_to_json(const fb::Event& e, const event_json_extra& extra) {
  auto sv = [](const flatbuffers::String* s) {
    return s ? std::string_view(s->c_str(), s->size()) : std::string_view{};
  };
  std::string out = "{";
  auto key = [&out](std::string_view k) {
    if (out.size() > 1) out.push_back(',');
    append_quoted(out, k);
    out.push_back(':');
  };
  if (extra.topic) { key("topic"); append_quoted(out, *extra.topic); }
  if (extra.partition) { key("partition"); append_number(out, *extra.partition); }
  if (extra.offset) { key("offset"); append_number(out, *extra.offset); }
  if (extra.commit_time) {
    key("commit_time");
    append_quoted(out, format_rfc3339_micros(*extra.commit_time));
  }
  key("stream");
  append_quoted(out, sv(e.stream()));
  key("type");
  append_quoted(out, sv(e.type()));
  if (const auto* id = e.id()) {
    event_id eid;
    std::memcpy(eid.bytes.data(), id->b()->Data(), eid.bytes.size());
    key("id");
    append_quoted(out, eid.to_string());
  }
  if (e.expected_version() != expect_any) {
    key("expected_version");
    append_number(out, e.expected_version());
  }
  if (e.time() != 0) {
    key("time");
    append_quoted(out, format_rfc3339_micros(e.time()));
  }
  key("version");
  append_number(out, e.version());
  const std::string_view ct = sv(e.content_type());
  if (!ct.empty() && ct != content_type_flexbuffers) {
    key("content_type");
    append_quoted(out, ct);
  }
  std::span<const std::byte> data;
  if (const auto* d = e.data()) data = {reinterpret_cast<const std::byte*>(d->data()), d->size()};
  key("data");
  out += data_to_json(ct, data);
  out.push_back('}');
  return out;
}

// ---- RFC 3339 ---------------------------------------------------------------

std::optional<std::int64_t> parse_rfc3339_micros(std::string_view s) noexcept {
  auto num = [&s](std::size_t pos, std::size_t n, unsigned& out) {
    if (pos + n > s.size()) return false;
    out = 0;
    for (std::size_t i = pos; i < pos + n; ++i) {
      if (s[i] < '0' || s[i] > '9') return false;
      out = out * 10 + static_cast<unsigned>(s[i] - '0');
    }
    return true;
  };
  unsigned y, mo, d, h, mi, sec;
  if (!num(0, 4, y) || s.size() < 20 || s[4] != '-' || !num(5, 2, mo) || s[7] != '-' ||
      !num(8, 2, d) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || !num(11, 2, h) ||
      s[13] != ':' || !num(14, 2, mi) || s[16] != ':' || !num(17, 2, sec)) {
    return std::nullopt;
  }
  // No leap-second table here, so :60 is refused rather than guessed.
  if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || sec > 59) {
    return std::nullopt;
  }
  std::size_t i = 19;
  std::int64_t frac = 0;
  if (i < s.size() && s[i] == '.') {
    ++i;
    const std::size_t start = i;
    std::int64_t scale = 100'000;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      frac += (s[i] - '0') * scale;  // digits past the sixth add 0: truncation
      scale /= 10;
      ++i;
    }
    if (i == start) return std::nullopt;
  }
  std::int64_t offset_s = 0;
  if (i < s.size() && (s[i] == 'Z' || s[i] == 'z')) {
    ++i;
  } else if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
    unsigned oh, om;
    if (!num(i + 1, 2, oh) || i + 3 >= s.size() || s[i + 3] != ':' || !num(i + 4, 2, om) ||
        oh > 23 || om > 59) {
      return std::nullopt;
    }
    offset_s = (s[i] == '+' ? 1 : -1) * static_cast<std::int64_t>(oh * 3600 + om * 60);
    i += 6;
  } else {
    return std::nullopt;
  }
  if (i != s.size()) return std::nullopt;
  const std::int64_t secs = days_from_civil(y, mo, d) * 86'400 + h * 3600 + mi * 60 + sec - offset_s;
  return secs * 1'000'000 + frac;
}

std::string format_rfc3339_micros(std::int64_t micros) {
  // Floor division without overflow (micros may be INT64_MIN).
  std::int64_t days = micros / micros_per_day;
  std::int64_t rem = micros % micros_per_day;
  if (rem < 0) {
    rem += micros_per_day;
    --days;
  }
  const civil c = civil_from_days(days);
  const auto secs = rem / 1'000'000;
  char buf[64];
  const int n = std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02lld:%02lld:%02lld.%06lldZ",
                              static_cast<long long>(c.y), c.m, c.d,
                              static_cast<long long>(secs / 3600),
                              static_cast<long long>(secs / 60 % 60),
                              static_cast<long long>(secs % 60),
                              static_cast<long long>(rem % 1'000'000));
  return std::string(buf, static_cast<std::size_t>(n));
}

}  // namespace muninn::codec
