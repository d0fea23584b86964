// Subcommands of muninn-bench. main.cc dispatches on the first argument; each
// subcommand gets the arguments after its name and returns the exit status
// (0 success, 1 a measured operation failed, 2 usage).
#pragma once

#include <span>

namespace muninn::bench {

// `muninn-bench storage ...`: the partition log against the raw disk (storage_bench.cc).
int storage_main(std::span<char*> args);
// `muninn-bench produce ...` / `consume ...`: muninnd over loopback (broker_bench.cc).
int produce_main(std::span<char*> args);
int consume_main(std::span<char*> args);

// `muninn-bench group ...`: consumer group throughput and failover (group_bench.cc).
int group_main(std::span<char*> args);

// `muninn-bench projection ...`: projection rebuild against raw replay (projection_bench.cc).
int projection_main(std::span<char*> args);

}  // namespace muninn::bench
