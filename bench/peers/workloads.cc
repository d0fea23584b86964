#include "bench/peers/workloads.h"

#include <sys/prctl.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include "bench/broker_process.h"
#include "bench/storage_common.h"
#include "bench/workload.h"

namespace muninn::bench::peers {
namespace {

using broker_bench::interrupted;
using storage_bench::now_ns;
using storage_bench::seconds_between;
using storage_bench::workload;

// The same random bytes for every system; an event's data is a slice of it.
class data_pool {
 public:
  data_pool() : bytes_(1u << 20) {
    std::mt19937_64 rng(0x6d756e696e6e);
    for (std::size_t i = 0; i < bytes_.size(); i += 8) {
      const std::uint64_t r = rng();
      std::memcpy(bytes_.data() + i, &r, 8);
    }
  }
  std::span<const std::byte> slice(std::uint64_t at, std::size_t n) const {
    return {bytes_.data() + workload::next(at) % (bytes_.size() - n), n};
  }

 private:
  std::vector<std::byte> bytes_;
};

const data_pool& pool() {
  static const data_pool p;
  return p;
}

// The first error of several threads.
class first_error {
 public:
  void set(std::string m) {
    std::lock_guard g(mu_);
    if (!failed_.exchange(true)) message_ = std::move(m);
  }
  bool failed() const { return failed_.load(); }
  void copy_to(std::string& error) const {
    std::lock_guard g(mu_);
    if (failed_ && error.empty()) error = message_;
  }

 private:
  mutable std::mutex mu_;
  std::atomic<bool> failed_{false};
  std::string message_;
};

std::vector<std::string> names(const std::string& prefix, std::size_t n) {
  std::vector<std::string> out;
  out.reserve(n);
  for (std::size_t k = 0; k < n; ++k) out.push_back(prefix + std::to_string(k));
  return out;
}

std::vector<std::unique_ptr<session>> connect_all(system& s, int n, std::string& error) {
  std::vector<std::unique_ptr<session>> out;
  for (int i = 0; i < n && error.empty(); ++i) out.push_back(s.connect(error));
  return out;
}

void sleep_until_ns(std::uint64_t t) {
  const std::uint64_t now = now_ns();
  if (t > now) std::this_thread::sleep_for(std::chrono::nanoseconds(t - now));
}

void set_latencies(measurement& m, const latency_histogram& h) {
  if (h.count() == 0) return;
  m.p50_us = static_cast<double>(h.quantile(0.50)) / 1e3;
  m.p99_us = static_cast<double>(h.quantile(0.99)) / 1e3;
  m.p999_us = static_cast<double>(h.quantile(0.999)) / 1e3;
}

constexpr std::size_t streams_per_producer = 1000;

}  // namespace

measurement run_produce(system& s, const options& o, int round, std::string& error) {
  measurement m;
  auto sessions = connect_all(s, o.producers, error);
  if (!error.empty()) return m;
  first_error fail;
  std::atomic<std::uint64_t> acked{0};
  const std::uint64_t t0 = now_ns() + 20'000'000;
  const std::uint64_t t_measure = t0 + static_cast<std::uint64_t>(o.warmup * 1e9);
  const std::uint64_t t_end = t_measure + static_cast<std::uint64_t>(o.seconds * 1e9);
  std::vector<std::thread> threads;
  for (int p = 0; p < o.producers; ++p) {
    threads.emplace_back([&, p] {
      const auto streams = names("r" + std::to_string(round) + "p" + std::to_string(p) + "s", streams_per_producer);
      std::vector<event> evs(o.depth * o.batch);
      std::uint64_t j = 0;
      sleep_until_ns(t0);
      while (!fail.failed() && !interrupted && now_ns() < t_end) {
        for (auto& e : evs) {
          e.stream = streams[j % streams_per_producer];
          e.version = static_cast<std::int64_t>(j / streams_per_producer + 1);
          e.data = pool().slice(j * 31 + static_cast<std::uint64_t>(p), o.event_bytes);
          ++j;
        }
        if (auto err = sessions[static_cast<std::size_t>(p)]->append(evs, o.batch, append_mode::plain)) {
          fail.set(*err);
          break;
        }
        const std::uint64_t done = now_ns();
        if (done >= t_measure && done <= t_end) acked.fetch_add(evs.size());
      }
    });
  }
  for (auto& t : threads) t.join();
  fail.copy_to(error);
  if (interrupted && error.empty()) error = "interrupted";
  m.events = acked.load();
  m.events_s = static_cast<double>(m.events) / o.seconds;
  return m;
}

measurement run_latency(system& s, const options& o, int round, latency_histogram& h, std::string& error) {
  measurement m;
  auto sessions = connect_all(s, o.latency_sessions, error);
  if (!error.empty()) return m;
  first_error fail;
  latency_histogram mine;
  std::atomic<std::uint64_t> recorded{0};
  // Session k sends every `interval` ns at phase k / sessions, so that the
  // sends of all sessions are spread evenly at `rate` in all.
  const double interval = 1e9 * o.latency_sessions / o.rate;
  const auto per_session = static_cast<std::size_t>(o.rate * o.latency_seconds / o.latency_sessions);
  const std::size_t warm = 20;  // per session, not recorded: first requests, caches
  const std::uint64_t t0 = now_ns() + 20'000'000;
  std::vector<std::thread> threads;
  for (int k = 0; k < o.latency_sessions; ++k) {
    threads.emplace_back([&, k] {
      // The default 50 us timer slack would add itself to every latency.
      ::prctl(PR_SET_TIMERSLACK, 1UL);
      const auto streams =
          names("l" + std::to_string(round) + "k" + std::to_string(k) + "s", streams_per_producer);
      const double phase = interval * k / o.latency_sessions;
      for (std::size_t i = 0; i < warm + per_session && !fail.failed() && !interrupted; ++i) {
        const std::uint64_t sched = t0 + static_cast<std::uint64_t>(phase + interval * static_cast<double>(i));
        sleep_until_ns(sched);
        const event e{streams[i % streams_per_producer], static_cast<std::int64_t>(i / streams_per_producer + 1),
                      pool().slice(i * 7 + static_cast<std::uint64_t>(k), o.event_bytes)};
        if (auto err = sessions[static_cast<std::size_t>(k)]->append({&e, 1}, 1, append_mode::plain)) {
          fail.set(*err);
          break;
        }
        if (i < warm) continue;
        // From the scheduled time: a late acknowledgement delays the next
        // send of this session, and that delay is counted too.
        const std::uint64_t lat = now_ns() - sched;
        mine.record(lat);
        h.record(lat);
        recorded.fetch_add(1);
      }
    });
  }
  for (auto& t : threads) t.join();
  fail.copy_to(error);
  if (interrupted && error.empty()) error = "interrupted";
  m.events = recorded.load();
  set_latencies(m, mine);
  return m;
}

measurement run_expected(system& s, const options& o, int round, std::string& error) {
  measurement m;
  auto sessions = connect_all(s, o.producers, error);
  if (!error.empty()) return m;
  first_error fail;
  const std::size_t per = (o.expected_streams + static_cast<std::size_t>(o.producers) - 1) /
                          static_cast<std::size_t>(o.producers);
  const std::uint64_t t0 = now_ns();
  std::vector<std::thread> threads;
  for (int p = 0; p < o.producers; ++p) {
    threads.emplace_back([&, p] {
      const std::size_t from = per * static_cast<std::size_t>(p);
      const std::size_t to = std::min(o.expected_streams, from + per);
      std::vector<std::string> streams;
      for (std::size_t k = from; k < to; ++k) streams.push_back("x" + std::to_string(round) + "-" + std::to_string(k));
      std::vector<event> evs;
      for (std::size_t at = 0; at < streams.size() && !fail.failed() && !interrupted; at += o.depth * o.batch) {
        evs.clear();
        for (std::size_t k = at; k < std::min(streams.size(), at + o.depth * o.batch); ++k)
          evs.push_back({streams[k], 1, pool().slice(k, o.event_bytes)});
        if (auto err = sessions[static_cast<std::size_t>(p)]->append(evs, o.batch, append_mode::expected)) {
          fail.set(*err);
          break;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  const double secs = seconds_between(t0, now_ns());
  fail.copy_to(error);
  if (interrupted && error.empty()) error = "interrupted";
  m.events = o.expected_streams;
  m.events_s = static_cast<double>(o.expected_streams) / secs;
  return m;
}

status fill(system& s, const options& o) {
  std::string error;
  constexpr int threads_n = 2;
  auto sessions = connect_all(s, threads_n, error);
  if (!error.empty()) return error;
  if (auto err = s.loading(true)) return err;
  const auto streams = names("f-", o.streams_of_fill);
  // Requests of the produce workload's size: Muninn stores a request as one
  // batch, and a read of one event reads (and verifies) its whole batch.
  const std::size_t chunk = o.batch * 100, batch = o.batch;
  const std::uint64_t chunks = (o.events + chunk - 1) / chunk;
  first_error fail;
  std::atomic<std::uint64_t> done{0};
  const std::uint64_t t0 = now_ns();
  std::vector<std::thread> threads;
  for (int t = 0; t < threads_n; ++t) {
    threads.emplace_back([&, t] {
      std::vector<event> evs;
      for (std::uint64_t c = static_cast<std::uint64_t>(t); c < chunks && !fail.failed() && !interrupted;
           c += threads_n) {
        evs.clear();
        for (std::uint64_t i = c * chunk; i < std::min(o.events, (c + 1) * chunk); ++i)
          evs.push_back({streams[i % o.streams_of_fill], static_cast<std::int64_t>(i / o.streams_of_fill + 1),
                         pool().slice(i, o.event_bytes)});
        if (auto err = sessions[static_cast<std::size_t>(t)]->append(evs, batch, append_mode::fill)) {
          fail.set(*err);
          break;
        }
        const auto n = done.fetch_add(evs.size()) + evs.size();
        if (n % 1'000'000 < evs.size())
          std::fprintf(stderr, "  %s: filled %llu events (%.0f s)\n", s.name().c_str(),
                       static_cast<unsigned long long>(n), seconds_between(t0, now_ns()));
      }
    });
  }
  for (auto& th : threads) th.join();
  fail.copy_to(error);
  if (interrupted && error.empty()) error = "interrupted";
  if (!error.empty()) return error;
  if (auto err = s.loading(false)) return err;
  std::fprintf(stderr, "  %s: filled %llu events in %.1f s\n", s.name().c_str(),
               static_cast<unsigned long long>(done.load()), seconds_between(t0, now_ns()));
  return std::nullopt;
}

measurement run_replay(system& s, const options& o, std::string& error) {
  measurement m;
  auto sess = s.connect(error);
  if (!sess) return m;
  std::uint64_t n = 0, bytes = 0;
  const std::uint64_t t0 = now_ns();
  if (auto err = sess->replay(n, bytes)) {
    error = *err;
    return m;
  }
  const double secs = seconds_between(t0, now_ns());
  if (n != o.events || bytes != n * o.event_bytes) {
    error = s.name() + ": replay read " + std::to_string(n) + " events (" + std::to_string(bytes) +
            " data bytes), expected " + std::to_string(o.events);
    return m;
  }
  m.events = n;
  m.events_s = static_cast<double>(n) / secs;
  return m;
}

measurement run_read_stream(system& s, const options& o, std::string& error) {
  measurement m;
  auto sess = s.connect(error);
  if (!sess) return m;
  const std::size_t expect = static_cast<std::size_t>(o.events / o.streams_of_fill);
  std::mt19937_64 rng(42);
  latency_histogram h;
  const std::uint64_t t0 = now_ns();
  for (std::size_t i = 0; i < o.reads && !interrupted; ++i) {
    const std::string stream = "f-" + std::to_string(rng() % o.streams_of_fill);
    std::size_t n = 0;
    const std::uint64_t a = now_ns();
    if (auto err = sess->read_stream(stream, n)) {
      error = *err;
      return m;
    }
    h.record(now_ns() - a);
    if (n != expect) {
      error = s.name() + ": stream " + stream + " has " + std::to_string(n) + " events, expected " +
              std::to_string(expect);
      return m;
    }
  }
  m.events = o.reads;
  m.events_s = static_cast<double>(o.reads) / seconds_between(t0, now_ns());
  set_latencies(m, h);
  return m;
}

}  // namespace muninn::bench::peers
