// Internal to bench/gen: what both domain engines share — a seeded RNG with
// integer-only draws (so output is byte-identical across machines), an
// event queue ordered by business time, entity slabs, JSON text writers and
// the deterministic ids. Not thread-safe: one engine per scenario.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "bench/gen/generator.h"

namespace muninn::gen {

namespace detail {

// splitmix64's finaliser: a bijection on 64 bits, so distinct counters give
// distinct ids.
constexpr std::uint64_t mix64(std::uint64_t x) noexcept {
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

__extension__ typedef unsigned __int128 u128;  // GCC/Clang: a 64x64->128 multiply

// xoshiro256**: fast, and its output is defined by the algorithm alone
// (std:: distributions are implementation-defined, so they are not used).
class rng {
 public:
  explicit rng(std::uint64_t seed) noexcept {
    for (auto& s : s_) {
      seed += 0x9e3779b97f4a7c15ull;
      s = mix64(seed);
    }
  }
  std::uint64_t next() noexcept {
    const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }
  // Uniform in [0, n) (Lemire's multiply-shift; the bias is below 2^-32).
  std::uint64_t below(std::uint64_t n) noexcept {
    return static_cast<std::uint64_t>((static_cast<u128>(next()) * n) >> 64);
  }
  // Uniform in [lo, hi].
  std::int64_t range(std::int64_t lo, std::int64_t hi) noexcept {
    return lo + static_cast<std::int64_t>(below(static_cast<std::uint64_t>(hi - lo) + 1));
  }
  bool percent(unsigned p) noexcept { return below(100) < p; }
  bool permille(unsigned p) noexcept { return below(1000) < p; }
  // [0, 1) with 53 bits; only +, -, *, / are applied to it (IEEE exact
  // everywhere), never log/exp, to stay byte-identical across libms.
  double unit() noexcept { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  template <class T, std::size_t N>
  const T& pick(const T (&table)[N]) noexcept {
    return table[below(N)];
  }
  // An index into a table sorted by size, biased towards the front (the
  // smaller of two draws): big municipalities send more letters.
  std::size_t skewed(std::size_t n) noexcept { return std::min(below(n), below(n)); }

 private:
  static constexpr std::uint64_t rotl(std::uint64_t x, int k) noexcept {
    return (x << k) | (x >> (64 - k));
  }
  std::array<std::uint64_t, 4> s_{};
};

// Weighted choice over a table of integer weights.
template <std::size_t N>
std::size_t weighted(rng& r, const std::array<unsigned, N>& w) {
  unsigned total = 0;
  for (const unsigned x : w) total += x;
  std::uint64_t at = r.below(total);
  for (std::size_t i = 0; i < N; ++i) {
    if (at < w[i]) return i;
    at -= w[i];
  }
  return N - 1;
}

inline constexpr std::int64_t minute = 60, hour = 3600, day = 86400;

constexpr std::int64_t day_of(std::int64_t t) noexcept { return t >= 0 ? t / day : (t - day + 1) / day; }

// ---- text -------------------------------------------------------------------

void put_uint(std::string& out, std::uint64_t v);
void put_int(std::string& out, std::int64_t v);
void put_padded(std::string& out, std::uint64_t v, int width);
// A JSON string literal; escapes quotes, backslashes and control characters.
void put_quoted(std::string& out, std::string_view s);
void put_date(std::string& out, std::int64_t days);  // YYYY-MM-DD
void put_time(std::string& out, std::int64_t t);     // RFC 3339, whole seconds, Z
void put_uuid(std::string& out, const std::array<std::uint8_t, 16>& b);

// A UUIDv7 whose timestamp is the business time `t` (seconds) and whose 74
// other bits hold a bijective mix of (key, seq): unique within a scenario.
std::array<std::uint8_t, 16> uuid_v7(std::int64_t t, std::uint64_t seq, std::uint64_t key);
// A UUIDv4-shaped id from a counter: unique within a scenario.
std::array<std::uint8_t, 16> uuid_v4(std::uint64_t n, std::uint64_t key);

// ---- identifiers (synthetic test values with correct check digits) ----------

// A synthetic fødselsnummer (month + 80, as the Tenor test numbers) born on
// `birth` (days since epoch, 1940-2007); `salt` picks the individual number.
std::string no_fnr(std::int64_t birth, std::uint64_t salt);
// A 9-digit organisasjonsnummer starting with 8 or 9.
std::string no_orgnr(std::uint64_t salt);
// A personnummer: "YYYYMMDD-NNNC", "YYYYMMDDNNNC" or "YYMMDD-NNNC" (`form`
// 0-2); `coordination` adds 60 to the day (samordningsnummer).
std::string se_pnr(std::int64_t birth, std::uint64_t salt, unsigned form, bool coordination);
// An organisationsnummer "NNNNNN-NNNN" with digits 3-4 >= 20.
std::string se_orgnr(std::uint64_t salt);
// A Swedish OCR reference: the digits of n and a Luhn check digit.
std::string ocr_ref(std::uint64_t n);

// ---- calendars --------------------------------------------------------------

// Norwegian public holidays and local time as domain.md defines them for
// the print deadline.
bool norway_working_day(std::int64_t days);
std::int64_t norway_utc_offset(std::int64_t t);  // seconds: 3600 or 7200
// When `hours` working hours have passed since `t` (domain.md "Print deadline").
std::int64_t norway_due(std::int64_t t, std::int64_t hours);
// Swedish banking day: not a weekend, public holiday, midsommarafton,
// julafton or nyårsafton.
bool sweden_banking_day(std::int64_t days);

// ---- the queue --------------------------------------------------------------

// One future step of the simulation. `seq` breaks ties so the order never
// depends on the heap's internals.
struct action {
  std::int64_t time = 0;
  std::uint64_t seq = 0;
  std::int64_t arg = 0;
  std::uint32_t slot = 0;
  std::uint8_t kind = 0;
};

class action_queue {
 public:
  void push(const action& a) {
    heap_.push_back(a);
    std::push_heap(heap_.begin(), heap_.end(), later);
  }
  action pop() {
    std::pop_heap(heap_.begin(), heap_.end(), later);
    const action a = heap_.back();
    heap_.pop_back();
    return a;
  }
  bool empty() const noexcept { return heap_.empty(); }
  std::size_t size() const noexcept { return heap_.size(); }

 private:
  static bool later(const action& a, const action& b) noexcept {
    return a.time != b.time ? a.time > b.time : a.seq > b.seq;
  }
  std::vector<action> heap_;
};

// Entities in a vector with a free list: memory follows the peak of live
// entities. T has `bool live` and `std::uint32_t refs`.
template <class T>
class slab {
 public:
  std::uint32_t make() {
    std::uint32_t i;
    if (!free_.empty()) {
      i = free_.back();
      free_.pop_back();
      items_[i] = T{};
    } else {
      i = static_cast<std::uint32_t>(items_.size());
      items_.emplace_back();
    }
    items_[i].live = true;
    ++live_;
    return i;
  }
  T& operator[](std::uint32_t i) noexcept { return items_[i]; }
  void hold(std::uint32_t i) noexcept { ++items_[i].refs; }
  // Frees the entity when nothing refers to it any more; true if it did.
  bool drop(std::uint32_t i) {
    if (--items_[i].refs != 0) return false;
    items_[i].live = false;
    free_.push_back(i);
    --live_;
    return true;
  }
  std::size_t live() const noexcept { return live_; }
  // A live entity for which `ok` holds, probing a few random slots; -1 if none found.
  template <class Pred>
  std::int64_t random_live(rng& r, Pred ok, int tries = 12) {
    if (items_.empty()) return -1;
    for (int k = 0; k < tries; ++k) {
      const auto i = static_cast<std::uint32_t>(r.below(items_.size()));
      if (items_[i].live && ok(items_[i])) return i;
    }
    return -1;
  }

 private:
  std::vector<T> items_;
  std::vector<std::uint32_t> free_;
  std::size_t live_ = 0;
};

}  // namespace detail

// The common frame of both domains: a queue of actions in business-time
// order; each line is either the next action's event or an anomaly.
class scenario::engine {
 public:
  explicit engine(const options& o, std::uint64_t domain_key);
  virtual ~engine() = default;

  // Replaces `line` with one event; returns whether it is an anomaly.
  bool next(std::string& line);

 protected:
  // Emits the action's event into `line` (true), or nothing (false: the
  // engine moves on to the next action).
  virtual bool handle(const detail::action& a, std::string& line) = 0;
  // Always emits one anomalous event at now_.
  virtual void anomaly(std::string& line) = 0;

  void schedule(std::uint8_t kind, std::uint32_t slot, std::int64_t time, std::int64_t arg = 0);

  // {"stream":"<prefix><id>","type":"<type>","id":…,"expected_version":v,"time":…,"data":
  // — the caller writes the data object and calls end_event().
  void begin_event(std::string& out, std::string_view prefix, std::string_view id,
                   std::string_view type, std::int64_t expected_version, std::int64_t time);
  static void end_event(std::string& out) { out.push_back('}'); }

  // Arrival instants of a thinned Poisson process: weekday office hours at
  // full rate, the rest at `off_hours` of it, spread so that `entities`
  // arrive over the scenario's days. next_arrival() gives them in order.
  void plan_arrivals(double entities, double off_hours, std::int64_t office_from,
                     std::int64_t office_to, bool norway);
  std::int64_t next_arrival();

  detail::rng rng_;
  detail::action_queue queue_;
  std::int64_t now_ = 0;    // business time of the latest event (seconds)
  std::int64_t start_ = 0;  // first instant of the first day
  std::int64_t span_days_ = 0;
  std::uint64_t count_ = 0;
  std::uint64_t key_ = 0;  // from the seed: ids differ between seeds
  std::string tag_;        // 4 characters from the seed, in entity ids

 private:
  bool office_hour(std::int64_t t) const;

  std::uint64_t anomaly_threshold_ = 0;
  std::uint64_t seq_ = 0;
  std::uint64_t event_seq_ = 0;
  double mean_gap_ = 1;  // candidate arrivals, seconds
  double arrival_clock_ = 0;
  double off_hours_ = 1;
  std::int64_t office_from_ = 0, office_to_ = 0;
  bool norway_ = false;
};

std::unique_ptr<scenario::engine> make_dispatch_engine(const options& o);
std::unique_ptr<scenario::engine> make_reskontra_engine(const options& o);

}  // namespace muninn::gen
