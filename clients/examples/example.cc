// The example program of docs/clients.md: create a topic, append events
// with the batching producer and with an expected version, read the stream
// back, fetch by offset, follow a partition live and commit an offset.
// Usage: muninn_client_example [HOST:PORT] (default 127.0.0.1:7070).
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <string>

#include "clients/client.h"
#include "clients/producer.h"
#include "codec/json.h"
#include "codec/stream_hash.h"

using namespace muninn;

namespace {

int die(const std::string& what, const client::client_error& e) {
  std::fprintf(stderr, "example: %s: %s\n", what.c_str(), e.describe().c_str());
  return 1;
}

codec::owned_event make_event(const std::string& stream, const std::string& type, const std::string& json_data) {
  // Envelope JSON -> event (data stored as a FlexBuffer), as the tool does it.
  auto e = codec::event_from_json("{\"stream\":\"" + stream + "\",\"type\":\"" + type + "\",\"data\":" + json_data + "}");
  return std::move(e).value();
}

}  // namespace

int main(int argc, char** argv) {
  auto opts = client::parse_broker_address(argc > 1 ? argv[1] : "127.0.0.1:7070");
  if (!opts) return die("address", opts.error());
  client::client c(*opts);  // connects on first use; one I/O thread

  // 1. A topic of 4 partitions without a schema (an existing one is fine).
  const std::string topic = "example-orders";
  if (auto t = c.create_topic(topic, 4); !t && t.error().code != fb::ErrorCode::topic_exists)
    return die("create topic", t.error());

  // 2. Batching producer: ids are generated (UUIDv7), events routed by stream.
  const std::string stream = "order-" + codec::event_id::generate_v7().to_string().substr(0, 8);
  {
    client::producer producer(c);  // linger 2 ms, batches of 1000 events / 1 MiB, acks durable
    std::vector<codec::owned_event> events;
    events.push_back(make_event(stream, "OrderPlaced", R"({"items":2,"totalMinor":12900})"));
    events.push_back(make_event(stream, "OrderPaid", R"({"amountMinor":12900})"));
    auto r = producer.append(topic, std::move(events));
    if (!r) return die("append", r.error());
    for (const auto& p : *r)
      std::printf("appended %s at partition %u offset %llu version %lld\n", p.id.to_string().c_str(), p.partition,
                  static_cast<unsigned long long>(p.offset), static_cast<long long>(p.version));
  }

  // 3. Optimistic concurrency: the stream's last version is 1 now.
  auto shipped = c.append_expected(topic, make_event(stream, "OrderShipped", R"({"carrier":"posten"})"), 1);
  if (!shipped) return die("append_expected", shipped.error());
  auto stale = c.append_expected(topic, make_event(stream, "OrderCancelled", "{}"), 1);
  if (stale || !stale.error().is_conflict()) {
    std::fprintf(stderr, "example: a stale expected version was not refused\n");
    return 1;
  }
  std::printf("conflict as expected: stream is at version %lld\n", static_cast<long long>(stale.error().actual_version));

  // 4. Read the stream back.
  auto history = c.read_stream(topic, stream);
  if (!history) return die("read stream", history.error());
  for (const auto& e : *history) std::printf("%s\n", e.to_json(topic).c_str());
  if (history->size() != 3) return 1;

  // 5. Fetch the partition by offset from where the stream starts.
  const auto partition = codec::partition_for(stream, c.partition_count(topic).value());
  auto fetched = c.fetch(topic, partition, history->front().offset);
  if (!fetched) return die("fetch", fetched.error());
  std::printf("fetched %zu events, partition head %llu\n", fetched->events.size(),
              static_cast<unsigned long long>(fetched->head));

  // 6. Subscribe from the stream's first offset: catch-up, then a live event.
  std::mutex mu;
  std::condition_variable cv;
  std::size_t seen = 0;
  auto sub = c.subscribe(topic, partition, history->front().offset,
                         [&](std::span<const client::event_record> events, std::uint64_t) {
                           std::lock_guard lock(mu);
                           for (const auto& e : events)
                             if (e.stream() == stream) ++seen;
                           cv.notify_all();
                         });
  if (auto live = c.append_expected(topic, make_event(stream, "OrderDelivered", "{}"), 2); !live)
    return die("live append", live.error());
  {
    std::unique_lock lock(mu);
    if (!cv.wait_for(lock, std::chrono::seconds(10), [&] { return seen >= 4; })) {
      std::fprintf(stderr, "example: subscription saw %zu of 4 events\n", seen);
      return 1;
    }
  }
  const auto resume_at = sub.next_offset();
  sub.cancel();

  // 7. Commit where this consumer got to, and read it back.
  const client::partition_offset committed{partition, resume_at};
  if (auto r = c.commit_offsets("example-consumer", topic, std::span(&committed, 1)); !r)
    return die("commit offsets", r.error());
  auto offsets = c.fetch_offsets("example-consumer", topic);
  if (!offsets) return die("fetch offsets", offsets.error());
  for (const auto& o : *offsets)
    std::printf("consumer example-consumer: partition %u next offset %llu\n", o.partition,
                static_cast<unsigned long long>(o.offset));
  return 0;
}
