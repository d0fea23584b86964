// muninn-gen: writes a deterministic JSON-lines scenario to stdout (see
// bench/gen/README.md). Usage errors exit 2 with one line on stderr.
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "bench/gen/generator.h"

namespace {

constexpr std::string_view usage =
    "usage: muninn-gen dispatch|reskontra --seed S --count N [--anomalies FRACTION (default 0.01)]"
    " [--start YYYY-MM-DD] [--days D]";

[[noreturn]] void fail(std::string_view why) {
  std::fprintf(stderr, "muninn-gen: %.*s (%.*s)\n", static_cast<int>(why.size()), why.data(),
               static_cast<int>(usage.size()), usage.data());
  std::exit(2);
}

template <class T>
T parse_unsigned(std::string_view flag, std::string_view text) {
  T v{};
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) {
    fail(std::string(flag) + " needs a non-negative integer, got '" + std::string(text) + "'");
  }
  return v;
}

double parse_fraction(std::string_view text) {
  const std::string s(text);
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (s.empty() || end != s.c_str() + s.size() || !(v >= 0.0 && v <= 1.0)) {
    fail("--anomalies needs a fraction between 0 and 1, got '" + s + "'");
  }
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace muninn;
  if (argc >= 2 && (std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0)) {
    std::printf("%.*s\n", static_cast<int>(usage.size()), usage.data());
    return 0;
  }
  if (argc < 2) fail("missing the domain");
  gen::options o;
  const auto kind = gen::domain_from_string(argv[1]);
  if (!kind) fail("unknown domain '" + std::string(argv[1]) + "' (dispatch or reskontra)");
  o.kind = *kind;
  bool have_seed = false, have_count = false;
  for (int i = 2; i < argc; ++i) {
    const std::string_view flag = argv[i];
    if (i + 1 >= argc) fail(std::string(flag) + " needs a value");
    const std::string_view value = argv[++i];
    if (flag == "--seed") {
      o.seed = parse_unsigned<std::uint64_t>(flag, value);
      have_seed = true;
    } else if (flag == "--count") {
      o.count = parse_unsigned<std::uint64_t>(flag, value);
      have_count = true;
    } else if (flag == "--anomalies") {
      o.anomalies = parse_fraction(value);
    } else if (flag == "--start") {
      o.start = projections::parse_iso_date(value);
      if (!o.start) fail("--start needs a date YYYY-MM-DD, got '" + std::string(value) + "'");
    } else if (flag == "--days") {
      o.days = parse_unsigned<std::uint32_t>(flag, value);
      if (o.days == 0) fail("--days must be at least 1");
    } else {
      fail("unknown option '" + std::string(flag) + "'");
    }
  }
  if (!have_seed) fail("--seed is required");
  if (!have_count) fail("--count is required");
  if (const auto why = gen::check_options(o)) fail(*why);

  gen::scenario s(o);
  std::string line, buffer;
  buffer.reserve(1 << 20);
  while (s.next_line(line)) {
    buffer.append(line);
    buffer.push_back('\n');
    if (buffer.size() >= (1 << 20) - 4096) {
      if (std::fwrite(buffer.data(), 1, buffer.size(), stdout) != buffer.size()) return 1;
      buffer.clear();
    }
  }
  if (std::fwrite(buffer.data(), 1, buffer.size(), stdout) != buffer.size()) return 1;
  if (std::fflush(stdout) != 0) return 1;
  return 0;
}
