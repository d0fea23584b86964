// Shared by the projection tests of the broker: a temporary directory and
// forsendelse events (the README's example, on fresh ids) appended straight
// into a topic's partitions.
#pragma once

#include <catch2/catch.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <span>
#include <string>
#include <vector>

#include "broker/topics.h"
#include "codec/json.h"
#include "codec/stream_hash.h"
#include "tests/temp_dir.h"

namespace muninn::test {

inline std::vector<std::string> example_lines() {
  std::ifstream in(std::string(MUNINN_SOURCE_DIR) + "/examples/forsendelse.jsonl");
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

// Appends JSON-lines events to their partitions of `topic`, durably.
inline void append_lines(broker::topic& t, const std::vector<std::string>& lines) {
  for (const auto& line : lines) {
    auto ev = codec::event_from_json(line);
    REQUIRE(ev);
    if (!ev->id) ev->id = codec::event_id::generate_v7();
    const auto in = ev->view();
    storage::append_request req;
    req.events = std::span(&in, 1);
    auto& log = t.partition(codec::partition_for(in.stream, t.partitions()));
    REQUIRE(log.append_sync(req));
  }
}

// The example forsendelse (Mottatt, then three status changes) on id number
// `i`, with fresh event ids.
inline std::vector<std::string> forsendelse_lines(int i) {
  char id[64];
  std::snprintf(id, sizeof id, "3f6c1d2e-8a4b-4c5d-9e6f-%012d", i);
  auto lines = example_lines();
  for (auto& l : lines) {
    for (std::size_t p; (p = l.find("3f6c1d2e-8a4b-4c5d-9e6f-7a8b9c0d1e2f")) != std::string::npos;) l.replace(p, 36, id);
    // Fresh event ids: the example's fixed ids would be deduplicated.
    const auto k = l.find("\"id\": \"");
    if (k != std::string::npos) l.erase(k, l.find('"', k + 7) + 3 - k);
  }
  return lines;
}

// Appends many lines in batches of up to 1,000 events per partition.
inline void append_bulk(broker::topic& t, const std::vector<std::string>& lines) {
  std::vector<std::vector<codec::owned_event>> per(t.partitions());
  auto flush = [&](std::uint32_t p) {
    std::vector<codec::event_in> in;
    for (const auto& e : per[p]) in.push_back(e.view());
    storage::append_request req;
    req.events = in;
    REQUIRE(t.partition(p).append_sync(req));
    per[p].clear();
  };
  for (const auto& line : lines) {
    auto ev = codec::event_from_json(line);
    REQUIRE(ev);
    if (!ev->id) ev->id = codec::event_id::generate_v7();
    const auto p = codec::partition_for(ev->stream, t.partitions());
    per[p].push_back(std::move(ev).value());
    if (per[p].size() == 1000) flush(p);
  }
  for (std::uint32_t p = 0; p < t.partitions(); ++p) {
    if (!per[p].empty()) flush(p);
  }
}

}  // namespace muninn::test
