// Helpers shared by the storage tests: temporary directories and events
// that own their bytes.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "codec/batch.h"
#include "codec/batch_generated.h"
#include "storage/log.h"
#include "tests/temp_dir.h"

namespace muninn::test {

struct owned_event {
  std::string stream;
  std::string type = "TestEvent";
  codec::event_id id = codec::event_id::generate_v7();
  std::int64_t expected_version = codec::expect_any;
  std::int64_t time = 0;
  std::string data;

  codec::event_in view() const {
    codec::event_in e;
    e.stream = stream;
    e.type = type;
    e.id = id;
    e.expected_version = expected_version;
    e.time = time;
    e.content_type = "application/octet-stream";
    e.data = std::as_bytes(std::span(data.data(), data.size()));
    return e;
  }
};

inline owned_event make_event(std::string stream, std::string data = "payload",
                              std::int64_t expected = codec::expect_any) {
  owned_event e;
  e.stream = std::move(stream);
  e.data = std::move(data);
  e.expected_version = expected;
  return e;
}

inline storage::append_result append(storage::partition_log& log, const std::vector<owned_event>& events,
                                     storage::ack_mode acks = storage::ack_mode::durable) {
  std::vector<codec::event_in> views;
  for (const auto& e : events) views.push_back(e.view());
  storage::append_request req;
  req.events = views;
  req.acks = acks;
  return log.append_sync(req);
}

struct stored_event {
  std::uint64_t offset = 0;
  std::int64_t version = 0;
  std::string stream;
  codec::event_id id;
  std::string data;
};

// Every event of the log in offset order (fails the test on a read error).
inline std::vector<stored_event> read_all(const storage::partition_log& log, std::uint64_t from = 0) {
  std::vector<stored_event> out;
  std::uint64_t next = from;
  while (next < log.head()) {
    auto chunk = log.read(next, 1u << 20);
    if (!chunk || chunk->batches.empty()) throw std::runtime_error("read failed at offset " + std::to_string(next));
    for (const auto& b : chunk->batches) {
      const auto* rb = b.batch.batch;
      for (std::uint32_t i = 0; i < rb->count(); ++i) {
        const auto* e = rb->events()->Get(i);
        if (b.base_offset + i < next) continue;
        stored_event s;
        s.offset = b.base_offset + i;
        s.version = e->version();
        s.stream = e->stream()->str();
        std::copy(e->id()->b()->begin(), e->id()->b()->end(), s.id.bytes.begin());
        if (e->data()) s.data.assign(reinterpret_cast<const char*>(e->data()->data()), e->data()->size());
        out.push_back(std::move(s));
      }
      next = b.base_offset + b.count;
    }
  }
  return out;
}

}  // namespace muninn::test
