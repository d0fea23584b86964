// What muninn-peers prints and writes after the runs: the table of absolute
// numbers, the ratios Muninn / peer, the met/MISSED lines of issue 6's
// targets, and a tab-separated data file that plot.gp turns into the PNG.
// Pure formatting: no I/O besides stdout and the data file.
#pragma once

#include <string>
#include <vector>

#include "bench/peers/workloads.h"

namespace muninn::bench::peers {

// One system's medians (NaN where a workload was not run or cannot be).
struct system_result {
  std::string name;
  std::string durability;
  bool durable = true;     // same durability as Muninn's acks=durable
  std::string not_run;     // why some workloads have no number ("-" in the table)
  measurement produce, latency, expected, replay, read;
};

void print_report(const std::vector<system_result>& results, const options& o, int repeat);

// Writes `path` (one line per system) for plot.gp; false when it cannot.
bool write_data(const std::string& path, const std::vector<system_result>& results);

}  // namespace muninn::bench::peers
