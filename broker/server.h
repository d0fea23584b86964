// The TCP side of muninnd: accepts connections and runs one session per
// connection. Sessions only move bytes: they cut frames (codec), enforce the
// limits (frame size, requests in flight, idle and read timeouts,
// connection count) before allocating, and hand each frame to the
// request_handler. Hostile input gets an error frame or a closed
// connection, never a crash, and never stalls other connections.
// Thread-safety: everything runs on the one io_context thread; responses
// from storage threads are posted to it.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <map>
#include <set>
#include <vector>

#include <flatbuffers/flatbuffer_builder.h>

#include "broker/handlers.h"

namespace muninn::broker {

struct server_limits {
  std::uint32_t max_frame_bytes = 16u << 20;
  std::uint32_t max_connections = 1024;
  std::uint32_t max_inflight_per_connection = 256;
  std::chrono::milliseconds idle_timeout{300'000};
  std::chrono::milliseconds read_timeout{30'000};
};

class session;

class server {
 public:
  server(boost::asio::io_context& io, request_handler& handler, server_limits limits);
  ~server();
  // Binds and starts accepting; returns the bound endpoint (port 0 picks one).
  boost::asio::ip::tcp::endpoint listen(const boost::asio::ip::tcp::endpoint& at);
  // Stops accepting new connections; open ones keep being served.
  void stop_accepting();
  // Stops accepting and closes every connection.
  void stop();
  std::size_t connections() const { return sessions_.size(); }

 private:
  friend class session;
  void accept();
  void remove(session* s);
  // Live subscriptions: a session waits on a partition until new durable
  // events arrive there (the log's listener posts to this thread).
  void wait_for(storage::partition_log* log, const std::shared_ptr<session>& s);
  void wake(storage::partition_log* log);

  boost::asio::io_context& io_;
  request_handler& handler_;
  server_limits limits_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::set<std::shared_ptr<session>> sessions_;
  std::map<storage::partition_log*, std::vector<std::weak_ptr<session>>> waiters_;
  std::set<storage::partition_log*> listening_;  // logs our listener is registered with
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);  // listeners outlive us
  bool stopped_ = false;
  // Reused for every subscription frame (network thread only): its buffer
  // is allocated once instead of once per frame.
  flatbuffers::FlatBufferBuilder scratch_;
};

}  // namespace muninn::broker
