#include "broker/projection_replay.h"

#include <array>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <utility>

#include "broker/projections/feed.h"

namespace muninn::broker {
namespace {

// One chunk read and decoded, waiting to be applied. Reused, so after the
// first rounds neither the chunk's bytes nor the events allocate.
struct slot {
  storage::read_chunk chunk;
  projections::decoded_events events;
  std::uint32_t partition = 0;
  std::uint64_t end = 0;  // next offset of `partition` after this chunk
  bool last = false;      // no chunk follows: caught up, stopped or failed
  std::string error;      // set on a failed read (with last)
};

// A ring of slots between the reader (fills) and the applier (drains).
// Three: one being read, one being applied, one ready, so that neither
// thread waits for the other while both keep pace.
class slot_ring {
 public:
  slot* begin_fill() {
    std::unique_lock lock(mu_);
    free_cv_.wait(lock, [&] { return ready_ < slots_.size() || quit_; });
    if (quit_) return nullptr;
    return &slots_[(head_ + ready_) % slots_.size()];
  }
  void end_fill() {
    {
      std::lock_guard lock(mu_);
      ++ready_;
    }
    ready_cv_.notify_one();
  }
  slot& begin_drain() {
    std::unique_lock lock(mu_);
    ready_cv_.wait(lock, [&] { return ready_ > 0; });
    return slots_[head_];
  }
  void end_drain() {
    {
      std::lock_guard lock(mu_);
      head_ = (head_ + 1) % slots_.size();
      --ready_;
    }
    free_cv_.notify_one();
  }
  // The applier is done: a reader waiting for a slot gives up.
  void quit() {
    {
      std::lock_guard lock(mu_);
      quit_ = true;
    }
    free_cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable free_cv_, ready_cv_;
  std::array<slot, 3> slots_;
  std::size_t head_ = 0;   // next slot to drain
  std::size_t ready_ = 0;  // filled slots from head_
  bool quit_ = false;
};

void read_loop(const std::vector<const storage::partition_log*>& logs, std::vector<std::uint64_t> next,
               const projections::projection& projection, const replay_options& options, slot_ring& ring) {
  projections::feeder feeder;
  auto stopped = [&] { return options.stop && options.stop->load(std::memory_order_relaxed); };
  for (;;) {
    bool any = false;
    for (std::uint32_t p = 0; p < logs.size() && !stopped(); ++p) {
      if (next[p] >= logs[p]->head()) continue;
      slot* s = ring.begin_fill();
      if (!s) return;
      s->events.clear();
      s->partition = p;
      s->last = false;
      s->error.clear();
      if (auto r = logs[p]->read(next[p], options.read_bytes, s->chunk); !r) {
        s->last = true;
        s->error = "reading partition " + std::to_string(p) + " failed";
        ring.end_fill();
        return;
      }
      for (const auto& b : s->chunk.batches) {
        const std::uint64_t end = b.base_offset + b.count;
        if (end <= next[p]) continue;
        feeder.decode_batch(s->events, p, *b.batch.batch, next[p], end);
        next[p] = end;
      }
      projections::feeder::finish(s->events, &projection);
      s->end = next[p];
      ring.end_fill();
      any = true;
    }
    if (!any || stopped()) break;
  }
  if (slot* s = ring.begin_fill()) {
    s->events.clear();
    s->last = true;
    s->error.clear();
    ring.end_fill();
  }
}

}  // namespace

result<std::uint64_t, std::string> replay_pipelined(const std::vector<const storage::partition_log*>& logs,
                                                    std::vector<std::uint64_t>& applied,
                                                    projections::projection& p, const replay_options& options,
                                                    const replay_progress& progress) {
  slot_ring ring;
  std::thread reader([&, next = applied] { read_loop(logs, next, std::as_const(p), options, ring); });
  std::uint64_t total = 0;
  result<std::uint64_t, std::string> out = std::uint64_t{0};
  for (;;) {
    slot& s = ring.begin_drain();
    if (s.last) {
      if (!s.error.empty()) out = unexpected(s.error);
      ring.end_drain();
      break;
    }
    projections::feeder::apply(p, s.events);
    applied[s.partition] = s.end;
    const std::uint64_t n = s.events.size();
    ring.end_drain();
    total += n;
    if (auto r = progress(n); !r) {
      out = unexpected(r.error());
      break;
    }
  }
  ring.quit();
  reader.join();
  if (out) out = total;
  return out;
}

}  // namespace muninn::broker
