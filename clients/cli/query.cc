// muninn forsendelse ... / muninn reskontra ...: projection queries. `--json`
// prints the broker's answer byte for byte (what HTTP serves); otherwise the
// answer is parsed with FlatBuffers' JSON parser into a FlexBuffer and shown
// generically (key: value lines, tables for arrays of objects), so the
// rendering follows whatever fields a projection emits.
#include <flatbuffers/flexbuffers.h>
#include <flatbuffers/idl.h>

#include <algorithm>
#include <charconv>
#include <map>

#include "clients/cli/cli.h"
#include "clients/json_lines.h"

namespace muninn::cli {

std::optional<std::string> only_options(const args& a, std::initializer_list<std::string_view> allowed) {
  for (const auto& [name, value] : a.options) {
    if (name == "broker") continue;
    if (std::find(allowed.begin(), allowed.end(), name) == allowed.end())
      return "option --" + name + " does not apply to '" + a.positional[0] +
             (a.positional.size() > 1 ? " " + a.positional[1] : std::string()) + "'";
  }
  return std::nullopt;
}

namespace {

// ---- rendering ------------------------------------------------------------------

// FlexBuffer maps keep their keys sorted, which loses the order the
// projection chose (id first, ...). For display only, keys are ordered by
// where `"key":` first appears in the answer's text after where the enclosing
// value's own `"label":` does (so an array's columns follow its first
// element); a key not found sorts last. This orders, it does not parse:
// every value shown comes from the FlexBuffer.
class key_order {
 public:
  explicit key_order(const std::string& json) : json_(json) {}
  // Where `"label":` appears at or after `from`; `from` when it does not.
  std::size_t scope(const std::string& label, std::size_t from) const {
    if (label.empty()) return from;
    const auto at = json_.find(client::json_quote(label) + ":", from);
    return at == std::string::npos ? from : at;
  }
  std::vector<std::string> sorted(std::vector<std::string> keys, std::size_t from) const {
    std::vector<std::pair<std::size_t, std::string>> ranked;
    for (auto& k : keys) ranked.emplace_back(json_.find(client::json_quote(k) + ":", from), std::move(k));
    std::stable_sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    keys.clear();
    for (auto& [rank, k] : ranked) keys.push_back(std::move(k));
    return keys;
  }

 private:
  const std::string& json_;
};

std::string number_text(const flexbuffers::Reference& r) {
  if (r.IsUInt()) return std::to_string(r.AsUInt64());
  if (r.IsInt()) return std::to_string(r.AsInt64());
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, r.AsDouble());
  return ec == std::errc() ? std::string(buf, end) : std::string("?");
}

// Compact JSON of a value (for nested values inside a table cell).
void compact(const flexbuffers::Reference& r, std::string& out) {
  if (r.IsNull()) {
    out += "null";
  } else if (r.IsBool()) {
    out += r.AsBool() ? "true" : "false";
  } else if (r.IsNumeric()) {
    out += number_text(r);
  } else if (r.IsString() || r.IsKey()) {
    out += client::json_quote(r.IsString() ? r.AsString().str() : std::string(r.AsKey()));
  } else if (r.IsMap()) {
    const auto m = r.AsMap();
    const auto keys = m.Keys();
    const auto vals = m.Values();
    out += "{";
    for (std::size_t i = 0; i < keys.size(); ++i) {
      if (i) out += ",";
      out += client::json_quote(keys[i].AsKey()) + ":";
      compact(vals[i], out);
    }
    out += "}";
  } else if (r.IsUntypedVector()) {
    const auto v = r.AsVector();
    out += "[";
    for (std::size_t i = 0; i < v.size(); ++i) {
      if (i) out += ",";
      compact(v[i], out);
    }
    out += "]";
  } else {
    std::string s;
    r.ToString(true, true, s);
    out += s;
  }
}

// A value as one cell or after "key: ": scalars plain, null as "-".
std::string scalar_text(const flexbuffers::Reference& r) {
  if (r.IsNull()) return "-";
  if (r.IsBool()) return r.AsBool() ? "true" : "false";
  if (r.IsNumeric()) return number_text(r);
  if (r.IsString()) return r.AsString().str();
  std::string s;
  compact(r, s);
  return s;
}

bool is_scalar(const flexbuffers::Reference& r) { return !r.IsMap() && !r.IsAnyVector(); }

std::size_t display_width(const std::string& s) {
  std::size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;  // UTF-8 code points
  return n;
}

bool all_maps(const flexbuffers::Vector& v) {
  if (v.size() == 0) return false;
  for (std::size_t i = 0; i < v.size(); ++i)
    if (!v[i].IsMap()) return false;
  return true;
}

void render_table(const flexbuffers::Vector& v, const std::string& indent, const key_order& order, std::size_t from,
                  std::string& out) {
  std::vector<std::string> columns;
  for (std::size_t i = 0; i < v.size(); ++i) {
    const auto keys = v[i].AsMap().Keys();
    for (std::size_t k = 0; k < keys.size(); ++k) {
      std::string key = keys[k].AsKey();
      if (std::find(columns.begin(), columns.end(), key) == columns.end()) columns.push_back(std::move(key));
    }
  }
  columns = order.sorted(std::move(columns), from);
  std::vector<std::vector<std::string>> rows(1, columns);
  for (std::size_t i = 0; i < v.size(); ++i) {
    const auto m = v[i].AsMap();
    std::vector<std::string> row;
    for (const auto& c : columns) {
      const auto cell = m[c];
      // A key the row lacks reads as null: shown empty, unlike a real null ("-").
      bool present = false;
      const auto keys = m.Keys();
      for (std::size_t k = 0; k < keys.size() && !present; ++k) present = c == keys[k].AsKey();
      row.push_back(present ? scalar_text(cell) : std::string());
    }
    rows.push_back(std::move(row));
  }
  std::vector<std::size_t> widths(columns.size(), 0);
  for (const auto& row : rows)
    for (std::size_t c = 0; c < row.size(); ++c) widths[c] = std::max(widths[c], display_width(row[c]));
  for (const auto& row : rows) {
    std::string line = indent;
    for (std::size_t c = 0; c < row.size(); ++c) {
      line += row[c];
      if (c + 1 < row.size()) line.append(widths[c] - display_width(row[c]) + 2, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
}

void render_value(const std::string& label, const flexbuffers::Reference& r, const std::string& indent,
                  const key_order& order, std::size_t from, std::string& out);

void render_map(const flexbuffers::Map& m, const std::string& indent, const key_order& order, std::size_t from,
                std::string& out) {
  const auto keys = m.Keys();
  std::vector<std::string> names;
  for (std::size_t i = 0; i < keys.size(); ++i) names.emplace_back(keys[i].AsKey());
  for (const auto& name : order.sorted(std::move(names), from)) render_value(name, m[name], indent, order, from, out);
}

// `from`: where the enclosing value starts in the answer's text (key_order).
void render_value(const std::string& label, const flexbuffers::Reference& r, const std::string& indent,
                  const key_order& order, std::size_t from, std::string& out) {
  const std::string head = indent + (label.empty() ? std::string() : label + ":");
  if (is_scalar(r)) {
    out += head + (label.empty() ? "" : " ") + scalar_text(r) + "\n";
    return;
  }
  const std::string inner = label.empty() ? indent : indent + "  ";
  const std::size_t here = order.scope(label.starts_with("[") ? std::string() : label, from);
  if (r.IsMap()) {
    if (r.AsMap().size() == 0) {
      out += head + (label.empty() ? "" : " ") + "{}\n";
      return;
    }
    if (!label.empty()) out += head + "\n";
    render_map(r.AsMap(), inner, order, here, out);
    return;
  }
  if (!r.IsUntypedVector()) {
    out += head + (label.empty() ? "" : " ") + scalar_text(r) + "\n";
    return;
  }
  const auto v = r.AsVector();
  if (v.size() == 0) {
    out += head + (label.empty() ? "" : " ") + "(none)\n";
    return;
  }
  if (all_maps(v)) {
    if (!label.empty()) out += head + "\n";
    render_table(v, inner, order, here, out);
    return;
  }
  bool scalars = true;
  for (std::size_t i = 0; i < v.size(); ++i) scalars = scalars && is_scalar(v[i]);
  if (scalars) {
    std::string line;
    for (std::size_t i = 0; i < v.size(); ++i) line += (i ? ", " : "") + scalar_text(v[i]);
    out += head + (label.empty() ? "" : " ") + line + "\n";
    return;
  }
  if (!label.empty()) out += head + "\n";
  for (std::size_t i = 0; i < v.size(); ++i) render_value("[" + std::to_string(i) + "]", v[i], inner, order, here, out);
}

// ---- queries --------------------------------------------------------------------

struct query_spec {
  std::string_view projection;
  std::string_view query;
  // Options passed through as parameters of the same name.
  std::initializer_list<std::string_view> options;
  // The positional argument after the query word, if any, and its parameter.
  std::string_view positional_param;
  std::string_view required;  // an option that must be given
  std::string_view usage;
};

constexpr std::string_view forsendelse_usage =
    "usage: muninn forsendelse get ID | search [--avsender A] [--status S] [--mottaker ID] [--from T] [--to T] "
    "[--limit N] [--after CURSOR] | stats | due --at T [--limit N] [--after CURSOR] | anomalies [--limit N] "
    "[--after CURSOR]   (each with --json)";
constexpr std::string_view reskontra_usage =
    "usage: muninn reskontra party TYPE:VALUE [--at DATE] | trial-balance | unallocated | overdue --at DATE | "
    "anomalies   (each with --json)";

const query_spec* find_spec(std::string_view projection, std::string_view word) {
  static const query_spec specs[] = {
      {"dispatch-status", "get", {}, "id", {}, "muninn forsendelse get ID [--json]"},
      {"dispatch-status", "search", {"avsender", "status", "mottaker", "from", "to", "limit", "after"}, {}, {},
       forsendelse_usage},
      {"dispatch-status", "stats", {}, {}, {}, "muninn forsendelse stats [--json]"},
      {"dispatch-status", "due", {"at", "limit", "after"}, {}, "at", "muninn forsendelse due --at T [--json]"},
      {"dispatch-status", "anomalies", {"limit", "after"}, {}, {}, "muninn forsendelse anomalies [--json]"},
      {"reskontra", "party", {"at"}, "party", {}, "muninn reskontra party TYPE:VALUE [--at DATE] [--json]"},
      {"reskontra", "trial-balance", {}, {}, {}, "muninn reskontra trial-balance [--json]"},
      {"reskontra", "unallocated", {}, {}, {}, "muninn reskontra unallocated [--json]"},
      {"reskontra", "overdue", {"at"}, {}, "at", "muninn reskontra overdue --at DATE [--json]"},
      {"reskontra", "anomalies", {}, {}, {}, "muninn reskontra anomalies [--json]"},
  };
  for (const auto& s : specs)
    if (s.projection == projection && s.query == word) return &s;
  return nullptr;
}

int run_query(client::client& c, const args& a, std::string_view projection, std::string_view usage) {
  if (a.positional.size() < 2) return fail(std::string(usage), exit_usage);
  const auto* spec = find_spec(projection, a.positional[1]);
  if (!spec) return fail("unknown query '" + a.positional[1] + "'; " + std::string(usage), exit_usage);
  const std::size_t want_positional = spec->positional_param.empty() ? 2 : 3;
  if (a.positional.size() != want_positional) return fail("usage: " + std::string(spec->usage), exit_usage);
  std::vector<std::string_view> allowed(spec->options);
  allowed.push_back("json");
  for (const auto& [name, value] : a.options) {
    if (name == "broker" || std::find(allowed.begin(), allowed.end(), name) != allowed.end()) continue;
    return fail("option --" + name + " does not apply to '" + a.positional[0] + " " + a.positional[1] +
                    "'; usage: " + std::string(spec->usage),
                exit_usage);
  }
  if (!spec->required.empty() && !a.has(std::string(spec->required)))
    return fail("--" + std::string(spec->required) + " is required; usage: " + std::string(spec->usage), exit_usage);

  std::vector<client::query_param> params;
  if (!spec->positional_param.empty()) params.push_back({std::string(spec->positional_param), a.positional[2]});
  for (auto o : spec->options)
    if (a.has(std::string(o))) params.push_back({std::string(o), a.get(std::string(o))});

  auto json = c.projection_query(projection, spec->query, params);
  if (!json) return fail(json.error().describe());
  if (a.has("json")) {
    write_line(*json);
    return exit_ok;
  }
  auto text = render_json(*json);
  if (!text) {
    // Not expected from a broker; the answer is still worth showing as is.
    write_line(*json);
    return exit_ok;
  }
  std::fwrite(text->data(), 1, text->size(), stdout);
  return exit_ok;
}

}  // namespace

std::optional<std::string> render_json(const std::string& json) {
  flatbuffers::IDLOptions opts;
  opts.strict_json = true;
  flatbuffers::Parser parser(opts);
  flexbuffers::Builder fbb;
  if (!parser.ParseFlexBuffer(json.c_str(), nullptr, &fbb)) return std::nullopt;
  const auto root = flexbuffers::GetRoot(fbb.GetBuffer());
  const key_order order(json);
  std::string out;
  render_value({}, root, {}, order, 0, out);
  return out;
}

int cmd_forsendelse(client::client& c, const args& a) { return run_query(c, a, "dispatch-status", forsendelse_usage); }

int cmd_reskontra(client::client& c, const args& a) { return run_query(c, a, "reskontra", reskontra_usage); }

}  // namespace muninn::cli
