// muninnd's configuration: defaults, flags in both forms, the TOML file,
// precedence (flags > file > defaults) and one test per error rule, each
// asserting the error names the flag or file:line and key.
#include <catch2/catch.hpp>

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <string>
#include <vector>

#include "broker/config.h"

using namespace muninn::broker;

namespace {

// A temp dir with a config file in it, removed at the end of the test.
struct temp_config {
  std::filesystem::path dir;
  std::string path;

  explicit temp_config(const std::string& text, const std::string& name = "config.toml") {
    std::string tmpl = (std::filesystem::temp_directory_path() / "muninn-config-XXXXXX").string();
    REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
    dir = tmpl;
    path = (dir / name).string();
    std::ofstream(path) << text;
  }
  ~temp_config() { std::filesystem::remove_all(dir); }
  temp_config(const temp_config&) = delete;
  temp_config& operator=(const temp_config&) = delete;
};

muninn::result<broker_config, std::string> parse(std::initializer_list<std::string> args) {
  std::vector<std::string> owned{"muninnd"};
  owned.insert(owned.end(), args.begin(), args.end());
  std::vector<const char*> argv;
  for (const auto& a : owned) argv.push_back(a.c_str());
  return parse_config(int(argv.size()), argv.data());
}

broker_config ok(std::initializer_list<std::string> args) {
  auto r = parse(args);
  if (!r) FAIL("unexpected error: " << r.error());
  return std::move(r).value();
}

std::string fails(std::initializer_list<std::string> args) {
  auto r = parse(args);
  if (r) FAIL("expected an error");
  INFO(r.error());
  CHECK(r.error().find('\n') == std::string::npos);  // every error is one line
  return r.error();
}

// The error from a file holding `text`, with the temp path replaced by
// "config.toml" so expectations read like the messages users see.
std::string file_error(const std::string& text) {
  temp_config f(text);
  std::string e = fails({"--config", f.path});
  if (auto at = e.find(f.path); at != std::string::npos) e.replace(at, f.path.size(), "config.toml");
  return e;
}

broker_config from_file(const std::string& text) {
  temp_config f(text);
  return ok({"--config", f.path});
}

}  // namespace

TEST_CASE("config: defaults", "[broker][config]") {
  const broker_config c = ok({});
  CHECK(c.data_dir == "./data");
  CHECK(c.listen == endpoint{"127.0.0.1", 7070});
  CHECK(c.http == endpoint{"127.0.0.1", 7071});
  CHECK(c.max_frame_bytes == 16u << 20);
  CHECK(c.max_frame_bytes <= muninn::codec::max_frame_payload_bytes);
  CHECK(c.max_connections == 1024);
  CHECK(c.max_inflight_per_connection == 256);
  CHECK(c.idle_timeout_ms == 300000);
  CHECK(c.read_timeout_ms == 30000);
  CHECK(c.default_acks == muninn::storage::ack_mode::durable);
  CHECK(c.segment_bytes == 1ull << 30);
  CHECK(c.log_level == spdlog::level::info);
  CHECK(c.config_file.empty());
  CHECK_FALSE(c.help_requested);
}

TEST_CASE("config: each flag, in both forms", "[broker][config]") {
  SECTION("--flag VALUE") {
    const broker_config c = ok({"--data", "/srv/muninn", "--listen", "0.0.0.0:9000", "--http", "localhost:9001"});
    CHECK(c.data_dir == "/srv/muninn");
    CHECK(c.listen == endpoint{"0.0.0.0", 9000});
    CHECK(c.http == endpoint{"localhost", 9001});
  }
  SECTION("--flag=VALUE") {
    const broker_config c = ok({"--data=/srv/m", "--listen=10.0.0.1:1", "--http=127.0.0.1:65535"});
    CHECK(c.data_dir == "/srv/m");
    CHECK(c.listen == endpoint{"10.0.0.1", 1});
    CHECK(c.http == endpoint{"127.0.0.1", 65535});
  }
  SECTION("a value may contain '='") { CHECK(ok({"--data=a=b"}).data_dir == "a=b"); }
  SECTION("the last of a repeated flag wins") { CHECK(ok({"--data", "a", "--data=b"}).data_dir == "b"); }
  SECTION("--config alone") {
    temp_config f("");
    const broker_config c = ok({"--config=" + f.path});
    CHECK(c.config_file == f.path);
    CHECK(c.data_dir == "./data");  // an empty file changes nothing
  }
}

TEST_CASE("config: --help and -h", "[broker][config]") {
  CHECK(ok({"--help"}).help_requested);
  CHECK(ok({"-h"}).help_requested);
  // Help wins over later flags, even broken ones and a missing file.
  CHECK(ok({"--data", "x", "--help", "--nope", "--config", "/nonexistent"}).help_requested);
  const std::string u = usage();
  for (const char* word : {"--data DIR", "--listen HOST:PORT", "--http HOST:PORT", "--config FILE", "--help",
                           "max_frame_bytes", "max_connections", "max_inflight_per_connection", "idle_timeout_ms",
                           "read_timeout_ms", "segment_bytes", "default_acks", "level", "[::1]:7070"}) {
    INFO(word);
    CHECK(u.find(word) != std::string::npos);
  }
  CHECK(u.back() == '\n');
}

TEST_CASE("config: IPv6 endpoints", "[broker][config]") {
  CHECK(ok({"--listen", "[::1]:7070"}).listen == endpoint{"::1", 7070});
  CHECK(ok({"--http=[::]:80"}).http == endpoint{"::", 80});
  CHECK(ok({"--listen", "[fe80::1%eth0]:7070"}).listen == endpoint{"fe80::1%eth0", 7070});
  CHECK(ok({"--listen", "[::ffff:127.0.0.1]:7070"}).listen == endpoint{"::ffff:127.0.0.1", 7070});
  CHECK(to_string(endpoint{"::1", 7070}) == "[::1]:7070");
  CHECK(to_string(endpoint{"127.0.0.1", 7070}) == "127.0.0.1:7070");
  CHECK(from_file("listen = \"[2001:db8::5]:9\"\n").listen == endpoint{"2001:db8::5", 9});
}

TEST_CASE("config: file values", "[broker][config]") {
  const broker_config c = from_file(R"(# every key
data_dir = "/var/lib/muninn"
listen = "0.0.0.0:7000"
http = "[::1]:7001"

[limits]
max_frame_bytes = 1_048_576
max_connections = 10
max_inflight_per_connection = 4
idle_timeout_ms = 1000
read_timeout_ms = 500

[storage]
segment_bytes = 134217728
default_acks = "written"

[log]
level = "debug"
)");
  CHECK(c.data_dir == "/var/lib/muninn");
  CHECK(c.listen == endpoint{"0.0.0.0", 7000});
  CHECK(c.http == endpoint{"::1", 7001});
  CHECK(c.max_frame_bytes == 1048576);
  CHECK(c.max_connections == 10);
  CHECK(c.max_inflight_per_connection == 4);
  CHECK(c.idle_timeout_ms == 1000);
  CHECK(c.read_timeout_ms == 500);
  CHECK(c.segment_bytes == 134217728);
  CHECK(c.default_acks == muninn::storage::ack_mode::written);
  CHECK(c.log_level == spdlog::level::debug);

  // Dotted keys and inline tables are the same tables to TOML.
  const broker_config d = from_file("limits.max_connections = 7\nlog = { level = \"off\" }\n");
  CHECK(d.max_connections == 7);
  CHECK(d.log_level == spdlog::level::off);

  // Every log level by name.
  const std::pair<const char*, spdlog::level::level_enum> levels[] = {
      {"trace", spdlog::level::trace}, {"debug", spdlog::level::debug}, {"info", spdlog::level::info},
      {"warn", spdlog::level::warn},   {"error", spdlog::level::err},   {"off", spdlog::level::off}};
  for (const auto& [name, level] : levels) {
    INFO(name);
    CHECK(from_file(std::string("[log]\nlevel = \"") + name + "\"\n").log_level == level);
  }

  // The codec's frame limit itself is allowed.
  CHECK(from_file("[limits]\nmax_frame_bytes = " + std::to_string(muninn::codec::max_frame_payload_bytes) + "\n")
            .max_frame_bytes == muninn::codec::max_frame_payload_bytes);
}

TEST_CASE("config: flags win over the file", "[broker][config]") {
  temp_config f("data_dir = \"/from/file\"\nlisten = \"1.2.3.4:1111\"\nhttp = \"1.2.3.4:2222\"\n"
                "[limits]\nmax_connections = 3\n");
  SECTION("flags after --config") {
    const broker_config c = ok({"--config", f.path, "--data", "/from/flag", "--listen=5.6.7.8:3333"});
    CHECK(c.data_dir == "/from/flag");
    CHECK(c.listen == endpoint{"5.6.7.8", 3333});
    CHECK(c.http == endpoint{"1.2.3.4", 2222});  // not given as a flag: the file's
    CHECK(c.max_connections == 3);
  }
  SECTION("flags before --config win just the same") {
    const broker_config c = ok({"--http", "[::1]:4444", "--config", f.path});
    CHECK(c.http == endpoint{"::1", 4444});
    CHECK(c.data_dir == "/from/file");
  }
}

TEST_CASE("config: unknown, malformed and missing flags", "[broker][config]") {
  CHECK(fails({"--bogus"}) == "unknown flag --bogus (see --help)");
  CHECK(fails({"--lisen", "x:1"}) == "unknown flag --lisen (did you mean --listen?) (see --help)");
  CHECK(fails({"--bogus=1"}).starts_with("unknown flag --bogus"));
  CHECK(fails({"-d", "x"}) == "unknown flag '-d' (see --help)");
  CHECK(fails({"data"}).starts_with("unexpected argument 'data'"));
  CHECK(fails({"--"}).starts_with("unexpected argument '--'"));
  CHECK(fails({"--help=yes"}) == "flag --help takes no value");

  CHECK(fails({"--data"}) == "flag --data needs a value: --data DIR");
  CHECK(fails({"--listen"}) == "flag --listen needs a value: --listen HOST:PORT");
  CHECK(fails({"--http"}) == "flag --http needs a value: --http HOST:PORT");
  CHECK(fails({"--config"}) == "flag --config needs a value: --config FILE");
  // A flag where the value should be is a forgotten value, not the value.
  CHECK(fails({"--data", "--listen", "1.2.3.4:5"}) == "flag --data needs a value: --data DIR");
  CHECK(fails({"--data="}) == "flag --data: must not be empty");
  CHECK(fails({"--config="}) == "flag --config: must not be empty");
}

TEST_CASE("config: malformed HOST:PORT", "[broker][config]") {
  CHECK(fails({"--listen", "localhost"}) == "flag --listen: expected HOST:PORT, got 'localhost'");
  CHECK(fails({"--listen="}) == "flag --listen: expected HOST:PORT, got ''");
  CHECK(fails({"--listen", ":7070"}).starts_with("flag --listen: missing host in ':7070'"));
  CHECK(fails({"--http", "h:0"}) == "flag --http: port must be 1-65535, got '0' in 'h:0'");
  CHECK(fails({"--http", "h:65536"}) == "flag --http: port must be 1-65535, got '65536' in 'h:65536'");
  CHECK(fails({"--http", "h:"}) == "flag --http: port must be 1-65535, got '' in 'h:'");
  CHECK(fails({"--http", "h:80x"}).starts_with("flag --http: port must be 1-65535, got '80x'"));
  CHECK(fails({"--http", "h:-1"}).starts_with("flag --http: port must be 1-65535, got '-1'"));
  CHECK(fails({"--http", "h:99999999999999999999"}).starts_with("flag --http: port must be 1-65535"));
  CHECK(fails({"--listen", "::1:7070"}) ==
        "flag --listen: an IPv6 address needs brackets, as in [::1]:7070, got '::1:7070'");
  CHECK(fails({"--listen", "[::1:7070"}).starts_with("flag --listen: missing ']' in '[::1:7070'"));
  CHECK(fails({"--listen", "[::1]7070"}).starts_with("flag --listen: expected ':PORT' after ']'"));
  CHECK(fails({"--listen", "[::1]"}).starts_with("flag --listen: expected ':PORT' after ']'"));
  CHECK(fails({"--listen", "[]:1"}) == "flag --listen: brackets must hold an IPv6 address, got '[]:1'");
  CHECK(fails({"--listen", "[localhost]:1"}).starts_with("flag --listen: brackets must hold an IPv6 address"));
  CHECK(fails({"--listen", "a b:1"}) == "flag --listen: invalid character ' ' in host of 'a b:1'");
  CHECK(fails({"--listen", "a/b:1"}).starts_with("flag --listen: invalid character '/'"));
}

TEST_CASE("config: unknown keys name the file, the line and the key", "[broker][config]") {
  CHECK(file_error("[limits]\nmax_frame_bytes = 1\n\n\n\n\nmax_conections = 5\n") ==
        "config.toml:7: unknown key 'limits.max_conections' (did you mean 'limits.max_connections'?)");
  CHECK(file_error("colour = \"red\"\n") == "config.toml:1: unknown key 'colour'");
  CHECK(file_error("\n[limitz]\nx = 1\n") == "config.toml:2: unknown key 'limitz' (did you mean 'limits'?)");
  // A right key in the wrong table.
  CHECK(file_error("max_connections = 5\n") ==
        "config.toml:1: unknown key 'max_connections' (did you mean 'limits.max_connections'?)");
  CHECK(file_error("[log]\nlevel = \"info\"\nformat = \"json\"\n") == "config.toml:3: unknown key 'log.format'");
  CHECK(file_error("[storage]\nsegment_bytes = 1\n[storage.extra]\nx = 1\n") ==
        "config.toml:3: unknown key 'storage.extra'");
  CHECK(file_error("limits.max_inflight = 5\n").starts_with("config.toml:1: unknown key 'limits.max_inflight'"));
}

TEST_CASE("config: wrong types in the file", "[broker][config]") {
  CHECK(file_error("data_dir = 5\n") == "config.toml:1: key 'data_dir': must be a string, got an integer");
  CHECK(file_error("data_dir = \"\"\n") == "config.toml:1: key 'data_dir': must not be empty");
  CHECK(file_error("listen = 7070\n") == "config.toml:1: key 'listen': must be a string \"HOST:PORT\", got an integer");
  CHECK(file_error("\nhttp = [\"a:1\"]\n") ==
        "config.toml:2: key 'http': must be a string \"HOST:PORT\", got an array");
  CHECK(file_error("limits = 5\n") == "config.toml:1: key 'limits': must be a table, got an integer");
  CHECK(file_error("[limits]\nmax_connections = \"10\"\n") ==
        "config.toml:2: key 'limits.max_connections': must be an integer 1-4294967295, got a string");
  CHECK(file_error("[limits]\nidle_timeout_ms = 1.5\n") ==
        "config.toml:2: key 'limits.idle_timeout_ms': must be an integer 1-4294967295, got a float");
  CHECK(file_error("[limits]\nread_timeout_ms = true\n") ==
        "config.toml:2: key 'limits.read_timeout_ms': must be an integer 1-4294967295, got a boolean");
  CHECK(file_error("[storage]\ndefault_acks = 1\n") ==
        "config.toml:2: key 'storage.default_acks': must be a string, got an integer");
  CHECK(file_error("[log]\nlevel = 2026-01-01\n") == "config.toml:2: key 'log.level': must be a string, got a date");
  CHECK(file_error("[[limits]]\nmax_connections = 1\n").starts_with("config.toml:1: key 'limits': must be a table"));
}

TEST_CASE("config: out-of-range and invalid values in the file", "[broker][config]") {
  const std::string codec_limit = std::to_string(muninn::codec::max_frame_payload_bytes);
  CHECK(file_error("[limits]\nmax_frame_bytes = " + std::to_string(muninn::codec::max_frame_payload_bytes + 1ull)) ==
        "config.toml:2: key 'limits.max_frame_bytes': must be an integer 1-" + codec_limit +
            " (the codec's frame limit), got " + std::to_string(muninn::codec::max_frame_payload_bytes + 1ull));
  CHECK(file_error("[limits]\nmax_frame_bytes = 0\n").starts_with(
      "config.toml:2: key 'limits.max_frame_bytes': must be an integer 1-" + codec_limit));
  CHECK(file_error("[limits]\nmax_connections = 0\n") ==
        "config.toml:2: key 'limits.max_connections': must be an integer 1-4294967295, got 0");
  CHECK(file_error("[limits]\nmax_inflight_per_connection = -3\n") ==
        "config.toml:2: key 'limits.max_inflight_per_connection': must be an integer 1-4294967295, got -3");
  CHECK(file_error("[limits]\nidle_timeout_ms = 4294967296\n") ==
        "config.toml:2: key 'limits.idle_timeout_ms': must be an integer 1-4294967295, got 4294967296");
  CHECK(file_error("[limits]\nread_timeout_ms = 0\n").starts_with("config.toml:2: key 'limits.read_timeout_ms'"));
  CHECK(file_error("[storage]\nsegment_bytes = 0\n") ==
        "config.toml:2: key 'storage.segment_bytes': must be an integer 1-9223372036854775807, got 0");
  CHECK(file_error("[storage]\ndefault_acks = \"fsync\"\n") ==
        "config.toml:2: key 'storage.default_acks': must be \"durable\" or \"written\", got 'fsync'");
  CHECK(file_error("[log]\nlevel = \"verbose\"\n") ==
        "config.toml:2: key 'log.level': must be one of trace, debug, info, warn, error, off, got 'verbose'");
  CHECK(file_error("listen = \"h:0\"\n") == "config.toml:1: key 'listen': port must be 1-65535, got '0' in 'h:0'");
  CHECK(file_error("http = \"::1:80\"\n").starts_with("config.toml:1: key 'http': an IPv6 address needs brackets"));
}

TEST_CASE("config: TOML syntax errors give file:line:column", "[broker][config]") {
  const std::string e = file_error("[limits]\nmax_connections = = 5\n");
  INFO(e);
  CHECK(e.starts_with("config.toml:2:"));
  CHECK(e.size() > std::string("config.toml:2:1: ").size());  // toml++'s description follows
  CHECK(file_error("data_dir = \"unterminated\n").starts_with("config.toml:1:"));
  // A key given twice is a TOML error too (not "last wins" as for flags).
  CHECK(file_error("data_dir = \"a\"\ndata_dir = \"b\"\n").starts_with("config.toml:2:"));
}

TEST_CASE("config: unreadable config file", "[broker][config]") {
  temp_config f("");
  const std::string missing = (f.dir / "nope.toml").string();
  CHECK(fails({"--config", missing}) == "flag --config: cannot read '" + missing + "': No such file or directory");
  CHECK(fails({"--config", f.dir.string()}) ==
        "flag --config: cannot read '" + f.dir.string() + "': Is a directory");
}

TEST_CASE("config: describe names every value", "[broker][config]") {
  broker_config c;
  c.listen = {"::1", 7070};
  const std::string d = describe(c);
  CHECK(d.find("listen=[::1]:7070") != std::string::npos);
  CHECK(d.find("default_acks=durable") != std::string::npos);
  CHECK(d.find("log_level=info") != std::string::npos);
  CHECK(d.find("config=(none)") != std::string::npos);
  CHECK(d.find('\n') == std::string::npos);
}
