// muninn-bench: load generators and comparisons against physical limits.
// Dispatches on the subcommand; each one prints its own table.
#include <cstdio>
#include <span>
#include <string_view>

#include "bench/commands.h"

namespace {

struct subcommand {
  std::string_view name;
  int (*run)(std::span<char*> args);
  std::string_view summary;
};

constexpr subcommand subcommands[] = {
    {"storage", muninn::bench::storage_main, "partition log append throughput and latency vs raw disk"},
    {"produce", muninn::bench::produce_main, "muninnd over loopback: produce throughput and ack latency vs raw disk"},
    {"consume", muninn::bench::consume_main, "muninnd over loopback: replay from offset 0 by fetch, subscribe, storage"},
    {"group", muninn::bench::group_main, "consumer groups: drain by 1, 2, 4 members vs plain subscribe; failover after SIGKILL"},
    {"projection", muninn::bench::projection_main, "projection rebuild from offset 0 vs raw replay of the same events"},
};

void usage() {
  std::fprintf(stderr, "usage: muninn-bench <subcommand> [options]\n\nsubcommands:\n");
  for (const auto& s : subcommands)
    std::fprintf(stderr, "  %-10.*s %.*s\n", static_cast<int>(s.name.size()), s.name.data(),
                 static_cast<int>(s.summary.size()), s.summary.data());
  std::fprintf(stderr, "\n`muninn-bench <subcommand> --help` lists its options.\n");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    usage();
    return 2;
  }
  const std::string_view name = argv[1];
  if (name == "-h" || name == "--help" || name == "help") {
    usage();
    return 0;
  }
  for (const auto& s : subcommands)
    if (s.name == name) return s.run(std::span<char*>(argv + 2, static_cast<std::size_t>(argc - 2)));
  std::fprintf(stderr, "muninn-bench: unknown subcommand '%s'\n\n", argv[1]);
  usage();
  return 2;
}
