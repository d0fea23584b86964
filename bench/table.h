// The rows of `muninn-bench storage`'s tables: one row per measurement with
// a fixed set of columns, the per-column median of repeated runs, the number
// formats and the printed tables (the main table and the index table).
#pragma once

#include <array>
#include <cmath>
#include <cstddef>
#include <string>
#include <vector>

#include "bench/histogram.h"

namespace muninn::bench::storage_bench {

// One printed row. Columns that do not apply stay NaN and print as "-".
enum col : std::size_t {
  c_events_s,
  c_data_mb_s,
  c_disk_mb_s,
  c_p50,
  c_p99,
  c_p999,
  c_commits,
  c_commits_s,
  c_events_commit,
  c_bytes_commit,
  c_index_lag,
  c_index_catchup_ms,
  c_index_events_s,
  col_count
};

struct row {
  std::string name;
  std::string inflight;
  std::array<double, col_count> v;
  row() { v.fill(std::nan("")); }
};

// The per-column median of repeated runs of one measurement.
row median_row(const std::vector<row>& runs);
// The median of the non-NaN values; NaN when there are none.
double median_of(std::vector<double> xs);

// Prints `cells` (the first line is the header, underlined) to stdout with
// aligned columns: the first `left_columns` left-aligned, the rest right.
// Shared with the broker benchmark's tables.
void print_table(const std::vector<std::vector<std::string>>& cells, std::size_t left_columns);

// Fills the p50 / p99 / p999 columns (microseconds) from nanosecond samples.
void latency_columns(row& r, const latency_histogram& h);

// Integers with thousands separators; "-" for NaN.
std::string count_text(double x);
// One decimal below 100, else as count_text.
std::string real_text(double x);
// "536 B", or KiB from 10 KiB on.
std::string bytes_text(double x);

// The main table (`rows`), then the index table for `index_rows`, to stdout.
void print_results(const std::vector<row>& rows, const std::vector<row>& index_rows);

}  // namespace muninn::bench::storage_bench
