// muninnd's /metrics: a registry of counter, gauge, histogram and callback families, rendered in the
// Prometheus text exposition format 0.0.4. Invariants: names are checked at registration, so render()
// never fails on a name; output is deterministic (families in registration order, children in creation
// order); a child, once created, lives as long as the registry at a fixed address.
// Thread-safety: updates (inc/set/add/observe) are lock-free atomics, safe from any thread; registering
// a family or creating a child takes a mutex; render() may run concurrently with all of them.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

namespace muninn::broker {

class metrics_registry;

// Children of different families sit next to each other on the heap; a cache line each keeps a
// hot counter on the network thread from stalling a histogram on a storage thread.
inline constexpr std::size_t metrics_cache_line = 64;

// A monotonic count (requests, bytes). Prometheus' rate() relies on it never going down.
class alignas(metrics_cache_line) counter {
 public:
  void inc(std::uint64_t n = 1) noexcept { value_.fetch_add(n, std::memory_order_relaxed); }
  std::uint64_t value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> value_{0};
};

// A value that goes up and down (connections, bytes in flight). Held as a double: integers are
// exact up to 2^53, far beyond any count a broker holds; values that need all 64 bits (offsets)
// come from callback families, which render integers exactly.
class alignas(metrics_cache_line) gauge {
 public:
  void set(double v) noexcept { value_.store(v, std::memory_order_relaxed); }
  void add(double d) noexcept { value_.fetch_add(d, std::memory_order_relaxed); }
  void sub(double d) noexcept { value_.fetch_sub(d, std::memory_order_relaxed); }
  void inc() noexcept { add(1.0); }
  void dec() noexcept { add(-1.0); }
  double value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

// A distribution over fixed buckets (latencies in seconds). Bucket i counts observations
// v <= bounds[i] (Prometheus' `le` is inclusive); the last, implicit bucket is +Inf and also takes
// NaN, as Prometheus' own client does.
class alignas(metrics_cache_line) histogram {
 public:
  // `bounds` are finite and strictly increasing (checked at registration); the family owns them.
  explicit histogram(std::span<const double> bounds);

  void observe(double v) noexcept;
  template <class Rep, class Period>
  void observe(std::chrono::duration<Rep, Period> d) noexcept {
    observe(std::chrono::duration<double>(d).count());
  }

  std::span<const double> bounds() const noexcept { return bounds_; }
  // Per-bucket (not cumulative) counts, bounds().size() + 1 of them, the last for +Inf.
  std::vector<std::uint64_t> bucket_counts() const;
  std::uint64_t count() const noexcept;
  double sum() const noexcept { return sum_.load(std::memory_order_relaxed); }

 private:
  std::span<const double> bounds_;
  // Not cumulative, so observe() touches one bucket; render() adds them up. There is no separate
  // total: _count is the sum of the buckets, so _count always equals the +Inf bucket.
  std::unique_ptr<std::atomic<std::uint64_t>[]> counts_;
  std::atomic<double> sum_{0.0};
};

// 50us .. 10s in 1-2.5-5 steps: produce-to-commit and fdatasync latencies, in seconds.
std::vector<double> latency_buckets_seconds();

enum class metric_type : std::uint8_t { counter, gauge, histogram };

// One label of a child, by name: family.with({"topic", "forsendelser"}, {"partition", "3"}).
struct label {
  std::string_view name;
  std::string_view value;
};

namespace detail {

// Name, help, type and label names of a family, checked once in the constructor.
class family_base {
 public:
  family_base(std::string name, std::string help, metric_type type, std::vector<std::string> label_names);
  virtual ~family_base();
  family_base(const family_base&) = delete;
  family_base& operator=(const family_base&) = delete;

  const std::string& name() const noexcept { return name_; }
  const std::string& help() const noexcept { return help_; }
  metric_type type() const noexcept { return type_; }
  const std::vector<std::string>& label_names() const noexcept { return label_names_; }

  // Appends the # HELP and # TYPE lines and every sample.
  void render(std::string& out) const;

 protected:
  virtual void render_samples(std::string& out) const = 0;

 private:
  const std::string name_;
  const std::string help_;
  const metric_type type_;
  const std::vector<std::string> label_names_;
};

// The children of a family, one per distinct tuple of label values. Lookups share a lock and
// allocate nothing (up to 8 labels); creation takes the lock exclusively.
class labelled_family : public family_base {
 public:
  using family_base::family_base;

 protected:
  struct child_base {
    virtual ~child_base() = default;
    std::vector<std::string> label_values;  // in the family's label order
    std::string rendered_labels;            // `a="x",b="y"`, escaped once at creation
  };

  // Throw std::invalid_argument when the labels do not match the family's label names exactly.
  child_base& find_or_create(std::span<const std::string_view> values);
  child_base& find_or_create(std::span<const label> labels);

  virtual std::unique_ptr<child_base> make_child() const = 0;
  virtual void render_child(std::string& out, const child_base& child) const = 0;

 private:
  void render_samples(std::string& out) const final;
  child_base* find_locked(std::span<const std::string_view> values, std::uint64_t hash) const;

  mutable std::shared_mutex mutex_;
  std::vector<std::unique_ptr<child_base>> children_;          // creation order, for render
  std::unordered_multimap<std::uint64_t, std::size_t> index_;  // hash of values -> children_ index
};

void render_metric(std::string& out, std::string_view name, std::string_view labels, const counter& m);
void render_metric(std::string& out, std::string_view name, std::string_view labels, const gauge& m);
void render_metric(std::string& out, std::string_view name, std::string_view labels, const histogram& m);

template <class Metric>
constexpr metric_type type_of() {
  if constexpr (std::is_same_v<Metric, counter>) return metric_type::counter;
  else if constexpr (std::is_same_v<Metric, gauge>) return metric_type::gauge;
  else {
    static_assert(std::is_same_v<Metric, histogram>);
    return metric_type::histogram;
  }
}

class callback_family;

}  // namespace detail

// A family of counters, gauges or histograms sharing a name and label names. with() returns the
// child for one set of label values, creating it on first use; the reference stays valid for the
// registry's lifetime, so hot paths look it up once and keep it. A family without labels has one
// child, created at registration so that it renders 0 before its first update.
template <class Metric>
class metric_family final : public detail::labelled_family {
 public:
  Metric& with() { return with_values(std::span<const std::string_view>{}); }
  Metric& with(label l1) { return with_labels(std::span<const label>(&l1, 1)); }
  Metric& with(label l1, label l2) {
    const label ls[] = {l1, l2};
    return with_labels(ls);
  }
  Metric& with(label l1, label l2, label l3) {
    const label ls[] = {l1, l2, l3};
    return with_labels(ls);
  }
  Metric& with(label l1, label l2, label l3, label l4) {
    const label ls[] = {l1, l2, l3, l4};
    return with_labels(ls);
  }
  // By name, in any order; every label name of the family exactly once.
  Metric& with_labels(std::span<const label> labels) { return metric_of(find_or_create(labels)); }
  // Positional, in the order the label names were registered.
  Metric& with_values(std::initializer_list<std::string_view> values) {
    return with_values(std::span<const std::string_view>(values.begin(), values.size()));
  }
  Metric& with_values(std::span<const std::string_view> values) { return metric_of(find_or_create(values)); }

  // Histogram families only: the bucket bounds every child shares.
  std::span<const double> bucket_bounds() const noexcept { return bounds_; }

 private:
  friend class broker::metrics_registry;

  struct child final : child_base {
    template <class... A>
    explicit child(A&&... a) : metric(std::forward<A>(a)...) {}
    Metric metric;
  };

  metric_family(std::string name, std::string help, std::vector<std::string> label_names,
                std::vector<double> bounds = {})
      : labelled_family(std::move(name), std::move(help), detail::type_of<Metric>(), std::move(label_names)),
        bounds_(std::move(bounds)) {
    if (this->label_names().empty()) with();
  }

  std::unique_ptr<child_base> make_child() const override {
    if constexpr (std::is_same_v<Metric, histogram>) {
      return std::make_unique<child>(std::span<const double>(bounds_));
    } else {
      return std::make_unique<child>();
    }
  }
  void render_child(std::string& out, const child_base& c) const override {
    detail::render_metric(out, name(), c.rendered_labels, static_cast<const child&>(c).metric);
  }
  static Metric& metric_of(child_base& c) { return static_cast<child&>(c).metric; }

  const std::vector<double> bounds_;
};

using counter_family = metric_family<counter>;
using gauge_family = metric_family<gauge>;
using histogram_family = metric_family<histogram>;

// Handed to a callback family's function at render time; each emit() writes one sample. Label
// values are positional, in the order the family's label names were registered. Integers render
// exactly (a u64 head offset keeps all its digits), floating-point values as doubles.
class sample_sink {
 public:
  template <class T>
    requires std::is_arithmetic_v<T>
  void emit(T value) {
    emit(std::span<const std::string_view>{}, value);
  }
  template <class T>
    requires std::is_arithmetic_v<T>
  void emit(std::initializer_list<std::string_view> label_values, T value) {
    emit(std::span<const std::string_view>(label_values.begin(), label_values.size()), value);
  }
  template <class T>
    requires std::is_arithmetic_v<T>
  void emit(std::span<const std::string_view> label_values, T value) {
    if constexpr (std::is_floating_point_v<T>) {
      emit_double(label_values, static_cast<double>(value));
    } else if constexpr (std::is_signed_v<T>) {
      emit_signed(label_values, static_cast<std::int64_t>(value));
    } else {
      emit_unsigned(label_values, static_cast<std::uint64_t>(value));
    }
  }

 private:
  friend class detail::callback_family;
  sample_sink(std::string& out, const detail::family_base& family) : out_(out), family_(family) {}

  // A wrong number of label values is a bug in the callback, but render() must not fail: the sample
  // is dropped and a comment line (ignored by Prometheus, visible with curl) says why.
  bool begin_sample(std::span<const std::string_view> label_values);
  void emit_double(std::span<const std::string_view> label_values, double value);
  void emit_signed(std::span<const std::string_view> label_values, std::int64_t value);
  void emit_unsigned(std::span<const std::string_view> label_values, std::uint64_t value);

  std::string& out_;
  const detail::family_base& family_;
};

// Called at every render, possibly from several threads at once; it must be thread-safe and must
// not register families. It may emit any number of samples; emitting one label set twice is the
// caller's bug (Prometheus rejects the scrape), not checked here.
using sample_callback = std::function<void(sample_sink&)>;

class metrics_registry {
 public:
  // The Content-Type of render()'s output, for the HTTP response.
  static constexpr std::string_view content_type = "text/plain; version=0.0.4; charset=utf-8";

  metrics_registry();
  ~metrics_registry();
  metrics_registry(const metrics_registry&) = delete;
  metrics_registry& operator=(const metrics_registry&) = delete;

  // Each add_* throws std::invalid_argument for a bad metric or label name ([a-zA-Z_:][a-zA-Z0-9_:]*
  // and [a-zA-Z_][a-zA-Z0-9_]*, no `__` prefix), a repeated label name, an empty help text, a name
  // already taken (a histogram takes name, name_bucket, name_sum and name_count), a histogram
  // label `le`, or bucket bounds that are not finite and strictly increasing. The returned family
  // lives as long as the registry.
  counter_family& add_counter(std::string name, std::string help, std::vector<std::string> label_names = {});
  gauge_family& add_gauge(std::string name, std::string help, std::vector<std::string> label_names = {});
  histogram_family& add_histogram(std::string name, std::string help, std::vector<double> bucket_bounds,
                                  std::vector<std::string> label_names = {});
  // Values read at render time from state that lives elsewhere (partition head offsets in storage).
  void add_callback_gauge(std::string name, std::string help, std::vector<std::string> label_names,
                          sample_callback callback);
  void add_callback_counter(std::string name, std::string help, std::vector<std::string> label_names,
                            sample_callback callback);

  // The whole exposition, every family in registration order.
  std::string render() const;
  // Appends the exposition to `out` (lets a caller reuse a buffer).
  void render_to(std::string& out) const;

 private:
  template <class Family>
  Family& add(std::unique_ptr<Family> family);

  mutable std::mutex mutex_;
  std::vector<std::unique_ptr<detail::family_base>> families_;
  std::set<std::string, std::less<>> taken_names_;  // every sample name, suffixes included
};

}  // namespace muninn::broker
