// Request handling: one verified request frame in, one response frame out
// (now or later, through the responder). Holds no socket: sessions move
// bytes, handlers decide (Beast's and Asio's examples keep the same split).
// Thread-safety: handle() is called from the network thread; responders may
// be called from storage threads and must be thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "broker/broker_metrics.h"
#include "broker/topics.h"

namespace muninn::fb {
struct Request;
}  // namespace muninn::fb

namespace muninn::broker {

class projection_runner;
class group_coordinator;

using responder = std::function<void(std::vector<std::byte> frame)>;

struct handler_limits {
  std::uint32_t max_fetch_bytes = 8u << 20;
  std::uint32_t max_stream_events = 10'000;
};

class request_handler {
 public:
  // `metrics` may be null (tests).
  request_handler(topic_registry& topics, group_coordinator& groups, handler_limits limits,
                  broker_metrics* metrics = nullptr)
      : topics_(topics), groups_(groups), limits_(limits), metrics_(metrics) {}

  // `payload` is a frame payload whose CRC checked out. Every request gets
  // exactly one response, also when it is malformed.
  void handle(std::span<const std::byte> payload, const responder& respond);
  // The request in `payload` when it passes the FlatBuffers Verifier (with
  // the broker's depth and table limits), else null. The session verifies
  // each request once, serves subscriptions itself and passes the rest to
  // handle_verified: verifying a produce request twice cost a second walk
  // over all its events on the network thread.
  static const fb::Request* verify(std::span<const std::byte> payload);
  // handle() for a request verify() accepted; `payload_bytes` is its size.
  void handle_verified(const fb::Request& req, std::size_t payload_bytes, const responder& respond);
  topic_registry& topics() { return topics_; }
  // Projection requests are refused (not_found) until a runner is set.
  void set_projections(projection_runner* runner) { projections_ = runner; }
  broker_metrics* metrics() { return metrics_; }

 private:
  topic_registry& topics_;
  group_coordinator& groups_;
  handler_limits limits_;
  broker_metrics* metrics_;
  projection_runner* projections_ = nullptr;
};

// An Error response frame, for errors found before a request is decoded.
std::vector<std::byte> error_frame(std::uint64_t correlation_id, std::uint16_t code, std::string_view message);

}  // namespace muninn::broker
