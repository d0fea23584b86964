#include "broker/config.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <limits>
#include <optional>
#include <sstream>
#include <vector>

#include <toml++/toml.h>

#include "broker/projections/registry.h"

namespace muninn::broker {

namespace {

using error = std::string;

// ---------------------------------------------------------------- helpers

// Levenshtein distance, for "did you mean" hints on misspelt keys and flags.
std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// The closest candidate, if it is close enough to be a plausible typo.
std::optional<std::string_view> closest(std::string_view word, const std::vector<std::string_view>& candidates) {
  std::optional<std::string_view> best;
  std::size_t best_distance = std::max<std::size_t>(1, std::min<std::size_t>(3, word.size() / 3)) + 1;
  for (std::string_view c : candidates) {
    const std::size_t d = edit_distance(word, c);
    if (d < best_distance) {
      best = c;
      best_distance = d;
    }
  }
  return best;
}

std::string in_quotes(std::string_view s) { return "'" + std::string(s) + "'"; }

// ---------------------------------------------------------------- endpoints

bool is_host_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ||
         c == '_';
}

// Inside brackets: hex digits, ':' and '.' (IPv4-mapped), and a '%zone'.
bool is_ipv6_char(char c) { return is_host_char(c) || c == ':' || c == '%'; }

result<std::uint16_t, error> parse_port(std::string_view text, std::string_view whole) {
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || value < 1 || value > 65535)
    return unexpected(error("port must be 1-65535, got " + in_quotes(text) + " in " + in_quotes(whole)));
  return std::uint16_t(value);
}

// ---------------------------------------------------------------- values

std::string_view type_name(const toml::node& n) {
  switch (n.type()) {
    case toml::node_type::table: return "a table";
    case toml::node_type::array: return "an array";
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a float";
    case toml::node_type::boolean: return "a boolean";
    case toml::node_type::date: return "a date";
    case toml::node_type::time: return "a time";
    case toml::node_type::date_time: return "a date-time";
    case toml::node_type::none: break;
  }
  return "nothing";
}

result<std::string, error> get_string(const toml::node& n) {
  const auto* s = n.as_string();
  if (!s) return unexpected(error("must be a string, got " + std::string(type_name(n))));
  return s->get();
}

result<std::uint64_t, error> get_uint(const toml::node& n, std::uint64_t max, std::string_view why_max = {}) {
  const auto* i = n.as_integer();
  const std::string rule = "must be an integer 1-" + std::to_string(max) + std::string(why_max);
  if (!i) return unexpected(error(rule + ", got " + std::string(type_name(n))));
  const std::int64_t v = i->get();
  if (v < 1 || std::uint64_t(v) > max) return unexpected(error(rule + ", got " + std::to_string(v)));
  return std::uint64_t(v);
}

constexpr std::uint32_t u32_max = std::numeric_limits<std::uint32_t>::max();

result<storage::ack_mode, error> parse_acks(std::string_view s) {
  if (s == "durable") return storage::ack_mode::durable;
  if (s == "written") return storage::ack_mode::written;
  return unexpected(error("must be \"durable\" or \"written\", got " + in_quotes(s)));
}

struct level_name {
  std::string_view name;
  spdlog::level::level_enum level;
};
constexpr level_name level_names[] = {
    {"trace", spdlog::level::trace}, {"debug", spdlog::level::debug}, {"info", spdlog::level::info},
    {"warn", spdlog::level::warn},   {"error", spdlog::level::err},   {"off", spdlog::level::off},
};

result<spdlog::level::level_enum, error> parse_level(std::string_view s) {
  for (const auto& l : level_names)
    if (l.name == s) return l.level;
  return unexpected(error("must be one of trace, debug, info, warn, error, off, got " + in_quotes(s)));
}

std::string_view level_to_string(spdlog::level::level_enum level) {
  for (const auto& l : level_names)
    if (l.level == level) return l.name;
  return "?";
}

// ---------------------------------------------------------------- the file

// Every key the file may hold, with what it sets. The table is the single
// list of known keys: unknown-key errors and their hints come from it too.
using apply_fn = result<void, error> (*)(const toml::node&, broker_config&);

struct key_spec {
  std::string_view section;  // "" for the root table
  std::string_view name;
  apply_fn apply;
};

template <class T, class F>
result<void, error> set(result<T, error> r, F&& assign) {
  if (!r) return unexpected(r.error());
  assign(std::move(r).value());
  return {};
}

result<void, error> set_endpoint(const toml::node& n, endpoint& out) {
  const auto* s = n.as_string();
  if (!s) return unexpected("must be a string \"HOST:PORT\", got " + std::string(type_name(n)));
  return set(parse_endpoint(s->get()), [&](endpoint e) { out = std::move(e); });
}

const key_spec key_specs[] = {
    {"", "data_dir",
     [](const toml::node& n, broker_config& c) -> result<void, error> {
       auto s = get_string(n);
       if (s && s->empty()) return unexpected(error("must not be empty"));
       return set(std::move(s), [&](std::string v) { c.data_dir = std::move(v); });
     }},
    {"", "listen", [](const toml::node& n, broker_config& c) { return set_endpoint(n, c.listen); }},
    {"", "http", [](const toml::node& n, broker_config& c) { return set_endpoint(n, c.http); }},
    {"limits", "max_frame_bytes",
     [](const toml::node& n, broker_config& c) {
       return set(get_uint(n, codec::max_frame_payload_bytes, " (the codec's frame limit)"),
                  [&](std::uint64_t v) { c.max_frame_bytes = std::uint32_t(v); });
     }},
    {"limits", "max_connections",
     [](const toml::node& n, broker_config& c) {
       return set(get_uint(n, u32_max), [&](std::uint64_t v) { c.max_connections = std::uint32_t(v); });
     }},
    {"limits", "max_inflight_per_connection",
     [](const toml::node& n, broker_config& c) {
       return set(get_uint(n, u32_max), [&](std::uint64_t v) { c.max_inflight_per_connection = std::uint32_t(v); });
     }},
    {"limits", "idle_timeout_ms",
     [](const toml::node& n, broker_config& c) {
       return set(get_uint(n, u32_max), [&](std::uint64_t v) { c.idle_timeout_ms = std::uint32_t(v); });
     }},
    {"limits", "read_timeout_ms",
     [](const toml::node& n, broker_config& c) {
       return set(get_uint(n, u32_max), [&](std::uint64_t v) { c.read_timeout_ms = std::uint32_t(v); });
     }},
    {"storage", "segment_bytes",
     [](const toml::node& n, broker_config& c) {
       return set(get_uint(n, std::uint64_t(std::numeric_limits<std::int64_t>::max())),
                  [&](std::uint64_t v) { c.segment_bytes = v; });
     }},
    {"storage", "default_acks",
     [](const toml::node& n, broker_config& c) -> result<void, error> {
       auto s = get_string(n);
       if (!s) return unexpected(s.error());
       return set(parse_acks(*s), [&](storage::ack_mode a) { c.default_acks = a; });
     }},
    {"log", "level",
     [](const toml::node& n, broker_config& c) -> result<void, error> {
       auto s = get_string(n);
       if (!s) return unexpected(s.error());
       return set(parse_level(*s), [&](spdlog::level::level_enum l) { c.log_level = l; });
     }},
};

bool is_section(std::string_view name) {
  return std::any_of(std::begin(key_specs), std::end(key_specs),
                     [&](const key_spec& k) { return !k.section.empty() && k.section == name; });
}

std::string full_name(std::string_view section, std::string_view name) {
  return section.empty() ? std::string(name) : std::string(section) + "." + std::string(name);
}

class file_reader {
 public:
  explicit file_reader(const std::string& file) : file_(file) {}

  result<void, error> read(const toml::table& root, broker_config& c) const {
    for (auto&& [key, node] : root) {
      const std::string_view name = key.str();
      if (name == "projections") {
        if (auto r = read_projections(node, c); !r) return r;
      } else if (is_section(name)) {
        const auto* table = node.as_table();
        if (!table) return unexpected(fail(node.source(), name, "must be a table, got " + std::string(type_name(node))));
        for (auto&& [sub_key, sub_node] : *table)
          if (auto r = apply(name, sub_key, sub_node, c); !r) return r;
      } else if (auto r = apply("", key, node, c); !r) {
        return r;
      }
    }
    return {};
  }

 private:
  // [projections.NAME]: each projection's own keys (broker/projections/
  // registry.h knows them and their rules), values as integers or strings.
  result<void, error> read_projections(const toml::node& node, broker_config& c) const {
    const auto* table = node.as_table();
    if (!table) return unexpected(fail(node.source(), "projections", "must be a table, got " + std::string(type_name(node))));
    for (auto&& [pkey, pnode] : *table) {
      const std::string pname(pkey.str());
      const std::string where = "projections." + pname;
      if (!projections::find_projection_kind(pname)) {
        std::string known;
        for (const auto& k : projections::projection_kinds()) known += (known.empty() ? "" : ", ") + std::string(k.name);
        return unexpected(location(pkey.source()) + ": unknown projection " + in_quotes(where) + " (known: " + known + ")");
      }
      const auto* ptable = pnode.as_table();
      if (!ptable) return unexpected(fail(pnode.source(), where, "must be a table, got " + std::string(type_name(pnode))));
      projections::query_params overrides;
      for (auto&& [k, v] : *ptable) {
        std::string text;
        if (const auto* i = v.as_integer()) {
          text = std::to_string(i->get());
        } else if (const auto* str = v.as_string()) {
          text = str->get();
        } else {
          return unexpected(fail(v.source(), where + "." + std::string(k.str()),
                                 "must be an integer or a string, got " + std::string(type_name(v))));
        }
        overrides.insert_or_assign(std::string(k.str()), std::move(text));
        if (auto checked = projections::projection_config(pname, overrides); !checked) {
          return unexpected(fail(v.source(), where + "." + std::string(k.str()), checked.error()));
        }
      }
      c.projections.emplace_back(pname, std::move(overrides));
    }
    return {};
  }

  result<void, error> apply(std::string_view section, const toml::key& key, const toml::node& node,
                            broker_config& c) const {
    const std::string name = full_name(section, key.str());
    for (const auto& spec : key_specs) {
      if (spec.section != section || spec.name != key.str()) continue;
      if (auto r = spec.apply(node, c); !r) return unexpected(fail(node.source(), name, r.error()));
      return {};
    }
    return unexpected(unknown(key.source(), key.str(), name));
  }

  std::string location(const toml::source_region& where) const {
    // toml++ numbers lines from 1; 0 means it does not know.
    return where.begin.line == 0 ? file_ : file_ + ":" + std::to_string(where.begin.line);
  }

  std::string fail(const toml::source_region& where, std::string_view name, std::string_view rule) const {
    return location(where) + ": key " + in_quotes(name) + ": " + std::string(rule);
  }

  std::string unknown(const toml::source_region& where, std::string_view leaf, const std::string& name) const {
    std::string message = location(where) + ": unknown key " + in_quotes(name);
    // A right key in the wrong table (max_connections at the root) is the
    // likeliest slip; otherwise look for a typo.
    std::vector<std::string> names;
    std::optional<std::string> hint;
    for (const auto& spec : key_specs) {
      names.push_back(full_name(spec.section, spec.name));
      if (!spec.section.empty()) names.emplace_back(spec.section);
      if (spec.name == leaf && !hint) hint = full_name(spec.section, spec.name);
    }
    if (!hint) {
      const std::vector<std::string_view> views(names.begin(), names.end());
      if (auto h = closest(name, views)) hint = std::string(*h);
    }
    if (hint) message += " (did you mean " + in_quotes(*hint) + "?)";
    return message;
  }

  const std::string& file_;
};

result<std::string, error> read_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return unexpected(error(std::strerror(errno)));
  std::string text;
  char buffer[16384];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int e = errno;  // a directory fails here with EISDIR
      ::close(fd);
      return unexpected(error(std::strerror(e)));
    }
    if (n == 0) break;
    text.append(buffer, std::size_t(n));
  }
  ::close(fd);
  return text;
}

// toml++ descriptions are one sentence, but keep the promise of one line.
std::string one_line(std::string_view s) {
  std::string out(s);
  std::replace(out.begin(), out.end(), '\n', ' ');
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

result<void, error> apply_file(const std::string& path, broker_config& c) {
  auto text = read_file(path);
  if (!text) return unexpected("flag --config: cannot read " + in_quotes(path) + ": " + text.error());
  toml::table root;
  // toml++ reports syntax errors by exception; they stop here, as values.
  try {
    root = toml::parse(*text, path);
  } catch (const toml::parse_error& e) {
    const auto& begin = e.source().begin;
    return unexpected(path + ":" + std::to_string(begin.line) + ":" + std::to_string(begin.column) + ": " +
                      one_line(e.description()));
  }
  return file_reader(path).read(root, c);
}

// ---------------------------------------------------------------- flags

struct flag_spec {
  std::string_view name;  // without the leading "--"
  std::string_view value_name;
};
constexpr flag_spec flag_specs[] = {
    {"data", "DIR"}, {"listen", "HOST:PORT"}, {"http", "HOST:PORT"}, {"config", "FILE"}};

// Flags win over the file, so they are collected first and applied last.
struct flag_values {
  std::optional<std::string> data_dir;
  std::optional<endpoint> listen;
  std::optional<endpoint> http;
  std::optional<std::string> config_file;
  bool help = false;
};

result<void, error> take_flag(std::string_view name, std::string_view value, flag_values& out) {
  const std::string flag = "flag --" + std::string(name);
  if (name == "data" || name == "config") {
    if (value.empty()) return unexpected(flag + ": must not be empty");
    (name == "data" ? out.data_dir : out.config_file) = std::string(value);
    return {};
  }
  auto e = parse_endpoint(value);
  if (!e) return unexpected(flag + ": " + e.error());
  (name == "listen" ? out.listen : out.http) = std::move(e).value();
  return {};
}

result<flag_values, error> parse_flags(int argc, const char* const* argv) {
  flag_values out;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i] ? argv[i] : "";
    if (arg == "--help" || arg == "-h") {
      out.help = true;
      return out;  // help wins over whatever follows
    }
    if (!arg.starts_with("--") || arg == "--") {
      if (arg.starts_with("-") && arg != "-" && arg != "--")
        return unexpected("unknown flag " + in_quotes(arg) + " (see --help)");
      return unexpected("unexpected argument " + in_quotes(arg) + ": muninnd takes only flags (see --help)");
    }
    const std::string_view body = arg.substr(2);
    const std::size_t eq = body.find('=');
    const std::string_view name = body.substr(0, eq);
    const auto spec = std::find_if(std::begin(flag_specs), std::end(flag_specs),
                                   [&](const flag_spec& f) { return f.name == name; });
    if (spec == std::end(flag_specs)) {
      if (name == "help") return unexpected(error("flag --help takes no value"));
      std::vector<std::string_view> names{"help"};
      for (const auto& f : flag_specs) names.push_back(f.name);
      std::string message = "unknown flag --" + std::string(name);
      if (auto hint = closest(name, names)) message += " (did you mean --" + std::string(*hint) + "?)";
      return unexpected(message + " (see --help)");
    }
    std::string_view value;
    if (eq != std::string_view::npos) {
      value = body.substr(eq + 1);
    } else if (i + 1 < argc && argv[i + 1] && !std::string_view(argv[i + 1]).starts_with("--")) {
      // A following "--x" is taken as a forgotten value, not as the value:
      // `--data --listen :1` is far more likely a slip than a directory name.
      value = argv[++i];
    } else {
      return unexpected("flag --" + std::string(name) + " needs a value: --" + std::string(name) + " " +
                        std::string(spec->value_name));
    }
    if (auto r = take_flag(name, value, out); !r) return unexpected(r.error());
  }
  return out;
}

}  // namespace

// ---------------------------------------------------------------- public

result<endpoint, std::string> parse_endpoint(std::string_view text) {
  const std::string whole = in_quotes(text);
  if (text.empty()) return unexpected(error("expected HOST:PORT, got ''"));
  std::string_view host;
  std::string_view port;
  if (text.front() == '[') {
    const std::size_t close = text.find(']');
    if (close == std::string_view::npos) return unexpected("missing ']' in " + whole + " (IPv6 as [::1]:7070)");
    host = text.substr(1, close - 1);
    if (close + 1 >= text.size() || text[close + 1] != ':')
      return unexpected("expected ':PORT' after ']' in " + whole + " (IPv6 as [::1]:7070)");
    port = text.substr(close + 2);
    if (host.empty() || host.find(':') == std::string_view::npos || !std::all_of(host.begin(), host.end(), is_ipv6_char))
      return unexpected("brackets must hold an IPv6 address, got " + whole);
  } else {
    const std::size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) return unexpected("expected HOST:PORT, got " + whole);
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos)
      return unexpected("an IPv6 address needs brackets, as in [::1]:7070, got " + whole);
    if (host.empty()) return unexpected("missing host in " + whole + " (0.0.0.0 listens on every interface)");
    if (const auto bad = std::find_if_not(host.begin(), host.end(), is_host_char); bad != host.end())
      return unexpected("invalid character " + in_quotes(std::string_view(&*bad, 1)) + " in host of " + whole);
  }
  auto p = parse_port(port, text);
  if (!p) return unexpected(p.error());
  return endpoint{std::string(host), *p};
}

std::string to_string(const endpoint& e) {
  const bool v6 = e.host.find(':') != std::string::npos;
  return (v6 ? "[" + e.host + "]" : e.host) + ":" + std::to_string(e.port);
}

std::string_view to_string(storage::ack_mode acks) {
  return acks == storage::ack_mode::written ? "written" : "durable";
}

result<broker_config, std::string> parse_config(int argc, const char* const* argv) {
  auto flags = parse_flags(argc, argv);
  if (!flags) return unexpected(flags.error());
  broker_config c;
  if (flags->help) {
    c.help_requested = true;
    return c;
  }
  if (flags->config_file) {
    if (auto r = apply_file(*flags->config_file, c); !r) return unexpected(r.error());
    c.config_file = *flags->config_file;
  }
  if (flags->data_dir) c.data_dir = *flags->data_dir;
  if (flags->listen) c.listen = *flags->listen;
  if (flags->http) c.http = *flags->http;
  return c;
}

std::string describe(const broker_config& c) {
  std::ostringstream out;
  out << "data_dir=" << c.data_dir << " listen=" << to_string(c.listen) << " http=" << to_string(c.http)
      << " max_frame_bytes=" << c.max_frame_bytes << " max_connections=" << c.max_connections
      << " max_inflight_per_connection=" << c.max_inflight_per_connection << " idle_timeout_ms=" << c.idle_timeout_ms
      << " read_timeout_ms=" << c.read_timeout_ms << " segment_bytes=" << c.segment_bytes
      << " default_acks=" << to_string(c.default_acks) << " log_level=" << level_to_string(c.log_level)
      << " config=" << (c.config_file.empty() ? "(none)" : c.config_file);
  return out.str();
}

std::string usage() {
  // Defaults come from broker_config itself so the help cannot drift from them.
  const broker_config d;
  std::ostringstream out;
  out << "Usage: muninnd [--data DIR] [--listen HOST:PORT] [--http HOST:PORT] [--config FILE]\n"
         "\n"
         "Muninn's broker: the binary protocol on --listen, /healthz and /metrics over HTTP on --http.\n"
         "\n"
         "Flags (also as --flag=VALUE; a flag wins over the config file, which wins over the defaults):\n"
         "  --data DIR          data directory (default "
      << d.data_dir << ")\n  --listen HOST:PORT  binary protocol address (default " << to_string(d.listen)
      << "); IPv6 as [::1]:7070\n  --http HOST:PORT    HTTP address for /healthz and /metrics (default "
      << to_string(d.http)
      << ")\n"
         "  --config FILE       optional TOML config file; an unknown key is an error\n"
         "  -h, --help          print this help and exit\n"
         "\n"
         "Config file keys, with their defaults (relative paths are relative to the working directory):\n";
  const auto key = [&](const std::string& setting, std::string_view comment = {}) {
    out << "  " << setting;
    if (!comment.empty()) out << std::string(setting.size() < 36 ? 36 - setting.size() : 1, ' ') << "# " << comment;
    out << "\n";
  };
  const auto str = [](std::string_view s) { return "\"" + std::string(s) + "\""; };
  key("data_dir = " + str(d.data_dir));
  key("listen = " + str(to_string(d.listen)));
  key("http = " + str(to_string(d.http)));
  key("[limits]");
  key("max_frame_bytes = " + std::to_string(d.max_frame_bytes),
      "at most " + std::to_string(codec::max_frame_payload_bytes));
  key("max_connections = " + std::to_string(d.max_connections));
  key("max_inflight_per_connection = " + std::to_string(d.max_inflight_per_connection),
      "pipelined requests awaiting a response");
  key("idle_timeout_ms = " + std::to_string(d.idle_timeout_ms), "no complete frame for this long: disconnect");
  key("read_timeout_ms = " + std::to_string(d.read_timeout_ms), "a started frame must complete within this");
  key("[storage]");
  key("segment_bytes = " + std::to_string(d.segment_bytes), "a partition rolls to a new segment past this");
  key("default_acks = " + str(to_string(d.default_acks)), "durable (after fdatasync) | written");
  key("[log]");
  key("level = " + str(level_to_string(d.log_level)), "trace | debug | info | warn | error | off");
  return out.str();
}

}  // namespace muninn::broker
