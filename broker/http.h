// The broker's HTTP side (Boost.Beast): a small server for operators —
// /healthz and /metrics now, the JSON query API later. Routes are plain
// functions from a GET target to a response, so this file holds no broker
// logic. Limits: 8 KiB of headers, no request bodies, 10 s per request,
// bounded connections. Thread-safety: runs on the network io_context.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace muninn::broker {

struct http_response {
  unsigned status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

// Returns nullopt for targets it does not serve (404).
using http_route = std::function<std::optional<http_response>(const std::string& target)>;

class http_server {
 public:
  http_server(boost::asio::io_context& io, http_route route, std::size_t max_connections = 64);
  ~http_server();
  boost::asio::ip::tcp::endpoint listen(const boost::asio::ip::tcp::endpoint& at);
  void stop();

  struct state;  // shared with the connections, which may outlive a stop()

 private:
  std::shared_ptr<state> state_;
};

}  // namespace muninn::broker
