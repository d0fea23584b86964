#include "broker/http.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <spdlog/spdlog.h>

#include <chrono>

namespace muninn::broker {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;

struct http_server::state : std::enable_shared_from_this<state> {
  state(asio::io_context& io, http_route r, std::size_t max) : acceptor(io), route(std::move(r)), max_connections(max) {}
  tcp::acceptor acceptor;
  http_route route;
  std::size_t max_connections;
  std::size_t connections = 0;
  bool stopped = false;
};

namespace {

asio::awaitable<void> serve(std::shared_ptr<http_server::state> st, tcp::socket socket) {
  beast::tcp_stream stream(std::move(socket));
  beast::flat_buffer buffer(8192);
  for (;;) {
    stream.expires_after(std::chrono::seconds(10));
    http::request_parser<http::empty_body> parser;
    parser.header_limit(8192);
    parser.body_limit(0);
    auto [ec, n] = co_await http::async_read(stream, buffer, parser, asio::as_tuple(asio::use_awaitable));
    if (ec) break;
    const auto& req = parser.get();
    http::response<http::string_body> res;
    res.version(req.version());
    res.keep_alive(req.keep_alive());
    std::optional<http_response> out;
    if (req.method() != http::verb::get && req.method() != http::verb::head) {
      out = http_response{405, "text/plain; charset=utf-8", "only GET is served\n"};
    } else {
      out = st->route(std::string(req.target()));
      if (!out) out = http_response{404, "text/plain; charset=utf-8", "not found\n"};
    }
    res.result(out->status);
    res.set(http::field::content_type, out->content_type);
    res.set(http::field::server, "muninnd");
    if (req.method() != http::verb::head) res.body() = std::move(out->body);
    res.prepare_payload();
    auto [wec, wn] = co_await http::async_write(stream, res, asio::as_tuple(asio::use_awaitable));
    if (wec || !res.keep_alive()) break;
  }
  beast::error_code ignore;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignore);
  --st->connections;
}

void accept(std::shared_ptr<http_server::state> st) {
  st->acceptor.async_accept([st](boost::system::error_code ec, tcp::socket socket) {
    if (st->stopped || ec == asio::error::operation_aborted) return;
    if (!ec) {
      if (st->connections >= st->max_connections) {
        boost::system::error_code ignore;
        socket.close(ignore);
      } else {
        ++st->connections;
        asio::co_spawn(st->acceptor.get_executor(), serve(st, std::move(socket)), asio::detached);
      }
    }
    accept(st);
  });
}

}  // namespace

http_server::http_server(asio::io_context& io, http_route route, std::size_t max_connections)
    : state_(std::make_shared<state>(io, std::move(route), max_connections)) {}

http_server::~http_server() { stop(); }

tcp::endpoint http_server::listen(const tcp::endpoint& at) {
  state_->acceptor.open(at.protocol());
  state_->acceptor.set_option(tcp::acceptor::reuse_address(true));
  state_->acceptor.bind(at);
  state_->acceptor.listen();
  accept(state_);
  return state_->acceptor.local_endpoint();
}

void http_server::stop() {
  state_->stopped = true;
  boost::system::error_code ec;
  state_->acceptor.close(ec);
}

}  // namespace muninn::broker
