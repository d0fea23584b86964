#include "clients/producer.h"

#include <condition_variable>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include <boost/asio/steady_timer.hpp>

#include "codec/stream_hash.h"

namespace muninn::client {

namespace asio = boost::asio;
using clock_type = std::chrono::steady_clock;

std::size_t event_bytes(const codec::owned_event& e) noexcept {
  return 96 + e.stream.size() + e.type.size() + e.content_type.size() + e.data.size();
}

namespace {

struct append_op {
  std::chrono::steady_clock::time_point created = std::chrono::steady_clock::now();
  std::chrono::milliseconds backoff{0};
  std::string topic;
  std::vector<codec::owned_event> events;
  std::vector<event_position> positions;
  std::size_t remaining = 0;
  std::size_t bytes = 0;
  bool done = false;
  append_handler handler;
};

struct entry {
  std::shared_ptr<append_op> op;
  std::uint32_t index = 0;
};

}  // namespace

struct producer::impl : std::enable_shared_from_this<producer::impl> {
  struct partition_state {
    std::string topic;
    std::uint32_t partition = 0;
    batch_queue<entry> queue;
    bool in_flight = false;
    bool timer_armed = false;
    std::unique_ptr<asio::steady_timer> linger;
    std::uint64_t seq = 0;
  };
  struct batch {
    partition_state* part = nullptr;
    std::vector<std::pair<entry, std::size_t>> entries;
    clock_type::time_point first_sent;
    std::chrono::milliseconds backoff{0};
    std::uint64_t seq = 0;
  };

  client& client_;
  producer_options opts_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::size_t in_flight_bytes_ = 0;  // guarded by mu_
  std::size_t open_ops_ = 0;         // guarded by mu_

  // I/O thread only.
  std::map<std::pair<std::string, std::uint32_t>, partition_state> parts_;

  impl(client& c, producer_options o) : client_(c), opts_(std::move(o)) {}

  void finish(const std::shared_ptr<append_op>& op, std::optional<client_error> error) {
    if (op->done) return;
    op->done = true;
    // The handler runs before flush() can return: it may use the caller's state.
    if (error) op->handler(unexpected{std::move(*error)});
    else op->handler(std::move(op->positions));
    {
      std::lock_guard lock(mu_);
      in_flight_bytes_ -= op->bytes;
      --open_ops_;
    }
    cv_.notify_all();
  }

  // On the I/O thread.
  void enqueue(const std::shared_ptr<append_op>& op) {
    auto self = shared_from_this();
    client_.async_partition_count(op->topic, [self, op](result<std::uint32_t, client_error> n) {
      if (!n && n.error().retryable() &&
          clock_type::now() + op->backoff < op->created + self->opts_.delivery_timeout) {
        // The broker is not reachable yet: describe again later.
        op->backoff = std::max(self->client_.options().reconnect_backoff_min,
                               std::min(op->backoff * 2, self->client_.options().reconnect_backoff_max));
        auto timer = std::make_shared<asio::steady_timer>(self->client_.io_context());
        timer->expires_after(op->backoff);
        timer->async_wait([self, op, timer](boost::system::error_code) { self->enqueue(op); });
        return;
      }
      if (!n) return self->finish(op, n.error());
      if (*n == 0) return self->finish(op, make_error(error_kind::protocol, "topic '" + op->topic + "' has no partitions"));
      std::vector<partition_state*> touched;
      for (std::uint32_t i = 0; i < op->events.size(); ++i) {
        const auto p = codec::partition_for(op->events[i].stream, *n);
        auto& ps = self->parts_[{op->topic, p}];
        if (ps.topic.empty()) {
          ps.topic = op->topic;
          ps.partition = p;
        }
        op->positions[i].partition = p;
        ps.queue.push(entry{op, i}, event_bytes(op->events[i]));
        touched.push_back(&ps);
      }
      for (auto* ps : touched) self->maybe_send(*ps);
    });
  }

  void maybe_send(partition_state& ps) {
    if (ps.in_flight || ps.queue.empty()) return;
    if (ps.queue.full(opts_.batch_events, opts_.batch_bytes) || opts_.linger.count() <= 0) return send_now(ps);
    if (ps.timer_armed) return;
    if (!ps.linger) ps.linger = std::make_unique<asio::steady_timer>(client_.io_context());
    ps.timer_armed = true;
    ps.linger->expires_after(opts_.linger);
    auto self = shared_from_this();
    ps.linger->async_wait([self, &ps](boost::system::error_code ec) {
      if (ec) return;
      ps.timer_armed = false;
      if (!ps.in_flight && !ps.queue.empty()) self->send_now(ps);
    });
  }

  void send_now(partition_state& ps) {
    if (ps.timer_armed) {
      ps.linger->cancel();
      ps.timer_armed = false;
    }
    auto b = std::make_shared<batch>();
    b->part = &ps;
    while (b->entries.empty() && !ps.queue.empty()) {
      b->entries = ps.queue.take(opts_.batch_events, opts_.batch_bytes);
      std::erase_if(b->entries, [](const auto& e) { return e.first.op->done; });  // failed appends
    }
    if (b->entries.empty()) return;
    ps.in_flight = true;
    b->first_sent = clock_type::now();
    b->seq = ++ps.seq;
    b->backoff = client_.options().reconnect_backoff_min;
    transmit(b);
  }

  void transmit(const std::shared_ptr<batch>& b) {
    std::vector<codec::event_in> views;
    views.reserve(b->entries.size());
    for (const auto& [e, bytes] : b->entries) views.push_back(e.op->events[e.index].view());
    const auto corr = client_.next_correlation_id();
    auto frame = encode_produce(corr, b->part->topic, b->part->partition, opts_.acks, opts_.producer_id, b->seq, views);
    auto self = shared_from_this();
    client_.async_request(corr, std::move(frame), [self, b](result<response, client_error> r) { self->on_response(b, std::move(r)); });
  }

  void on_response(const std::shared_ptr<batch>& b, result<response, client_error> r) {
    auto& ps = *b->part;
    std::optional<client_error> err;
    if (!r) err = r.error();
    else err = check_response(*r, fb::ResponseBody::ProduceResponse);
    if (!err) {
      const auto* pos = r->root->body_as_ProduceResponse()->positions();
      if (!pos || pos->size() != b->entries.size()) {
        err = make_error(error_kind::protocol, "produce response has " + std::to_string(pos ? pos->size() : 0) +
                                                   " positions for " + std::to_string(b->entries.size()) + " events");
      } else {
        for (std::size_t k = 0; k < b->entries.size(); ++k) {
          const auto& e = b->entries[k].first;
          const auto* p = pos->Get(static_cast<flatbuffers::uoffset_t>(k));
          auto& out = e.op->positions[e.index];
          out.offset = p->offset();
          out.version = p->version();
          out.duplicate = p->duplicate();
          if (--e.op->remaining == 0) finish(e.op, std::nullopt);
        }
        ps.in_flight = false;
        return maybe_send(ps);
      }
    }
    if (err->retryable() && clock_type::now() + b->backoff < b->first_sent + opts_.delivery_timeout) {
      // Same batch, same ids: the broker answers duplicates with their first position.
      auto timer = std::make_shared<asio::steady_timer>(client_.io_context());
      timer->expires_after(b->backoff);
      b->backoff = std::min(b->backoff * 2, client_.options().reconnect_backoff_max);
      auto self = shared_from_this();
      timer->async_wait([self, b, timer](boost::system::error_code) { self->transmit(b); });
      return;
    }
    const auto idx = err->event_index;
    if (idx >= 0 && static_cast<std::size_t>(idx) < b->entries.size()) {
      // The culprit's append fails; the other appends of the batch go again without it.
      auto culprit = b->entries[static_cast<std::size_t>(idx)].first;
      auto e = *err;
      e.event_index = static_cast<std::int32_t>(culprit.index);
      finish(culprit.op, e);
      std::erase_if(b->entries, [&](const auto& x) { return x.first.op == culprit.op || x.first.op->done; });
      ps.queue.push_front(std::move(b->entries));
    } else {
      auto e = *err;
      e.event_index = -1;
      for (auto& [x, bytes] : b->entries) finish(x.op, e);
    }
    ps.in_flight = false;
    maybe_send(ps);
  }
};

producer::producer(client& c, producer_options options) : impl_(std::make_shared<impl>(c, std::move(options))) {}

producer::~producer() { flush(); }

std::size_t producer::in_flight_bytes() const noexcept {
  std::lock_guard lock(impl_->mu_);
  return impl_->in_flight_bytes_;
}

void producer::append_async(std::string_view topic, std::vector<codec::owned_event> events, append_handler handler) {
  auto op = std::make_shared<append_op>();
  op->topic = std::string(topic);
  op->events = std::move(events);
  op->handler = std::move(handler);
  op->remaining = op->events.size();
  op->positions.resize(op->events.size());
  for (std::size_t i = 0; i < op->events.size(); ++i) {
    auto& e = op->events[i];
    if (!e.id) e.id = codec::event_id::generate_v7();
    op->positions[i].id = *e.id;
    op->bytes += event_bytes(e);
  }
  auto& c = impl_->client_;
  if (op->events.empty()) {
    c.post([op] { op->handler(std::vector<event_position>{}); });
    return;
  }
  {
    std::unique_lock lock(impl_->mu_);
    const auto limit = impl_->opts_.max_in_flight_bytes;
    auto fits = [&] { return impl_->in_flight_bytes_ == 0 || impl_->in_flight_bytes_ + op->bytes <= limit; };
    if (!fits()) {
      if (c.on_io_thread()) {
        lock.unlock();
        auto e = make_error(error_kind::would_block, "producer in-flight memory is over " + std::to_string(limit) + " bytes");
        c.post([op, e] { op->handler(unexpected{e}); });
        return;
      }
      impl_->cv_.wait(lock, fits);
    }
    impl_->in_flight_bytes_ += op->bytes;
    ++impl_->open_ops_;
  }
  auto i = impl_;
  c.post([i, op] { i->enqueue(op); });
}

append_result producer::append(std::string_view topic, std::vector<codec::owned_event> events) {
  if (impl_->client_.on_io_thread())
    return unexpected{make_error(error_kind::usage, "blocking append on the client's I/O thread (use append_async)")};
  auto p = std::make_shared<std::promise<append_result>>();
  auto f = p->get_future();
  append_async(topic, std::move(events), [p](append_result r) { p->set_value(std::move(r)); });
  return f.get();
}

void producer::flush() {
  if (impl_->client_.on_io_thread()) return;
  std::unique_lock lock(impl_->mu_);
  impl_->cv_.wait(lock, [&] { return impl_->open_ops_ == 0; });
}

}  // namespace muninn::client
