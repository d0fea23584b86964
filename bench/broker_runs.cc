#include "bench/broker_runs.h"

#include <sys/prctl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <semaphore>
#include <span>
#include <thread>
#include <utility>

#include "bench/broker_process.h"
#include "bench/table.h"
#include "clients/client.h"
#include "codec/stream_hash.h"
#include "storage/log.h"

namespace muninn::bench::broker_bench {
namespace {

void sleep_until_ns(std::uint64_t t) {
  const std::uint64_t now = now_ns();
  if (t > now) std::this_thread::sleep_for(std::chrono::nanoseconds(t - now));
}

// Waits until `count` reaches zero, at most `limit_s` seconds.
bool drain(const std::atomic<std::int64_t>& count, double limit_s) {
  const std::uint64_t deadline = now_ns() + static_cast<std::uint64_t>(limit_s * 1e9);
  while (count.load() > 0) {
    if (now_ns() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::microseconds(500));
  }
  return true;
}

// Everything the producer threads and their acknowledgement handlers share.
struct produce_state {
  const produce_config& cfg;
  const std::string& topic;
  const stream_table& streams;
  workload& work;
  std::uint64_t t0 = 0;         // first send (closed loop) or first schedule (open loop)
  std::uint64_t t_measure = 0;  // window start
  std::uint64_t t_end = 0;      // window end
  latency_histogram h;
  latency_histogram* also = nullptr;
  std::atomic<std::uint64_t> acked_in_window{0};
  std::atomic<std::uint64_t> last_ack{0};
  std::atomic<std::int64_t> outstanding{0};
  shared_failure fail;
};

void producer_loop(produce_state& st, client::client& c, int p, std::uint64_t first_batch, std::uint64_t batches) {
  const auto& cfg = st.cfg;
  // The open-loop sends must leave at their scheduled time: the default
  // 50 us timer slack would add itself to every latency.
  if (cfg.rate > 0) ::prctl(PR_SET_TIMERSLACK, 1UL);
  auto window = std::make_shared<std::counting_semaphore<1 << 20>>(static_cast<std::ptrdiff_t>(cfg.inflight));
  std::vector<codec::event_in> events(cfg.batch);
  std::uint64_t r = workload::next(0x5eed + static_cast<std::uint64_t>(p));
  const std::uint32_t partitions = st.streams.partitions();
  // Producer p sends at p/producers of the interval, so that the open-loop
  // requests of all producers are spread evenly.
  const double interval_ns =
      cfg.rate > 0 ? 1e9 * static_cast<double>(cfg.batch) * cfg.producers / cfg.rate : 0.0;
  const double phase_ns = interval_ns * p / cfg.producers;
  for (std::uint64_t k = 0;; ++k) {
    if (st.fail.failed() || interrupted.load(std::memory_order_relaxed)) break;
    if (cfg.stop && cfg.stop->load(std::memory_order_relaxed)) break;
    if (cfg.events > 0 && k >= batches) break;
    std::uint64_t sched;
    if (cfg.rate > 0) {
      sched = st.t0 + static_cast<std::uint64_t>(phase_ns + interval_ns * static_cast<double>(k));
      if (cfg.events == 0 && sched >= st.t_end) break;
      sleep_until_ns(sched);
      window->acquire();  // a full window delays the send; latency still counts from `sched`
    } else {
      if (cfg.events == 0 && now_ns() >= st.t_end) break;
      window->acquire();
      sched = now_ns();
    }
    const std::uint32_t partition = static_cast<std::uint32_t>((first_batch + k) % partitions);
    const auto& names = st.streams.of(partition);
    st.work.fill(events, r);
    for (auto& e : events) {
      r = workload::next(r);
      e.stream = names[r % names.size()];
      e.data = st.work.random_bytes(cfg.event_bytes, r >> 20);
    }
    const std::uint64_t corr = c.next_correlation_id();
    auto frame = client::encode_produce(corr, st.topic, partition, cfg.acks, {}, 0, events);
    st.outstanding.fetch_add(1);
    const std::uint64_t n = events.size();
    c.async_request(corr, std::move(frame), [&st, window, sched, n](result<client::response, client::client_error> resp) {
      const std::uint64_t now = now_ns();
      std::optional<client::client_error> err;
      if (!resp) err = resp.error();
      else err = client::check_response(*resp, fb::ResponseBody::ProduceResponse);
      if (err) {
        st.fail.set("produce failed: " + err->describe());
      } else {
        const bool measured = st.cfg.events > 0 || (sched >= st.t_measure && sched < st.t_end);
        if (measured) {
          st.h.record(now - sched);
          if (st.also) st.also->record(now - sched);
        }
        if (st.cfg.events > 0 || (now >= st.t_measure && now < st.t_end)) st.acked_in_window.fetch_add(n);
        std::uint64_t last = st.last_ack.load();
        while (now > last && !st.last_ack.compare_exchange_weak(last, now)) {
        }
      }
      window->release();
      st.outstanding.fetch_sub(1);
    });
  }
}

// "1 MiB", "256 KiB".
std::string size_text(std::size_t bytes) {
  if (bytes >= (1u << 20) && bytes % (1u << 20) == 0) return std::to_string(bytes >> 20) + " MiB";
  return std::to_string(bytes >> 10) + " KiB";
}

std::uint64_t data_bytes_of(const std::vector<client::event_record>& events) {
  std::uint64_t b = 0;
  for (const auto& e : events) b += e.data().size();
  return b;
}

}  // namespace

std::unique_ptr<client::client> connect(const std::string& address, shared_failure& fail) {
  auto opts = client::parse_broker_address(address);
  if (!opts) {
    fail.set(opts.error().describe());
    return nullptr;
  }
  return std::make_unique<client::client>(*opts);
}

pid_t io_thread_id(client::client& c) {
  std::promise<pid_t> p;
  auto f = p.get_future();
  c.post([&p] { p.set_value(this_thread_id()); });
  return f.get();
}

void cpu_window::begin() {
  t0_ = now_ns();
  if (broker_) broker0_ = read_thread_times(broker_);
  self0_ = read_thread_times(::getpid());
}

void cpu_window::end(brow& r) {
  const double wall = seconds_between(t0_, now_ns());
  const auto self1 = read_thread_times(::getpid());
  if (broker_) {
    const auto u = cpu_between(broker0_, read_thread_times(broker_), wall);
    r.v[b_broker_cpu] = u.total;
    // muninnd's network thread is its main thread (tid == pid).
    r.v[b_broker_net] = u.of(broker_);
  }
  const auto s = cpu_between(self0_, self1, wall, roles_);
  r.v[b_bench_cpu] = s.total;
  r.v[b_bench_busiest] = s.busiest;
  r.busiest = s.busiest_name;
}

brow median_brow(const std::vector<brow>& runs) {
  brow out = runs.front();
  for (std::size_t c = 0; c < bcol_count; ++c) {
    std::vector<double> xs;
    for (const auto& r : runs) xs.push_back(r.v[c]);
    out.v[c] = storage_bench::median_of(std::move(xs));
  }
  return out;
}

stream_table::stream_table(std::uint32_t partitions, std::size_t per_partition) : streams_(partitions) {
  for (std::size_t k = 0; std::any_of(streams_.begin(), streams_.end(),
                                      [&](const auto& s) { return s.size() < per_partition; });
       ++k) {
    std::string name = "bench-" + std::to_string(k);
    auto& s = streams_[codec::partition_for(name, partitions)];
    if (s.size() < per_partition) s.push_back(std::move(name));
  }
}

std::string describe(const produce_config& c) {
  std::string s = std::to_string(c.producers) + " producer" + (c.producers == 1 ? "" : "s") + " x batch " +
                  std::to_string(c.batch) + " x " + std::to_string(c.event_bytes) + " B, " +
                  (c.acks == client::ack_mode::durable ? "durable" : "written");
  if (c.rate > 0) s += ", " + storage_bench::count_text(c.rate) + " ev/s";
  return s;
}

brow run_produce(const produce_config& cfg, const broker_ref& broker, const std::string& topic,
                 const stream_table& streams, workload& work, failure& fail, latency_histogram* also) {
  brow row;
  row.name = cfg.name.empty() ? describe(cfg) : cfg.name;
  row.inflight = cfg.rate > 0 ? "open loop" : std::to_string(cfg.inflight * static_cast<std::size_t>(cfg.producers));
  produce_state st{cfg, topic, streams, work};
  st.also = also;
  std::vector<std::unique_ptr<client::client>> clients;
  std::map<pid_t, std::string> roles;
  for (int p = 0; p < cfg.producers; ++p) {
    clients.push_back(connect(broker.address, st.fail));
    if (!clients.back()) break;
    roles[io_thread_id(*clients.back())] = "client I/O";
    // Connects now, so that connecting is not in the first request's latency.
    if (auto t = clients.back()->describe_topic(topic); !t) st.fail.set("describe " + topic + ": " + t.error().describe());
  }
  if (st.fail.failed()) {
    st.fail.copy_to(fail);
    return row;
  }
  // Every producer gets the same share of --events, in whole batches.
  const std::uint64_t batches =
      cfg.events > 0 ? std::max<std::uint64_t>(1, cfg.events / cfg.batch / static_cast<std::uint64_t>(cfg.producers)) : 0;
  st.t0 = now_ns() + 20'000'000;  // threads are up by then
  st.t_measure = cfg.events > 0 ? st.t0 : st.t0 + static_cast<std::uint64_t>(cfg.warmup * 1e9);
  st.t_end = cfg.events > 0 ? ~0ull : st.t_measure + static_cast<std::uint64_t>(cfg.seconds * 1e9);
  std::vector<pid_t> tids(static_cast<std::size_t>(cfg.producers));
  std::atomic<int> ready{0};
  std::vector<std::thread> threads;
  for (int p = 0; p < cfg.producers; ++p) {
    threads.emplace_back([&, p] {
      tids[static_cast<std::size_t>(p)] = this_thread_id();
      ready.fetch_add(1);
      sleep_until_ns(st.t0);
      producer_loop(st, *clients[static_cast<std::size_t>(p)], p, static_cast<std::uint64_t>(p), batches);
    });
  }
  while (ready.load() < cfg.producers) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  for (auto t : tids) roles[t] = "producer";
  cpu_window cpu(broker.pid, roles);
  sleep_until_ns(st.t_measure);
  cpu.begin();
  if (cfg.events == 0) {
    while (now_ns() < st.t_end && !interrupted && !st.fail.failed() && !(cfg.stop && cfg.stop->load()))
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    cpu.end(row);
  }
  for (auto& t : threads) t.join();
  if (!drain(st.outstanding, 60)) st.fail.set("produce: no acknowledgement for 60 s after the run");
  if (cfg.events > 0) cpu.end(row);
  clients.clear();  // fails what is still pending (after a drain timeout) while `st` lives
  if (interrupted) st.fail.set("interrupted");
  st.fail.copy_to(fail);
  if (fail.failed) return row;
  const double secs = cfg.events > 0 ? seconds_between(st.t0, st.last_ack.load()) : cfg.seconds;
  const double n = static_cast<double>(st.acked_in_window.load());
  row.v[b_events] = n;
  row.v[b_events_s] = n / secs;
  row.v[b_data_mb_s] = n * static_cast<double>(cfg.event_bytes) / secs / 1e6;
  if (st.h.count() > 0) {
    row.v[b_p50] = static_cast<double>(st.h.quantile(0.50)) / 1e3;
    row.v[b_p99] = static_cast<double>(st.h.quantile(0.99)) / 1e3;
    row.v[b_p999] = static_cast<double>(st.h.quantile(0.999)) / 1e3;
  }
  return row;
}

bool fill_topic(const broker_ref& broker, const std::string& topic, std::uint64_t events, std::size_t event_bytes,
                failure& fail, std::uint32_t partitions) {
  // Two connections with large acks=written batches: filling is not what is
  // measured, only how long the reader needs afterwards. Ids are made inline.
  workload work(0);
  stream_table streams(partitions);
  produce_config cfg;
  cfg.name = "fill";
  cfg.producers = 2;
  cfg.batch = 1000;
  cfg.event_bytes = event_bytes;
  cfg.acks = client::ack_mode::written;
  cfg.inflight = 8;
  // Leaves at least one event per partition for the durable tail below.
  cfg.events = events > partitions ? events - partitions : 1;
  const std::uint64_t t0 = now_ns();
  std::fprintf(stderr, "filling %s with %s events of %zu B (acks=written, batches of 1000)...\n", topic.c_str(),
               storage_bench::count_text(static_cast<double>(events)).c_str(), event_bytes);
  const brow r = run_produce(cfg, broker, topic, streams, work, fail);
  if (fail.failed) return false;
  // The rest, and durable: a partition is written in order, so once its
  // last batch is acknowledged every event before it is on disk and readable.
  shared_failure sf;
  auto c = connect(broker.address, sf);
  if (!c) {
    sf.copy_to(fail);
    return false;
  }
  const std::uint64_t sent = static_cast<std::uint64_t>(r.v[b_events]);
  const std::uint64_t rest = events - std::min(events, sent);
  std::uint64_t total = sent;
  for (std::uint32_t part = 0; part < partitions; ++part) {
    std::uint64_t left = rest / partitions + (part < rest % partitions ? 1 : 0);
    for (bool first = true; left > 0 || first; first = false) {
      const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(std::max<std::uint64_t>(left, 1), 1000));
      std::vector<codec::event_in> last(n);
      std::uint64_t seed = 7 + left + part;
      work.fill(last, seed);
      for (auto& e : last) {
        e.stream = streams.of(part).front();
        e.data = work.random_bytes(event_bytes, seed);
      }
      auto p = c->produce(topic, part, last, client::ack_mode::durable);
      if (!p) {
        fail.set("fill: durable produce failed: " + p.error().describe());
        return false;
      }
      total += n;
      left -= std::min<std::uint64_t>(left, n);
    }
  }
  std::fprintf(stderr, "filled %s events in %.1f s (%s events/s)\n", storage_bench::count_text(double(total)).c_str(),
               seconds_between(t0, now_ns()),
               storage_bench::count_text(double(total) / seconds_between(t0, now_ns())).c_str());
  return true;
}

brow run_replay_fetch(const broker_ref& broker, const std::string& topic, std::uint64_t events,
                      std::uint32_t max_bytes, failure& fail) {
  brow row;
  row.name = "replay by fetch, " + size_text(max_bytes) + " per fetch, one at a time";
  row.inflight = "1";
  shared_failure sf;
  auto c = connect(broker.address, sf);
  if (!c) {
    sf.copy_to(fail);
    return row;
  }
  if (auto t = c->describe_topic(topic); !t) {
    fail.set("describe " + topic + ": " + t.error().describe());
    return row;
  }
  cpu_window cpu(broker.pid, {{io_thread_id(*c), "client I/O"}, {this_thread_id(), "consumer"}});
  std::uint64_t n = 0, data = 0, wire = 0, next = 0;
  cpu.begin();
  const std::uint64_t t0 = now_ns();
  while (next < events && !interrupted) {
    auto f = c->fetch(topic, 0, next, max_bytes, 0);
    if (!f) {
      fail.set("fetch at offset " + std::to_string(next) + ": " + f.error().describe());
      return row;
    }
    if (f->events.empty()) {
      fail.set("fetch at offset " + std::to_string(next) + " returned nothing (head " + std::to_string(f->head) + ")");
      return row;
    }
    n += f->events.size();
    data += data_bytes_of(f->events);
    for (const auto& b : f->batches) wire += b.frame_bytes;
    next = f->next_offset;
  }
  const double secs = seconds_between(t0, now_ns());
  cpu.end(row);
  if (interrupted) fail.set("interrupted");
  row.v[b_events] = static_cast<double>(n);
  row.v[b_events_s] = static_cast<double>(n) / secs;
  row.v[b_data_mb_s] = static_cast<double>(data) / secs / 1e6;
  row.v[b_wire_mb_s] = static_cast<double>(wire) / secs / 1e6;
  return row;
}

brow run_replay_subscribe(const broker_ref& broker, const std::string& topic, std::uint64_t events,
                          std::uint32_t credit_bytes, failure& fail, std::uint32_t partitions) {
  brow row;
  row.name = "replay by subscribe, " + size_text(credit_bytes) + " credit";
  row.inflight = "credit";
  shared_failure sf;
  auto c = connect(broker.address, sf);
  if (!c) {
    sf.copy_to(fail);
    return row;
  }
  if (auto t = c->describe_topic(topic); !t) {
    fail.set("describe " + topic + ": " + t.error().describe());
    return row;
  }
  cpu_window cpu(broker.pid, {{io_thread_id(*c), "client I/O"}});
  std::atomic<bool> done{false};
  std::uint64_t n = 0, data = 0;  // I/O thread only until `done`
  client::subscribe_options so;
  so.credit_bytes = credit_bytes;
  cpu.begin();
  const std::uint64_t t0 = now_ns();
  std::atomic<std::uint64_t> t1{0};
  // Every subscription's callbacks run on the client's one I/O thread.
  std::vector<client::subscription> subs;
  for (std::uint32_t part = 0; part < partitions; ++part)
    subs.push_back(c->subscribe(
        topic, part, 0,
        [&](std::span<const client::event_record> evs, std::uint64_t) {
          for (const auto& e : evs) data += e.data().size();
          n += evs.size();
          if (n >= events && !done) {
            t1 = now_ns();
            done = true;
          }
        },
        [&](const client::client_error& e) {
          sf.set("subscription ended: " + e.describe());
          done = true;
        },
        so));
  const std::uint64_t deadline = now_ns() + 600'000'000'000ull;
  while (!done && !interrupted && now_ns() < deadline) std::this_thread::sleep_for(std::chrono::microseconds(200));
  for (auto& sub : subs) sub.cancel();
  if (!done) sf.set(interrupted ? "interrupted" : "subscription: not every event within 600 s");
  cpu.end(row);
  c.reset();  // the callbacks reference this frame's locals
  sf.copy_to(fail);
  if (fail.failed) return row;
  const double secs = seconds_between(t0, t1.load());
  row.v[b_events] = static_cast<double>(n);
  row.v[b_events_s] = static_cast<double>(n) / secs;
  row.v[b_data_mb_s] = static_cast<double>(data) / secs / 1e6;
  return row;
}

std::vector<brow> run_storage_read(const std::string& dir, std::uint64_t events, std::size_t max_bytes, int repeat,
                                   failure& fail) {
  std::vector<brow> rows;
  auto log = storage::partition_log::open(dir);
  if (!log) {
    fail.set("cannot open " + dir + ": " + log.error().message);
    return rows;
  }
  for (int rep = 0; rep < repeat && !interrupted; ++rep) {
    brow row;
    row.name = "storage: partition_log::read in-process, " + size_text(max_bytes) + " per read";
    row.inflight = "1";
    cpu_window cpu(0, {{this_thread_id(), "reader"}});
    std::uint64_t n = 0, data = 0, wire = 0, next = 0;
    cpu.begin();
    const std::uint64_t t0 = now_ns();
    while (next < events) {
      auto chunk = (*log)->read(next, max_bytes);
      if (!chunk || chunk->batches.empty()) {
        fail.set("partition_log::read at " + std::to_string(next) + " returned nothing");
        break;
      }
      wire += chunk->bytes.size();
      for (const auto& b : chunk->batches) {
        // As events_of() does in the client: every event is looked at.
        const auto* evs = b.batch.batch->events();
        for (std::uint32_t i = 0; i < evs->size(); ++i) {
          if (b.base_offset + i < next) continue;
          const auto* d = evs->Get(i)->data();
          data += d ? d->size() : 0;
          ++n;
        }
        next = b.base_offset + b.count;
      }
    }
    const double secs = seconds_between(t0, now_ns());
    cpu.end(row);
    if (fail.failed) break;
    row.v[b_events] = static_cast<double>(n);
    row.v[b_events_s] = static_cast<double>(n) / secs;
    row.v[b_data_mb_s] = static_cast<double>(data) / secs / 1e6;
    row.v[b_wire_mb_s] = static_cast<double>(wire) / secs / 1e6;
    rows.push_back(row);
  }
  (*log)->close();
  return rows;
}

}  // namespace muninn::bench::broker_bench
