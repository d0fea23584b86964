// A fixed-size, log-linear latency histogram for the benchmarks (the idea of
// HdrHistogram, in a few lines): values are nanoseconds, every bucket is
// narrower than 1/128 of its value, so a percentile is off by less than 1%.
// record() is lock-free and may be called from any thread at once (relaxed
// atomics); read percentiles once the writers are done.
#pragma once

#include <array>
#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <memory>

namespace muninn::bench {

class latency_histogram {
 public:
  latency_histogram() : counts_(std::make_unique<std::array<std::atomic<std::uint64_t>, bucket_count>>()) {
    for (auto& c : *counts_) c.store(0, std::memory_order_relaxed);
  }

  void record(std::uint64_t nanos) noexcept {
    (*counts_)[index_of(nanos)].fetch_add(1, std::memory_order_relaxed);
    total_.fetch_add(1, std::memory_order_relaxed);
  }

  std::uint64_t count() const noexcept { return total_.load(std::memory_order_relaxed); }

  // The value at quantile q (0 < q <= 1) in nanoseconds: the middle of the
  // bucket holding the ceil(q * count)-th smallest value; 0 when empty.
  std::uint64_t quantile(double q) const noexcept {
    const std::uint64_t n = count();
    if (n == 0) return 0;
    auto rank = static_cast<std::uint64_t>(q * static_cast<double>(n) + 0.999999);
    if (rank < 1) rank = 1;
    if (rank > n) rank = n;
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < bucket_count; ++i) {
      seen += (*counts_)[i].load(std::memory_order_relaxed);
      if (seen >= rank) return middle_of(i);
    }
    return middle_of(bucket_count - 1);
  }

 private:
  // Values below 2^linear_bits are exact; above, each power of two is split
  // into 2^(linear_bits - 1) equal buckets.
  static constexpr unsigned linear_bits = 8;
  static constexpr std::uint64_t half = 1ull << (linear_bits - 1);
  static constexpr std::size_t bucket_count = (1u << linear_bits) + (64 - linear_bits) * half;

  static std::size_t index_of(std::uint64_t v) noexcept {
    if (v < (1ull << linear_bits)) return static_cast<std::size_t>(v);
    const unsigned msb = 63u - static_cast<unsigned>(std::countl_zero(v));
    const unsigned shift = msb - (linear_bits - 1);  // >= 1
    const std::uint64_t sub = v >> shift;            // in [half, 2 * half)
    return static_cast<std::size_t>((1ull << linear_bits) + (shift - 1) * half + (sub - half));
  }

  static std::uint64_t middle_of(std::size_t i) noexcept {
    if (i < (1u << linear_bits)) return i;
    const std::size_t k = i - (1u << linear_bits);
    const unsigned shift = static_cast<unsigned>(k / half) + 1;
    const std::uint64_t sub = half + k % half;
    const std::uint64_t low = sub << shift;
    return low + ((1ull << shift) >> 1);
  }

  std::unique_ptr<std::array<std::atomic<std::uint64_t>, bucket_count>> counts_;
  std::atomic<std::uint64_t> total_{0};
};

}  // namespace muninn::bench
