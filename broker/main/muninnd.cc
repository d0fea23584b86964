// muninnd: the Muninn broker. Serves the binary protocol (docs/protocol.md)
// on TCP. SIGTERM/SIGINT stop it cleanly: no new connections, in-flight
// commits finish and are answered, indexes are flushed, exit 0.
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>
#include <functional>

#include "broker/config.h"
#include "broker/groups.h"
#include "broker/http.h"
#include "broker/http_api.h"
#include "broker/projection_runner.h"
#include "broker/server.h"
#include "broker/topics.h"

using namespace muninn;
namespace asio = boost::asio;

int main(int argc, char** argv) {
  auto cfg = broker::parse_config(argc, argv);
  if (!cfg) {
    std::fprintf(stderr, "muninnd: %s\n", cfg.error().c_str());
    return 2;
  }
  if (cfg->help_requested) {
    std::fputs(broker::usage().c_str(), stdout);
    return 0;
  }
  // Logs go to stderr: stdout stays free for whoever runs us.
  spdlog::set_default_logger(spdlog::stderr_color_mt("muninnd"));
  spdlog::set_level(cfg->log_level);
  spdlog::info("starting: {}", broker::describe(*cfg));

  const auto started = std::chrono::steady_clock::now();
  storage::log_options log_opts;
  log_opts.segment_bytes = cfg->segment_bytes;
  auto topics = broker::topic_registry::open(cfg->data_dir, log_opts);
  if (!topics) {
    spdlog::error("cannot open {}: {}", cfg->data_dir, topics.error());
    return 1;
  }
  spdlog::info("recovered {} topics from {} in {} ms", (*topics)->list().size(), cfg->data_dir,
               std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count());

  auto groups = broker::group_coordinator::open(**topics);
  if (!groups) {
    spdlog::error("cannot replay consumer offsets: {}", groups.error());
    return 1;
  }

  broker::metrics_registry metrics;
  broker::broker_metrics broker_metrics(metrics, **topics);
  broker_metrics.add_groups(**groups);
  broker::handler_limits hl;
  broker::request_handler handler(**topics, **groups, hl, &broker_metrics);

  broker::projection_runner_options pro;
  pro.dir = cfg->data_dir + "/projections";
  pro.config = cfg->projections;
  auto runner = broker::projection_runner::start(**topics, pro);
  if (!runner) {
    spdlog::error("cannot start projections: {}", runner.error());
    return 1;
  }
  handler.set_projections(runner->get());
  broker_metrics.add_projections(**runner);
  broker::server_limits sl;
  sl.max_frame_bytes = cfg->max_frame_bytes;
  sl.max_connections = cfg->max_connections;
  sl.max_inflight_per_connection = cfg->max_inflight_per_connection;
  sl.idle_timeout = std::chrono::milliseconds(cfg->idle_timeout_ms);
  sl.read_timeout = std::chrono::milliseconds(cfg->read_timeout_ms);

  asio::io_context io(1);
  broker::server srv(io, handler, sl);
  boost::system::error_code ec;
  const auto address = asio::ip::make_address(cfg->listen.host, ec);
  if (ec) {
    spdlog::error("--listen {}: {}", broker::to_string(cfg->listen), ec.message());
    return 2;
  }
  try {
    const auto at = srv.listen({address, cfg->listen.port});
    spdlog::info("listening on {}:{}", at.address().to_string(), at.port());
  } catch (const boost::system::system_error& e) {
    spdlog::error("cannot listen on {}: {}", broker::to_string(cfg->listen), e.code().message());
    return 1;
  }

  broker::http_server http(io, [&metrics, &runner](const std::string& target) -> std::optional<broker::http_response> {
    if (target == "/healthz") return broker::http_response{200, "text/plain; charset=utf-8", "ok\n"};
    if (target == "/metrics")
      return broker::http_response{200, std::string(broker::metrics_registry::content_type), metrics.render()};
    return broker::serve_api(target, **runner);
  });
  const auto http_address = asio::ip::make_address(cfg->http.host, ec);
  if (ec) {
    spdlog::error("--http {}: {}", broker::to_string(cfg->http), ec.message());
    return 2;
  }
  try {
    const auto at = http.listen({http_address, cfg->http.port});
    spdlog::info("HTTP on {}:{}", at.address().to_string(), at.port());
  } catch (const boost::system::system_error& e) {
    spdlog::error("cannot listen on {}: {}", broker::to_string(cfg->http), e.code().message());
    return 1;
  }

  // Members that miss their session timeout lose their partitions even
  // when no request of their group arrives.
  asio::steady_timer expiry(io);
  std::function<void()> expire = [&] {
    expiry.expires_after(std::chrono::milliseconds(100));
    expiry.async_wait([&](boost::system::error_code ec) {
      if (ec) return;
      (*groups)->expire();
      expire();
    });
  };
  expire();

  asio::signal_set signals(io, SIGINT, SIGTERM);
  asio::steady_timer drain(io);
  signals.async_wait([&](boost::system::error_code, int sig) {
    spdlog::info("signal {}: stopping", sig);
    srv.stop_accepting();
    http.stop();
    expiry.cancel();
    // Projections write their last checkpoint before the logs close.
    (*runner)->stop();
    // Completes every queued append (their answers are posted to this
    // thread) and flushes the indexes.
    (*topics)->close();
    // Let the answers go out, then close the connections.
    drain.expires_after(std::chrono::milliseconds(200));
    drain.async_wait([&](boost::system::error_code) {
      srv.stop();
      io.stop();
    });
  });
  io.run();
  spdlog::info("stopped");
  return 0;
}
