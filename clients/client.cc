#include "clients/client.h"

#include "clients/groups.h"
#include "clients/retry.h"

#include <charconv>
#include <cstring>
#include <deque>
#include <future>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include "codec/crc32c.h"
#include "codec/frame.h"
#include "codec/stream_hash.h"

namespace muninn::client {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using clock_type = std::chrono::steady_clock;
using detail::checked;
using detail::retrying;

struct subscription::state {
  std::string topic;
  std::uint32_t partition = 0;
  std::atomic<std::uint64_t> next_offset{0};
  subscribe_options options;
  events_handler on_events;
  error_handler on_error;
  // I/O thread only:
  std::uint64_t corr = 0;  // of the current SubscribeRequest, 0 when not subscribed
  std::atomic<bool> active{true};      // cleared on the I/O thread when the subscription ends
  std::atomic<bool> cancelled{false};  // set by cancel() on any thread: deliver nothing more
  std::optional<chain_checker> chain;
  std::shared_ptr<asio::steady_timer> retry_timer;
};

struct client::impl : std::enable_shared_from_this<client::impl> {
  enum class conn_state { idle, connecting, connected };
  struct pending {
    response_handler handler;
    clock_type::time_point deadline;
  };

  client_options opts_;
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  std::thread thread_;
  std::thread::id io_thread_id_;
  std::atomic<std::uint64_t> next_corr_{1};

  // I/O thread only.
  tcp::socket socket_;
  conn_state state_ = conn_state::idle;
  std::uint64_t generation_ = 0;
  std::atomic<std::uint64_t> connections_{0};  // read from any thread
  clock_type::time_point connect_deadline_{};
  std::deque<frame_bytes> queue_;
  std::vector<frame_bytes> writing_;
  bool write_in_flight_ = false;
  std::vector<std::byte> rbuf_;
  std::size_t rlen_ = 0;
  // A large frame (a subscription's or fetch's batches) is read straight
  // into the aligned memory its response keeps, instead of into rbuf_ and
  // then copied: `big_` holds its payload, `big_have_` bytes of it so far.
  std::shared_ptr<aligned_bytes> big_;
  std::size_t big_have_ = 0;
  std::uint32_t big_crc_ = 0;
  static constexpr std::uint32_t direct_read_bytes = 256u << 10;
  std::unordered_map<std::uint64_t, pending> pending_;
  std::unordered_set<std::shared_ptr<subscription::state>> subs_;
  std::unordered_map<std::uint64_t, std::shared_ptr<subscription::state>> sub_by_corr_;
  asio::steady_timer tick_;
  asio::steady_timer reconnect_timer_;
  std::chrono::milliseconds backoff_;
  bool closing_ = false;

  std::mutex cache_mu_;
  std::unordered_map<std::string, std::uint32_t> partitions_;  // guarded by cache_mu_

  explicit impl(client_options o)
      : opts_(std::move(o)),
        work_(asio::make_work_guard(io_)),
        socket_(io_),
        tick_(io_),
        reconnect_timer_(io_),
        backoff_(opts_.reconnect_backoff_min) {
    rbuf_.resize(64 * 1024);
  }

  void start() {
    thread_ = std::thread([this] { io_.run(); });
    io_thread_id_ = thread_.get_id();
    asio::post(io_, [self = shared_from_this()] { self->schedule_tick(); });
  }

  void stop() {
    asio::post(io_, [this] {
      closing_ = true;
      tick_.cancel();
      reconnect_timer_.cancel();
      for (auto& s : subs_) {
        s->active = false;
        if (s->retry_timer) s->retry_timer->cancel();
      }
      subs_.clear();
      sub_by_corr_.clear();
      close_connection(make_error(error_kind::connection, "client closed"));
    });
    work_.reset();
    if (thread_.joinable()) thread_.join();
  }

  std::string where() const { return opts_.host + ":" + std::to_string(opts_.port); }

  void schedule_tick() {
    if (closing_) return;
    tick_.expires_after(std::chrono::milliseconds(100));
    tick_.async_wait([this](boost::system::error_code ec) {
      if (ec || closing_) return;
      on_tick();
      schedule_tick();
    });
  }

  void on_tick() {
    const auto now = clock_type::now();
    if (state_ == conn_state::connecting && now > connect_deadline_) {
      close_connection(make_error(error_kind::timeout, "connect to " + where() + " timed out after " +
                                                           std::to_string(opts_.connect_timeout.count()) + " ms"));
      return;
    }
    if (state_ != conn_state::connected) return;
    for (const auto& [corr, p] : pending_) {
      if (p.deadline < now) {
        close_connection(make_error(error_kind::timeout, "no response from " + where() + " within the request timeout; connection reset"));
        return;
      }
    }
  }

  void ensure_connected() {
    if (state_ != conn_state::idle || closing_) return;
    state_ = conn_state::connecting;
    const auto gen = ++generation_;
    connect_deadline_ = clock_type::now() + opts_.connect_timeout;
    tcp::resolver resolver(io_);
    boost::system::error_code ec;
    auto endpoints = resolver.resolve(opts_.host, std::to_string(opts_.port), ec);
    if (ec) {
      close_connection(make_error(error_kind::connection, "cannot resolve " + where() + ": " + ec.message()));
      return;
    }
    socket_ = tcp::socket(io_);
    asio::async_connect(socket_, endpoints, [this, gen](boost::system::error_code ec, const tcp::endpoint&) {
      if (gen != generation_) return;
      if (ec) {
        close_connection(make_error(error_kind::connection, "cannot connect to " + where() + ": " + ec.message()));
        return;
      }
      on_connected();
    });
  }

  void on_connected() {
    state_ = conn_state::connected;
    ++connections_;
    boost::system::error_code ignored;
    socket_.set_option(tcp::no_delay(true), ignored);
    backoff_ = opts_.reconnect_backoff_min;
    rlen_ = 0;
    big_.reset();
    start_read();
    for (auto& s : subs_) send_subscribe(s);
    do_write();
  }

  void close_connection(const client_error& why) {
    if (state_ == conn_state::idle && pending_.empty() && queue_.empty()) {
      schedule_reconnect();
      return;
    }
    ++generation_;
    state_ = conn_state::idle;
    boost::system::error_code ignored;
    socket_.close(ignored);
    queue_.clear();
    writing_.clear();
    write_in_flight_ = false;
    rlen_ = 0;
    big_.reset();
    sub_by_corr_.clear();
    for (auto& s : subs_) s->corr = 0;
    auto failed = std::move(pending_);
    pending_.clear();
    // Handlers may send new requests (which connect again): state is consistent here.
    for (auto& [corr, p] : failed) p.handler(unexpected{why});
    schedule_reconnect();
  }

  // Subscriptions come back by themselves after a loss.
  void schedule_reconnect() {
    if (closing_ || subs_.empty() || state_ != conn_state::idle) return;
    reconnect_timer_.expires_after(backoff_);
    backoff_ = std::min(backoff_ * 2, opts_.reconnect_backoff_max);
    reconnect_timer_.async_wait([this](boost::system::error_code ec) {
      if (ec || closing_) return;
      ensure_connected();
    });
  }

  void send(std::uint64_t corr, frame_bytes frame, response_handler handler, std::chrono::milliseconds extra) {
    if (closing_) {
      // Not retryable: nobody may keep a closing client busy.
      if (handler) handler(unexpected{make_error(error_kind::usage, "client closed")});
      return;
    }
    if (handler) pending_[corr] = pending{std::move(handler), clock_type::now() + opts_.request_timeout + extra};
    queue_.push_back(std::move(frame));
    if (state_ == conn_state::idle) ensure_connected();
    else if (state_ == conn_state::connected) do_write();
  }

  void do_write() {
    if (write_in_flight_ || queue_.empty() || state_ != conn_state::connected) return;
    writing_.clear();
    std::size_t bytes = 0;
    while (!queue_.empty() && (writing_.empty() || bytes < (4u << 20))) {
      bytes += queue_.front().size();
      writing_.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
    std::vector<asio::const_buffer> bufs;
    bufs.reserve(writing_.size());
    for (const auto& f : writing_) bufs.emplace_back(f.data(), f.size());
    write_in_flight_ = true;
    const auto gen = generation_;
    asio::async_write(socket_, bufs, [this, gen](boost::system::error_code ec, std::size_t) {
      if (gen != generation_) return;
      write_in_flight_ = false;
      writing_.clear();
      if (ec) {
        close_connection(make_error(error_kind::connection, "write to " + where() + ": " + ec.message()));
        return;
      }
      do_write();
    });
  }

  void read_failed(boost::system::error_code ec) {
    close_connection(make_error(error_kind::connection, ec == asio::error::eof
                                                            ? "connection closed by " + where()
                                                            : "read from " + where() + ": " + ec.message()));
  }

  void start_read() {
    if (big_) return read_big();
    if (rbuf_.size() - rlen_ < 16 * 1024) rbuf_.resize(std::max(rbuf_.size() * 2, rlen_ + 64 * 1024));
    const auto gen = generation_;
    socket_.async_read_some(asio::buffer(rbuf_.data() + rlen_, rbuf_.size() - rlen_),
                            [this, gen](boost::system::error_code ec, std::size_t n) {
                              if (gen != generation_) return;
                              if (ec) return read_failed(ec);
                              rlen_ += n;
                              if (!parse_frames(gen)) return;
                              start_read();
                            });
  }

  // The rest of the large frame in big_, then on as usual.
  void read_big() {
    const auto gen = generation_;
    asio::async_read(socket_, asio::buffer(big_->mutable_data() + big_have_, big_->size() - big_have_),
                     [this, gen](boost::system::error_code ec, std::size_t) {
                       if (gen != generation_) return;
                       if (ec) return read_failed(ec);
                       std::shared_ptr<const aligned_bytes> payload = std::move(big_);
                       big_.reset();
                       if (!handle_frame(gen, decode_owned_response(payload, opts_.limits),
                                         [&] { return codec::crc32c(payload->span()); }, big_crc_))
                         return;
                       start_read();
                     });
  }

  // Checks the CRC of a decoded frame (check_frame_crc; `whole_crc` when it
  // did not decode) and dispatches it. False when the connection was closed.
  template <class WholeCrc>
  bool handle_frame(std::uint64_t gen, result<response, client_error> r, WholeCrc whole_crc, std::uint32_t frame_crc) {
    const bool crc_ok = r ? check_frame_crc(*r, frame_crc) : whole_crc() == frame_crc;
    if (!crc_ok) {
      // As the frame decoder would have said before looking inside.
      close_connection(make_error(error_kind::protocol, "bad frame from " + where() + ": " +
                                                            std::string(codec::to_string(codec::errc::checksum_mismatch))));
      return false;
    }
    if (!r) {
      close_connection(r.error());
      return false;
    }
    dispatch(std::move(r).value());
    return gen == generation_;
  }

  // False when the connection was closed while dispatching.
  bool parse_frames(std::uint64_t gen) {
    std::size_t start = 0;
    while (true) {
      const std::span<const std::byte> in(rbuf_.data() + start, rlen_ - start);
      // A whole frame with a valid length is decoded first and its CRC
      // checked after, by check_frame_crc, which reads every byte once even
      // when the frame carries batches with CRCs of their own. Everything
      // else (incomplete, too large, empty) goes through the frame decoder.
      std::uint32_t frame_crc = 0;
      const auto f = decode_frame_unchecked(in, opts_.max_frame_bytes, frame_crc);
      if (f.status == codec::decode_status::error) {
        close_connection(make_error(error_kind::protocol, "bad frame from " + where() + ": " +
                                                              std::string(codec::to_string(f.error))));
        return false;
      }
      if (f.status == codec::decode_status::need_more) {
        if (rlen_ - start >= 4) {
          std::uint32_t len = 0;
          for (int i = 3; i >= 0; --i) len = (len << 8) | static_cast<std::uint8_t>(rbuf_[start + i]);
          // The length is within the limit here (the decoder said need_more).
          if (len >= direct_read_bytes && rlen_ - start >= codec::frame_header_bytes) {
            const std::byte* h = rbuf_.data() + start;
            const std::size_t have = rlen_ - start - codec::frame_header_bytes;
            big_ = std::make_shared<aligned_bytes>(std::size_t(len));
            std::memcpy(big_->mutable_data(), h + codec::frame_header_bytes, have);
            big_have_ = have;
            big_crc_ = std::uint32_t(std::to_integer<std::uint8_t>(h[4])) |
                       std::uint32_t(std::to_integer<std::uint8_t>(h[5])) << 8 |
                       std::uint32_t(std::to_integer<std::uint8_t>(h[6])) << 16 |
                       std::uint32_t(std::to_integer<std::uint8_t>(h[7])) << 24;
            start = rlen_;  // all of it is big_'s now
            break;
          }
          const std::size_t need = codec::frame_header_bytes + len;
          if (rbuf_.size() < need) rbuf_.resize(need + 64 * 1024);
        }
        break;
      }
      const auto payload = f.payload;
      start += f.consumed;
      if (!handle_frame(gen, decode_response(payload, opts_.limits), [&] { return codec::crc32c(payload); }, frame_crc))
        return false;
    }
    if (start > 0) {
      std::memmove(rbuf_.data(), rbuf_.data() + start, rlen_ - start);
      rlen_ -= start;
    }
    return true;
  }

  void dispatch(response r) {
    const auto corr = r.correlation_id();
    if (auto it = pending_.find(corr); it != pending_.end()) {
      auto h = std::move(it->second.handler);
      pending_.erase(it);
      h(std::move(r));
      return;
    }
    if (auto it = sub_by_corr_.find(corr); it != sub_by_corr_.end()) {
      auto s = it->second;
      deliver(s, r);
    }
    // Anything else answers a request that already timed out or was cancelled.
  }

  // ---- subscriptions (I/O thread) ----

  void send_subscribe(const std::shared_ptr<subscription::state>& s) {
    if (!s->active || s->cancelled) return;
    s->corr = next_corr_++;
    sub_by_corr_[s->corr] = s;
    send(s->corr, encode_subscribe(s->corr, s->topic, s->partition, s->next_offset.load(), s->options.credit_bytes),
         nullptr, {});
  }

  void end_subscription(const std::shared_ptr<subscription::state>& s, const client_error* why) {
    if (!s->active.exchange(false)) return;
    if (s->corr != 0) {
      sub_by_corr_.erase(s->corr);
      if (state_ == conn_state::connected) {
        const auto c = next_corr_++;
        send(c, encode_cancel(c, s->corr), nullptr, {});
      }
      s->corr = 0;
    }
    if (s->retry_timer) s->retry_timer->cancel();
    subs_.erase(s);
    if (why && s->on_error) s->on_error(*why);
  }

  void deliver(const std::shared_ptr<subscription::state>& s, const response& r) {
    if (!s->active || s->cancelled) return;
    if (r.root->body_type() != fb::ResponseBody::SubscribeData) {
      auto err = check_response(r, fb::ResponseBody::SubscribeData);
      if (!err) err = make_error(error_kind::protocol, "unexpected response to a subscription");
      if (err->retryable()) {
        // Subscribe again a little later on the same connection.
        sub_by_corr_.erase(s->corr);
        s->corr = 0;
        if (!s->retry_timer) s->retry_timer = std::make_shared<asio::steady_timer>(io_);
        s->retry_timer->expires_after(opts_.reconnect_backoff_max);
        s->retry_timer->async_wait([this, s](boost::system::error_code ec) {
          if (ec || !s->active || closing_) return;
          send_subscribe(s);
        });
        return;
      }
      end_subscription(s, &*err);
      return;
    }
    const auto* d = r.root->body_as_SubscribeData();
    const auto* raw = d->batches();
    const std::size_t raw_bytes = raw ? raw->size() : 0;
    if (raw_bytes > 0) {
      auto batches = split_batches(r.bytes, std::span(reinterpret_cast<const std::byte*>(raw->Data()), raw->size()), {},
                                   r.batch_crcs_checked);
      if (!batches) {
        end_subscription(s, &batches.error());
        return;
      }
      if (s->options.check_chain) {
        for (const auto& b : *batches) {
          if (b.base_offset + b.count <= s->next_offset.load()) continue;
          if (!s->chain) s->chain.emplace(b.base_offset, b.prev_hash);
          auto why = s->chain->check(b);
          if (!why.empty()) {
            auto e = make_error(error_kind::protocol, "partition " + std::to_string(s->partition) + " batch at offset " +
                                                          std::to_string(b.base_offset) + ": " + why);
            end_subscription(s, &e);
            return;
          }
        }
      }
      auto events = events_of(*batches, s->partition, s->next_offset.load());
      if (!events.empty()) {
        s->next_offset = events.back().offset + 1;
        if (s->on_events) s->on_events(events, d->head());
      }
    }
    if (s->active && s->corr != 0 && raw_bytes > 0 && state_ == conn_state::connected) {
      const auto c = next_corr_++;
      send(c, encode_credit(c, s->corr, static_cast<std::uint32_t>(raw_bytes)), nullptr, {});
    }
  }
};

// ---- free functions ---------------------------------------------------------

result<client_options, client_error> parse_broker_address(std::string_view address, client_options base) {
  const auto colon = address.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == address.size())
    return unexpected{make_error(error_kind::usage, "broker address '" + std::string(address) + "' is not HOST:PORT")};
  unsigned port = 0;
  const auto* first = address.data() + colon + 1;
  const auto* last = address.data() + address.size();
  auto [p, ec] = std::from_chars(first, last, port);
  if (ec != std::errc{} || p != last || port == 0 || port > 65535)
    return unexpected{make_error(error_kind::usage, "broker address '" + std::string(address) + "' has no valid port")};
  std::string host(address.substr(0, colon));
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  base.host = std::move(host);
  base.port = static_cast<std::uint16_t>(port);
  return base;
}

// ---- subscription -------------------------------------------------------------

void subscription::cancel() {
  auto c = std::static_pointer_cast<client::impl>(client_.lock());
  if (!c || !state_) return;
  auto s = state_;
  s->cancelled = true;
  asio::post(c->io_, [c, s] { c->end_subscription(s, nullptr); });
}

std::uint64_t subscription::next_offset() const noexcept { return state_ ? state_->next_offset.load() : 0; }
bool subscription::active() const noexcept { return state_ && state_->active.load() && !state_->cancelled.load(); }

// ---- client ---------------------------------------------------------------------

client::client(client_options options) : impl_(std::make_shared<impl>(std::move(options))) { impl_->start(); }

client::~client() { impl_->stop(); }

const client_options& client::options() const noexcept { return impl_->opts_; }
std::uint64_t client::next_correlation_id() noexcept { return impl_->next_corr_++; }
boost::asio::io_context& client::io_context() noexcept { return impl_->io_; }
std::uint64_t client::connections() const noexcept { return impl_->connections_.load(); }
bool client::on_io_thread() const noexcept { return std::this_thread::get_id() == impl_->io_thread_id_; }

void client::post(std::function<void()> fn) { asio::post(impl_->io_, std::move(fn)); }

void client::async_request(std::uint64_t corr, frame_bytes frame, response_handler handler,
                           std::chrono::milliseconds extra_timeout) {
  auto* i = impl_.get();
  if (on_io_thread()) {
    i->send(corr, std::move(frame), std::move(handler), extra_timeout);
    return;
  }
  asio::post(i->io_, [i, corr, f = std::move(frame), h = std::move(handler), extra_timeout]() mutable {
    i->send(corr, std::move(f), std::move(h), extra_timeout);
  });
}

result<response, client_error> client::request(std::uint64_t corr, frame_bytes frame,
                                               std::chrono::milliseconds extra_timeout) {
  if (on_io_thread())
    return unexpected{make_error(error_kind::usage, "blocking call on the client's I/O thread (use the async API)")};
  auto p = std::make_shared<std::promise<result<response, client_error>>>();
  auto f = p->get_future();
  async_request(corr, std::move(frame), [p](result<response, client_error> r) { p->set_value(std::move(r)); },
                extra_timeout);
  return f.get();
}


result<topic_info, client_error> client::create_topic(std::string_view name, std::uint32_t partitions,
                                                      std::string_view schema, std::uint64_t segment_bytes) {
  const auto corr = next_correlation_id();
  return checked(request(corr, encode_create_topic(corr, name, partitions, schema, segment_bytes)),
                 fb::ResponseBody::TopicsResponse, [&](const response& r) -> result<topic_info, client_error> {
                   auto topics = topics_from(*r.root->body_as_TopicsResponse());
                   if (topics.empty()) {
                     topic_info t;
                     t.name = std::string(name);
                     t.partitions = partitions;
                     t.schema = std::string(schema);
                     t.segment_bytes = segment_bytes;
                     return t;
                   }
                   return topics.front();
                 });
}

result<std::vector<topic_info>, client_error> client::list_topics() {
  return checked(retrying(*this, [&](std::uint64_t corr) { return encode_list_topics(corr); }), fb::ResponseBody::TopicsResponse,
                 [&](const response& r) -> result<std::vector<topic_info>, client_error> {
                   return topics_from(*r.root->body_as_TopicsResponse());
                 });
}

result<topic_info, client_error> client::describe_topic(std::string_view name) {
  return checked(retrying(*this, [&](std::uint64_t corr) { return encode_describe_topic(corr, name); }), fb::ResponseBody::TopicsResponse,
                 [&](const response& r) -> result<topic_info, client_error> {
                   auto topics = topics_from(*r.root->body_as_TopicsResponse());
                   for (auto& t : topics) {
                     if (t.name == name) {
                       std::lock_guard lock(impl_->cache_mu_);
                       impl_->partitions_[t.name] = t.partitions;
                       return t;
                     }
                   }
                   auto e = make_error(error_kind::broker, "unknown topic '" + std::string(name) + "'");
                   e.code = fb::ErrorCode::unknown_topic;
                   return unexpected{e};
                 });
}

result<std::uint32_t, client_error> client::partition_count(std::string_view topic) {
  {
    std::lock_guard lock(impl_->cache_mu_);
    if (auto it = impl_->partitions_.find(std::string(topic)); it != impl_->partitions_.end()) return it->second;
  }
  auto t = describe_topic(topic);
  if (!t) return unexpected{t.error()};
  return t->partitions;
}

void client::async_partition_count(std::string topic,
                                   std::function<void(result<std::uint32_t, client_error>)> handler) {
  {
    std::lock_guard lock(impl_->cache_mu_);
    if (auto it = impl_->partitions_.find(topic); it != impl_->partitions_.end()) {
      const auto n = it->second;
      post([h = std::move(handler), n] { h(n); });
      return;
    }
  }
  const auto corr = next_correlation_id();
  auto frame = encode_describe_topic(corr, topic);
  auto i = impl_;
  async_request(corr, std::move(frame), [i, topic, h = std::move(handler)](result<response, client_error> r) {
    if (!r) return h(unexpected{r.error()});
    if (auto e = check_response(*r, fb::ResponseBody::TopicsResponse)) return h(unexpected{*e});
    for (auto& t : topics_from(*r->root->body_as_TopicsResponse())) {
      if (t.name == topic) {
        std::lock_guard lock(i->cache_mu_);
        i->partitions_[t.name] = t.partitions;
        return h(t.partitions);
      }
    }
    auto e = make_error(error_kind::broker, "unknown topic '" + topic + "'");
    e.code = fb::ErrorCode::unknown_topic;
    h(unexpected{e});
  });
}

result<fetch_result, client_error> client::fetch(std::string_view topic, std::uint32_t partition,
                                                 std::uint64_t from_offset, std::uint32_t max_bytes,
                                                 std::uint32_t max_wait_ms) {
  return checked(retrying(
                     *this,
                     [&](std::uint64_t corr) {
                       return encode_fetch(corr, topic, partition, from_offset, max_bytes, max_wait_ms);
                     },
                     std::chrono::milliseconds(max_wait_ms)),
                 fb::ResponseBody::FetchResponse, [&](const response& r) -> result<fetch_result, client_error> {
                   const auto* f = r.root->body_as_FetchResponse();
                   fetch_result out;
                   out.head = f->head();
                   out.next_offset = from_offset;
                   if (f->batches() && f->batches()->size() > 0) {
                     // What verifies is returned; a bad frame fails the fetch that starts at it.
                     std::optional<client_error> bad;
                     out.batches = split_batches_prefix(
                         r.bytes, std::span(reinterpret_cast<const std::byte*>(f->batches()->Data()), f->batches()->size()),
                         bad, {}, r.batch_crcs_checked);
                     if (bad && out.batches.empty()) return unexpected{*bad};
                     out.events = events_of(out.batches, partition, from_offset);
                     if (!out.batches.empty())
                       out.next_offset = std::max(from_offset, out.batches.back().base_offset + out.batches.back().count);
                   }
                   return out;
                 });
}

result<std::uint64_t, client_error> client::offset_for_time(std::string_view topic, std::uint32_t partition,
                                                            std::int64_t time_micros) {
  return checked(
      retrying(*this, [&](std::uint64_t corr) { return encode_offset_for_time(corr, topic, partition, time_micros); }),
                 fb::ResponseBody::OffsetForTimeResponse, [&](const response& r) -> result<std::uint64_t, client_error> {
                   return r.root->body_as_OffsetForTimeResponse()->offset();
                 });
}

result<std::vector<event_record>, client_error> client::read_stream(std::string_view topic, std::string_view stream,
                                                                    std::int64_t from_version) {
  std::vector<event_record> out;
  constexpr std::uint32_t page = 1000;
  while (true) {
    auto r = retrying(*this, [&](std::uint64_t corr) { return encode_read_stream(corr, topic, stream, from_version, page); });
    if (!r) return unexpected{r.error()};
    if (auto e = check_response(*r, fb::ResponseBody::ReadStreamResponse)) return unexpected{*e};
    const auto* rs = r->root->body_as_ReadStreamResponse();
    const auto partition = static_cast<std::uint32_t>(rs->partition());
    std::size_t n = 0;
    if (rs->events()) {
      for (const auto* se : *rs->events()) {
        if (!se->event()) continue;
        out.push_back(event_record{r->bytes, se->event(), partition, se->offset(), se->commit_time()});
        from_version = std::max(from_version, se->event()->version() + 1);
        ++n;
      }
    }
    if (n < page) break;
  }
  return out;
}

result<void, client_error> client::commit_offsets(std::string_view consumer, std::string_view topic,
                                                  std::span<const partition_offset> offsets) {
  return commit_group_offsets(*this, consumer, topic, offsets, {}, 0);
}

result<std::vector<partition_offset>, client_error> client::fetch_offsets(std::string_view consumer,
                                                                          std::string_view topic) {
  return checked(retrying(*this, [&](std::uint64_t corr) { return encode_fetch_offsets(corr, consumer, topic); }), fb::ResponseBody::OffsetsResponse,
                 [&](const response& r) -> result<std::vector<partition_offset>, client_error> {
                   std::vector<partition_offset> out;
                   if (const auto* o = r.root->body_as_OffsetsResponse()->offsets())
                     for (const auto* p : *o) out.push_back({static_cast<std::uint32_t>(p->partition()), p->offset()});
                   return out;
                 });
}

namespace {
result<std::vector<event_position>, client_error> positions_from(const response& r, std::uint32_t partition,
                                                                 std::span<const codec::event_in> events) {
  if (auto e = check_response(r, fb::ResponseBody::ProduceResponse)) return unexpected{*e};
  const auto* p = r.root->body_as_ProduceResponse()->positions();
  if (!p || p->size() != events.size())
    return unexpected{make_error(error_kind::protocol, "produce response has " + std::to_string(p ? p->size() : 0) +
                                                           " positions for " + std::to_string(events.size()) + " events")};
  std::vector<event_position> out;
  out.reserve(events.size());
  for (std::size_t i = 0; i < events.size(); ++i) {
    const auto* ep = p->Get(static_cast<flatbuffers::uoffset_t>(i));
    out.push_back(event_position{partition, ep->offset(), ep->version(), ep->duplicate(), events[i].id});
  }
  return out;
}
}  // namespace

result<std::vector<event_position>, client_error> client::produce(std::string_view topic, std::uint32_t partition,
                                                                  std::span<const codec::event_in> events,
                                                                  ack_mode acks) {
  const auto corr = next_correlation_id();
  auto r = request(corr, encode_produce(corr, topic, partition, acks, {}, 0, events));
  if (!r) return unexpected{r.error()};
  return positions_from(*r, partition, events);
}

result<event_position, client_error> client::append_expected(std::string_view topic, codec::owned_event event,
                                                             std::int64_t expected_version, ack_mode acks) {
  auto n = partition_count(topic);
  if (!n) return unexpected{n.error()};
  if (!event.id) event.id = codec::event_id::generate_v7();
  event.expected_version = expected_version;
  const auto partition = codec::partition_for(event.stream, *n);
  const codec::event_in in = event.view();
  const auto deadline = clock_type::now() + impl_->opts_.request_timeout * 4;
  auto backoff = impl_->opts_.reconnect_backoff_min;
  while (true) {
    auto r = produce(topic, partition, std::span(&in, 1), acks);
    if (r) return r->front();
    if (!r.error().retryable() || clock_type::now() + backoff > deadline) {
      auto e = r.error();
      if (e.event_index >= 0) e.event_index = 0;
      return unexpected{e};
    }
    std::this_thread::sleep_for(backoff);
    backoff = std::min(backoff * 2, impl_->opts_.reconnect_backoff_max);
  }
}

subscription client::subscribe(std::string_view topic, std::uint32_t partition, std::uint64_t from_offset,
                               events_handler on_events, error_handler on_error, subscribe_options options) {
  auto s = std::make_shared<subscription::state>();
  s->topic = std::string(topic);
  s->partition = partition;
  s->next_offset = from_offset;
  s->options = options;
  s->on_events = std::move(on_events);
  s->on_error = std::move(on_error);
  subscription sub;
  sub.state_ = s;
  sub.client_ = impl_;
  auto i = impl_;
  asio::post(i->io_, [i, s] {
    if (i->closing_ || !s->active || s->cancelled) return;
    i->subs_.insert(s);
    if (i->state_ == impl::conn_state::connected) i->send_subscribe(s);
    else i->ensure_connected();
  });
  return sub;
}

result<std::string, client_error> client::projection_query(std::string_view projection, std::string_view query,
                                                           std::span<const query_param> params) {
  return checked(
      retrying(*this, [&](std::uint64_t corr) { return encode_projection_query(corr, projection, query, params); }),
      fb::ResponseBody::ProjectionQueryResponse, [&](const response& r) -> result<std::string, client_error> {
        const auto* json = r.root->body_as_ProjectionQueryResponse()->json();
        if (!json) return unexpected{make_error(error_kind::protocol, "projection answer without json")};
        return json->str();
      });
}

result<std::vector<projection_info>, client_error> client::projection_status(std::string_view projection) {
  return checked(retrying(*this, [&](std::uint64_t corr) { return encode_projection_status(corr, projection); }),
                 fb::ResponseBody::ProjectionStatusResponse,
                 [&](const response& r) -> result<std::vector<projection_info>, client_error> {
                   return projections_from(*r.root->body_as_ProjectionStatusResponse());
                 });
}

result<std::vector<projection_info>, client_error> client::projection_rebuild(std::string_view projection) {
  const auto corr = next_correlation_id();
  return checked(request(corr, encode_projection_rebuild(corr, projection)), fb::ResponseBody::ProjectionStatusResponse,
                 [&](const response& r) -> result<std::vector<projection_info>, client_error> {
                   return projections_from(*r.root->body_as_ProjectionStatusResponse());
                 });
}

}  // namespace muninn::client
