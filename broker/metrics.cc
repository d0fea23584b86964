#include "broker/metrics.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <stdexcept>
#include <system_error>

namespace muninn::broker {

namespace {

bool name_start(char c, bool colon) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (colon && c == ':');
}
bool name_rest(char c, bool colon) { return name_start(c, colon) || (c >= '0' && c <= '9'); }

// Metric names may contain ':' (recording rules use it), label names may not; `__` is reserved for
// Prometheus' internal labels and names.
bool valid_name(std::string_view name, bool colon) {
  if (name.empty() || !name_start(name[0], colon)) return false;
  if (name.starts_with("__")) return false;
  return std::all_of(name.begin() + 1, name.end(), [colon](char c) { return name_rest(c, colon); });
}

[[noreturn]] void refuse(const std::string& what) { throw std::invalid_argument("metrics: " + what); }

void append_escaped_label_value(std::string& out, std::string_view v) {
  for (char c : v) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '"': out += "\\\""; break;
      case '\n': out += "\\n"; break;
      default: out += c;
    }
  }
}

// HELP text escapes backslash and newline only: a quote is literal there.
void append_escaped_help(std::string& out, std::string_view v) {
  for (char c : v) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      default: out += c;
    }
  }
}

template <class Int>
void append_integer(std::string& out, Int v) {
  std::array<char, 24> buf;
  auto [end, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), v);
  out.append(buf.data(), end);
}

// Shortest text that reads back to the same double. Fixed notation for exponents -4..20, so every
// integer below 1e21 has no exponent (what a reader expects of a byte count); scientific outside,
// as Go's strconv 'g' writes it ("5e-05"). Prometheus' parser reads both.
void append_double(std::string& out, double v) {
  if (std::isnan(v)) {
    out += "NaN";
    return;
  }
  if (std::isinf(v)) {
    out += v > 0 ? "+Inf" : "-Inf";
    return;
  }
  if (v == 0) {  // also -0.0, which would otherwise print as "-0"
    out += '0';
    return;
  }
  std::array<char, 64> buf;
  auto [sci_end, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), v, std::chars_format::scientific);
  const std::string_view sci(buf.data(), static_cast<std::size_t>(sci_end - buf.data()));
  int exponent = 0;
  const auto e = sci.find('e');
  const char* exp_begin = sci.data() + e + 1;
  if (*exp_begin == '+') ++exp_begin;  // from_chars takes '-' but not '+'
  std::from_chars(exp_begin, sci.data() + sci.size(), exponent);
  if (exponent < -4 || exponent >= 21) {
    out += sci;
    return;
  }
  auto [fixed_end, ec2] = std::to_chars(buf.data(), buf.data() + buf.size(), v, std::chars_format::fixed);
  out.append(buf.data(), fixed_end);
}

// `name[suffix]{labels[,le="..."]} ` up to the value.
void append_series(std::string& out, std::string_view name, std::string_view suffix, std::string_view labels,
                   std::string_view le = {}) {
  out += name;
  out += suffix;
  if (!labels.empty() || !le.empty()) {
    out += '{';
    out += labels;
    if (!le.empty()) {
      if (!labels.empty()) out += ',';
      out += "le=\"";
      out += le;
      out += '"';
    }
    out += '}';
  }
  out += ' ';
}

std::string_view type_name(metric_type t) {
  switch (t) {
    case metric_type::counter: return "counter";
    case metric_type::gauge: return "gauge";
    case metric_type::histogram: return "histogram";
  }
  return "untyped";
}

// Label values of one child, positionally; rendered as `a="x",b="y"`.
void append_labels(std::string& out, const std::vector<std::string>& names, std::span<const std::string_view> values) {
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += ',';
    out += names[i];
    out += "=\"";
    append_escaped_label_value(out, values[i]);
    out += '"';
  }
}

// FNV-1a over the values; a length prefix keeps ("ab","c") and ("a","bc") apart. Collisions only cost
// a comparison: lookups compare the values themselves.
std::uint64_t hash_values(std::span<const std::string_view> values) {
  std::uint64_t h = 14695981039346656037ull;
  auto mix = [&h](unsigned char b) {
    h ^= b;
    h *= 1099511628211ull;
  };
  for (auto v : values) {
    const auto n = v.size();
    for (int shift = 0; shift < 32; shift += 8) mix(static_cast<unsigned char>(n >> shift));
    for (char c : v) mix(static_cast<unsigned char>(c));
  }
  return h;
}

}  // namespace

// ---- histogram ----

histogram::histogram(std::span<const double> bounds)
    : bounds_(bounds), counts_(std::make_unique<std::atomic<std::uint64_t>[]>(bounds.size() + 1)) {}

void histogram::observe(double v) noexcept {
  // lower_bound: the first bound >= v, as `le` is inclusive. NaN compares false with everything and
  // would land in the first bucket; it belongs in +Inf.
  const std::size_t i = std::isnan(v) ? bounds_.size()
                                      : static_cast<std::size_t>(
                                            std::lower_bound(bounds_.begin(), bounds_.end(), v) - bounds_.begin());
  counts_[i].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(v, std::memory_order_relaxed);
}

std::vector<std::uint64_t> histogram::bucket_counts() const {
  std::vector<std::uint64_t> out(bounds_.size() + 1);
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = counts_[i].load(std::memory_order_relaxed);
  return out;
}

std::uint64_t histogram::count() const noexcept {
  std::uint64_t n = 0;
  for (std::size_t i = 0; i <= bounds_.size(); ++i) n += counts_[i].load(std::memory_order_relaxed);
  return n;
}

std::vector<double> latency_buckets_seconds() {
  return {0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
          0.05,    0.1,    0.25,    0.5,    1.0,   2.5,    5.0,   10.0};
}

namespace detail {

// ---- family_base ----

family_base::family_base(std::string name, std::string help, metric_type type, std::vector<std::string> label_names)
    : name_(std::move(name)), help_(std::move(help)), type_(type), label_names_(std::move(label_names)) {
  if (!valid_name(name_, true)) refuse("invalid metric name \"" + name_ + "\"");
  if (help_.empty()) refuse(name_ + ": empty help text");
  for (std::size_t i = 0; i < label_names_.size(); ++i) {
    const auto& l = label_names_[i];
    if (!valid_name(l, false)) refuse(name_ + ": invalid label name \"" + l + "\"");
    if (type_ == metric_type::histogram && l == "le") refuse(name_ + ": a histogram's buckets own the label \"le\"");
    if (std::find(label_names_.begin(), label_names_.begin() + static_cast<std::ptrdiff_t>(i), l) !=
        label_names_.begin() + static_cast<std::ptrdiff_t>(i)) {
      refuse(name_ + ": label \"" + l + "\" named twice");
    }
  }
}

family_base::~family_base() = default;

void family_base::render(std::string& out) const {
  out += "# HELP ";
  out += name_;
  out += ' ';
  append_escaped_help(out, help_);
  out += "\n# TYPE ";
  out += name_;
  out += ' ';
  out += type_name(type_);
  out += '\n';
  render_samples(out);
}

// ---- labelled_family ----

labelled_family::child_base* labelled_family::find_locked(std::span<const std::string_view> values,
                                                          std::uint64_t hash) const {
  auto [it, end] = index_.equal_range(hash);
  for (; it != end; ++it) {
    auto& c = *children_[it->second];
    if (std::equal(values.begin(), values.end(), c.label_values.begin(), c.label_values.end())) return &c;
  }
  return nullptr;
}

labelled_family::child_base& labelled_family::find_or_create(std::span<const std::string_view> values) {
  if (values.size() != label_names().size()) {
    refuse(name() + ": " + std::to_string(values.size()) + " label values for " +
           std::to_string(label_names().size()) + " label names");
  }
  const std::uint64_t hash = hash_values(values);
  {
    std::shared_lock lock(mutex_);
    if (auto* c = find_locked(values, hash)) return *c;
  }
  std::unique_lock lock(mutex_);
  if (auto* c = find_locked(values, hash)) return *c;  // another thread created it meanwhile
  auto c = make_child();
  c->label_values.assign(values.begin(), values.end());
  append_labels(c->rendered_labels, label_names(), values);
  children_.push_back(std::move(c));
  index_.emplace(hash, children_.size() - 1);
  return *children_.back();
}

labelled_family::child_base& labelled_family::find_or_create(std::span<const label> labels) {
  const auto& names = label_names();
  if (labels.size() != names.size()) {
    refuse(name() + ": " + std::to_string(labels.size()) + " labels for " + std::to_string(names.size()) +
           " label names");
  }
  // Reorder into the family's label order; a stack buffer covers every realistic family.
  std::array<std::string_view, 8> small;
  std::vector<std::string_view> large;
  if (names.size() > small.size()) large.resize(names.size());
  const std::span<std::string_view> values =
      large.empty() ? std::span<std::string_view>(small).first(names.size()) : std::span<std::string_view>(large);
  for (std::size_t j = 0; j < labels.size(); ++j) {
    const auto& l = labels[j];
    const auto at = std::find(names.begin(), names.end(), l.name);
    if (at == names.end()) refuse(name() + ": no label named \"" + std::string(l.name) + "\"");
    // As many labels as names and each one known: a repeat is the only way to miss one.
    for (std::size_t k = 0; k < j; ++k) {
      if (labels[k].name == l.name) refuse(name() + ": label \"" + std::string(l.name) + "\" given twice");
    }
    values[static_cast<std::size_t>(at - names.begin())] = l.value;
  }
  return find_or_create(std::span<const std::string_view>(values));
}

void labelled_family::render_samples(std::string& out) const {
  std::shared_lock lock(mutex_);
  for (const auto& c : children_) render_child(out, *c);
}

// ---- rendering of each metric type ----

void render_metric(std::string& out, std::string_view name, std::string_view labels, const counter& m) {
  append_series(out, name, {}, labels);
  append_integer(out, m.value());
  out += '\n';
}

void render_metric(std::string& out, std::string_view name, std::string_view labels, const gauge& m) {
  append_series(out, name, {}, labels);
  append_double(out, m.value());
  out += '\n';
}

void render_metric(std::string& out, std::string_view name, std::string_view labels, const histogram& m) {
  const auto counts = m.bucket_counts();
  const auto bounds = m.bounds();
  std::uint64_t cumulative = 0;
  std::string le;
  for (std::size_t i = 0; i < counts.size(); ++i) {
    cumulative += counts[i];
    le.clear();
    if (i < bounds.size()) {
      append_double(le, bounds[i]);
    } else {
      le = "+Inf";
    }
    append_series(out, name, "_bucket", labels, le);
    append_integer(out, cumulative);
    out += '\n';
  }
  append_series(out, name, "_sum", labels);
  append_double(out, m.sum());
  out += '\n';
  append_series(out, name, "_count", labels);
  append_integer(out, cumulative);  // from the same reads as the buckets, so it equals +Inf
  out += '\n';
}

// ---- callback families ----

class callback_family final : public family_base {
 public:
  callback_family(std::string name, std::string help, metric_type type, std::vector<std::string> label_names,
                  sample_callback callback)
      : family_base(std::move(name), std::move(help), type, std::move(label_names)), callback_(std::move(callback)) {
    if (!callback_) refuse(this->name() + ": empty callback");
  }

 private:
  void render_samples(std::string& out) const override {
    sample_sink sink(out, *this);
    callback_(sink);
  }

  const sample_callback callback_;
};

}  // namespace detail

// ---- sample_sink ----

bool sample_sink::begin_sample(std::span<const std::string_view> label_values) {
  const auto& names = family_.label_names();
  if (label_values.size() != names.size()) {
    out_ += "# muninn: dropped a sample of ";
    out_ += family_.name();
    out_ += ": ";
    append_integer(out_, label_values.size());
    out_ += " label values for ";
    append_integer(out_, names.size());
    out_ += " label names\n";
    return false;
  }
  std::string labels;
  append_labels(labels, names, label_values);
  append_series(out_, family_.name(), {}, labels);
  return true;
}

void sample_sink::emit_double(std::span<const std::string_view> label_values, double value) {
  if (!begin_sample(label_values)) return;
  append_double(out_, value);
  out_ += '\n';
}

void sample_sink::emit_signed(std::span<const std::string_view> label_values, std::int64_t value) {
  if (!begin_sample(label_values)) return;
  append_integer(out_, value);
  out_ += '\n';
}

void sample_sink::emit_unsigned(std::span<const std::string_view> label_values, std::uint64_t value) {
  if (!begin_sample(label_values)) return;
  append_integer(out_, value);
  out_ += '\n';
}

// ---- metrics_registry ----

metrics_registry::metrics_registry() = default;
metrics_registry::~metrics_registry() = default;

template <class Family>
Family& metrics_registry::add(std::unique_ptr<Family> family) {
  // The family's constructor has checked its own names; what is left is uniqueness across the registry,
  // including the series a histogram adds.
  std::vector<std::string> names{family->name()};
  if (family->type() == metric_type::histogram) {
    for (const char* suffix : {"_bucket", "_sum", "_count"}) names.push_back(family->name() + suffix);
  }
  std::lock_guard lock(mutex_);
  for (const auto& n : names) {
    if (taken_names_.contains(n)) refuse("the name \"" + n + "\" is already registered");
  }
  taken_names_.insert(names.begin(), names.end());
  auto& ref = *family;
  families_.push_back(std::move(family));
  return ref;
}

counter_family& metrics_registry::add_counter(std::string name, std::string help,
                                              std::vector<std::string> label_names) {
  return add(std::unique_ptr<counter_family>(
      new counter_family(std::move(name), std::move(help), std::move(label_names))));
}

gauge_family& metrics_registry::add_gauge(std::string name, std::string help, std::vector<std::string> label_names) {
  return add(
      std::unique_ptr<gauge_family>(new gauge_family(std::move(name), std::move(help), std::move(label_names))));
}

histogram_family& metrics_registry::add_histogram(std::string name, std::string help,
                                                  std::vector<double> bucket_bounds,
                                                  std::vector<std::string> label_names) {
  for (std::size_t i = 0; i < bucket_bounds.size(); ++i) {
    // +Inf is implicit (always rendered last), so an explicit one would be a duplicate bucket.
    if (!std::isfinite(bucket_bounds[i])) refuse(name + ": bucket bounds must be finite");
    if (i > 0 && !(bucket_bounds[i - 1] < bucket_bounds[i])) {
      refuse(name + ": bucket bounds must be strictly increasing");
    }
  }
  return add(std::unique_ptr<histogram_family>(new histogram_family(
      std::move(name), std::move(help), std::move(label_names), std::move(bucket_bounds))));
}

void metrics_registry::add_callback_gauge(std::string name, std::string help, std::vector<std::string> label_names,
                                          sample_callback callback) {
  add(std::make_unique<detail::callback_family>(std::move(name), std::move(help), metric_type::gauge,
                                                std::move(label_names), std::move(callback)));
}

void metrics_registry::add_callback_counter(std::string name, std::string help,
                                            std::vector<std::string> label_names, sample_callback callback) {
  add(std::make_unique<detail::callback_family>(std::move(name), std::move(help), metric_type::counter,
                                                std::move(label_names), std::move(callback)));
}

std::string metrics_registry::render() const {
  std::string out;
  render_to(out);
  return out;
}

void metrics_registry::render_to(std::string& out) const {
  // Families are never removed, so the pointers outlive the lock; rendering without it lets callbacks
  // take their own locks without ordering against registration.
  std::vector<const detail::family_base*> families;
  {
    std::lock_guard lock(mutex_);
    families.reserve(families_.size());
    for (const auto& f : families_) families.push_back(f.get());
  }
  for (const auto* f : families) f->render(out);
}

}  // namespace muninn::broker
