#include "bench/gen/generator.h"

#include <cmath>
#include <stdexcept>

#include "bench/gen/engine.h"

namespace muninn::gen {

std::optional<domain> domain_from_string(std::string_view text) noexcept {
  if (text == "dispatch") return domain::dispatch;
  if (text == "reskontra") return domain::reskontra;
  return std::nullopt;
}

std::string_view to_string(domain d) noexcept {
  return d == domain::dispatch ? "dispatch" : "reskontra";
}

std::optional<std::string> check_options(const options& o) {
  if (!(o.anomalies >= 0.0 && o.anomalies <= 1.0)) {
    return std::string("--anomalies must be a fraction between 0 and 1");
  }
  if (o.start && (o.start->year < 1971 || o.start->year > 9000 ||
                  !projections::is_real_date(o.start->year, o.start->month, o.start->day))) {
    return std::string("--start must be a real date YYYY-MM-DD between 1971 and 9000");
  }
  if (o.days > 36'500) return std::string("--days must be at most 36500");
  return std::nullopt;
}

scenario::scenario(const options& o) : count_(o.count) {
  if (auto why = check_options(o)) throw std::invalid_argument(*why);
  options resolved = o;
  const bool dispatch = o.kind == domain::dispatch;
  if (!resolved.start) resolved.start = dispatch ? projections::civil_date{2026, 3, 16}
                                                 : projections::civil_date{2026, 1, 1};
  if (resolved.days == 0) resolved.days = dispatch ? 70 : 365;
  engine_ = dispatch ? make_dispatch_engine(resolved) : make_reskontra_engine(resolved);
}

scenario::~scenario() = default;

bool scenario::next_line(std::string& line) {
  if (produced_ >= count_) return false;
  last_anomaly_ = engine_->next(line);
  ++produced_;
  if (last_anomaly_) ++anomalies_;
  return true;
}

}  // namespace muninn::gen
