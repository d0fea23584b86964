// The batching producer: routes each event to its partition
// (codec::partition_for), collects events per partition for up to `linger`
// or until a batch is full, keeps one produce request in flight per
// partition (so events of a stream stay in order) and retries a request
// after a disconnect or timeout with the same event ids until
// `delivery_timeout`: the broker dedupes by id, so an acknowledged event is
// never lost or duplicated by a retry. In-flight memory is bounded: append()
// and append_async() block the calling thread while it is over the limit;
// called from the client's I/O thread they never block and fail with
// `would_block` instead. Thread-safety: all members may be called from any
// thread; handlers run on the client's I/O thread. The client must outlive
// the producer.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "clients/client.h"
#include "codec/json.h"

namespace muninn::client {

struct producer_options {
  ack_mode acks = ack_mode::durable;
  std::chrono::microseconds linger{2000};
  std::size_t batch_events = 1000;
  std::size_t batch_bytes = 1u << 20;
  std::size_t max_in_flight_bytes = 64u << 20;
  std::chrono::milliseconds delivery_timeout{120'000};
  std::string producer_id;  // optional, recorded in the batches
};

// Where each event of one append landed (same order), or the first error.
// An error with event_index >= 0 names the event of that append at fault.
// An append whose events go to several partitions is atomic per partition
// only: on an error, events of other partitions may have been appended.
using append_result = result<std::vector<event_position>, client_error>;
using append_handler = std::function<void(append_result)>;

// Pure batching state of one partition: entries in arrival order, cut into
// batches of at most `max_events` entries and about `max_bytes` (a single
// larger entry still makes a batch of one). Not thread-safe.
template <class T>
class batch_queue {
 public:
  void push(T entry, std::size_t bytes) {
    entries_.push_back({std::move(entry), bytes});
    bytes_ += bytes;
  }
  // Puts entries back in front (a batch that must be sent again).
  void push_front(std::vector<std::pair<T, std::size_t>> items) {
    for (auto it = items.rbegin(); it != items.rend(); ++it) {
      bytes_ += it->second;
      entries_.push_front(std::move(*it));
    }
  }
  bool full(std::size_t max_events, std::size_t max_bytes) const noexcept {
    return entries_.size() >= max_events || bytes_ >= max_bytes;
  }
  bool empty() const noexcept { return entries_.empty(); }
  std::size_t size() const noexcept { return entries_.size(); }
  std::size_t bytes() const noexcept { return bytes_; }
  std::vector<std::pair<T, std::size_t>> take(std::size_t max_events, std::size_t max_bytes) {
    std::vector<std::pair<T, std::size_t>> out;
    std::size_t b = 0;
    while (!entries_.empty() && out.size() < max_events &&
           (out.empty() || b + entries_.front().second <= max_bytes)) {
      b += entries_.front().second;
      bytes_ -= entries_.front().second;
      out.push_back(std::move(entries_.front()));
      entries_.pop_front();
    }
    return out;
  }

 private:
  std::deque<std::pair<T, std::size_t>> entries_;
  std::size_t bytes_ = 0;
};

// Bytes an event is accounted with (payload plus per-event overhead).
std::size_t event_bytes(const codec::owned_event& e) noexcept;

class producer {
 public:
  explicit producer(client& c, producer_options options = {});
  ~producer();  // flush()es first
  producer(const producer&) = delete;
  producer& operator=(const producer&) = delete;

  // Appends and waits for every event's acknowledgement. Events without an
  // id get a UUIDv7 here, before anything is sent.
  append_result append(std::string_view topic, std::vector<codec::owned_event> events);
  void append_async(std::string_view topic, std::vector<codec::owned_event> events, append_handler handler);
  // Sends what lingers and waits until every append so far has completed.
  void flush();
  std::size_t in_flight_bytes() const noexcept;

  struct impl;

 private:
  std::shared_ptr<impl> impl_;
};

}  // namespace muninn::client
