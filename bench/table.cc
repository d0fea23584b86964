#include "bench/table.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

namespace muninn::bench::storage_bench {

double median_of(std::vector<double> xs) {
  std::erase_if(xs, [](double x) { return std::isnan(x); });
  if (xs.empty()) return std::nan("");
  std::sort(xs.begin(), xs.end());
  const std::size_t n = xs.size();
  return n % 2 ? xs[n / 2] : (xs[n / 2 - 1] + xs[n / 2]) / 2;
}

namespace {

std::string fmt(const char* f, double x) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, x);
  return buf;
}

}  // namespace

void print_table(const std::vector<std::vector<std::string>>& cells, std::size_t left_columns) {
  std::vector<std::size_t> width;
  for (const auto& line : cells) {
    width.resize(std::max(width.size(), line.size()), 0);
    for (std::size_t c = 0; c < line.size(); ++c) width[c] = std::max(width[c], line[c].size());
  }
  for (std::size_t i = 0; i < cells.size(); ++i) {
    std::string out;
    for (std::size_t c = 0; c < cells[i].size(); ++c) {
      const auto& s = cells[i][c];
      const std::string pad(width[c] - s.size(), ' ');
      if (c > 0) out += "  ";
      out += c < left_columns ? s + pad : pad + s;
    }
    while (!out.empty() && out.back() == ' ') out.pop_back();
    std::printf("%s\n", out.c_str());
    if (i == 0) {
      std::size_t total = 0;
      for (auto w : width) total += w;
      std::printf("%s\n", std::string(total + 2 * (width.size() - 1), '-').c_str());
    }
  }
}

row median_row(const std::vector<row>& runs) {
  row out;
  out.name = runs.front().name;
  out.inflight = runs.front().inflight;
  for (std::size_t c = 0; c < col_count; ++c) {
    std::vector<double> xs;
    for (const auto& r : runs) xs.push_back(r.v[c]);
    out.v[c] = median_of(std::move(xs));
  }
  return out;
}

void latency_columns(row& r, const latency_histogram& h) {
  if (h.count() == 0) return;
  r.v[c_p50] = static_cast<double>(h.quantile(0.50)) / 1e3;
  r.v[c_p99] = static_cast<double>(h.quantile(0.99)) / 1e3;
  r.v[c_p999] = static_cast<double>(h.quantile(0.999)) / 1e3;
}

// Integers with thousands separators; "-" for NaN.
std::string count_text(double x) {
  if (std::isnan(x)) return "-";
  std::string digits = fmt("%.0f", std::fabs(x));
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return x < 0 ? "-" + out : out;
}

std::string real_text(double x) {
  if (std::isnan(x)) return "-";
  if (std::fabs(x) >= 100) return count_text(x);
  return fmt("%.1f", x);
}

std::string bytes_text(double x) {
  if (std::isnan(x)) return "-";
  if (x >= 10 * 1024) return real_text(x / 1024) + " KiB";
  return count_text(x) + " B";
}

void print_results(const std::vector<row>& rows, const std::vector<row>& index_rows) {
  std::vector<std::vector<std::string>> cells;
  cells.push_back({"config", "in-flight", "events/s", "data MB/s", "disk MB/s", "p50 us", "p99 us", "p999 us",
                   "commits", "commits/s", "events/commit", "bytes/commit"});
  for (const auto& r : rows) {
    cells.push_back({r.name, r.inflight, count_text(r.v[c_events_s]), real_text(r.v[c_data_mb_s]),
                     real_text(r.v[c_disk_mb_s]), real_text(r.v[c_p50]), real_text(r.v[c_p99]),
                     real_text(r.v[c_p999]), count_text(r.v[c_commits]), count_text(r.v[c_commits_s]),
                     real_text(r.v[c_events_commit]), bytes_text(r.v[c_bytes_commit])});
  }
  print_table(cells, 1);

  if (index_rows.empty()) return;
  std::printf("\nindex (RocksDB) behind the throughput rows\n");
  cells.clear();
  cells.push_back({"config", "appended/s", "lag at end (events)", "catch-up ms", "indexed/s over run+catch-up"});
  for (const auto& r : index_rows)
    cells.push_back({r.name, count_text(r.v[c_events_s]), count_text(r.v[c_index_lag]),
                     count_text(r.v[c_index_catchup_ms]), count_text(r.v[c_index_events_s])});
  print_table(cells, 1);
}

}  // namespace muninn::bench::storage_bench
