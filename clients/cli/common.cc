#include <unistd.h>

#include <charconv>
#include <cstdio>

#include "clients/cli/cli.h"

namespace muninn::cli {

std::string args::get(const std::string& name, std::string fallback) const {
  auto it = options.find(name);
  return it == options.end() ? fallback : it->second;
}

std::optional<std::string> parse_args(int argc, char** argv, int first, const std::set<std::string>& flags,
                                      const std::set<std::string>& valued, args& out) {
  for (int i = first; i < argc; ++i) {
    std::string a = argv[i];
    if (a.rfind("--", 0) != 0 || a == "--") {
      out.positional.push_back(a);
      continue;
    }
    std::string name = a.substr(2), value;
    bool has_value = false;
    if (auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      has_value = true;
    }
    if (flags.count(name)) {
      if (has_value) return "option --" + name + " takes no value";
      out.options[name] = "true";
    } else if (valued.count(name)) {
      if (!has_value) {
        if (i + 1 >= argc) return "option --" + name + " needs a value";
        value = argv[++i];
      }
      out.options[name] = value;
    } else {
      return "unknown option --" + name;
    }
  }
  return std::nullopt;
}

std::optional<std::uint64_t> parse_u64(std::string_view s) {
  std::uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || p != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

int fail(const std::string& message, int code) {
  flush_output();
  std::string line = message;
  for (auto& c : line)
    if (c == '\n' || c == '\r') c = ' ';
  // On a terminal a progress line may be showing: clear it first.
  if (::isatty(STDERR_FILENO) == 1) std::fputs("\r\033[K", stderr);
  std::fprintf(stderr, "muninn: error: %s\n", line.c_str());
  return code;
}

progress::progress(std::string what)
    : what_(std::move(what)), enabled_(::isatty(STDERR_FILENO) == 1), start_(std::chrono::steady_clock::now()), last_(start_) {}

progress::~progress() { done(); }

void progress::add(std::uint64_t n) {
  count_ += n;
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  if (now - last_ < std::chrono::milliseconds(500)) return;
  last_ = now;
  const double secs = std::chrono::duration<double>(now - start_).count();
  std::fprintf(stderr, "\r%s: %llu events, %.0f events/s   ", what_.c_str(), static_cast<unsigned long long>(count_),
               secs > 0 ? static_cast<double>(count_) / secs : 0.0);
  std::fflush(stderr);
  shown_ = true;
}

void progress::done() {
  if (shown_) {
    std::fprintf(stderr, "\r\033[K");
    std::fflush(stderr);
    shown_ = false;
  }
}

std::string topic_for_stream(std::string_view s) {
  auto starts = [&](std::string_view p) { return s.substr(0, p.size()) == p; };
  if (starts("forsendelse-")) return "forsendelser";
  for (std::string_view p : {"invoice-", "payment-", "refund-", "supplier-invoice-", "payment-order-", "plan-"})
    if (starts(p)) return "reskontra";
  return {};
}

void write_line(const std::string& line) {
  std::fwrite(line.data(), 1, line.size(), stdout);
  std::fputc('\n', stdout);
}

void flush_output() { std::fflush(stdout); }

}  // namespace muninn::cli
