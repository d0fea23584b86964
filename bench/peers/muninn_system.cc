// muninnd through muninn_client: started by broker_process on a free
// loopback port with its data in the run's temporary directory, one topic of
// one partition per reset, produce requests with acks=durable (fdatasync
// group commit before the acknowledgement).
#include <cmath>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "bench/broker_process.h"
#include "bench/broker_runs.h"
#include "bench/peers/system.h"
#include "clients/client.h"
#include "codec/batch.h"

namespace muninn::bench::peers {
namespace {

using broker_bench::broker_process;

// Counts outstanding requests of one append() and keeps its first error.
class pending {
 public:
  void add() {
    std::lock_guard g(mu_);
    ++n_;
  }
  void done(std::optional<client::client_error> err) {
    std::lock_guard g(mu_);
    if (err && !error_) error_ = err->describe();
    if (--n_ == 0) cv_.notify_all();
  }
  status wait() {
    std::unique_lock g(mu_);
    cv_.wait(g, [&] { return n_ == 0; });
    return error_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::size_t n_ = 0;
  status error_;
};

class muninn_session final : public session {
 public:
  muninn_session(std::unique_ptr<client::client> c, std::string topic, broker_bench::broker_ref broker)
      : c_(std::move(c)), topic_(std::move(topic)), broker_(std::move(broker)) {}

  status append(std::span<const event> events, std::size_t batch, append_mode mode) override {
    pending p;
    std::vector<codec::event_in> in;
    for (std::size_t at = 0; at < events.size(); at += batch) {
      const auto part = events.subspan(at, std::min(batch, events.size() - at));
      in.assign(part.size(), {});
      for (std::size_t i = 0; i < part.size(); ++i) {
        auto& e = in[i];
        e.stream = part[i].stream;
        e.type = event_type;
        // The real client makes a UUIDv7 per event too (producer.h).
        e.id = codec::event_id::generate_v7();
        e.expected_version = mode == append_mode::expected
                                 ? (part[i].version == 1 ? codec::expect_no_stream : part[i].version - 2)
                                 : codec::expect_any;
        e.data = part[i].data;
      }
      const std::uint64_t corr = c_->next_correlation_id();
      p.add();
      c_->async_request(corr, client::encode_produce(corr, topic_, 0, client::ack_mode::durable, {}, 0, in),
                        [&p](result<client::response, client::client_error> r) {
                          if (!r) return p.done(r.error());
                          p.done(client::check_response(*r, fb::ResponseBody::ProduceResponse));
                        });
    }
    return p.wait();
  }

  status replay(std::uint64_t& events, std::uint64_t& data_bytes) override {
    auto t = c_->describe_topic(topic_);
    if (!t) return "describe " + topic_ + ": " + t.error().describe();
    const std::uint64_t head = t->parts.at(0).head;
    // The pipelined read muninn-bench consume measures (broker_runs.cc).
    storage_bench::failure fail;
    const auto row = broker_bench::run_replay_subscribe(broker_, topic_, head, 4u << 20, fail);
    if (fail.failed) return fail.message;
    events = static_cast<std::uint64_t>(row.v[broker_bench::b_events]);
    // Rounded: the row holds rates, and 5 M events x 200 B came back as
    // 999,999,999 bytes through the floating-point product.
    data_bytes = static_cast<std::uint64_t>(std::llround(row.v[broker_bench::b_data_mb_s] * 1e6 *
                                                         row.v[broker_bench::b_events] / row.v[broker_bench::b_events_s]));
    return std::nullopt;
  }

  status read_stream(std::string_view stream, std::size_t& events) override {
    auto r = c_->read_stream(topic_, stream);
    if (!r) return "read_stream " + std::string(stream) + ": " + r.error().describe();
    events = r->size();
    return std::nullopt;
  }

 private:
  std::unique_ptr<client::client> c_;
  std::string topic_;
  broker_bench::broker_ref broker_;
};

class muninn_system final : public system {
 public:
  muninn_system(const std::string& exe, const std::string& dir) : proc_(exe, dir) {}
  status start() { return proc_.start(); }

  std::string name() const override { return "muninn"; }
  std::string durability() const override {
    return "acks=durable: fdatasync (group commit) before the ack";
  }
  bool durable() const override { return true; }
  status reset() override {
    topic_ = "peers-" + std::to_string(++topics_);
    auto c = open();
    if (!c) return "cannot connect to muninnd at " + proc_.address();
    if (auto t = c->create_topic(topic_, 1); !t) return "create topic " + topic_ + ": " + t.error().describe();
    return std::nullopt;
  }
  std::unique_ptr<session> connect(std::string& error) override {
    auto c = open();
    if (!c) {
      error = "cannot connect to muninnd at " + proc_.address();
      return nullptr;
    }
    // Connects now, so that connecting is not inside a measurement.
    if (auto t = c->describe_topic(topic_); !t) {
      error = "describe " + topic_ + ": " + t.error().describe();
      return nullptr;
    }
    return std::make_unique<muninn_session>(std::move(c), topic_,
                                            broker_bench::broker_ref{proc_.address(), proc_.pid()});
  }
  int pid() const override { return proc_.pid(); }

  // The stream index is written behind the log by the index thread; until it
  // has caught up, read_stream scans every unindexed batch (log_read.cc).
  status settle(double& waited) override {
    auto c = open();
    if (!c) return "cannot connect to muninnd at " + proc_.address();
    const auto t0 = std::chrono::steady_clock::now();
    const auto deadline = t0 + std::chrono::minutes(10);
    for (;;) {
      auto t = c->describe_topic(topic_);
      if (!t) return "describe " + topic_ + ": " + t.error().describe();
      waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      if (t->parts.at(0).indexed >= t->parts.at(0).head) return std::nullopt;
      if (std::chrono::steady_clock::now() > deadline) return "muninnd: the index did not catch up in 10 minutes";
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }

 private:
  std::unique_ptr<client::client> open() {
    auto opts = client::parse_broker_address(proc_.address());
    if (!opts) return nullptr;
    return std::make_unique<client::client>(*opts);
  }

  broker_process proc_;
  std::string topic_;
  int topics_ = 0;
};

}  // namespace

std::unique_ptr<system> make_muninn(const std::string& muninnd, const std::string& dir, std::string& error) {
  auto s = std::make_unique<muninn_system>(muninnd, dir);
  if (auto err = s->start()) {
    error = "muninnd: " + *err;
    return nullptr;
  }
  return s;
}

}  // namespace muninn::bench::peers
