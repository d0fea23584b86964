#include "bench/gen/engine.h"

#include <cstring>
#include <stdexcept>

#include "broker/projections/calendar.h"

namespace muninn::gen {
namespace detail {

// ---- text -------------------------------------------------------------------

void put_uint(std::string& out, std::uint64_t v) {
  char buf[24];
  char* p = buf + sizeof buf;
  do {
    *--p = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0);
  out.append(p, static_cast<std::size_t>(buf + sizeof buf - p));
}

void put_int(std::string& out, std::int64_t v) {
  if (v < 0) {
    out.push_back('-');
    put_uint(out, static_cast<std::uint64_t>(-(v + 1)) + 1);
  } else {
    put_uint(out, static_cast<std::uint64_t>(v));
  }
}

void put_padded(std::string& out, std::uint64_t v, int width) {
  char buf[24];
  int n = 0;
  do {
    buf[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0);
  for (int i = n; i < width; ++i) out.push_back('0');
  while (n > 0) out.push_back(buf[--n]);
}

void put_quoted(std::string& out, std::string_view s) {
  static constexpr char hex[] = "0123456789abcdef";
  out.push_back('"');
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (u < 0x20) {
      out.append("\\u00");
      out.push_back(hex[u >> 4]);
      out.push_back(hex[u & 15]);
    } else {
      out.push_back(c);
    }
  }
  out.push_back('"');
}

namespace {

void put2(char* p, unsigned v) {
  p[0] = static_cast<char>('0' + v / 10);
  p[1] = static_cast<char>('0' + v % 10);
}

void write_date(char* p, std::int64_t days) {
  const auto c = projections::civil_from_days(days);
  const auto y = static_cast<unsigned>(c.year);
  put2(p, y / 100);
  put2(p + 2, y % 100);
  p[4] = '-';
  put2(p + 5, c.month);
  p[7] = '-';
  put2(p + 8, c.day);
}

}  // namespace

void put_date(std::string& out, std::int64_t days) {
  char buf[10];
  write_date(buf, days);
  out.append(buf, sizeof buf);
}

void put_time(std::string& out, std::int64_t t) {
  char buf[20];
  const std::int64_t d = day_of(t);
  const auto s = static_cast<unsigned>(t - d * day);
  write_date(buf, d);
  buf[10] = 'T';
  put2(buf + 11, s / 3600);
  buf[13] = ':';
  put2(buf + 14, s / 60 % 60);
  buf[16] = ':';
  put2(buf + 17, s % 60);
  buf[19] = 'Z';
  out.append(buf, sizeof buf);
}

void put_uuid(std::string& out, const std::array<std::uint8_t, 16>& b) {
  static constexpr char hex[] = "0123456789abcdef";
  char buf[36];
  int p = 0;
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) buf[p++] = '-';
    buf[p++] = hex[b[static_cast<std::size_t>(i)] >> 4];
    buf[p++] = hex[b[static_cast<std::size_t>(i)] & 15];
  }
  out.append(buf, sizeof buf);
}

std::array<std::uint8_t, 16> uuid_v7(std::int64_t t, std::uint64_t seq, std::uint64_t key) {
  std::array<std::uint8_t, 16> b{};
  const auto ms = static_cast<std::uint64_t>(t) * 1000;
  for (int i = 0; i < 6; ++i) b[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(ms >> (40 - 8 * i));
  // 64 bits of a bijection of seq go to rand_b and the low bits of rand_a;
  // the rest is filled from the key.
  const std::uint64_t u = mix64(seq ^ key);
  const std::uint64_t k = mix64(key + 0x5bd1e995);
  b[6] = static_cast<std::uint8_t>(0x70 | (k & 0x0f));
  b[7] = static_cast<std::uint8_t>(k >> 8);
  b[8] = static_cast<std::uint8_t>(0x80 | ((u >> 58) & 0x3f));
  for (int i = 0; i < 7; ++i) b[static_cast<std::size_t>(9 + i)] = static_cast<std::uint8_t>(u >> (8 * i));
  // The 6 bits above 56 are in byte 8 already; bits 56-57 go to rand_a.
  b[7] = static_cast<std::uint8_t>((b[7] & 0xfc) | ((u >> 56) & 0x03));
  return b;
}

std::array<std::uint8_t, 16> uuid_v4(std::uint64_t n, std::uint64_t key) {
  std::array<std::uint8_t, 16> b{};
  const std::uint64_t u = mix64(n ^ key);          // bijective in n
  const std::uint64_t v = mix64(n + key * 3 + 1);  // filler
  for (int i = 0; i < 6; ++i) b[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(u >> (8 * i));
  b[6] = static_cast<std::uint8_t>(0x40 | (v & 0x0f));
  b[7] = static_cast<std::uint8_t>(u >> 48);
  b[8] = static_cast<std::uint8_t>(0x80 | ((v >> 8) & 0x3f));
  b[9] = static_cast<std::uint8_t>(u >> 56);
  for (int i = 0; i < 6; ++i) b[static_cast<std::size_t>(10 + i)] = static_cast<std::uint8_t>(v >> (16 + 8 * i));
  return b;
}

// ---- identifiers ------------------------------------------------------------

namespace {

void digits_into(std::string& s, std::uint64_t v, int width) { put_padded(s, v, width); }

unsigned luhn_check(std::string_view nine) {
  // Weights 2,1,2,1,... from the left over the 9 digits before the check.
  unsigned sum = 0;
  for (std::size_t i = 0; i < nine.size(); ++i) {
    unsigned x = static_cast<unsigned>(nine[i] - '0') * (i % 2 == 0 ? 2 : 1);
    sum += x / 10 + x % 10;
  }
  return (10 - sum % 10) % 10;
}

}  // namespace

std::string no_fnr(std::int64_t birth, std::uint64_t salt) {
  const auto c = projections::civil_from_days(birth);
  const bool modern = c.year >= 2000;
  static constexpr unsigned w1[] = {3, 7, 6, 1, 8, 9, 4, 5, 2};
  static constexpr unsigned w2[] = {5, 4, 3, 2, 7, 6, 5, 4, 3, 2};
  for (std::uint64_t attempt = 0;; ++attempt) {
    // Skatteetaten's table: 000-499 born 1900-1999, 500-999 born 2000-2039.
    const unsigned individual = static_cast<unsigned>((salt + attempt * 7) % 500) + (modern ? 500 : 0);
    std::string s;
    s.reserve(11);
    digits_into(s, c.day, 2);
    digits_into(s, c.month + 80u, 2);
    digits_into(s, static_cast<unsigned>(c.year % 100), 2);
    digits_into(s, individual, 3);
    unsigned s1 = 0;
    for (int i = 0; i < 9; ++i) s1 += w1[i] * static_cast<unsigned>(s[static_cast<std::size_t>(i)] - '0');
    unsigned k1 = 11 - s1 % 11;
    if (k1 == 11) k1 = 0;
    if (k1 == 10) continue;
    s.push_back(static_cast<char>('0' + k1));
    unsigned s2 = 0;
    for (int i = 0; i < 10; ++i) s2 += w2[i] * static_cast<unsigned>(s[static_cast<std::size_t>(i)] - '0');
    unsigned k2 = 11 - s2 % 11;
    if (k2 == 11) k2 = 0;
    if (k2 == 10) continue;
    s.push_back(static_cast<char>('0' + k2));
    return s;
  }
}

std::string no_orgnr(std::uint64_t salt) {
  static constexpr unsigned w[] = {3, 2, 7, 6, 5, 4, 3, 2};
  for (std::uint64_t attempt = 0;; ++attempt) {
    const std::uint64_t h = mix64(salt + attempt);
    std::string s;
    s.reserve(9);
    s.push_back((h & 1) ? '9' : '8');
    digits_into(s, (h >> 8) % 10'000'000, 7);
    unsigned sum = 0;
    for (int i = 0; i < 8; ++i) sum += w[i] * static_cast<unsigned>(s[static_cast<std::size_t>(i)] - '0');
    const unsigned r = sum % 11;
    if (r == 1) continue;
    s.push_back(static_cast<char>('0' + (r == 0 ? 0 : 11 - r)));
    return s;
  }
}

std::string se_pnr(std::int64_t birth, std::uint64_t salt, unsigned form, bool coordination) {
  const auto c = projections::civil_from_days(birth);
  std::string ten;
  ten.reserve(10);
  digits_into(ten, static_cast<unsigned>(c.year % 100), 2);
  digits_into(ten, c.month, 2);
  digits_into(ten, c.day + (coordination ? 60u : 0u), 2);
  digits_into(ten, salt % 1000, 3);
  ten.push_back(static_cast<char>('0' + luhn_check(ten)));
  std::string out;
  out.reserve(13);
  if (form != 2) digits_into(out, static_cast<unsigned>(c.year / 100), 2);
  out.append(ten, 0, 6);
  if (form != 1) out.push_back('-');
  out.append(ten, 6, 4);
  return out;
}

std::string se_orgnr(std::uint64_t salt) {
  static constexpr char first[] = {'5', '5', '5', '5', '8', '9', '2', '7'};
  const std::uint64_t h = mix64(salt);
  std::string nine;
  nine.reserve(9);
  nine.push_back(first[h % 8]);
  nine.push_back(static_cast<char>('0' + (h >> 4) % 10));
  digits_into(nine, 20 + (h >> 8) % 80, 2);
  digits_into(nine, (h >> 16) % 100'000, 5);
  std::string out = nine.substr(0, 6) + "-" + nine.substr(6);
  out.push_back(static_cast<char>('0' + luhn_check(nine)));
  return out;
}

std::string ocr_ref(std::uint64_t n) {
  std::string s;
  put_uint(s, n);
  // Luhn with weight 2 on the digit next to the check digit.
  unsigned sum = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const unsigned w = (s.size() - i) % 2 == 1 ? 2 : 1;
    const unsigned x = static_cast<unsigned>(s[i] - '0') * w;
    sum += x / 10 + x % 10;
  }
  s.push_back(static_cast<char>('0' + (10 - sum % 10) % 10));
  return s;
}

// ---- calendars --------------------------------------------------------------

namespace {

std::int64_t days(std::int32_t y, unsigned m, unsigned d) {
  return projections::days_from_civil({y, static_cast<std::uint8_t>(m), static_cast<std::uint8_t>(d)});
}

// The holidays of one year, computed once per year asked for (the
// scenarios touch two or three years).
struct holiday_year {
  std::int32_t year = 0;
  std::vector<std::int64_t> days;
};

bool in_year_table(std::vector<holiday_year>& cache, std::int64_t d,
                   void (*fill)(std::int32_t, std::vector<std::int64_t>&)) {
  const std::int32_t y = projections::civil_from_days(d).year;
  for (const auto& h : cache) {
    if (h.year == y) return std::find(h.days.begin(), h.days.end(), d) != h.days.end();
  }
  holiday_year h{y, {}};
  fill(y, h.days);
  cache.push_back(h);
  return std::find(cache.back().days.begin(), cache.back().days.end(), d) != cache.back().days.end();
}

void norway_holidays(std::int32_t y, std::vector<std::int64_t>& out) {
  const std::int64_t easter = projections::days_from_civil(projections::easter_sunday(y));
  out = {days(y, 1, 1), easter - 3, easter - 2, easter, easter + 1, easter + 39, easter + 49,
         easter + 50, days(y, 5, 1), days(y, 5, 17), days(y, 12, 25), days(y, 12, 26)};
}

void sweden_holidays(std::int32_t y, std::vector<std::int64_t>& out) {
  const std::int64_t easter = projections::days_from_civil(projections::easter_sunday(y));
  // Midsommardagen: the Saturday in 20-26 June; alla helgons dag: the
  // Saturday in 31 Oct - 6 Nov. Weekdays: 0 = Monday.
  auto saturday_from = [](std::int64_t first) {
    const unsigned wd = projections::weekday(projections::civil_from_days(first));
    return first + static_cast<std::int64_t>((5 + 7 - wd) % 7);
  };
  const std::int64_t midsommar = saturday_from(days(y, 6, 20));
  out = {days(y, 1, 1),  days(y, 1, 6),   easter - 2,     easter,         easter + 1,
         days(y, 5, 1),  easter + 39,     days(y, 6, 6),  midsommar,      midsommar - 1,
         saturday_from(days(y, 10, 31)), days(y, 12, 24), days(y, 12, 25), days(y, 12, 26),
         days(y, 12, 31)};
}

std::vector<holiday_year>& norway_cache() {
  static thread_local std::vector<holiday_year> c;
  return c;
}
std::vector<holiday_year>& sweden_cache() {
  static thread_local std::vector<holiday_year> c;
  return c;
}

unsigned weekday_of(std::int64_t d) {
  // 1970-01-01 was a Thursday (3 with Monday = 0).
  return static_cast<unsigned>(((d % 7) + 7 + 3) % 7);
}

std::int64_t last_sunday(std::int32_t y, unsigned month) {
  const std::int64_t last = days(y, month, 31);
  return last - static_cast<std::int64_t>((weekday_of(last) + 1) % 7);
}

}  // namespace

bool norway_working_day(std::int64_t d) {
  if (weekday_of(d) >= 5) return false;
  return !in_year_table(norway_cache(), d, norway_holidays);
}

std::int64_t norway_utc_offset(std::int64_t t) {
  const std::int32_t y = projections::civil_from_days(day_of(t)).year;
  const std::int64_t from = last_sunday(y, 3) * day + hour;
  const std::int64_t to = last_sunday(y, 10) * day + hour;
  return t >= from && t < to ? 2 * hour : hour;
}

std::int64_t norway_due(std::int64_t t, std::int64_t hours) {
  // Working days have 24 local hours each (the DST switches fall on Sundays),
  // so the count walks local days and converts the end back to UTC.
  std::int64_t need = hours * hour;
  const std::int64_t local = t + norway_utc_offset(t);
  std::int64_t d = day_of(local);
  std::int64_t from = local - d * day;  // seconds into the first day
  for (;;) {
    if (norway_working_day(d)) {
      const std::int64_t have = day - from;
      if (have >= need) {
        const std::int64_t due_local = d * day + from + need;
        // The offset at the due instant (never near a switch: a working day).
        return due_local - norway_utc_offset(due_local - hour);
      }
      need -= have;
    }
    ++d;
    from = 0;
  }
}

bool sweden_banking_day(std::int64_t d) {
  if (weekday_of(d) >= 5) return false;
  return !in_year_table(sweden_cache(), d, sweden_holidays);
}

}  // namespace detail

// ---- engine -----------------------------------------------------------------

using namespace detail;

scenario::engine::engine(const options& o, std::uint64_t domain_key)
    : rng_(mix64(o.seed) ^ domain_key), count_(o.count), key_(mix64(o.seed ^ domain_key) | 1) {
  const projections::civil_date first = *o.start;
  start_ = projections::days_from_civil(first) * day;
  now_ = start_;
  span_days_ = o.days;
  static constexpr char alphabet[] = "abcdefghijkmnpqrstuvwxyz23456789";
  std::uint64_t h = mix64(o.seed + 0x7a67);
  for (int i = 0; i < 4; ++i, h >>= 5) tag_.push_back(alphabet[h & 31]);
  if (o.anomalies >= 1.0) {
    anomaly_threshold_ = UINT64_MAX;
  } else if (o.anomalies > 0) {
    anomaly_threshold_ = static_cast<std::uint64_t>(o.anomalies * 0x1.0p64);
  }
}

bool scenario::engine::next(std::string& line) {
  line.clear();
  // One draw per line, so the anomaly share does not depend on how many
  // actions produce no event.
  if (anomaly_threshold_ != 0 && rng_.next() < anomaly_threshold_) {
    anomaly(line);
    return true;
  }
  for (;;) {
    const action a = queue_.pop();
    now_ = std::max(now_, a.time);
    if (handle(a, line)) return false;
  }
}

void scenario::engine::schedule(std::uint8_t kind, std::uint32_t slot, std::int64_t time,
                                std::int64_t arg) {
  queue_.push(action{std::max(time, now_), seq_++, arg, slot, kind});
}

void scenario::engine::begin_event(std::string& out, std::string_view prefix, std::string_view id,
                                   std::string_view type, std::int64_t expected_version,
                                   std::int64_t time) {
  out.append(R"({"stream":")");
  out.append(prefix);
  out.append(id);
  out.append(R"(","type":")");
  out.append(type);
  out.append(R"(","id":")");
  put_uuid(out, uuid_v7(time, event_seq_++, key_));
  out.append(R"(","expected_version":)");
  put_int(out, expected_version);
  out.append(R"(,"time":")");
  put_time(out, time);
  out.append(R"(","data":)");
}

bool scenario::engine::office_hour(std::int64_t t) const {
  const std::int64_t local = t + (norway_ ? norway_utc_offset(t) : hour);
  const std::int64_t d = day_of(local);
  const std::int64_t s = local - d * day;
  const bool working = norway_ ? norway_working_day(d) : sweden_banking_day(d);
  return working && s >= office_from_ && s < office_to_;
}

void scenario::engine::plan_arrivals(double entities, double off_hours, std::int64_t office_from,
                                     std::int64_t office_to, bool norway) {
  off_hours_ = off_hours;
  office_from_ = office_from;
  office_to_ = office_to;
  norway_ = norway;
  // The mean acceptance over the span, by the hour, so the arrivals fill the
  // span whatever its holidays.
  double accepted = 0;
  const std::int64_t hours = span_days_ * 24;
  for (std::int64_t h = 0; h < hours; ++h) {
    accepted += office_hour(start_ + h * hour + 30 * minute) ? 1.0 : off_hours;
  }
  const double seconds = static_cast<double>(span_days_) * static_cast<double>(day);
  arrival_clock_ = static_cast<double>(start_);
  mean_gap_ = entities > 0 ? seconds * (accepted / static_cast<double>(hours)) / entities : seconds;
  if (mean_gap_ < 1e-3) mean_gap_ = 1e-3;
}

std::int64_t scenario::engine::next_arrival() {
  // Candidate gaps are uniform in [0, 2 * mean); the clock keeps their
  // fractions, so gaps far below a second still add up to the right rate.
  for (;;) {
    arrival_clock_ += rng_.unit() * 2 * mean_gap_;
    const auto s = static_cast<std::int64_t>(arrival_clock_);
    if (office_hour(s) || rng_.unit() < off_hours_) return s;
  }
}

}  // namespace muninn::gen
