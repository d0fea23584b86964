#include "broker/server.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <spdlog/spdlog.h>

#include <cstring>
#include <deque>

#include "broker/batch_frame.h"
#include "codec/frame.h"
#include "broker/topics.h"
#include "codec/protocol_generated.h"

namespace muninn::broker {

namespace asio = boost::asio;
using asio::ip::tcp;
using namespace asio::experimental::awaitable_operators;

class session : public std::enable_shared_from_this<session> {
 public:
  session(server& srv, tcp::socket socket)
      : srv_(srv), socket_(std::move(socket)), timer_(socket_.get_executor()), wake_(socket_.get_executor()) {
    boost::system::error_code ec;
    auto ep = socket_.remote_endpoint(ec);
    peer_ = ec ? std::string("?") : ep.address().to_string() + ":" + std::to_string(ep.port());
  }

  void start() {
    asio::co_spawn(socket_.get_executor(), [self = shared_from_this()] { return self->read_loop(); }, asio::detached);
  }

  void close() {
    if (closed_) return;
    closed_ = true;
    boost::system::error_code ec;
    socket_.shutdown(tcp::socket::shutdown_both, ec);
    socket_.close(ec);
    timer_.cancel();
    wake_.cancel();
    for (auto& [_, p] : parked_) p.timer->cancel();
    parked_.clear();
  }

 private:
  // Reads frames; each complete frame goes to the handler. Stops reading
  // while too many requests are in flight (back-pressure on the client).
  asio::awaitable<void> read_loop() {
    auto self = shared_from_this();
    std::vector<std::byte> buf(64u << 10);
    std::size_t len = 0;
    while (!closed_) {
      // Cut and handle every whole frame already buffered.
      std::size_t used = 0;
      bool stop_reading = false;
      for (;;) {
        if (inflight_ >= srv_.limits_.max_inflight_per_connection) break;
        auto f = codec::decode_frame(std::span<const std::byte>(buf.data() + used, len - used),
                                     srv_.limits_.max_frame_bytes);
        if (f.status == codec::decode_status::need_more) break;
        if (f.status == codec::decode_status::error) {
          // Framing is lost: say why, then close (no resync on a byte stream).
          refuse(std::string("bad frame: ") + std::string(codec::to_string(f.error)),
                 f.error == codec::errc::frame_too_large ? fb::ErrorCode::frame_too_large
                                                         : fb::ErrorCode::malformed_request);
          stop_reading = true;
          break;
        }
        // Verified once, here; a request that does not verify goes to
        // handle(), which answers it with the error.
        const auto* req = request_handler::verify(f.payload);
        if (!req) {
          ++inflight_;
          srv_.handler_.handle(f.payload, responder_for());
        } else if (!handle_subscription(req, f.payload)) {
          ++inflight_;
          srv_.handler_.handle_verified(*req, f.payload.size(), responder_for());
        }
        used += f.consumed;
      }
      if (stop_reading) break;
      if (used) {
        std::memmove(buf.data(), buf.data() + used, len - used);
        len -= used;
      }
      if (inflight_ >= srv_.limits_.max_inflight_per_connection) {
        // Wait until responses free a slot.
        wake_.expires_after(std::chrono::hours(24));
        boost::system::error_code ec;
        co_await wake_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        continue;
      }
      // Room for the frame being read, within the limit (checked by
      // decode_frame before we get here with a header in hand).
      if (len >= codec::frame_header_bytes) {
        std::uint32_t need = 0;
        for (int i = 0; i < 4; ++i) need |= std::uint32_t(std::to_integer<std::uint8_t>(buf[std::size_t(i)])) << (8 * i);
        const std::size_t total = codec::frame_header_bytes + need;
        if (buf.size() < total) buf.resize(total);
      }
      if (len == buf.size()) buf.resize(buf.size() * 2);
      // An idle connection may wait long; a started frame must finish soon.
      timer_.expires_after(len == 0 ? srv_.limits_.idle_timeout : srv_.limits_.read_timeout);
      auto r = co_await (socket_.async_read_some(asio::buffer(buf.data() + len, buf.size() - len),
                                                 asio::as_tuple(asio::use_awaitable)) ||
                         timer_.async_wait(asio::as_tuple(asio::use_awaitable)));
      if (r.index() == 1) {
        spdlog::info("{}: closing: {}", peer_, len == 0 ? "idle timeout" : "frame not completed in time");
        close();
        break;
      }
      auto [ec, n] = std::get<0>(r);
      if (ec) {
        close();
        break;
      }
      len += n;
    }
    srv_.remove(this);
  }

  responder responder_for() {
    // Called from storage threads: hop onto the network thread.
    return [self = shared_from_this()](std::vector<std::byte> frame) {
      asio::post(self->socket_.get_executor(), [self, frame = std::move(frame)]() mutable {
        self->complete(std::move(frame));
      });
    };
  }

  void complete(std::vector<std::byte> frame) {
    if (inflight_ > 0) --inflight_;
    wake_.cancel();
    send(std::move(frame));
  }

  void refuse(const std::string& why, fb::ErrorCode code) {
    spdlog::info("{}: {}", peer_, why);
    if (auto* m = srv_.handler_.metrics()) m->refused(fb::EnumNameErrorCode(code));
    send(error_frame(0, std::uint16_t(code), why));
    close_after_write_ = true;
  }

  void send(std::vector<std::byte> frame) {
    gather_frame g;
    g.head = std::move(frame);
    send(std::move(g));
  }

  void send(gather_frame frame) {
    if (closed_) return;
    out_.push_back(std::move(frame));
    if (!writing_) write_next();
  }

  // One gathered write of every queued frame (up to a bound), so a
  // subscription's batches go from the read chunk to the socket without a
  // copy, and a burst of small responses costs one system call.
  void write_next() {
    if (out_.empty()) {
      writing_ = false;
      if (close_after_write_) close();
      return;
    }
    writing_ = true;
    iov_.clear();
    std::size_t frames = 0, bytes = 0;
    for (const auto& f : out_) {
      if (frames > 0 && (iov_.size() + 3 > max_iov || bytes >= max_gather_bytes)) break;
      for (const auto* piece : {&f.head, &f.body, &f.tail})
        if (!piece->empty()) iov_.emplace_back(piece->data(), piece->size());
      bytes += f.size();
      ++frames;
    }
    asio::async_write(socket_, iov_, [self = shared_from_this(), frames](boost::system::error_code ec, std::size_t) {
      if (ec) return self->close();
      for (std::size_t i = 0; i < frames; ++i) {
        auto& body = self->out_.front().body;
        if (body.capacity() >= spare_min_bytes && self->spare_.size() < max_spare)
          self->spare_.push_back(std::move(body));
        self->out_.pop_front();
      }
      self->write_next();
    });
  }

 public:
  // New durable events on `log`: feed the subscriptions waiting on it.
  void wake(storage::partition_log* log) {
    for (auto& [id, sub] : subs_)
      if (sub.log == log) pump(sub);
    // Long-polling fetches on this partition: answer them now.
    for (auto it = parked_.begin(); it != parked_.end();) {
      if (it->second.log == log) {
        auto payload = std::move(it->second.payload);
        it->second.timer->cancel();
        it = parked_.erase(it);
        srv_.handler_.handle(payload, responder_for());
      } else {
        ++it;
      }
    }
  }

 private:
  struct subscription {
    std::uint64_t id = 0;
    std::shared_ptr<topic> keep;
    storage::partition_log* log = nullptr;
    std::uint64_t next = 0;
    std::int64_t credit = 0;
  };

  // Subscribe, credit and cancel are state of this connection, so the
  // session serves them itself; everything else goes to the handler.
  // `req` is the verified request in `payload`.
  bool handle_subscription(const fb::Request* req, std::span<const std::byte> payload) {
    const auto corr = req->correlation_id();
    switch (req->body_type()) {
      case fb::RequestBody::FetchRequest: {
        // A fetch at the head with max_wait_ms waits for data (long poll);
        // anything else is the handler's.
        const auto* r = req->body_as_FetchRequest();
        if (r->max_wait_ms() == 0) return false;
        auto t = srv_.handler_.topics().find(r->topic()->string_view());
        if (!t || r->partition() < 0 || std::uint32_t(r->partition()) >= t->partitions()) return false;
        auto* log = &t->partition(std::uint32_t(r->partition()));
        if (r->from_offset() != log->head()) return false;
        ++inflight_;  // answered later: counts against the connection's limit
        const auto key = next_parked_++;
        auto& p = parked_[key];
        p.log = log;
        p.keep = t;
        p.payload.assign(payload.begin(), payload.end());
        p.timer = std::make_shared<asio::steady_timer>(socket_.get_executor());
        p.timer->expires_after(std::chrono::milliseconds(std::min<std::uint32_t>(r->max_wait_ms(), max_wait_ms)));
        p.timer->async_wait([self = shared_from_this(), key](boost::system::error_code ec) {
          if (ec) return;
          auto it = self->parked_.find(key);
          if (it == self->parked_.end()) return;
          auto payload = std::move(it->second.payload);
          self->parked_.erase(it);
          self->srv_.handler_.handle(payload, self->responder_for());
        });
        srv_.wait_for(log, shared_from_this());
        return true;
      }
      case fb::RequestBody::SubscribeRequest: {
        const auto* r = req->body_as_SubscribeRequest();
        auto t = srv_.handler_.topics().find(r->topic()->string_view());
        if (!t) {
          send(error_frame(corr, std::uint16_t(fb::ErrorCode::unknown_topic), "unknown topic '" + r->topic()->str() + "'"));
          return true;
        }
        if (r->partition() < 0 || std::uint32_t(r->partition()) >= t->partitions()) {
          send(error_frame(corr, std::uint16_t(fb::ErrorCode::unknown_partition),
                           "topic '" + r->topic()->str() + "' has no partition " + std::to_string(r->partition())));
          return true;
        }
        if (subs_.size() >= max_subscriptions) {
          send(error_frame(corr, std::uint16_t(fb::ErrorCode::too_many_requests),
                           "at most " + std::to_string(max_subscriptions) + " subscriptions per connection"));
          return true;
        }
        auto& log = t->partition(std::uint32_t(r->partition()));
        if (r->from_offset() > log.head()) {
          send(error_frame(corr, std::uint16_t(fb::ErrorCode::offset_out_of_range),
                           "offset " + std::to_string(r->from_offset()) + " is beyond the head " + std::to_string(log.head())));
          return true;
        }
        auto& sub = subs_[corr];
        sub = subscription{corr, t, &log, r->from_offset(), std::min<std::int64_t>(r->credit_bytes(), max_credit)};
        pump(sub);
        return true;
      }
      case fb::RequestBody::CreditRequest: {
        const auto* r = req->body_as_CreditRequest();
        if (auto it = subs_.find(r->subscription()); it != subs_.end()) {
          it->second.credit = std::min<std::int64_t>(it->second.credit + r->bytes(), max_credit);
          pump(it->second);
        }
        return true;
      }
      case fb::RequestBody::CancelRequest:
        subs_.erase(req->body_as_CancelRequest()->subscription());
        return true;
      default:
        return false;
    }
  }

  // Sends what the subscription may receive now; waits at the head.
  void pump(subscription& sub) {
    while (!closed_ && sub.credit > 0) {
      const std::uint64_t head = sub.log->head();
      if (sub.next >= head) {
        srv_.wait_for(sub.log, shared_from_this());
        return;
      }
      // Read into a buffer an earlier frame gave back after its write: a
      // fresh 1 MiB vector per read cost page faults and an munmap each.
      if (chunk_.bytes.capacity() == 0 && !spare_.empty()) {
        chunk_.bytes = std::move(spare_.back());
        spare_.pop_back();
      }
      const auto want = std::size_t(std::min<std::int64_t>(sub.credit, 1 << 20));
      auto read = sub.log->read(sub.next, want, chunk_);
      if (!read || chunk_.batches.empty()) {
        send(error_frame(sub.id, std::uint16_t(fb::ErrorCode::io_error),
                         "cannot read offset " + std::to_string(sub.next)));
        subs_.erase(sub.id);
        return;
      }
      const auto& last = chunk_.batches.back();
      const std::uint64_t next = last.base_offset + last.count;
      const auto bytes = std::int64_t(chunk_.bytes.size());
      // The chunk's bytes go out as they are: the log checked their CRCs
      // and FlatBuffers when it read them (batch_frame.h).
      send(subscribe_data_frame(srv_.scratch_, sub.id, head, std::move(chunk_.bytes)));
      chunk_.bytes = {};
      chunk_.batches.clear();
      sub.credit -= bytes;
      sub.next = next;
    }
  }

  struct parked_fetch {
    storage::partition_log* log = nullptr;
    std::shared_ptr<topic> keep;
    std::vector<std::byte> payload;
    std::shared_ptr<asio::steady_timer> timer;
  };
  std::map<std::uint64_t, parked_fetch> parked_;
  std::uint64_t next_parked_ = 0;
  static constexpr std::uint32_t max_wait_ms = 30'000;
  static constexpr std::size_t max_subscriptions = 64;
  static constexpr std::int64_t max_credit = 16 << 20;  // bounds what one subscription can queue
  std::map<std::uint64_t, subscription> subs_;
  // Subscription reads: the chunk being filled, and sent frames' buffers
  // kept for the next reads (a few, so an idle connection holds little).
  storage::read_chunk chunk_;
  std::vector<std::vector<std::byte>> spare_;
  static constexpr std::size_t max_spare = 4;
  static constexpr std::size_t spare_min_bytes = 64u << 10;

  server& srv_;
  tcp::socket socket_;
  asio::steady_timer timer_;
  asio::steady_timer wake_;
  std::string peer_;
  std::deque<gather_frame> out_;
  std::vector<asio::const_buffer> iov_;  // the write in flight; points into out_
  static constexpr std::size_t max_iov = 64;  // asio's own per-call limit for a gathered send
  static constexpr std::size_t max_gather_bytes = 4u << 20;
  std::uint32_t inflight_ = 0;
  bool writing_ = false;
  bool closed_ = false;
  bool close_after_write_ = false;
};

server::server(asio::io_context& io, request_handler& handler, server_limits limits)
    : io_(io), handler_(handler), limits_(limits), acceptor_(io) {}

server::~server() = default;

tcp::endpoint server::listen(const tcp::endpoint& at) {
  acceptor_.open(at.protocol());
  acceptor_.set_option(tcp::acceptor::reuse_address(true));
  acceptor_.bind(at);
  acceptor_.listen();
  accept();
  return acceptor_.local_endpoint();
}

void server::accept() {
  acceptor_.async_accept([this](boost::system::error_code ec, tcp::socket socket) {
    if (stopped_ || ec == asio::error::operation_aborted) return;
    if (!ec) {
      if (sessions_.size() >= limits_.max_connections) {
        spdlog::warn("refusing a connection: {} connections open (limit)", sessions_.size());
        if (auto* m = handler_.metrics()) m->refused("connection_limit");
        boost::system::error_code ignore;
        socket.close(ignore);
      } else {
        socket.set_option(tcp::no_delay(true), ec);
        auto s = std::make_shared<session>(*this, std::move(socket));
        sessions_.insert(s);
        if (auto* m = handler_.metrics()) m->connections().set(double(sessions_.size()));
        s->start();
      }
    }
    accept();
  });
}

void server::wait_for(storage::partition_log* log, const std::shared_ptr<session>& s) {
  if (listening_.insert(log).second) {
    // Runs on the log's I/O thread: only post. `alive` guards against a
    // listener firing after this server is gone (logs outlive it).
    log->add_durable_listener([this, log, alive = std::weak_ptr<bool>(alive_), &io = io_](std::uint64_t) {
      asio::post(io, [this, log, alive] {
        if (alive.lock()) wake(log);
      });
    });
  }
  auto& list = waiters_[log];
  for (const auto& w : list)
    if (w.lock() == s) return;
  list.push_back(s);
}

void server::wake(storage::partition_log* log) {
  auto it = waiters_.find(log);
  if (it == waiters_.end()) return;
  auto list = std::move(it->second);
  waiters_.erase(it);
  for (const auto& w : list)
    if (auto s = w.lock()) s->wake(log);
}

void server::remove(session* s) {
  for (auto it = sessions_.begin(); it != sessions_.end(); ++it) {
    if (it->get() == s) {
      sessions_.erase(it);
      if (auto* m = handler_.metrics()) m->connections().set(double(sessions_.size()));
      return;
    }
  }
}

void server::stop_accepting() {
  stopped_ = true;
  boost::system::error_code ec;
  acceptor_.close(ec);
}

void server::stop() {
  stop_accepting();
  auto all = sessions_;
  for (const auto& s : all) s->close();
}

}  // namespace muninn::broker
